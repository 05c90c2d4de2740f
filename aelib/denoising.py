"""Classical denoisers to measure a denoising autoencoder against.

A denoising autoencoder is one trained with ``aelib.train(ae, x, noise=sigma)``.
It is compared with four classical filters of one parameter each: scipy.ndimage's
median filter (``"median"``) and Gaussian blur (``"gaussian"``), scikit-image's
total-variation (``"tv"``) and non-local-means (``"nl_means"``) denoisers.
:func:`tune_classical` picks each one's parameter on training images; the caller
scores them on test images::

    noisy = aelib.add_noise(x_train[:300], 0.4, seed=0)
    tuned = aelib.tune_classical(noisy, x_train[:300])   # best first
    best = tuned[0]
    test_noisy = aelib.add_noise(x_test, 0.4, seed=1)
    mse = image_mse(classical_denoise(test_noisy, best.method, best.parameter), x_test)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .data import check_images, check_number, describe

__all__ = ["CLASSICAL_GRIDS", "ClassicalDenoiser", "classical_denoise", "tune_classical",
           "image_mse"]

#: each classical filter's parameter values that :func:`tune_classical` tries
CLASSICAL_GRIDS: dict[str, tuple[float, ...]] = {
    "median": (2, 3, 4, 5),                       # window size in pixels
    "gaussian": (0.5, 0.7, 1.0, 1.4, 2.0),        # standard deviation in pixels
    "tv": (0.05, 0.1, 0.2, 0.3, 0.5),             # total-variation weight
    "nl_means": (0.05, 0.1, 0.15, 0.2, 0.25, 0.3),  # h, in grey levels of [0, 1]
}
#: how each filter and its parameter read in a table
_NAMES = {"median": "median filter {0:g}x{0:g}", "gaussian": "Gaussian blur, sigma {0:g}",
          "tv": "total variation, weight {0:g}", "nl_means": "non-local means, h {0:g}"}
#: non-local means' patches: 5x5, searched within 6 pixels (a 28x28 digit has few far twins)
NL_MEANS_PATCH = {"patch_size": 5, "patch_distance": 6, "fast_mode": True}


@dataclass(frozen=True)
class ClassicalDenoiser:
    """A classical filter with its tuned parameter and its MSE on the tuning images."""

    method: str
    parameter: float
    train_mse: float

    @property
    def label(self) -> str:
        """E.g. ``"median filter 3x3"``, ``"non-local means, h 0.15"``."""
        return _NAMES[self.method].format(self.parameter)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Denoise ``x`` with this filter and parameter (see :func:`classical_denoise`)."""
        return classical_denoise(x, self.method, self.parameter)


def _check_method(method) -> str:
    if method not in CLASSICAL_GRIDS:
        raise ValueError(f"method must be one of {tuple(CLASSICAL_GRIDS)}, got {describe(method)}")
    return method


def _check_pair(x, targets, x_name: str, targets_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Two image batches of one shape."""
    x = check_images(x, x_name)
    targets = check_images(targets, targets_name)
    if x.shape != targets.shape:
        raise ValueError(f"{targets_name} must have the shape of {x_name} {x.shape}, "
                         f"got {describe(targets)}")
    return x, targets


def classical_denoise(x: np.ndarray, method: str, parameter: float) -> np.ndarray:
    """Denoise each image of ``x`` with one classical filter, clipped to [0, 1].

    Args:
        x: ``(N, H, W, C)`` float32 in [0, 1], the noisy images.
        method: ``"median"``, ``"gaussian"``, ``"tv"`` or ``"nl_means"``; each
            filters one image at a time, within its channels' plane.
        parameter: the filter's parameter: window size, sigma in pixels,
            TV weight or non-local means' h.

    Returns:
        ``(N, H, W, C)`` float32 in [0, 1].

    Example:
        >>> import numpy as np
        >>> x = np.zeros((1, 28, 28, 1), np.float32); x[0, 5, 5] = 1.0
        >>> float(classical_denoise(x, "median", 3).max())  # a lone bright pixel is noise
        0.0
    """
    x = check_images(x, "x")
    method = _check_method(method)
    parameter = check_number(parameter, "parameter", 0.0, lo_open=True)
    if method == "median" and int(parameter) != parameter:
        raise ValueError(f"parameter must be a whole window size for method 'median', got {parameter!r}")
    from scipy import ndimage

    if method == "median":
        out = ndimage.median_filter(x, size=(1, int(parameter), int(parameter), 1))
    elif method == "gaussian":
        out = ndimage.gaussian_filter(x, sigma=(0, parameter, parameter, 0))
    elif method == "tv":
        from skimage.restoration import denoise_tv_chambolle

        out = np.stack([denoise_tv_chambolle(im, weight=parameter, channel_axis=-1) for im in x])
    else:
        from skimage.restoration import denoise_nl_means

        out = np.stack([denoise_nl_means(im, h=parameter, channel_axis=-1, **NL_MEANS_PATCH)
                        for im in x])
        out = out.reshape(x.shape)  # it drops a single channel's axis
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


def image_mse(x: np.ndarray, targets: np.ndarray) -> float:
    """Mean squared error over all pixels between two image batches of one shape."""
    x, targets = _check_pair(x, targets, "x", "targets")
    return float(np.mean(np.square(x - targets, dtype=np.float64)))


def tune_classical(
    noisy: np.ndarray,
    clean: np.ndarray,
    methods: Sequence[str] | None = None,
) -> list[ClassicalDenoiser]:
    """Each classical filter with the parameter of :data:`CLASSICAL_GRIDS` that
    denoises ``noisy`` closest to ``clean`` (lowest MSE), best filter first.

    Tune on training images and report on test images: ``train_mse`` is the tuning images'.

    Args:
        noisy: ``(N, H, W, C)`` float32 in [0, 1], noisy training images
            (a few hundred are plenty: the filters have one parameter).
        clean: the same images without noise, same shape.
        methods: which filters (default: all four).

    Returns:
        One :class:`ClassicalDenoiser` per method, sorted by ``train_mse``.

    Example:
        >>> tuned = tune_classical(aelib.add_noise(x[:300], 0.4, seed=0), x[:300])  # doctest: +SKIP
        >>> tuned[0].label  # doctest: +SKIP
        'median filter 3x3'
    """
    noisy, clean = _check_pair(noisy, clean, "noisy", "clean")
    methods = tuple(CLASSICAL_GRIDS) if methods is None else methods
    if isinstance(methods, str) or not isinstance(methods, Sequence) or not methods:
        raise TypeError(f"methods must be a non-empty sequence of names from "
                        f"{tuple(CLASSICAL_GRIDS)}, got {describe(methods)}")
    for method in methods:
        _check_method(method)
    tuned = []
    for method in methods:
        mse, parameter = min((image_mse(classical_denoise(noisy, method, p), clean), p)
                             for p in CLASSICAL_GRIDS[method])
        tuned.append(ClassicalDenoiser(method, float(parameter), mse))
    return sorted(tuned, key=lambda d: d.train_mse)
