"""Frames to animated GIFs with imageio, and the frames of a walk through coding space."""

from __future__ import annotations

import os
from collections.abc import Sequence

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageSequence

from ._io import atomic_path
from .data import check_images, check_number, check_positive_int, describe
from .models import Autoencoder, check_autoencoder
from .training import grid_frame

__all__ = ["save_gif", "read_gif", "interpolation_frames"]


def _check_frames(frames) -> np.ndarray:
    if not isinstance(frames, np.ndarray):
        if not isinstance(frames, Sequence) or len(frames) == 0:
            raise ValueError(f"frames must be a non-empty list of images, got {describe(frames)}")
        shapes = {np.shape(f) for f in frames}
        if len(shapes) != 1:
            raise ValueError(f"frames must all have one shape, got shapes {sorted(shapes)}")
    stack = np.asarray(frames)
    if stack.ndim not in (3, 4) or len(stack) == 0 or (stack.ndim == 4 and stack.shape[-1] not in (3, 4)):
        raise ValueError("frames must be (n, H, W) grey or (n, H, W, 3) colour images with n >= 1, "
                         f"got {describe(stack)}")
    if stack.dtype != np.uint8:
        raise TypeError(f"frames must be uint8 images (see aelib.to_uint8), got {describe(stack)}")
    return stack


def save_gif(frames, path: str | os.PathLike, fps: float = 10.0, loop: int = 0) -> None:
    """Write frames to an animated GIF, atomically.

    Args:
        frames: list or array of ``uint8`` frames, ``(H, W)`` grey or
            ``(H, W, 3)`` colour, all the same shape.
        path: the ``.gif`` file to write.
        fps: frames per second.
        loop: how often to play; 0 loops forever.

    Pillow stores a run of identical frames once, so reading the file back gives fewer
    frames; distinct frames come back one for one, pixel-exact for grey.

    Example:
        >>> save_gif(recorder.frames, "k_auto0_rec0_low.gif", fps=10)  # doctest: +SKIP
    """
    stack = _check_frames(frames)
    fps = check_number(fps, "fps", 0.0, lo_open=True)
    path = os.fspath(path)
    if not path.lower().endswith(".gif"):
        raise ValueError(f"path must end in '.gif', got {path!r}")
    with atomic_path(path) as tmp:  # duration: milliseconds per frame
        iio.imwrite(tmp, stack, extension=".gif", duration=1000.0 / fps, loop=loop)


def read_gif(path: str | os.PathLike) -> np.ndarray:
    """Read every frame of a GIF: ``(n, H, W, 3) uint8``.

    Each frame is converted to RGB with Pillow, which hands back a grey GIF's first
    frame as 'L' and later ones as RGB (imageio's reader trips over some palettes).
    """
    with Image.open(path) as image:
        return np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(image)])


def interpolation_frames(
    autoencoder: Autoencoder,
    keyframes: np.ndarray,
    *,
    steps: int = 15,
    n_rows: int = 3,
    n_cols: int = 7,
    closed: bool = False,
) -> list[np.ndarray]:
    """Frames of a walk through coding space from one set of images to the next.

    Between consecutive sets ``a`` and ``b`` the codings ``(1 - t) * c_a + t * c_b``
    are decoded for ``steps`` values of ``t`` evenly spaced in ``[0, 1)``, and the
    last set's decoding ends the walk: ``(K - 1) * steps + 1`` frames. With
    ``closed=True`` the walk goes back to the first set, without repeating it, so a
    looping GIF runs without a stutter: ``K * steps`` frames.

    Args:
        autoencoder: a (trained) :class:`~aelib.Autoencoder`.
        keyframes: ``(K, n_rows * n_cols, H, W, C) float`` in ``[0, 1]``,
            ``K >= 2`` successive sets of images of the model's input shape.
        steps: frames from one set to the next, an integer >= 1.
        n_rows, n_cols: the grid each frame tiles one set into.
        closed: also walk from the last set back to the first.

    Returns:
        A list of ``uint8`` frames, ``(n_rows * H, n_cols * W)`` for grey
        images (like :func:`~aelib.training.reconstruction_frame`), ``(.., .., C)``
        otherwise; ready for :func:`save_gif`.

    Example:
        >>> sets = data.x_test[:105].reshape(5, 21, 28, 28, 1)  # doctest: +SKIP
        >>> frames = interpolation_frames(ae, sets, closed=True)  # doctest: +SKIP
        >>> save_gif(frames, "k_auto0_inter.gif", fps=7.5)  # doctest: +SKIP
    """
    check_autoencoder(autoencoder)
    steps = check_positive_int(steps, "steps")
    n_rows = check_positive_int(n_rows, "n_rows")
    n_cols = check_positive_int(n_cols, "n_cols")
    per_set, shape = n_rows * n_cols, autoencoder.input_shape
    keyframes = np.asarray(keyframes)
    if keyframes.ndim != 5 or keyframes.shape[0] < 2 or keyframes.shape[1:] != (per_set, *shape):
        expected = f"(K >= 2, n_rows * n_cols = {per_set}, {', '.join(map(str, shape))})"
        raise ValueError(f"keyframes must have shape {expected}, got {describe(keyframes)}")
    flat = check_images(keyframes.reshape(-1, *shape), "keyframes")
    k = len(keyframes)
    codings = autoencoder.encode(flat).reshape(k, per_set, -1)
    ends = list(range(1, k)) + ([0] if closed else [])
    t = (np.arange(steps, dtype=np.float32) / steps)[:, None, None]
    walk = [(1 - t) * codings[b - 1] + t * codings[b] for b in ends]
    if not closed:
        walk.append(codings[-1][None])
    walk = np.concatenate(walk)  # (frames, per_set, n_codings)
    images = autoencoder.decode(walk.reshape(-1, walk.shape[-1])).reshape(len(walk), per_set, *shape)
    return [grid_frame(decoded, n_rows, n_cols) for decoded in images]
