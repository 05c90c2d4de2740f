"""aelib.train against plain ``model.fit`` on one backend, in one process, interleaved.

The per-backend goal of issue 24 (``aelib.train`` at least 1.0x plain ``fit``'s
images per second) compares two configurations that throughput.py runs in
separate processes, minutes apart; on a shared host that alone moves a ratio
by 10%. Here both run in one process, in turns (the order rotates each
round), with the two ways ``aelib.train`` differs from plain ``fit`` also
measured alone:

* ``plain fit``: ``Adam()``, ``"mse"``, arrays (Keras's slicing and shuffling);
* ``+ cosine``: the same with the recipe's ``CosineDecay`` learning rate;
* ``+ aelib's batches``: the same with :func:`aelib.batches.batches` as data;
* ``aelib.train``: all of it, with its steps per execution and XLA choice;
* under TensorFlow, ``aelib.train, x copied``: the same on a copy of the images
  that does not start on a 64-byte boundary, so that TensorFlow copies it into
  a tensor instead of sharing it (:func:`aelib.batches.batches`).

One-epoch calls on the protocol's images (60,000 dense, 9,000 conv), one
warm-up call each, the best and median of ``--rounds`` calls, and the paired
statistic: each round's ratio to plain ``fit``'s call of the same round, their
median with a bootstrap 95% interval, and in how many rounds it was faster.
``--only aelib.train`` runs that and plain ``fit`` alone, in turns::

    KERAS_BACKEND=torch python benchmarks/train_vs_fit.py --data ../shared/data/mnist.npz
    KERAS_BACKEND=jax python benchmarks/train_vs_fit.py --only aelib.train --rounds 16
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _common import machine, markdown_table
from throughput import IMAGES, MODELS


def configurations(kind: str, x):
    import keras

    import aelib
    from aelib.batches import batches
    from aelib.cache import MODELS as SPECS
    from aelib.training import FINAL_LR_FRACTION, PEAK_LEARNING_RATE

    build = aelib.dense_autoencoder if kind == "dense" else aelib.conv_autoencoder
    policy = SPECS[kind].dtype_policy()
    batch_size, steps = MODELS[kind], -(-len(x) // MODELS[kind])

    def plain(rate):
        model = build(seed=0, dtype_policy=policy).model
        model.compile(optimizer=keras.optimizers.Adam(rate), loss="mse")
        return model

    cosine = keras.optimizers.schedules.CosineDecay(PEAK_LEARNING_RATE, 10_000,
                                                    alpha=FINAL_LR_FRACTION)
    m_plain, m_cosine, m_batches = plain(1e-3), plain(cosine), plain(1e-3)
    ae = build(seed=0, dtype_policy=policy)
    copied = {}
    if keras.backend.backend() == "tensorflow":  # the training set copied into a tensor
        ae_copied, x_copied = build(seed=0, dtype_policy=policy), unaligned(x)
        copied["aelib.train, x copied"] = lambda: aelib.train(
            ae_copied, x_copied, epochs=1, batch_size=batch_size, seed=0, verbose=0)
    return policy, {
        "plain fit": lambda: m_plain.fit(x, x, batch_size=batch_size, epochs=1, verbose=0),
        "+ cosine": lambda: m_cosine.fit(x, x, batch_size=batch_size, epochs=1, verbose=0),
        "+ aelib's batches": lambda: m_batches.fit(batches(x, batch_size, 0, 1), epochs=1,
                                                   steps_per_epoch=steps, verbose=0),
        "aelib.train": lambda: aelib.train(ae, x, epochs=1, batch_size=batch_size, seed=0,
                                           verbose=0),
        **copied,
    }


def unaligned(x):
    """``x`` in memory that does not start on a 64-byte boundary, which TensorFlow
    cannot share: ``aelib.train`` then copies it into a tensor on every call."""
    import numpy as np

    from aelib.data import TENSOR_ALIGNMENT

    flat = np.empty(x.size + 2, x.dtype)
    start = 1 if (flat.ctypes.data + x.itemsize) % TENSOR_ALIGNMENT else 2
    out = flat[start : start + x.size].reshape(x.shape)
    out[...] = x
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("AELIB_MNIST"))
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="run only these configurations (plain fit always runs), e.g. aelib.train")
    args = p.parse_args(argv)

    import keras

    import aelib

    data = aelib.load_mnist(args.data) if args.data else aelib.load_mnist()
    print(f"machine: {machine()}")
    for kind in args.models:
        x = data.x_train[: IMAGES[kind]]
        policy, fits = configurations(kind, x)
        if args.only:
            fits = {name: fit for name, fit in fits.items() if name in {"plain fit", *args.only}}
        speeds = {name: [] for name in fits}
        for fit in fits.values():
            fit()  # warm-up: tracing and compiling
        names = list(fits)
        for round_ in range(args.rounds):
            for name in names[round_ % len(names):] + names[: round_ % len(names)]:
                start = time.perf_counter()
                fits[name]()
                speeds[name].append(len(x) / (time.perf_counter() - start))
        best = {name: max(s) for name, s in speeds.items()}
        median = {name: statistics.median(s) for name, s in speeds.items()}
        rows = [[name, f"{best[name]:,.0f}", f"{median[name]:,.0f}",
                 f"{best[name] / best['plain fit']:.2f}x", f"{median[name] / median['plain fit']:.2f}x",
                 "-" if name == "plain fit" else paired(speeds[name], speeds["plain fit"])]
                for name in names]
        print(f"\n{kind} ({len(x):,} images, batch {MODELS[kind]}, {policy}), "
              f"{keras.backend.backend()}, {args.rounds} rounds:\n")
        print(markdown_table(["configuration", "images/s: best", "median", "best / plain fit",
                              "median / plain fit", "per round / plain fit: median (95%), faster in"],
                             rows))


def paired(speeds, plain) -> str:
    """The median of the per-round ratios to plain fit, a bootstrap 95% interval of that
    median, and in how many rounds the configuration was the faster: the two calls of a
    round run within seconds of each other, so the host's slow minutes cancel."""
    import numpy as np

    ratios = np.asarray(speeds) / np.asarray(plain)
    draws = np.random.default_rng(0).choice(ratios, (5000, len(ratios)))
    low, high = np.percentile(np.median(draws, axis=1), [2.5, 97.5])
    return (f"{np.median(ratios):.2f}x ({low:.2f}x-{high:.2f}x), "
            f"{int((ratios > 1).sum())} of {len(ratios)}")


if __name__ == "__main__":
    main()
