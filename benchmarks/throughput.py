"""Training throughput: aelib.train against a plain model.fit of the same model.

In one process, for each model: the plain article recipe (model.fit on numpy
arrays, default settings: one step per call into TensorFlow, Keras's own
layers and Adam), and aelib.train
with and without the reconstruction recorder (1 frame per epoch for the dense
model, 20 for the conv one); for the conv model also built with the
"mixed_bfloat16" policy, as `aelib figures` builds it on a CPU with
avx512_bf16. Each variant is warmed up with one call, then
timed for --reps calls of --epochs epochs, interleaved so that the machine's
noise hits all variants alike; the medians, the fastest calls and their ratios are reported and written
into docs/benchmarks.md.

    python benchmarks/throughput.py --data ../shared/data/mnist.npz
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

import aelib  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, markdown_table, write_section  # noqa: E402

SETTINGS = {  # builder, batch size, recorder frames per epoch, dtype policies to try, stock-layer args
    "dense": (aelib.dense_autoencoder, 200, 1, [None], {}),
    "conv": (aelib.conv_autoencoder, 150, 20, [None, "mixed_bfloat16"], {"blocked_output": False}),
}


def variants(kind, x, epochs):
    build, batch_size, per_epoch, policies, stock = SETTINGS[kind]

    plain = build(seed=0, **stock).model  # the article's layers as Keras ships them
    plain.compile(optimizer=keras.optimizers.Adam(), loss="mse")

    def fit_plain():
        plain.fit(x, x, batch_size=batch_size, epochs=epochs, verbose=0)

    def fit_aelib(policy, recorder):
        ae = build(seed=0, dtype_policy=policy)

        def fit():
            aelib.train(ae, x, epochs=epochs, batch_size=batch_size, verbose=0,
                        snapshots=aelib.ReconstructionRecorder(x[:8], per_epoch) if recorder else None)

        return fit

    fits = {"plain model.fit": fit_plain}
    for policy in policies:
        name = "aelib.train" + (f", {policy}" if policy else "")
        fits[name] = fit_aelib(policy, False)
        fits[f"{name} + recorder"] = fit_aelib(policy, True)
    return fits


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("AELIB_MNIST"))
    p.add_argument("--models", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3, help="epochs per timed call")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    data = aelib.load_mnist(args.data) if args.data else aelib.load_mnist()
    x = data.x_train
    rows = []
    for kind in args.models:
        fits = variants(kind, x, args.epochs)
        for fit in fits.values():
            fit()  # warm-up: tracing, first-epoch allocations
        speeds = {name: [] for name in fits}
        per_cpu = {name: [] for name in fits}  # images per CPU-second: steadier on a shared VM
        for _ in range(args.reps):
            for name, fit in fits.items():
                start, cpu = time.perf_counter(), time.process_time()
                fit()
                images = args.epochs * len(x)
                speeds[name].append(images / (time.perf_counter() - start))
                per_cpu[name].append(images / (time.process_time() - cpu))
        base = statistics.median(speeds["plain model.fit"])
        best_base = max(speeds["plain model.fit"])
        cpu_base = statistics.median(per_cpu["plain model.fit"])
        for name, values in speeds.items():
            median, cpu_median = statistics.median(values), statistics.median(per_cpu[name])
            rows.append([kind, name, f"{median:,.0f}", f"{min(values):,.0f} - {max(values):,.0f}",
                         f"{median / base:.2f}x", f"{max(values) / best_base:.2f}x",
                         f"{cpu_median:,.0f}", f"{cpu_median / cpu_base:.2f}x"])
            print(" | ".join(rows[-1]), flush=True)
    header = ["model", "variant", "images/s (median)", "range", "vs plain fit (medians)",
              "vs plain fit (fastest calls)", "images per CPU-second (median)", "vs plain fit"]
    body = (
        "## Training throughput\n\n"
        f"`python benchmarks/throughput.py --reps {args.reps} --epochs {args.epochs}` "
        f"({args.reps} timed calls of {args.epochs} epochs each, interleaved, after one warm-up "
        f"call) on {len(x):,} training images; machine: {machine()}. "
        "This machine is shared and noisy: compare ratios within this table only; the fastest "
        "calls and the per-CPU-second columns are the least disturbed by other jobs. The plain "
        "fit goes through Keras's own tf.data pipeline, whose autotuner can leave a call idle "
        "at its end (see the one-core mode below); aelib's pipeline runs without it.\n\n"
        + markdown_table(header, rows)
    )
    if not args.no_write:
        write_section("throughput", body)
        print("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
