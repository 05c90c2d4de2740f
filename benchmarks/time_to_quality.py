"""Time to dense test MSE <= 0.015: aelib.train against the plain article recipe, same run.

For each seed, in one process: the plain article recipe (the dense model as
built, ``model.fit`` on numpy arrays with Adam's defaults, batch 200) and
``aelib.train`` (default recipe), each for at most the article's 50 epochs,
stopping at the first epoch whose test MSE is <= 0.015. The seconds are
training time only: scoring the test set after each epoch is timed apart and
left out for both. Prints the table and writes it into docs/benchmarks.md.

    python benchmarks/time_to_quality.py --data ../shared/data/mnist.npz
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

import aelib  # noqa: E402
from aelib.training import EpochMSE  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, markdown_table, write_section  # noqa: E402

TARGET = 0.015
EPOCHS, BATCH_SIZE = 50, 200  # the article's dense settings


class StopAtTarget(EpochMSE):
    """Scores the test set after each epoch (timed apart) and stops at TARGET."""

    def __init__(self, autoencoder, x):
        super().__init__(autoencoder, x)
        self.scoring_seconds = 0.0

    def on_epoch_end(self, epoch, logs=None):
        start = time.perf_counter()
        super().on_epoch_end(epoch, logs)
        self.scoring_seconds += time.perf_counter() - start
        if self.values[-1] <= TARGET:
            self.model.stop_training = True


def timed(fit, probe):
    start = time.perf_counter()
    fit()
    seconds = time.perf_counter() - start - probe.scoring_seconds
    reached = probe.values[-1] <= TARGET
    return seconds, len(probe.values), reached


def plain(data, seed):
    ae = aelib.dense_autoencoder(seed=seed)
    ae.model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    probe = StopAtTarget(ae, data.x_test)
    keras.utils.set_random_seed(seed)
    return timed(lambda: ae.model.fit(data.x_train, data.x_train, epochs=EPOCHS, batch_size=BATCH_SIZE,
                                      callbacks=[probe], verbose=0), probe)


def with_aelib(data, seed):
    ae = aelib.dense_autoencoder(seed=seed)
    probe = StopAtTarget(ae, data.x_test)
    return timed(lambda: aelib.train(ae, data.x_train, epochs=EPOCHS, batch_size=BATCH_SIZE, seed=seed,
                                     callbacks=[probe], verbose=0), probe)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("AELIB_MNIST"), help="full MNIST .npz")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    data = aelib.load_mnist(args.data) if args.data else aelib.load_mnist()
    header = ["seed", "plain recipe: seconds (epochs)", "aelib.train: seconds (epochs)", "aelib / plain"]
    rows = []
    print(" | ".join(header), flush=True)
    for seed in args.seeds:
        base, ours = plain(data, seed), with_aelib(data, seed)

        def cell(seconds, epochs, reached):
            return f"{seconds:.1f} ({epochs})" if reached else f"not reached: > {seconds:.1f} ({epochs})"

        ratio = ours[0] / base[0]
        if not ours[2]:
            verdict = "aelib did not reach it"
        else:
            verdict = f"{'< ' if not base[2] else ''}1/{1 / ratio:.0f}"
        rows.append([seed, cell(*base), cell(*ours), verdict])
        print(" | ".join(map(str, rows[-1])), flush=True)
    body = (
        f"## Time to dense test MSE <= {TARGET}\n\n"
        f"`python benchmarks/time_to_quality.py --seeds {' '.join(map(str, args.seeds))}` on "
        f"{len(data.x_train):,} training images: the plain article recipe (`model.fit` on numpy "
        f"arrays, Adam defaults, batch {BATCH_SIZE}) against `aelib.train`, at most {EPOCHS} epochs "
        "each, same seed, same process; training seconds only (the per-epoch test scoring is "
        f"timed apart and left out). Machine: {machine()}.\n\n"
        + markdown_table(header, rows)
    )
    if not args.no_write:
        write_section("time-to-quality", body)
        print("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
