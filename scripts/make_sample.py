"""Build the MNIST sample that ships inside aelib (aelib/_data/mnist_sample.npz).

A stratified, seeded draw from the full MNIST: 600 training and 100 test images
of each digit (6,000 / 1,000), in the layout keras.datasets.mnist caches (uint8
pixels 0..255, uint8 labels), so every loader path reads it the same way.

    python scripts/make_sample.py ../shared/data/mnist.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "aelib" / "_data" / "mnist_sample.npz"


def stratified(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``per_class`` random images of each label, in a random order."""
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in np.unique(y)]
    )
    return rng.permutation(idx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mnist", type=Path, help="full MNIST .npz (keras layout)")
    parser.add_argument("--train", type=int, default=600, help="training images per digit")
    parser.add_argument("--test", type=int, default=100, help="test images per digit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    with np.load(args.mnist, allow_pickle=False) as f:
        tr = stratified(f["y_train"], args.train, rng)
        te = stratified(f["y_test"], args.test, rng)
        arrays = {
            "x_train": f["x_train"][tr],
            "y_train": f["y_train"][tr],
            "x_test": f["x_test"][te],
            "y_test": f["y_test"][te],
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    sizes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): {sizes}")


if __name__ == "__main__":
    main()
