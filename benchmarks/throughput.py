"""Training throughput: aelib's configurations against every plain peer, per CPU class.

For the dense and the conv model (the article's stock layers, batch 200 and
150), images per second of one training epoch on the full training set:

* the peers: plain ``model.fit`` of the same layers with default compile
  settings (``Adam()``, ``"mse"``) under each Keras backend, and the same
  layers written in plain PyTorch, trained eagerly;
* aelib: ``aelib.train`` under each backend, with the dtype policy aelib
  builds the model with there (what ``aelib figures`` uses).

Each backend runs in a subprocess of its own (one backend per process), which
warms every variant up with one call and then times ``--reps`` calls of one
epoch each, interleaved. The whole round over the backends runs ``--rounds``
times, so a slow minute on this shared machine does not decide a row; the
table gives the best call of each variant (and the median in brackets).

``--cpu native`` runs on the CPU as it is; ``--cpu avx2`` emulates an AVX2
CPU without AVX-512 on a newer one: ``TF_ENABLE_ONEDNN_OPTS=0`` (TensorFlow
turns oneDNN on by default only on AVX-512 VNNI/BF16 or AMX CPUs),
``ONEDNN_MAX_CPU_ISA=AVX2`` (oneDNN in TensorFlow and PyTorch),
``ATEN_CPU_CAPABILITY=avx2`` (PyTorch's own kernels) and
``XLA_FLAGS=--xla_cpu_max_isa=AVX2`` (JAX). The table names the CPU and its
flags and is written into docs/benchmarks.md, one section per CPU class.

    python benchmarks/throughput.py --data ../shared/data/mnist.npz --cpu native avx2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BACKENDS = ("tensorflow", "jax", "torch")
MODELS = {"dense": 200, "conv": 150}  # batch sizes of the article
EMULATE_AVX2 = {
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "XLA_FLAGS": "--xla_cpu_max_isa=AVX2",
}
#: the environment a user sets nothing in: none of the switches above
USER_SETTINGS = tuple(EMULATE_AVX2) + ("KERAS_BACKEND",)


# --------------------------------------------------------------------------
# workers: one backend per process
# --------------------------------------------------------------------------
def keras_worker(models, x, reps):
    """Time the plain fit and aelib.train of each model under this process's backend."""
    import keras

    import aelib
    from aelib.cache import MODELS as SPECS

    backend = keras.backend.backend()
    results = {}
    for kind in models:
        batch_size = MODELS[kind]
        build = aelib.dense_autoencoder if kind == "dense" else aelib.conv_autoencoder

        plain = build(seed=0).model
        plain.compile(optimizer=keras.optimizers.Adam(), loss="mse")

        def fit_plain():
            plain.fit(x, x, batch_size=batch_size, epochs=1, verbose=0)

        policy = SPECS[kind].dtype_policy()
        ae = build(seed=0, dtype_policy=policy)

        def fit_aelib():
            aelib.train(ae, x, epochs=1, batch_size=batch_size, verbose=0)

        fits = {f"plain model.fit, {backend}": fit_plain,
                f"aelib.train, {backend}, {policy}": fit_aelib}
        results[kind] = time_fits(fits, len(x), reps)
    return results


def torch_eager_worker(models, x, reps):
    """The same layers in plain PyTorch, trained eagerly with Adam and MSE."""
    import torch
    from torch import nn

    def dense():
        return nn.Sequential(
            nn.Flatten(), nn.Linear(784, 250), nn.ReLU(), nn.Linear(250, 16), nn.Tanh(),
            nn.Linear(16, 320), nn.ReLU(), nn.Linear(320, 784), nn.Sigmoid(),
            nn.Unflatten(1, (1, 28, 28)))

    def conv():
        return nn.Sequential(
            nn.Conv2d(1, 4, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 8, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(392, 150), nn.ReLU(), nn.Linear(150, 16), nn.Tanh(),
            nn.Linear(16, 120), nn.ReLU(), nn.Linear(120, 320), nn.ReLU(),
            nn.Linear(320, 784), nn.ReLU(), nn.Unflatten(1, (16, 7, 7)),
            nn.Upsample(scale_factor=2), nn.Conv2d(16, 8, 5, padding="same"), nn.ReLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(8, 4, 6, padding="same"), nn.ReLU(),
            nn.Conv2d(4, 1, 7, padding="same"), nn.Sigmoid())

    images = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())  # channels first
    results = {}
    for kind in models:
        torch.manual_seed(0)
        model = dense() if kind == "dense" else conv()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.MSELoss()
        batch_size = MODELS[kind]

        def fit():
            for index in torch.randperm(len(images)).split(batch_size):
                batch = images[index]
                optimizer.zero_grad()
                loss = loss_fn(model(batch), batch)
                loss.backward()
                optimizer.step()

        results[kind] = time_fits({"PyTorch eager, same layers": fit}, len(x), reps)
    return results


def time_fits(fits, n_images, reps):
    """Warm each fit up once, then time ``reps`` interleaved calls: images/s per call."""
    for fit in fits.values():
        fit()
    speeds = {name: [] for name in fits}
    for _ in range(reps):
        for name, fit in fits.items():
            start = time.perf_counter()
            fit()
            speeds[name].append(n_images / (time.perf_counter() - start))
    return speeds


def worker_main(args):
    import aelib

    data = aelib.load_mnist(args.data) if args.data else aelib.load_mnist()
    x = data.x_train[: args.images] if args.images else data.x_train
    worker = torch_eager_worker if args._worker == "torch-eager" else keras_worker
    results = worker(args.models, x, args.reps)
    from aelib.devices import backend_version

    with open(args._result, "w") as f:
        json.dump({"speeds": results, "images": len(x), "backend": backend_version()}, f)


# --------------------------------------------------------------------------
# the parent: subprocesses, rounds, the table
# --------------------------------------------------------------------------
def run_worker(which, cpu, args) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in USER_SETTINGS}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["KERAS_BACKEND"] = "torch" if which == "torch-eager" else which
    if cpu == "avx2":
        env.update(EMULATE_AVX2)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result = f.name
    cmd = [sys.executable, __file__, "--_worker", which, "--_result", result, "--reps",
           str(args.reps), "--models", *args.models] + (["--data", args.data] if args.data else [])
    if args.images:
        cmd += ["--images", str(args.images)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    try:
        if proc.returncode != 0:
            raise RuntimeError(f"{which} ({cpu}) failed:\n{proc.stderr[-3000:]}")
        with open(result) as f:
            return json.load(f)
    finally:
        os.unlink(result)


def cpu_line(cpu: str, versions) -> str:
    import platform

    from aelib.devices import RELEVANT_FLAGS, cpu_flags, cpu_model

    flags = " ".join(f for f in RELEVANT_FLAGS if f in cpu_flags()) or "none of " + ", ".join(RELEVANT_FLAGS)
    line = (f"{cpu_model()} (flags: {flags}), {os.cpu_count()} cores; Python "
            f"{platform.python_version()}, " + ", ".join(sorted(versions)))
    if cpu == "avx2":
        line += ("; emulated AVX2 class: " + ", ".join(f"`{k}={v}`" for k, v in EMULATE_AVX2.items()))
    return line


def table(speeds: dict, models) -> tuple[str, list[str]]:
    """The Markdown table and one verdict line per model."""
    from _common import markdown_table

    names = list(dict.fromkeys(n for kind in models for n in speeds[kind]))
    header = ["configuration"] + [f"{kind} images/s: best (median)" for kind in models]
    rows = []
    for name in names:
        cells = [name]
        for kind in models:
            values = speeds[kind].get(name)
            cells.append(f"{max(values):,.0f} ({statistics.median(values):,.0f})" if values else "-")
        rows.append(cells)
    verdicts = []
    for kind in models:
        best = {n: max(v) for n, v in speeds[kind].items()}
        peers = {n: v for n, v in best.items() if not n.startswith("aelib")}
        default = default_configuration(best)
        peer = max(peers, key=peers.get)
        verdicts.append(f"{kind}: aelib's default ({default}) {best[default]:,.0f} images/s, "
                        f"fastest peer ({peer}) {peers[peer]:,.0f}: "
                        f"**{best[default] / peers[peer]:.2f}x**")
    return markdown_table(header, rows), verdicts


def default_configuration(best: dict) -> str:
    """The row of the configuration aelib uses when the user sets nothing."""
    import keras  # the parent's default backend is what a user who sets nothing gets

    return next(n for n in best if n.startswith(f"aelib.train, {keras.backend.backend()},"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("AELIB_MNIST"))
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--backends", nargs="+", default=[*BACKENDS, "torch-eager"],
                   choices=[*BACKENDS, "torch-eager"])
    p.add_argument("--cpu", nargs="+", default=["native"], choices=["native", "avx2"])
    p.add_argument("--reps", type=int, default=2, help="timed one-epoch calls per variant and round")
    p.add_argument("--rounds", type=int, default=2, help="rounds over all backends")
    p.add_argument("--images", type=int, default=None,
                   help="train on the first N training images (default: all); the slow "
                        "configurations of an AVX2 CPU take minutes per full epoch")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--_worker", help=argparse.SUPPRESS)
    p.add_argument("--_result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._worker:
        return worker_main(args)

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _common import write_section

    for cpu in args.cpu:
        speeds = {kind: {} for kind in args.models}
        versions, images = set(), 0
        for round_ in range(args.rounds):
            for which in args.backends:
                start = time.perf_counter()
                result = run_worker(which, cpu, args)
                versions.add(result["backend"])
                images = result["images"]
                for kind, by_name in result["speeds"].items():
                    for name, values in by_name.items():
                        speeds[kind].setdefault(name, []).extend(values)
                print(f"[{cpu}] round {round_ + 1}: {which} done in "
                      f"{time.perf_counter() - start:.0f} s", flush=True)
        text, verdicts = table(speeds, args.models)
        command = (f"python benchmarks/throughput.py --cpu {cpu} --reps {args.reps} "
                   f"--rounds {args.rounds}" + (f" --images {args.images}" if args.images else ""))
        body = (f"### Throughput, {cpu} CPU class\n\n"
                f"`{command}`: one-epoch calls on {images:,} training images; machine: "
                f"{cpu_line(cpu, versions)}.\n\n{text}\n\n" + "\n".join(f"- {v}" for v in verdicts))
        print(body, flush=True)
        if not args.no_write:
            write_section(f"throughput-{cpu}", body)
            print("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
