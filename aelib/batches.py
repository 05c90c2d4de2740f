"""The batches :func:`aelib.train` feeds to ``model.fit``, and noise for denoisers.

Every backend sees the same batches, in an order that follows from the seed
and the epoch alone (:func:`epoch_order`). Under TensorFlow a ``tf.data``
pipeline gathers each batch from the training set, held as one tensor, while
the previous batch trains, which is faster than Keras's Python slicing of numpy
arrays; elsewhere a plain generator of numpy batches feeds ``fit``.
"""

from __future__ import annotations

import numpy as np

from .data import check_images, check_number, check_seed
from .devices import backend_name

__all__ = ["add_noise", "batches", "epoch_order"]

#: the third word of the noise generator's seed: keeps its stream apart from the shuffling's
_NOISE_STREAM = 1


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


def batches(x: np.ndarray, batch_size: int, seed: int | None, epochs: int, noise: float = 0.0):
    """``epochs`` epochs of shuffled ``(x, x)`` batches, one iterator for
    ``model.fit`` over all epochs (it is given ``steps_per_epoch``).

    Each epoch visits every image once, in the order :func:`epoch_order`
    gives; its last batch is smaller when ``batch_size`` does not divide
    ``len(x)``. With ``noise > 0`` the inputs get fresh Gaussian noise of that
    standard deviation, clipped to [0, 1], and the targets stay clean. The
    noise follows from ``seed`` and the step (numpy's generator, or
    TensorFlow's stateless normal in the ``tf.data`` pipeline: both seeded,
    not the same numbers).
    """
    if seed is None:  # a fresh order per call, unless numpy's global seed was set
        seed = int(np.random.randint(0, 2**31 - 1))
    if backend_name() == "tensorflow":
        return _tf_batches(x, batch_size, seed, epochs, noise)
    return _numpy_batches(x, batch_size, seed, epochs, noise)


def _numpy_batches(x: np.ndarray, batch_size: int, seed: int, epochs: int, noise: float = 0.0):
    for epoch in range(epochs):
        order = epoch_order(len(x), seed, epoch)
        rng = np.random.default_rng([seed, epoch, _NOISE_STREAM]) if noise else None
        for start in range(0, len(x), batch_size):
            batch = x[order[start : start + batch_size]]
            yield (_noisy(batch, noise, rng) if noise else batch), batch


def _tf_batches(x: np.ndarray, batch_size: int, seed: int, epochs: int, noise: float = 0.0):
    """The same batches as a ``tf.data`` pipeline: one ``tf.gather`` per batch,
    the next batch gathered while one trains (``prefetch``)."""
    import tensorflow as tf

    images = tf.convert_to_tensor(x)
    orders = np.stack([epoch_order(len(x), seed, e) for e in range(epochs)]).astype(np.int32)
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

    # tf.data's autotuner off (at the end of a call the iterator could wait on
    # its thread's timed sleep) and its default rewrites off (they copied the
    # captured training set once more per call): both measured faster.
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    dataset = tf.data.Dataset.from_tensor_slices(orders).flat_map(epoch_batches)
    dataset = dataset.enumerate().map(gather_noisy) if noise else dataset.map(gather)
    return dataset.prefetch(2).with_options(options)
