"""How to train the denoisers: from scratch, or on from the article's trained models?

Full MNIST, noise sigma 0.4, seed 0, on the Keras backend in use. Each
denoiser trains on the first 55,000 training images (noisy inputs, clean
targets, ``aelib.train(..., noise=0.4)``) and is scored on the validation
split (the last 5,000, with their own noise) to choose, and on 2,000 test
digits to report. "fine-tune" starts from the trained model of
``aelib figures`` (the cache folder given, trained there if missing).

    python benchmarks/denoiser_recipe.py --data ../shared/data/mnist.npz --cache /tmp/aelib-cache
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SIGMA = 0.4
#: (kind, start, epochs): the candidates compared
CANDIDATES = (("conv", "scratch", 5), ("conv", "scratch", 8), ("conv", "fine-tune", 3),
              ("dense", "scratch", 20), ("dense", "fine-tune", 5))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("AELIB_MNIST"), help="full MNIST .npz")
    p.add_argument("--cache", default=None, help="aelib's model cache (the trained models)")
    args = p.parse_args(argv)

    import aelib
    from aelib.cache import MODELS, Run
    from aelib.report import markdown_table

    data = aelib.load_mnist(args.data)
    run = Run(data, seed=0, cache_dir=args.cache, progress=print)
    x_fit, x_valid = data.split_validation()
    noisy_valid = aelib.add_noise(x_valid, SIGMA, seed=1)
    clean_test = data.x_test[:2000]
    noisy_test = aelib.add_noise(clean_test, SIGMA, seed=0)
    rows = []
    for kind, start, epochs in CANDIDATES:
        spec = MODELS[kind]
        ae = spec.build(seed=0, dtype_policy=spec.dtype_policy())
        if start == "fine-tune":
            ae.model.set_weights(run.model(kind).autoencoder.model.get_weights())
        began = time.perf_counter()
        aelib.train(ae, x_fit, epochs=epochs, batch_size=spec.batch_size, seed=0, noise=SIGMA,
                    verbose=0)
        seconds = time.perf_counter() - began
        valid = aelib.evaluate(ae, noisy_valid, targets=x_valid)
        test = aelib.evaluate(ae, noisy_test, targets=clean_test)
        rows.append([kind, start, epochs, f"{valid:.4f}", f"{test:.4f}", f"{seconds:.0f}"])
        print(" | ".join(map(str, rows[-1])), flush=True)
    print(markdown_table(["model", "start", "epochs", "validation MSE", "test MSE", "seconds"], rows))


if __name__ == "__main__":
    main()
