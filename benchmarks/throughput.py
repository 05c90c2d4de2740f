"""Training throughput: aelib's configurations against every plain peer, per CPU class.

The protocol of issue 24. For the dense and the conv model (the article's stock
layers, batch 200 and 150), on 60,000 and 9,000 training images:

* **steady state**: images per second of one training epoch, the best of 3
  calls after one identical warm-up call;
* **first epoch**: the warm-up call itself, from a fresh model (tracing and
  compiling included), after the process has run one unrelated tiny fit.

The peers: plain ``model.fit`` of the same layers with default compile settings
(``Adam()``, ``"mse"``) under each Keras backend, and the same layers in plain
PyTorch, trained eagerly. aelib: ``aelib.train`` under each backend, with the
dtype policy ``aelib figures`` builds the model with there.

Each configuration runs in a subprocess of its own: the peers import Keras
(and so TensorFlow) first, as a user who never imports aelib does; aelib's
processes import aelib first, as its command line and notebook do, so its
oneDNN switch (``aelib/_onednn.py``) acts where TensorFlow would leave oneDNN off.

``--cpu native`` runs on the CPU as it is; ``--cpu avx2`` emulates an AVX2 CPU
without AVX-512 on a newer one: the peers run under ``TF_ENABLE_ONEDNN_OPTS=0``
(TensorFlow's default on AVX2), ``ONEDNN_MAX_CPU_ISA=AVX2``,
``ATEN_CPU_CAPABILITY=avx2`` and ``XLA_FLAGS=--xla_cpu_max_isa=AVX2``; aelib runs
under the same caps with ``TF_ENABLE_ONEDNN_OPTS`` unset (it sets it itself).
The table names the CPU, its flags and class, and is written into
docs/benchmarks.md, one section per CPU class.

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
IMAGES = {"dense": 60_000, "conv": 9_000}  # training images per timed epoch
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
def keras_worker(models, x, reps, variant):
    """Time the plain fit (``variant="plain"``) or aelib.train of each model."""
    import keras

    import aelib
    from aelib.cache import MODELS as SPECS

    backend = keras.backend.backend()
    warm_up_process()
    results = {}
    for kind in models:
        batch_size, images = MODELS[kind], x[: IMAGES[kind]]
        build = aelib.dense_autoencoder if kind == "dense" else aelib.conv_autoencoder
        if variant == "plain":
            plain = build(seed=0).model
            plain.compile(optimizer=keras.optimizers.Adam(), loss="mse")

            def fit():
                plain.fit(images, images, batch_size=batch_size, epochs=1, verbose=0)

            name = f"plain model.fit, {backend}"
        else:
            policy = SPECS[kind].dtype_policy()
            ae = build(seed=0, dtype_policy=policy)

            def fit():
                aelib.train(ae, images, epochs=1, batch_size=batch_size, verbose=0)

            name = f"aelib.train, {backend}, {policy}"
        results[kind] = time_fits({name: fit}, len(images), reps)
    return results


def warm_up_process():
    """One tiny unrelated fit, so that no first epoch pays the process's one-time start."""
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((64, 8), "float32"), np.zeros((64, 1), "float32"), epochs=1, verbose=0)


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

    results = {}
    for kind in models:
        images = torch.from_numpy(x[: IMAGES[kind]].transpose(0, 3, 1, 2).copy())  # channels first
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

        results[kind] = time_fits({"PyTorch eager, same layers": fit}, len(images), reps)
    return results


def time_fits(fits, n_images, reps):
    """Each fit's first call (timed: the first epoch), then ``reps`` timed calls:
    ``{name: {"first_s": seconds, "speeds": [images/s per call]}}``."""
    out = {}
    for name, fit in fits.items():
        start = time.perf_counter()
        fit()
        out[name] = {"first_s": time.perf_counter() - start, "speeds": []}
    for _ in range(reps):
        for name, fit in fits.items():
            start = time.perf_counter()
            fit()
            out[name]["speeds"].append(n_images / (time.perf_counter() - start))
    return out


def worker_main(args):
    if args._worker.endswith(":aelib"):
        import aelib  # first, as its command line and notebook do
    else:
        import keras  # noqa: F401  (first: a user who never imports aelib)
    import aelib
    from aelib.devices import backend_version

    data = aelib.load_mnist(args.data) if args.data else aelib.load_mnist()
    x = data.x_train[: max(IMAGES[m] for m in args.models)]
    if args._worker == "torch-eager":
        results = torch_eager_worker(args.models, x, args.reps)
    else:
        results = keras_worker(args.models, x, args.reps, args._worker.split(":")[1])
    with open(args._result, "w") as f:
        json.dump({"results": results, "backend": backend_version(),
                   "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS")}, f)


# --------------------------------------------------------------------------
# the parent: subprocesses, rounds, the table
# --------------------------------------------------------------------------
def run_worker(which, cpu, args) -> dict:
    """``which``: ``BACKEND:plain``, ``BACKEND:aelib`` or ``torch-eager``."""
    env = {k: v for k, v in os.environ.items() if k not in USER_SETTINGS}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["KERAS_BACKEND"] = "torch" if which == "torch-eager" else which.split(":")[0]
    if cpu == "avx2":
        env.update(EMULATE_AVX2)
        if which.endswith(":aelib"):
            del env["TF_ENABLE_ONEDNN_OPTS"]  # aelib's own choice, as on a real AVX2 CPU
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result = f.name
    cmd = [sys.executable, __file__, "--_worker", which, "--_result", result, "--reps",
           str(args.reps), "--models", *args.models] + (["--data", args.data] if args.data else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    try:
        if proc.returncode != 0:
            raise RuntimeError(f"{which} ({cpu}) failed:\n{proc.stderr[-3000:]}")
        with open(result) as f:
            return json.load(f)
    finally:
        os.unlink(result)


CLASS_TITLES = {"amx": "AMX", "avx512": "AVX-512 without AMX", "avx2": "AVX2", "other": "other"}


def cpu_line(cpu: str, versions) -> str:
    import platform

    from aelib.devices import RELEVANT_FLAGS, cpu_flags, cpu_model

    flags = " ".join(f for f in RELEVANT_FLAGS if f in cpu_flags()) or "none of " + ", ".join(RELEVANT_FLAGS)
    line = (f"{cpu_model()} (flags: {flags}), {os.cpu_count()} cores; Python "
            f"{platform.python_version()}, " + ", ".join(sorted(versions)))
    if cpu == "avx2":
        line += ("; emulated AVX2 class: " + ", ".join(f"`{k}={v}`" for k, v in EMULATE_AVX2.items()))
    return line


def table(results: dict, models) -> tuple[str, list[str]]:
    """The Markdown table and the verdict lines (the goals of issue 24)."""
    from _common import markdown_table

    names = list(dict.fromkeys(n for kind in models for n in results[kind]))
    header = ["configuration"] + [h for kind in models for h in
                                  (f"{kind} images/s: best (median)", f"{kind} first epoch, s: best")]
    rows = []
    for name in names:
        cells = [name]
        for kind in models:
            r = results[kind].get(name)
            cells += ([f"{max(r['speeds']):,.0f} ({statistics.median(r['speeds']):,.0f})",
                       f"{r['first_s']:.2f}"] if r else ["-", "-"])
        rows.append(cells)
    verdicts = []
    for kind in models:
        best = {n: max(r["speeds"]) for n, r in results[kind].items()}
        peers = {n: v for n, v in best.items() if not n.startswith("aelib")}
        default = default_configuration(best)
        if default is not None and peers:  # --backends may leave out the default or the peers
            peer = max(peers, key=peers.get)
            verdicts.append(f"{kind}, default against every peer: aelib's default ({default}) "
                            f"{best[default]:,.0f} images/s, fastest peer ({peer}) "
                            f"{peers[peer]:,.0f}: **{best[default] / peers[peer]:.2f}x** "
                            "(goal >= 1.0x)")
        for name in (n for n in best if n.startswith("aelib.train")):
            backend = name.split(", ")[1]
            plain = f"plain model.fit, {backend}"
            if plain in best:
                first = results[kind][name]["first_s"] / results[kind][plain]["first_s"]
                verdicts.append(f"{kind}, {backend}: aelib.train {best[name] / best[plain]:.2f}x plain "
                                f"fit's images/s (goal >= 1.0x); first epoch {first:.2f}x plain fit's "
                                f"time (goal <= 1.2x)")
    return markdown_table(header, rows), verdicts


def default_configuration(best: dict) -> str | None:
    """The row of the configuration aelib uses when the user sets nothing (None: not run)."""
    import keras  # the parent's default backend is what a user who sets nothing gets

    default = f"aelib.train, {keras.backend.backend()},"
    return next((n for n in best if n.startswith(default)), None)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("AELIB_MNIST"))
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--backends", nargs="+", default=[*BACKENDS, "torch-eager"],
                   choices=[*BACKENDS, "torch-eager"])
    p.add_argument("--cpu", nargs="+", default=["native"], choices=["native", "avx2"])
    p.add_argument("--reps", type=int, default=3, help="timed one-epoch calls after the first")
    p.add_argument("--rounds", type=int, default=1,
                   help="rounds over all configurations, each a fresh process; the table takes "
                        "the best over all rounds (a slow minute of a shared host then decides "
                        "no row)")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--_worker", help=argparse.SUPPRESS)
    p.add_argument("--_result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._worker:
        return worker_main(args)

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _common import write_section

    from aelib.devices import cpu_class

    workers = [w for b in args.backends
               for w in ([b] if b == "torch-eager" else [f"{b}:plain", f"{b}:aelib"])]
    for cpu in args.cpu:
        results = {kind: {} for kind in args.models}
        versions, onednn = set(), {}
        for round_, which in ((r, w) for r in range(args.rounds) for w in workers):
            start = time.perf_counter()
            result = run_worker(which, cpu, args)
            versions.add(result["backend"])
            onednn[which] = result["onednn"]
            for kind, by_name in result["results"].items():
                for name, r in by_name.items():
                    seen = results[kind].setdefault(name, {"first_s": r["first_s"], "speeds": []})
                    seen["first_s"] = min(seen["first_s"], r["first_s"])
                    seen["speeds"] += r["speeds"]
            print(f"[{cpu}] round {round_ + 1}: {which} done in "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
        text, verdicts = table(results, args.models)
        klass = "avx2" if cpu == "avx2" else cpu_class()
        command = (f"python benchmarks/throughput.py --cpu {cpu} --reps {args.reps} "
                   f"--rounds {args.rounds}")
        sizes = ", ".join(f"{IMAGES[k]:,} ({k})" for k in args.models)
        body = (f"### Throughput, {CLASS_TITLES[klass]} CPU class\n\n"
                f"`{command}`: one-epoch calls on {sizes} training images; machine: "
                f"{cpu_line(cpu, versions)}; TF_ENABLE_ONEDNN_OPTS in aelib's TensorFlow "
                f"process: {onednn.get('tensorflow:aelib')!r}, in the plain fit's: "
                f"{onednn.get('tensorflow:plain')!r}.\n\n{text}\n\n"
                + "\n".join(f"- {v}" for v in verdicts))
        print(body, flush=True)
        if not args.no_write:
            write_section(f"throughput-{klass}", body)
            print("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
