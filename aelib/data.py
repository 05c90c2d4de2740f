"""MNIST loading, image scaling and the input checks every module shares.

Images in aelib are ``(N, H, W, C) float32`` arrays in ``[0, 1]``; the ``check_*``
helpers refuse anything else, naming the argument, what was expected and what came.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import warnings
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["ENV_VAR", "MNIST_FINGERPRINTS", "SOURCES", "Dataset", "check_array", "check_digits",
           "check_finite", "check_images", "check_labels", "check_number", "check_positive_int", "check_seed",
           "describe", "load_images", "load_mnist", "prepare_images", "tile_images"]

ENV_VAR = "AELIB_MNIST"
SOURCES = ("file", "env", "keras", "sample")
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_IMAGES = "(N, height, width, channels) images"
TENSOR_ALIGNMENT = 64  #: bytes: where TensorFlow's CPU kernels need a tensor's data to start
#: :meth:`Dataset.fingerprint` of full MNIST (as Keras has it) and of the embedded sample
MNIST_FINGERPRINTS = {"114bb7914bf9f5c8": "full MNIST", "02aa94d8123aa07a": "the embedded MNIST sample"}


def describe(x) -> str:
    """A short description of what came in, for error messages."""
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:120]


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int if it is an integer >= 1, else raise.

    >>> check_positive_int(3, "epochs")
    3
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= 1, got {describe(value)}")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value}")
    return int(value)


def check_number(value, name: str, lo: float, hi: float = math.inf, *, lo_open: bool = False) -> float:
    """``value`` as a float in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``), else raise.

    >>> check_number(0.5, "threshold", 0.0, 1.0)
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {describe(value)}")
    value = float(value)
    low_ok = value > lo if lo_open else value >= lo
    if not (math.isfinite(value) and low_ok and value <= hi):
        interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{']' if hi < math.inf else ')'}"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return value


def check_seed(seed, name: str = "seed") -> int | None:
    """Return ``seed`` as an int (or None) if it is an integer or None, else raise.

    >>> check_seed(None), check_seed(7)
    (None, 7)
    """
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be an int or None, got {describe(seed)}")
    return int(seed)


def check_images(x, name: str = "x", *, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Check an image batch of floats in ``[0, 1]`` and return it as float32.

    Args:
        x: array-like of shape ``(N, H, W, C)``; ``uint8`` pixels, or floats
            up to 255, are refused: scale them with :func:`prepare_images` first.
        name: the argument's name, used in error messages.
        shape: if given, the required ``(H, W, C)`` of one image.

    Returns:
        ``(N, H, W, C) float32`` (no copy when it already is one).
    """
    x = check_array(x, name, 4, _IMAGES)
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{name} must hold images of shape {tuple(shape)} (the model's input), "
                         f"got {describe(x)}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name} must be floats in [0, 1], got {describe(x)}; "
                        "scale it with aelib.prepare_images(x)")
    lo, hi = float(x.min()), float(x.max())  # NaN and inf show in these two
    if not (math.isfinite(lo) and math.isfinite(hi)):
        check_finite(x, name)
    if lo < 0.0 or hi > 1.0:
        hint = " (it looks like 0..255 pixels: use aelib.prepare_images)" if hi > 1.0 else ""
        raise ValueError(f"{name} must be floats in [0, 1], got values in [{lo:g}, {hi:g}]{hint}")
    return x.astype(np.float32, copy=False)


def check_array(x, name: str, rank: int, what: str) -> np.ndarray:
    """``x`` as a numeric array of rank ``rank`` with no empty axis, else raise;
    ``what`` says in the errors what it should hold, e.g. ``"(N, D) codings"``."""
    try:
        x = np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise TypeError(f"{name} must be {what}, got {describe(x)}") from err
    if x.dtype.kind not in "uif":
        raise TypeError(f"{name} must hold numbers, got {describe(x)}")
    if x.ndim != rank:
        raise ValueError(f"{name} must have rank {rank}: {what}, got {describe(x)}")
    if 0 in x.shape:
        raise ValueError(f"{name} is empty: expected {what}, got {describe(x)}")
    return x


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise a ValueError naming ``name`` if ``x`` holds NaN or inf values."""
    bad = int(x.size - np.count_nonzero(np.isfinite(x)))
    if bad:
        raise ValueError(f"{name} must be finite, got {bad} NaN or inf values in {describe(x)}")


def check_labels(
    y, n: int, name: str = "y", images_name: str = "x", *, per: str = "image", rows: str = "images"
) -> np.ndarray:
    """Check integer labels of length ``n`` (one per image, or ``per`` row) and
    return them as int64; ``rows`` names the ``n`` things in the message."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a 1-D array of integer labels, got {describe(y)}")
    if len(y) != n:
        raise ValueError(f"{name} must have one label per {per}: {images_name} has {n} {rows}, "
                         f"{name} has {len(y)} labels")
    return y.astype(np.int64, copy=False)


def check_digits(y: np.ndarray, name: str) -> None:
    """Raise a ValueError naming ``name`` unless the labels ``y`` are digits 0..9."""
    if y.min() < 0 or y.max() > 9:
        raise ValueError(f"{name} must hold digit labels 0..9, got values in [{y.min()}, {y.max()}]")


def prepare_images(x, name: str = "x") -> np.ndarray:
    """Scale any image batch to ``(N, H, W, C) float32`` in ``[0, 1]``.

    Args:
        x: ``(N, H, W)`` (grey) or ``(N, H, W, C)`` array. ``uint8`` pixels
            (0..255) are divided by 255; floats must already lie in ``[0, 1]``.
        name: the argument's name, used in error messages.

    Returns:
        ``(N, H, W, C) float32`` in ``[0, 1]``; grey images get ``C = 1``.
        Scaled pixels come in a new array that TensorFlow can share.

    Example:
        >>> import numpy as np
        >>> prepare_images(np.full((2, 28, 28), 255, np.uint8)).shape
        (2, 28, 28, 1)
    """
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{name} must have rank 3 (N, height, width) or 4 (N, height, width, "
                         f"channels), got {describe(x)}")
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.dtype == np.uint8:
        check_array(x, name, 4, _IMAGES)
        return np.divide(x, np.float32(255.0), out=_aligned_empty(x.shape), dtype=np.float32)
    if x.dtype.kind == "f":
        return check_images(x, name)
    raise TypeError(f"{name} must be uint8 pixels or floats in [0, 1], got {describe(x)}")


def _aligned_empty(shape: tuple) -> np.ndarray:
    """A float32 array whose data starts on a 64-byte boundary (numpy promises
    16 bytes), so that TensorFlow can train on it without a copy (see
    :func:`aelib.batches.batches`)."""
    nbytes = math.prod(shape) * 4
    raw = np.empty(nbytes + TENSOR_ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % TENSOR_ALIGNMENT
    return raw[start : start + nbytes].view(np.float32).reshape(shape)


def tile_images(images: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    """Lay ``n_rows * n_cols`` images out in one grid image, row by row.

    Args:
        images: ``(n_rows * n_cols, H, W, C)`` float in ``[0, 1]`` or uint8.

    Returns:
        ``(n_rows * H, n_cols * W, C)`` array of the same dtype.
    """
    images = np.asarray(images)
    n, h, w, c = images.shape
    if n != n_rows * n_cols:
        raise ValueError(f"images must hold n_rows * n_cols = {n_rows * n_cols} images, got {n}")
    grid = images.reshape(n_rows, n_cols, h, w, c).transpose(0, 2, 1, 3, 4)
    return grid.reshape(n_rows * h, n_cols * w, c)


@dataclass(frozen=True)
class Dataset:
    """MNIST, or other images in its layout (Fashion-MNIST...), split into train and test.

    Attributes:
        x_train, x_test: ``(N, 28, 28, 1) float32`` in ``[0, 1]``.
        y_train, y_test: ``(N,) int64`` labels 0..9 (MNIST's digits).
        source: where the data came from, e.g. ``"file:/data/mnist.npz"``,
            ``"keras"`` or ``"sample"``; shown next to every number aelib prints.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def is_sample(self) -> bool:
        """True for the small embedded sample, not the full MNIST."""
        return self.source == "sample"

    @functools.cached_property
    def _mnist_as(self) -> str | None:
        """How the report names this MNIST (full or the sample); None for other data."""
        if self.is_sample:
            return "the embedded MNIST sample"
        if self.source == "keras":
            return "full MNIST"
        return MNIST_FINGERPRINTS.get(self.fingerprint())

    @property
    def is_mnist(self) -> bool:
        """True for MNIST (the sample, Keras's, or a file of either), not for Fashion-MNIST."""
        return self._mnist_as is not None

    @property
    def name(self) -> str:
        """``"MNIST"``, or for other data the name of its file without the suffix
        (``"fashion-mnist"`` for ``file:data/fashion-mnist.npz``)."""
        return "MNIST" if self.is_mnist else Path(self.source.removeprefix("file:")).stem

    def summary(self) -> str:
        """What the data is and its sizes, as the gallery and the report state it:
        ``full MNIST (60,000 train, of which the autoencoders fit 55,000 and hold out
        5,000 for validation / 10,000 test)``."""
        fit, valid = self.split_validation()
        return (f"{self._mnist_as or self.name} ({len(self.x_train):,} train, of which the "
                f"autoencoders fit {len(fit):,} and hold out {len(valid):,} for validation / "
                f"{len(self.x_test):,} test)")

    def split_validation(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x_train[:-n], x_train[-n:])`` with ``n = len(x_train) // 12``: the last
        twelfth is held out to watch training and choose settings, so that the test
        set only gives the final numbers (MNIST's training set is already shuffled)."""
        n = len(self.x_train) // 12
        return self.x_train[:-n], self.x_train[-n:]

    def fingerprint(self) -> str:
        """A short hash of the pixels and labels, to tell data sets apart in caches."""
        h = hashlib.sha256()
        for a in (self.x_train, self.y_train, self.x_test, self.y_test):
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]

    def __repr__(self) -> str:
        return (f"Dataset(train={len(self.x_train)}, test={len(self.x_test)}, "
                f"image={tuple(self.x_train.shape[1:])}, source={self.source!r})")


def sample_path() -> Path:
    """Path of the embedded MNIST sample shipped inside the package."""
    return Path(str(resources.files("aelib") / "_data" / "mnist_sample.npz"))


def keras_cache_path() -> Path:
    """Where ``keras.datasets.mnist.load_data()`` keeps its download."""
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return Path(home) / "datasets" / "mnist.npz"


def _read_npz(path: Path, name: str) -> tuple[np.ndarray, ...]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{name}: no MNIST file at {str(path)!r}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):  # a bare .npy array: a bad file, not a bad type
            raise ValueError(f"it holds one array of shape {loaded.shape}, "  # noqa: TRY004
                             "not the named arrays of an .npz archive")
        with loaded as f:
            found = sorted(f.files)
            arrays = {k: f[k] for k in _KEYS if k in found}  # object arrays fail here
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"{name}: {str(path)!r} is not a readable .npz file ({err})") from err
    if len(arrays) < len(_KEYS):
        raise ValueError(f"{name}: {str(path)!r} is not an MNIST npz: expected keys {list(_KEYS)}, "
                         f"it has {found}")
    return tuple(arrays[k] for k in _KEYS)


def _to_dataset(arrays: tuple[np.ndarray, ...], source: str) -> Dataset:
    """Check MNIST's arrays (28x28 grey images, one digit per image) and scale them."""
    x_train, y_train, x_test, y_test = arrays
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        if x.ndim in (3, 4) and x.shape[1:] not in ((28, 28), (28, 28, 1)):
            raise ValueError(f"{name} must hold MNIST's 28x28 grey images, shape (N, 28, 28) or "
                             f"(N, 28, 28, 1), got {describe(x)}")
    x_train = prepare_images(x_train, "x_train")
    x_test = prepare_images(x_test, "x_test")
    y_train = check_labels(y_train, len(x_train), "y_train", "x_train")
    y_test = check_labels(y_test, len(x_test), "y_test", "x_test")
    check_digits(y_train, "y_train")
    check_digits(y_test, "y_test")
    return Dataset(x_train, y_train, x_test, y_test, source)


def _load_keras() -> tuple[np.ndarray, ...]:
    cached = keras_cache_path()
    if cached.is_file():  # read the cache directly: no import, no network
        return _read_npz(cached, "keras cache")
    from keras.datasets import mnist  # downloads for users with a network

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    return x_train, y_train, x_test, y_test


#: the image files :func:`load_images` reads
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def load_images(folder: str | os.PathLike, size: tuple[int, int] | None = None, *,
                channels: int = 1) -> np.ndarray:
    """Every image file in ``folder``, in name order, as aelib trains on them.

    ``keras.utils.load_img`` (Pillow) decodes and resizes them.

    Args:
        folder: a folder of image files (:data:`IMAGE_SUFFIXES`; other files
            and subfolders are left alone).
        size: ``(height, width)`` to resize every image to; ``None``: keep
            their size, which must then be the same for all.
        channels: 1 (grey) or 3 (RGB); images are converted to it.

    Returns:
        ``(N, height, width, channels) float32`` in ``[0, 1]``.

    Example:
        >>> x = load_images("my_digits", size=(28, 28))  # doctest: +SKIP
        >>> aelib.train(aelib.dense_autoencoder(input_shape=x.shape[1:]), x, epochs=5)  # doctest: +SKIP
    """
    import keras

    path = Path(folder)
    if not path.is_dir():
        raise ValueError(f"folder must be a folder of image files, got {str(path)!r}, which is not a folder")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {describe(channels)}")
    if size is not None:
        if not (isinstance(size, (tuple, list)) and len(size) == 2):
            raise ValueError(f"size must be (height, width), got {describe(size)}")
        size = tuple(check_positive_int(n, "size") for n in size)
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"folder {str(path)!r} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    images = []
    for file in files:
        try:
            image = keras.utils.load_img(file, color_mode="grayscale" if channels == 1 else "rgb",
                                         target_size=size)
        except OSError as err:  # Pillow: not an image, or a damaged one
            raise ValueError(f"{file.name} in {str(path)!r} is not a readable image ({err})") from err
        images.append(np.asarray(image, dtype=np.uint8).reshape(image.height, image.width, channels))
    shapes = {x.shape[:2] for x in images}
    if len(shapes) > 1:
        raise ValueError(f"the images in {str(path)!r} have {len(shapes)} sizes "
                         f"(height, width) {sorted(shapes)}: pass size=(height, width) to resize them")
    return np.stack(images).astype(np.float32) / np.float32(255)


def load_mnist(path: str | os.PathLike | None = None, *, source: str | None = None) -> Dataset:
    """Load MNIST as ``(N, 28, 28, 1) float32`` images in ``[0, 1]`` with int labels.

    Unless ``source`` says otherwise, the first that can be had of: ``path``; the
    file named by ``$AELIB_MNIST``; ``keras.datasets.mnist`` (its cache in
    ``~/.keras/datasets``, or its download); the embedded sample (with a warning).

    Args:
        path: an ``.npz`` in the layout ``keras.datasets.mnist`` caches
            (``x_train``, ``y_train``, ``x_test``, ``y_test``): 28x28 images as
            ``uint8`` or floats in ``[0, 1]``, one integer label 0..9 per image.
            Other data in that layout (Fashion-MNIST saved with ``np.savez``)
            loads the same way; :attr:`Dataset.is_mnist` tells it from MNIST.
        source: one of ``"file"`` (needs ``path``), ``"env"``, ``"keras"`` or
            ``"sample"`` (6,000 train / 1,000 test images, stratified by digit,
            shipped inside aelib so tests and quick runs work offline).

    Returns:
        A :class:`Dataset`.

    Example:
        >>> data = load_mnist(source="sample")
        >>> data.x_train.shape[1:], data.x_train.dtype.name
        ((28, 28, 1), 'float32')
    """
    if source is not None and source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES} or None, got {source!r}")
    if source == "file" and path is None:
        raise ValueError("source='file' needs path=, got path=None")
    if path is not None and source not in (None, "file"):
        raise ValueError(f"path= is only used with source='file' or None, got source={source!r}")

    if path is not None:
        return _to_dataset(_read_npz(Path(path), "path"), f"file:{path}")
    env = os.environ.get(ENV_VAR)
    if source == "env" and not env:
        raise ValueError(f"source='env' needs the {ENV_VAR} environment variable, which is not set")
    if env and source in (None, "env"):
        return _to_dataset(_read_npz(Path(env), ENV_VAR), f"file:{env}")
    if source in (None, "keras"):
        try:
            return _to_dataset(_load_keras(), "keras")
        except Exception as err:
            if source == "keras":
                raise
            warnings.warn(f"full MNIST not found (no path, no {ENV_VAR}, keras download failed: "
                          f"{type(err).__name__}); using the embedded sample", stacklevel=2)
    return _to_dataset(_read_npz(sample_path(), "sample"), "sample")
