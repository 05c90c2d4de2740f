"""Why the article's recipe sits on the plateau: watch the tanh codings saturate.

Trains the dense autoencoder for its first 600 steps (2 epochs, batch 200) on
full MNIST three ways and, every 50 steps, reports on 2,000 training images:
the running loss, the share of codings pinned at |c| > 0.99, and how much the
codings still differ between images (their standard deviation across images,
averaged over the 16 coordinates; 0 means every image gets the same codings,
so the decoder can only draw the mean image).

- article: Glorot weights, zero biases, Adam(1e-3).
- article + warm-up: the same, with the learning rate ramped up from 0 over
  the first 300 steps; tests whether Adam's first large steps are the cause.
- aelib: the decoder's output bias starts at the logit of the mean image.

    python benchmarks/saturation.py --data ../shared/data/mnist.npz
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import aelib  # noqa: E402

EVERY = 50


class Probe(keras.callbacks.Callback):
    def __init__(self, ae, x):
        super().__init__()
        self.ae, self.x, self.rows = ae, x, []

    def _probe(self, step, loss):
        c = self.ae.encode(self.x)
        self.rows.append((step, loss, float(np.mean(np.abs(c) > 0.99)), float(c.std(axis=0).mean())))

    def on_train_begin(self, logs=None):
        self._probe(0, float("nan"))

    def on_train_batch_end(self, batch, logs=None):
        # aelib.train runs several steps per call, so count the optimizer's steps
        step = int(self.model.optimizer.iterations.numpy())
        if step % EVERY == 0:
            self._probe(step, float(logs["loss"]))


def run(variant, data, seed):
    ae = aelib.dense_autoencoder(seed=seed)
    recipe = "aelib" if variant == "aelib" else "article"
    if variant == "article + warm-up":
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=1, alpha=1.0, warmup_target=1e-3, warmup_steps=300)
        ae.model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    probe = Probe(ae, data.x_train[:2000])
    aelib.train(ae, data.x_train, epochs=2, batch_size=200, seed=seed, recipe=recipe,
                callbacks=[probe], verbose=0)
    return probe.rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("AELIB_MNIST"))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    data = aelib.load_mnist(args.data) if args.data else aelib.load_mnist()
    print(f"data: {data.source}, seed {args.seed}")
    print("| variant | step | loss (epoch mean so far) | codings at abs > 0.99 | codings' spread across images |")
    print("|---|---|---|---|---|")
    for variant in ("article", "article + warm-up", "aelib"):
        for step, loss, sat, spread in run(variant, data, args.seed):
            print(f"| {variant} | {step} | {loss:.4f} | {sat:.0%} | {spread:.3f} |", flush=True)


if __name__ == "__main__":
    main()
