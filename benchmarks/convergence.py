"""Does training reach the article's numbers on every seed? Both recipes, full MNIST.

For each model, recipe and seed: epochs spent on the plateau (training loss
above 0.06: the loss of predicting the mean image is ~0.067), the first epoch
with test MSE <= 0.015, the final test MSE, and the wall time. Prints the table
and writes it into docs/benchmarks.md.

    python benchmarks/convergence.py --data ../shared/data/mnist.npz
    python benchmarks/convergence.py --models conv --recipes aelib --seeds 0 --no-write
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import aelib  # noqa: E402
from aelib.training import EpochMSE  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, markdown_table, write_section  # noqa: E402

PLATEAU = 0.06
TARGET = 0.015
SETTINGS = {  # the article's epochs and batch size; dtype policies of aelib's recipe
    "dense": (aelib.dense_autoencoder, 50, 200, [None]),
    "conv": (aelib.conv_autoencoder, 10, 150, [None, "mixed_bfloat16"]),  # bf16: as figures build it
}


def run(kind, recipe, seed, data, epochs, policy=None):
    build, _, batch_size, _ = SETTINGS[kind]
    ae = build(seed=seed, dtype_policy=policy)
    probe = EpochMSE(ae, data.x_test)
    start = time.perf_counter()
    history = aelib.train(ae, data.x_train, epochs=epochs, batch_size=batch_size, seed=seed,
                          recipe=recipe, callbacks=[probe], verbose=0)
    seconds = time.perf_counter() - start  # includes the per-epoch test scoring
    losses = history.history["loss"]
    first = next((i + 1 for i, v in enumerate(probe.values) if v <= TARGET), None)
    return {
        "model": kind, "recipe": recipe, "seed": seed, "policy": policy or "float32",
        "plateau": sum(l > PLATEAU for l in losses),
        "first": first if first is not None else "never",
        "final": probe.values[-1], "seconds": seconds, "curve": probe.values,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="full MNIST .npz (default: $AELIB_MNIST, ../shared/data/mnist.npz)")
    p.add_argument("--models", nargs="+", default=["dense", "conv"], choices=list(SETTINGS))
    p.add_argument("--recipes", nargs="+", default=["aelib", "article"], choices=list(aelib.training.RECIPES))
    p.add_argument("--seeds", nargs="+", type=int, default=None, help="default: 5 for dense, 3 for conv")
    p.add_argument("--epochs", type=int, default=None, help="default: the article's (50 dense, 10 conv)")
    p.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = p.parse_args(argv)

    path = args.data or os.environ.get("AELIB_MNIST") or os.path.join(
        os.path.dirname(__file__), "..", "..", "shared", "data", "mnist.npz")
    data = aelib.load_mnist(path)
    header = ["model", "recipe", "computed in", "seed", "epochs on plateau",
              f"first epoch at test MSE <= {TARGET}",
              "final test MSE", "seconds"]
    rows = []
    print(" | ".join(header), flush=True)
    for kind in args.models:
        _, article_epochs, _, policies = SETTINGS[kind]
        epochs = args.epochs or article_epochs
        seeds = args.seeds if args.seeds is not None else list(range(5 if kind == "dense" else 3))
        runs = [(recipe, policy) for recipe in args.recipes
                for policy in (policies if recipe == "aelib" else [None])]
        for recipe, policy in runs:
            for seed in seeds:
                r = run(kind, recipe, seed, data, epochs, policy)
                row = [f"{kind} ({epochs} epochs)", recipe, r["policy"], seed, r["plateau"],
                       r["first"], f"{r['final']:.4f}", f"{r['seconds']:.0f}"]
                rows.append(row)
                print(" | ".join(map(str, row)), "| curve", " ".join(f"{v:.4f}" for v in r["curve"]), flush=True)
    body = (
        "## Convergence: the article's recipe against aelib's\n\n"
        f"`python benchmarks/convergence.py` on {data.source} ({len(data.x_train)} training images); "
        f"machine: {machine()}.\n"
        f"Plateau: training loss > {PLATEAU} (predicting the mean image scores ~0.067). "
        "Seconds include scoring the test set after every epoch.\n\n"
        + markdown_table(header, rows)
    )
    if not args.no_write:
        write_section("convergence", body)
        print("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
