"""Frames to animated GIFs with imageio."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import imageio.v3 as iio
import numpy as np

from ._io import atomic_path
from .data import _describe

__all__ = ["save_gif", "read_gif"]


def _check_frames(frames) -> np.ndarray:
    if isinstance(frames, np.ndarray):
        stack = frames
    else:
        if not isinstance(frames, Sequence) or len(frames) == 0:
            raise ValueError(f"frames must be a non-empty list of images, got {_describe(frames)}")
        shapes = {np.shape(f) for f in frames}
        if len(shapes) != 1:
            raise ValueError(f"frames must all have one shape, got shapes {sorted(shapes)}")
        stack = np.stack(frames)
    if stack.ndim not in (3, 4) or len(stack) == 0 or (stack.ndim == 4 and stack.shape[-1] not in (3, 4)):
        raise ValueError(
            "frames must be (n, H, W) grey or (n, H, W, 3) colour images with n >= 1, "
            f"got {_describe(stack)}"
        )
    if stack.dtype != np.uint8:
        raise TypeError(f"frames must be uint8 images (see aelib.to_uint8), got {_describe(stack)}")
    return stack


def save_gif(frames, path: str | os.PathLike, fps: float = 10.0, loop: int = 0) -> None:
    """Write frames to an animated GIF, atomically.

    Args:
        frames: list of (or array of) ``uint8`` frames, ``(H, W)`` grey or
            ``(H, W, 3)`` colour, all the same shape.
        path: the ``.gif`` file to write.
        fps: frames per second.
        loop: how often to play; 0 loops forever.

    GIF stores a run of identical consecutive frames once, shown for the run's
    combined time (Pillow does this), so reading such a file back gives fewer
    frames; distinct frames come back one for one and pixel-exact for grey.

    Example:
        >>> save_gif(recorder.frames, "k_auto0_rec0_low.gif", fps=10)  # doctest: +SKIP
    """
    stack = _check_frames(frames)
    if not (isinstance(fps, (int, float)) and fps > 0 and math.isfinite(fps)):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    path = os.fspath(path)
    if not path.lower().endswith(".gif"):
        raise ValueError(f"path must end in '.gif', got {path!r}")
    duration = 1000.0 / fps  # milliseconds per frame
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, stack, extension=".gif", duration=duration, loop=loop)


def read_gif(path: str | os.PathLike) -> np.ndarray:
    """Read every frame of a GIF: ``(n, H, W, 3) uint8``."""
    frames = iio.imread(path, index=None)
    return frames if frames.ndim == 4 else frames[np.newaxis]

