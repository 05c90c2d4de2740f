"""Saved files: every ``.keras`` file aelib writes loads under any backend
without importing the backend that saved it.

Each installed backend saves, in a fresh process, what aelib writes: an
autoencoder (``Autoencoder.save``), a VAE, the cache's autoencoder and digit
classifier, and a file saved by plain Keras (``model.save``). Then each
backend loads every other backend's files in a fresh process, with plain
``keras.saving.load_model`` before aelib is imported, and through
``aelib.load_autoencoder``. Under PyTorch, plain Keras records PyTorch's own
Adam class, and loading that under TensorFlow crashed the process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = [b for b in ("tensorflow", "jax", "torch") if importlib.util.find_spec(b)]

SAVE = f"""
import sys, numpy as np
sys.path.insert(0, {str(ROOT)!r})
import aelib
from aelib.cache import Run

full = aelib.load_mnist(source="sample")
data = aelib.data.Dataset(full.x_train[:600], full.y_train[:600], full.x_test[:100],
                          full.y_test[:100], "sample")
x = data.x_test[:8]
np.save("x.npy", x)
run = Run(data=data, seed=0, quick=True, cache_dir="cache")
np.save("cache_dense.npy", run.model("dense").autoencoder.reconstruct(x))
classifier, _ = run.digit_classifier()
np.save("classifier.npy", classifier.predict(x, verbose=0))
conv = aelib.conv_autoencoder(seed=0)
aelib.train(conv, data.x_train, epochs=1, batch_size=100, seed=0, verbose=0)
conv.save("conv.keras")
conv.model.save("plain.keras")  # a user's own save: Keras's behaviour
np.save("conv.npy", conv.reconstruct(x))
vae = aelib.variational_autoencoder("dense", seed=0)
aelib.train(vae, data.x_train, epochs=1, batch_size=100, seed=0, verbose=0)
vae.save("vae.keras")
np.save("vae.npy", vae.reconstruct(x))
"""

LOAD = f"""
import glob, json, sys, numpy as np, keras
before = set(sys.modules)
out = {{}}
for folder in sys.argv[1:]:
    x = np.load(f"{{folder}}/x.npy")
    cached = {{"dense" if "dense" in p else "classifier": p for p in glob.glob(f"{{folder}}/cache/*.keras")}}
    for name, path in [("conv", f"{{folder}}/conv.keras"), *cached.items()]:
        model = keras.saving.load_model(path)
        out[f"{{folder}}/{{name}}"] = keras.ops.convert_to_numpy(model(x, training=False)).tolist()
plain_without_aelib = "aelib" not in sys.modules
sys.path.insert(0, {str(ROOT)!r})
import aelib
for folder in sys.argv[1:]:
    x = np.load(f"{{folder}}/x.npy")
    for name in ("vae", "plain"):
        ae = aelib.load_autoencoder(f"{{folder}}/{{name}}.keras")
        out[f"{{folder}}/{{name}}"] = ae.reconstruct(x).tolist()
new = sorted(m for m in set(sys.modules) - before
             if m.split(".")[0] in ("tensorflow", "jax", "torch") or m.startswith("keras.src.backend."))
print(json.dumps({{"out": out, "new_modules": new, "plain_without_aelib": plain_without_aelib}}))
"""


def python(code: str, backend: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{backend}: exit {proc.returncode}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A folder per installed backend, holding what aelib saved under it."""
    base = tmp_path_factory.mktemp("saved")
    for backend in BACKENDS:
        (base / backend).mkdir()
        python(SAVE, backend, base / backend)
    return base


def configs(folder: Path) -> dict[str, str]:
    """``config.json`` of every ``.keras`` file in ``folder``, by file name."""
    return {path.name: zipfile.ZipFile(path).read("config.json").decode()
            for path in sorted(folder.rglob("*.keras"))}


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_file_aelib_writes_names_only_backend_neutral_classes(saved, backend):
    files = configs(saved / backend)
    ours = {name: config for name, config in files.items() if name != "plain.keras"}
    assert len(ours) == 4, sorted(files)  # conv, VAE, the cache's dense model and classifier
    for name, config in ours.items():
        assert "keras.src.backend." not in config, name
        optimizer = json.loads(config)["compile_config"]["optimizer"]
        assert (optimizer["module"], optimizer["class_name"]) == ("keras.optimizers", "Adam"), name
    if backend == "torch":  # what plain Keras writes, and load_autoencoder reads anyway
        assert "keras.src.backend.torch.optimizers" in files["plain.keras"]


@pytest.mark.parametrize("loader", BACKENDS)
def test_every_backend_loads_them_without_importing_the_one_that_saved_them(saved, loader):
    proc = python(LOAD, loader, saved, *BACKENDS)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["plain_without_aelib"]
    for saver in BACKENDS:
        for name in ("conv", "vae", "plain", "dense", "classifier"):
            expected = np.load(saved / saver / f"{'cache_dense' if name == 'dense' else name}.npy"
                               if name != "plain" else saved / saver / "conv.npy")
            np.testing.assert_allclose(result["out"][f"{saver}/{name}"], expected, atol=2e-5,
                                       err_msg=f"saved under {saver}, loaded under {loader}: {name}")
        if saver != loader:
            imported = [m for m in result["new_modules"]
                        if m == saver or m.startswith((f"{saver}.", f"keras.src.backend.{saver}"))]
            assert not imported, f"loading {saver}'s files under {loader} imported {imported[:5]}"


def test_a_file_that_cannot_be_read_is_named(tmp_path, monkeypatch):
    import aelib

    path = tmp_path / "ae.keras"
    path.write_bytes(b"PK")

    def refuse(file):  # simulated: the tests run as root, whom file modes do not stop
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("aelib.saving.zipfile.is_zipfile", refuse)
    with pytest.raises(ValueError, match=r"path: .*ae\.keras.* cannot be read \(Permission denied\)"):
        aelib.load_autoencoder(path)
