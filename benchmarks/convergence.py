"""Does training reach the article's numbers on every seed and Keras backend? Full MNIST.

For each backend, model, recipe, dtype policy, peak learning rate and seed:
epochs spent on the plateau (training loss above 0.06: the loss of predicting
the mean image is ~0.067), the first epoch with validation MSE <= 0.015, the
final validation and test MSE, whether the test MSE meets the quality goal
(dense <= 0.0095 after 50 epochs, conv <= 0.0090 after 10), and the wall time.

The models train on the first 55,000 training images; the last 5,000 are the
validation split (``Dataset.split_validation``), scored after every epoch and
the one to choose settings on (``--learning-rates`` sweeps Adam's peak
learning rate). The test set is scored once, after the last epoch. Each backend runs in its own process
(``KERAS_BACKEND=NAME``, this script with ``--_worker``), which hands its
results back in a temporary JSON file. Prints one table and writes it into
docs/benchmarks.md.

The conv model is measured in the precision aelib builds it in on that backend
(``--policies aelib``, the default: ``mixed_bfloat16`` under TensorFlow on a CPU
with avx512_bf16/amx_bf16, see ``aelib.cache.ModelSpec.dtype_policy``; float32
elsewhere); ``--policies aelib float32`` adds float32 where that differs.

    python benchmarks/convergence.py --data ../shared/data/mnist.npz
    python benchmarks/convergence.py --data ../shared/data/mnist.npz --recipes aelib --seeds 0
    python benchmarks/convergence.py --backends tensorflow --models conv --policies aelib float32 --no-write
    python benchmarks/convergence.py --backends tensorflow --recipes aelib --seeds 0 --learning-rates 1e-3 2e-3 4e-3 8e-3
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # _common

BACKENDS = ("tensorflow", "jax", "torch")
RECIPES = ("aelib", "article")  # aelib.training.RECIPES (checked in the worker)
POLICIES = ("aelib", "float32", "mixed_bfloat16")  # "aelib": what aelib.cache.MODELS builds
PLATEAU = 0.06
TARGET = 0.015
# model: (article's epochs, batch size, goal for the final test MSE after the article's epochs)
SETTINGS = {
    "dense": (50, 200, 0.0095),
    "conv": (10, 150, 0.0090),
}


# -- worker: one backend, in its own process ----------------------------------------
def warn_shadowed_variables(model, kind) -> list[str]:
    """Warns of trainable variables that share a path (layers of the same name in
    the encoder and the decoder): Keras's PyTorch backend registers variables by
    path, so all but one of each such group are no torch parameters, and
    ``zero_grad`` never clears their gradients (they add up over the steps)."""
    paths = [v.path for v in model.trainable_variables]
    shared = sorted({p for p in paths if paths.count(p) > 1})
    if shared:
        import keras

        effect = ("their gradients are never zeroed: training is wrong"
                  if keras.backend.backend() == "torch" else "harmless on this backend")
        print(f"WARNING: {kind} model: trainable variables share paths {shared} "
              f"(same layer name in encoder and decoder); under torch {effect}",
              file=sys.stderr, flush=True)
    return shared


def run(kind, recipe, seed, data, epochs, policy, learning_rate=None):
    import aelib
    from aelib.training import EpochMSE

    build = {"dense": aelib.dense_autoencoder, "conv": aelib.conv_autoencoder}[kind]
    _, batch_size, _ = SETTINGS[kind]
    ae = build(seed=seed, dtype_policy=policy)
    warn_shadowed_variables(ae.model, kind)
    x_fit, x_valid = data.split_validation()
    probe = EpochMSE(ae, x_valid)
    start = time.perf_counter()
    history = aelib.train(ae, x_fit, epochs=epochs, batch_size=batch_size, seed=seed,
                          recipe=recipe, learning_rate=learning_rate, callbacks=[probe], verbose=0)
    seconds = time.perf_counter() - start  # includes the per-epoch validation scoring
    losses = [float(v) for v in history.history["loss"]]
    first = next((i + 1 for i, v in enumerate(probe.values) if v <= TARGET), None)
    return {
        "model": kind, "recipe": recipe, "seed": seed, "policy": policy, "epochs": epochs,
        "plateau": sum(l > PLATEAU for l in losses),
        "first": first if first is not None else "never",
        "learning_rate": learning_rate or (1e-3 if recipe == "article" else aelib.training.PEAK_LEARNING_RATE),
        "valid": float(probe.values[-1]), "final": aelib.evaluate(ae, data.x_test),
        "seconds": seconds,
        "curve": [float(v) for v in probe.values],
    }


def worker(args) -> None:
    """Run every configuration on the backend Keras uses here; results to ``args._result``."""
    import keras

    import aelib
    from aelib.cache import MODELS
    from aelib.devices import backend_name, backend_version

    assert tuple(aelib.training.RECIPES) == RECIPES, aelib.training.RECIPES
    backend = backend_name()
    data = aelib.load_mnist(args.data)
    out = {"backend": backend, "version": backend_version(), "keras": keras.__version__,
           "source": data.source, "n_train": len(data.x_train), "runs": []}
    print(f"[{backend}] {backend_version()}, Keras {keras.__version__}, "
          f"{len(data.x_train)} training images", flush=True)
    for kind in args.models:
        article_epochs = SETTINGS[kind][0]
        epochs = args.epochs or article_epochs
        seeds = args.seeds if args.seeds is not None else list(range(5 if kind == "dense" else 3))
        aelib_policy = MODELS[kind].dtype_policy()
        policies = list(dict.fromkeys(aelib_policy if p == "aelib" else p for p in args.policies))
        for recipe in args.recipes:
            # the article's recipe is the article's model: float32 only
            for policy in (policies if recipe == "aelib" else ["float32"]):
                for seed, lr in [(s, lr) for lr in args.learning_rates or [None] for s in seeds]:
                    r = run(kind, recipe, seed, data, epochs, policy, lr)
                    r["aelib_default"] = policy == aelib_policy
                    out["runs"].append(r)
                    print(f"[{backend}] {kind} {recipe} {policy} lr {r['learning_rate']:g} seed {seed}: "
                          f"validation {r['valid']:.4f}, test {r['final']:.4f}, "
                          f"first <= {TARGET}: {r['first']}, {r['seconds']:.0f} s | curve "
                          + " ".join(f"{v:.4f}" for v in r["curve"]), flush=True)
                    with open(args._result, "w") as f:  # after every run: a crash keeps the rest
                        json.dump(out, f)
    with open(args._result, "w") as f:
        json.dump(out, f)


# -- parent: one worker per backend, one table --------------------------------------
def run_backend(backend, args, data_path):
    """Runs the worker under ``KERAS_BACKEND=backend``; (its results or None, exit code)."""
    fd, result = tempfile.mkstemp(prefix=f"convergence-{backend}-", suffix=".json")
    os.close(fd)
    os.unlink(result)  # the worker creates it: no file means it produced nothing
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker", "--_result", result,
           "--data", data_path, "--models", *args.models, "--recipes", *args.recipes,
           "--policies", *args.policies]
    if args.seeds is not None:
        cmd += ["--seeds", *map(str, args.seeds)]
    if args.epochs is not None:
        cmd += ["--epochs", str(args.epochs)]
    if args.learning_rates:
        cmd += ["--learning-rates", *map(repr, args.learning_rates)]
    env = dict(os.environ, KERAS_BACKEND=backend)
    start = time.perf_counter()
    code = subprocess.call(cmd, env=env)  # its progress goes straight to our stdout/stderr
    print(f"[{backend}] worker exited with code {code} after {time.perf_counter() - start:.0f} s",
          flush=True)
    try:
        with open(result) as f:
            return json.load(f), code
    except (OSError, json.JSONDecodeError):
        return None, code
    finally:
        if os.path.exists(result):
            os.unlink(result)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="full MNIST .npz (default: $AELIB_MNIST, ../shared/data/mnist.npz)")
    p.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS,
                   help="Keras backends, each run in its own process (default: all three)")
    p.add_argument("--models", nargs="+", default=["dense", "conv"], choices=list(SETTINGS))
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    p.add_argument("--policies", nargs="+", default=["aelib"], choices=POLICIES,
                   help="dtype policies for aelib's recipe: 'aelib' is the one aelib builds the model "
                        "with on that backend and CPU (default); add 'float32' to compare")
    p.add_argument("--seeds", nargs="+", type=int, default=None, help="default: 5 for dense, 3 for conv")
    p.add_argument("--epochs", type=int, default=None, help="default: the article's (50 dense, 10 conv)")
    p.add_argument("--learning-rates", nargs="+", type=float, default=None,
                   help="Adam's peak learning rates to compare (default: each recipe's own)")
    p.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    p.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--_result", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    path = args.data or os.environ.get("AELIB_MNIST") or os.path.join(
        os.path.dirname(__file__), "..", "..", "shared", "data", "mnist.npz")
    if args._worker:
        args.data = path
        return worker(args)

    results, failures = [], []
    for backend in args.backends:
        out, code = run_backend(backend, args, os.path.abspath(path))
        if out is not None:
            results.append(out)
        if code != 0:
            done = len(out["runs"]) if out else 0
            failures.append(f"{backend} (exit code {code}; {done} run(s) finished before)")

    header = ["backend", "model", "recipe", "computed in", "peak learning rate", "seed",
              "epochs on plateau", f"first epoch at validation MSE <= {TARGET}",
              "final validation MSE", "test MSE", "goal", "seconds"]
    rows = []
    for out in results:
        for r in out["runs"]:
            article_epochs, _, goal = SETTINGS[r["model"]]
            met = ("-" if r["epochs"] != article_epochs
                   else f"<= {goal:.4f}: {'yes' if r['final'] <= goal else 'NO'}")
            rows.append([out["backend"], f"{r['model']} ({r['epochs']} epochs)", r["recipe"],
                         r["policy"] + (" (aelib's)" if r["aelib_default"] and r["recipe"] == "aelib" else ""),
                         f"{r['learning_rate']:g}", r["seed"], r["plateau"], r["first"],
                         f"{r['valid']:.4f}", f"{r['final']:.4f}", met,
                         f"{r['seconds']:.0f}"])

    from _common import machine, markdown_table, write_section

    table = markdown_table(header, rows)
    print()
    print(table)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    if not results:
        sys.exit(1)

    first = results[0]
    section, title = (("learning-rate", "Choosing the learning rate on the validation split")
                      if args.learning_rates else ("convergence", "Convergence on every Keras backend"))
    command = " ".join(["python", "benchmarks/convergence.py", *map(shlex.quote, argv)])
    body = (
        f"## {title}\n\n"
        f"`{command}` on {'the MNIST sample' if first['source'] == 'sample' else 'full MNIST'} "
        f"({first['n_train']} training images: the first "
        f"{first['n_train'] * 11 // 12} train, the last {first['n_train'] // 12} are the validation "
        "split), each backend in its own process.\n"
        f"Machine: {machine([out['version'] for out in results])}.\n"
        f"Plateau: training loss > {PLATEAU} (predicting the mean image scores ~0.067). "
        "Goal: final test MSE <= 0.0095 for dense after 50 epochs, <= 0.0090 for conv after 10. "
        "\"computed in\": the dtype policy (aelib's: the one aelib builds the model with on that "
        "backend and CPU). Seconds include scoring the validation split after every epoch; "
        "the test set is scored once, at the end.\n\n"
        + table
        + "".join(f"\nFailed: {failure}.\n" for failure in failures)
    )
    if not args.no_write:
        write_section(section, body)
        print("wrote docs/benchmarks.md")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
