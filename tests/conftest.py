"""Shared fixtures: the embedded sample, small trained models, the full MNIST if present."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Under pytest-xdist each worker gets its share of the cores: every backend
# otherwise starts a thread per core in each worker, and the workers' threads
# then wait on each other (PyTorch's OpenMP threads spin while they wait).
# Set before any backend is imported; the processes the tests start inherit it.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    _THREADS = str(max(1, (os.cpu_count() or 1) // _WORKERS))
    for _name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(_name, _THREADS)
    # numpy's BLAS was loaded before this file: limit it in this process too, so
    # that this process and the ones it starts compute the same floats
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(os.environ["OMP_NUM_THREADS"]))

# XLA (JAX, and TensorFlow's jit_compile) compiles every new model, and the tests
# build hundreds of small ones: at LLVM's lowest optimisation level XLA compiles
# them about a third faster. The programs compute the same operations (XLA's
# fast-math stays off); the results differ from the default build in the last
# bits of float32 rounding, and every comparison in the tests is between runs
# made under this same setting, inherited by the processes the tests start.
# Speed is measured in benchmarks/, which do not pass through this file.
#
# XLA's CPU fusion emitters (MLIR) then take most of what is left of a compile:
# with them off, fused loops are emitted the older way and the tests' XLA compiles
# take about a third of the time. XLA aborts the process on a flag it does not know,
# so this one is set only where the installed XLA is one it was measured with.
_FUSION_EMITTERS_KNOWN = {"tensorflow": "2.21.", "jaxlib": "0.10."}


def _knows_fusion_emitters_flag() -> bool:
    """Whether every installed copy of XLA (TensorFlow's, JAX's) takes the flag."""
    for package, known in _FUSION_EMITTERS_KNOWN.items():
        if importlib.util.find_spec(package) is None:
            continue
        try:
            if not importlib.metadata.version(package).startswith(known):
                return False
        except importlib.metadata.PackageNotFoundError:  # installed under another name
            return False
    return True


_XLA_FLAGS = os.environ.get("XLA_FLAGS", "")
if "--xla_backend_optimization_level" not in _XLA_FLAGS:
    _XLA_FLAGS = f"{_XLA_FLAGS} --xla_backend_optimization_level=0"
    if _knows_fusion_emitters_flag():
        _XLA_FLAGS += " --xla_cpu_use_fusion_emitters=false"
    os.environ["XLA_FLAGS"] = _XLA_FLAGS.strip()

import aelib  # noqa: E402
import keras  # loaded by aelib, after the settings above

ROOT = Path(__file__).resolve().parents[1]

#: the test files that take longest, in the order the two workers start them. A
#: worker runs a whole file at a time (``--dist loadfile``) in collection order
#: (``--no-loadscope-reorder``), so the run ends soon after its longest file only
#: if that file starts first; the quick figure run (``quick_run``) comes second,
#: before the files that wait for it.
LONGEST_FIRST = ("test_notebook.py", "test_figures.py", "test_saving.py", "test_training.py",
                 "test_reliability.py", "test_vae.py", "test_report.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def full_mnist_path() -> Path | None:
    """The full MNIST: $AELIB_MNIST, else ../shared/data/mnist.npz beside the repo."""
    env = os.environ.get("AELIB_MNIST")
    for candidate in (env, ROOT.parent / "shared" / "data" / "mnist.npz"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def sample() -> aelib.data.Dataset:
    return aelib.load_mnist(source="sample")


@pytest.fixture(scope="session")
def digits(sample):
    return sample.x_test[:200]


@pytest.fixture(scope="session")
def full_mnist() -> aelib.data.Dataset:
    path = full_mnist_path()
    if path is None:
        pytest.skip("full MNIST not found (set AELIB_MNIST or provide ../shared/data/mnist.npz)")
    return aelib.load_mnist(path)


def other_data_file(path: Path, n_train: int = 1000, n_test: int = 200, seed: int = 0) -> Path:
    """An .npz in MNIST's layout that is not MNIST (noise images, labels 0..9 in turn),
    as Fashion-MNIST saved with ``np.savez`` would be; the defaults are the least
    the command line takes."""
    rng = np.random.default_rng(seed)
    np.savez(path, **{f"x_{split}": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
                      for split, n in (("train", n_train), ("test", n_test))},
             y_train=np.arange(n_train, dtype=np.uint8) % 10,
             y_test=np.arange(n_test, dtype=np.uint8) % 10)
    return path


def run_cli(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    """``python -m aelib ARGS`` in a fresh process, output captured."""
    return subprocess.run([sys.executable, "-m", "aelib", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory, worker_id):
    """One quick regeneration of every figure through the real command: (out, cache, stdout).

    Made once per test run: under pytest-xdist the first worker to ask makes it
    in the run's shared temporary folder while the others wait for it (the
    pattern of pytest-xdist's docs, with aelib's own folder lock). Tests that
    add to the cache copy it first (the figure tests count its entries).
    """
    from aelib._io import folder_lock

    if worker_id == "master":  # no xdist: this process's own folder
        base = tmp_path_factory.mktemp("quick")
    else:  # pytest-N/, beside the workers' popen-gwK/ folders
        base = tmp_path_factory.getbasetemp().parent / "quick"
        base.mkdir(exist_ok=True)
    out, cache, log = base / "out", base / "cache", base / "stdout.txt"
    with folder_lock(base):
        if not log.is_file():
            proc = run_cli("figures", "--quick", "--out", str(out), "--cache", str(cache), cwd=base)
            assert proc.returncode == 0, proc.stderr
            log.write_text(proc.stdout)
    return out, cache, log.read_text()


# -- streams of image batches, for train and batches.with_targets ----------------
class ImageBatches(keras.utils.PyDataset):
    """A PyDataset of image batches, the way a reader's loader from disk would give them."""

    def __init__(self, x, batch_size):
        super().__init__()
        self.x, self.batch_size = x, batch_size

    def __len__(self):
        return len(self.x) // self.batch_size

    def __getitem__(self, i):
        return self.x[i * self.batch_size : (i + 1) * self.batch_size]


def streams(x, batch_size):
    """The same batches, in the same order, as each kind of stream train takes."""
    import tensorflow as tf

    def forever():
        while True:
            yield from (x[i : i + batch_size] for i in range(0, len(x), batch_size))

    kinds = {"tf.data": (tf.data.Dataset.from_tensor_slices(x).batch(batch_size), {}),
             "PyDataset": (ImageBatches(x, batch_size), {}),
             "generator": (forever(), {"steps_per_epoch": len(x) // batch_size})}
    if importlib.util.find_spec("torch") is not None:
        import torch

        kinds["DataLoader"] = (torch.utils.data.DataLoader(torch.from_numpy(x), batch_size), {})
    return kinds
