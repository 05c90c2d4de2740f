"""The batches :func:`aelib.train` feeds to ``model.fit``, and noise for denoisers.

Every backend sees the same batches, in an order that follows from the seed
and the epoch alone (:func:`epoch_order`). Under TensorFlow a ``tf.data``
pipeline gathers each batch from the training set while the previous one
trains (faster than Keras's slicing of numpy arrays); elsewhere a generator
of numpy batches feeds ``fit``. A stream of image batches goes to ``fit`` as
it is, each batch paired with its targets (:func:`with_targets`).
"""

from __future__ import annotations

import itertools

import keras
import numpy as np

from .data import TENSOR_ALIGNMENT, check_images, check_number, check_seed
from .devices import backend_name

__all__ = ["add_noise", "batches", "epoch_order", "is_stream", "with_targets"]

_NOISE_STREAM = 1  #: the noise generator's last seed word: apart from the shuffling's
_PEEK_IMAGES = 1000  #: images read from a stream's start to check it and find its mean


def _noisy(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(x.shape, dtype=np.float32)
    return np.clip(x + np.float32(sigma) * noise, 0.0, 1.0)


def add_noise(x: np.ndarray, sigma: float, seed: int | None = None) -> np.ndarray:
    """Images with Gaussian noise of standard deviation ``sigma``, clipped to [0, 1].

    Args:
        x: ``(N, H, W, C)`` float32 in [0, 1].
        sigma: the noise's standard deviation (>= 0; 0 returns a copy).
        seed: seeds the noise (``None``: fresh noise each call).

    Returns:
        ``(N, H, W, C)`` float32 in [0, 1], a new array.

    Example:
        >>> import numpy as np
        >>> noisy = add_noise(np.full((2, 28, 28, 1), 0.5, np.float32), 0.4, seed=0)
        >>> noisy.shape, bool(noisy.min() >= 0 and noisy.max() <= 1)
        ((2, 28, 28, 1), True)
    """
    x = check_images(x, "x")
    sigma = check_number(sigma, "sigma", 0.0)
    seed = check_seed(seed)
    return _noisy(x, sigma, np.random.default_rng(seed))


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits ``n`` images: a permutation of
    ``0..n-1`` seeded by ``(seed, epoch)``, the same on every backend."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def batches(x: np.ndarray, batch_size: int, seed: int | None, epochs: int, noise: float = 0.0,
            first_epoch: int = 0):
    """Epochs ``first_epoch`` to ``epochs - 1`` of shuffled ``(x, x)`` batches, one
    iterator for ``model.fit`` (given ``steps_per_epoch``) over all of them.

    Each epoch visits every image once, in :func:`epoch_order`'s order; its
    last batch is smaller when ``batch_size`` does not divide ``len(x)``. With
    ``noise > 0`` the inputs get fresh Gaussian noise of that standard
    deviation, clipped to [0, 1], and the targets stay clean. The noise follows
    from ``seed`` and the step (numpy's generator, or TensorFlow's stateless
    normal under TensorFlow: both seeded, not the same numbers).
    """
    seed = _seed(seed)
    if backend_name() == "tensorflow":
        return _tf_batches(x, batch_size, seed, epochs, noise, first_epoch)
    return _numpy_batches(x, batch_size, seed, epochs, noise, first_epoch)


def _seed(seed: int | None) -> int:
    """``seed``, or a fresh one (numpy's global generator's, so ``np.random.seed`` holds)."""
    return int(np.random.randint(0, 2**31 - 1)) if seed is None else seed


def _numpy_batches(x: np.ndarray, batch_size: int, seed: int, epochs: int, noise: float = 0.0,
                   first_epoch: int = 0):
    for epoch in range(first_epoch, epochs):
        order = epoch_order(len(x), seed, epoch)
        starts = range(0, len(x), batch_size)
        yield from _pairs((x[order[start : start + batch_size]] for start in starts), noise,
                          np.random.default_rng([seed, epoch, _NOISE_STREAM]))


def _tf_batches(x: np.ndarray, batch_size: int, seed: int, epochs: int, noise: float = 0.0,
                first_epoch: int = 0):
    """The same batches as a ``tf.data`` pipeline: one ``tf.gather`` per batch, prefetched."""
    import tensorflow as tf

    images = _shared_tensor(x)
    orders = np.array([epoch_order(len(x), seed, e) for e in range(first_epoch, epochs)],
                      np.int32).reshape(-1, len(x))  # no rows: a resumed run had finished
    full, rest = divmod(len(x), batch_size)

    def epoch_batches(order):
        cut = full * batch_size
        batches = tf.data.Dataset.from_tensor_slices(tf.reshape(order[:cut], (full, batch_size)))
        if rest:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(order[cut:]))
        return batches

    def gather(batch):
        batch = tf.gather(images, batch)
        return batch, batch

    def gather_noisy(step, batch):  # fresh noise for every batch of every epoch
        batch = tf.gather(images, batch)
        noise_seed = tf.stack([tf.constant(seed, tf.int64), step])
        noisy = batch + noise * tf.random.stateless_normal(tf.shape(batch), noise_seed)
        return tf.clip_by_value(noisy, 0.0, 1.0), batch

    # autotuning off (the iterator could wait on its thread's timed sleep at the end)
    # and the default rewrites off (they copied the captured training set once more)
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    dataset = tf.data.Dataset.from_tensor_slices(orders).flat_map(epoch_batches)
    start = first_epoch * (full + bool(rest))  # the step the noise's seed counts from
    dataset = dataset.enumerate(start).map(gather_noisy) if noise else dataset.map(gather)
    return dataset.prefetch(2).with_options(options)


def _shared_tensor(x: np.ndarray):
    """``x`` as a TensorFlow tensor that shares its memory where TensorFlow allows it.

    ``tf.convert_to_tensor`` copies every numpy array, and on a short call
    copying the whole training set into fresh memory costs a sizable part of an
    epoch. A C-contiguous array that starts on a 64-byte boundary (as
    :func:`aelib.prepare_images` makes them) goes through DLPack instead;
    anything else is copied, as TensorFlow's kernels need that alignment.
    """
    import tensorflow as tf

    if x.flags.c_contiguous and x.ctypes.data % TENSOR_ALIGNMENT == 0:
        try:
            return tf.experimental.dlpack.from_dlpack(x.__dlpack__())
        except (BufferError, TypeError, ValueError):  # read-only, or a dtype DLPack lacks
            pass
    return tf.convert_to_tensor(x)


def is_stream(x) -> bool:
    """Whether ``x`` is data that ``fit`` reads batch by batch (a ``tf.data``
    dataset, a ``PyDataset``, a ``DataLoader``, a generator...) rather than an
    array of images."""
    return (not isinstance(x, (list, tuple, str, dict)) and not hasattr(x, "__array__")
            and (hasattr(x, "__iter__") or isinstance(x, keras.utils.PyDataset)))


def with_targets(stream, shape: tuple, *, epochs: int, steps_per_epoch: int | None = None,
                 noise: float = 0.0, seed: int | None = None):
    """A stream of image batches as ``(inputs, targets)`` batches for ``fit``.

    The targets are the images; with ``noise > 0`` the inputs get Gaussian
    noise of that standard deviation (clipped to [0, 1], fresh every batch).
    The first batches are read once, to check them.

    Args:
        stream: yields ``(batch, H, W, C)`` float images in [0, 1], nothing else:
            a ``tf.data.Dataset``, a ``keras.utils.PyDataset``, a PyTorch
            ``DataLoader``, or any iterable (a one-shot iterator or generator
            is read on across epochs, so give it ``steps_per_epoch``).
        shape: the model's ``(H, W, C)``.
        epochs: how many epochs ``fit`` will run.
        steps_per_epoch: batches per epoch; needed where the stream has no length.
        noise, seed: the inputs' noise and its seed.

    Returns:
        ``(data, steps, first)``: what to give ``fit``, the batches per epoch,
        and up to 1,000 of the stream's first images.
    """
    seed = _seed(seed)
    one_shot = False
    if _is_tf_dataset(stream):
        data, length = _tf_targets(stream, shape, noise, seed)
    elif isinstance(stream, keras.utils.PyDataset):
        data, length = _PyDatasetTargets(stream, noise, seed), stream.num_batches
    else:
        one_shot = iter(stream) is stream  # a generator: read on, never restarted
        data, length = None, None if one_shot else _length(stream)
    steps = steps_per_epoch or length
    if not steps:
        raise ValueError(f"steps_per_epoch is needed: x is a {type(stream).__name__} of no "
                         f"known length, got steps_per_epoch={steps_per_epoch!r}")
    first, peeked = _first_batches(stream, shape)
    if data is None:
        passes = (itertools.chain(peeked, stream) if one_shot
                  else itertools.chain.from_iterable(stream for _ in range(epochs)))
        data = _pairs(passes, noise, np.random.default_rng([seed, _NOISE_STREAM]))
    return data, steps, first


def _is_tf_dataset(x) -> bool:
    return type(x).__module__.startswith("tensorflow") and hasattr(x, "element_spec")


def _length(stream) -> int | None:
    try:
        return len(stream)
    except TypeError:  # an iterable without a length
        return None


def _first_batches(stream, shape: tuple) -> tuple[np.ndarray, list[np.ndarray]]:
    """Up to :data:`_PEEK_IMAGES` of the stream's first images, checked, and the batches read."""
    batches = stream
    if isinstance(stream, keras.utils.PyDataset):
        n = stream.num_batches
        batches = (stream[i] for i in (itertools.count() if n is None else range(n)))
    peeked, n = [], 0
    for batch in batches:
        if isinstance(batch, (tuple, list, dict)):
            raise TypeError(f"x must yield batches of images alone, got a {type(batch).__name__} "
                            f"of {len(batch)} (images and labels? map the stream to its images)")
        peeked.append(check_images(np.asarray(batch), "x's batches", shape=shape))
        n += len(peeked[-1])
        if n >= _PEEK_IMAGES:
            break
    if not peeked:
        raise ValueError(f"x must yield batches of images, got an empty {type(stream).__name__}")
    return np.concatenate(peeked)[:_PEEK_IMAGES], peeked


def _pairs(batches, noise: float, rng: np.random.Generator):
    for batch in batches:
        batch = np.asarray(batch, dtype=np.float32)
        yield (_noisy(batch, noise, rng) if noise else batch), batch


def _tf_targets(dataset, shape: tuple, noise: float, seed: int):
    """A ``tf.data`` stream mapped to ``(inputs, targets)``, and its length (``None``: unknown)."""
    import tensorflow as tf

    spec = dataset.element_spec
    if not (isinstance(spec, tf.TensorSpec) and spec.shape.rank == 4
            and spec.shape[1:].is_compatible_with(shape)):
        raise ValueError(f"x: a tf.data.Dataset must yield image batches of shape (batch, "
                         f"{', '.join(map(str, shape))}) (batch it with .batch(n)), got {spec}")
    if noise:  # fresh noise every batch, a new draw each epoch
        seeds = tf.data.Dataset.random(seed, rerandomize_each_iteration=True)

        def noisy(batch, word):
            batch = tf.cast(batch, tf.float32)
            normal = tf.random.stateless_normal(tf.shape(batch), tf.stack([word, seed]))
            return tf.clip_by_value(batch + noise * normal, 0.0, 1.0), batch

        data = tf.data.Dataset.zip(dataset, seeds).map(noisy)
    else:
        data = dataset.map(lambda batch: (tf.cast(batch, tf.float32),) * 2)
    length = int(dataset.cardinality())
    return data, length if length > 0 else None


class _PyDatasetTargets(keras.utils.PyDataset):
    """A ``PyDataset`` of image batches as one of ``(inputs, targets)`` batches."""

    def __init__(self, images: keras.utils.PyDataset, noise: float, seed: int):
        super().__init__(workers=images.workers, use_multiprocessing=images.use_multiprocessing,
                         max_queue_size=images.max_queue_size)
        self.images, self.noise, self.seed, self.epoch = images, noise, seed, 0

    @property
    def num_batches(self):
        return self.images.num_batches

    def __getitem__(self, index):
        batch = np.asarray(self.images[index], dtype=np.float32)
        if not self.noise:
            return batch, batch
        rng = np.random.default_rng([self.seed, self.epoch, index, _NOISE_STREAM])
        return _noisy(batch, self.noise, rng), batch

    def on_epoch_begin(self):
        self.images.on_epoch_begin()

    def on_epoch_end(self):
        self.epoch += 1
        self.images.on_epoch_end()
