"""The article's two autoencoders, as Keras functional models.

Each builder reads like the Keras code you would write by hand: an encoder
from images to codings, a decoder from codings to images, and the stacked
model that trains them together, in an :class:`Autoencoder` with encode /
decode / reconstruct / generate helpers on numpy arrays. Layer names are
unique across the autoencoder (``hidden1`` in the encoder, ``hidden2`` in the
decoder...): PyTorch tracks variables by their path. The layers are stock
Keras layers, so a saved autoencoder loads with ``keras.saving.load_model``.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from .data import check_images, check_number, check_positive_int, check_seed, describe

__all__ = ["CODINGS_SIGMA", "VAE_PRIOR_SIGMA", "Autoencoder", "check_autoencoder",
           "check_input_shape", "conv_autoencoder", "dense_autoencoder", "predict",
           "seed_everything"]

#: Standard deviation of the codings the article decodes into digits: most fall in tanh's (-1, 1).
CODINGS_SIGMA = 0.33
#: Standard deviation of a variational autoencoder's prior N(0, 1), which its KL term pulls to.
VAE_PRIOR_SIGMA = 1.0


def dense_autoencoder(
    n_codings: int = 16,
    input_shape: Sequence[int] = (28, 28, 1),
    *,
    encoder_units: Sequence[int] = (250,),
    decoder_units: Sequence[int] = (320,),
    seed: int | None = None,
    dtype_policy: str | None = None,
) -> Autoencoder:
    """The article's dense autoencoder (Figure 1): 784-250-16-320-784.

    Encoder: Flatten -> Dense 250 relu -> Dense ``n_codings`` tanh ("codings").
    Decoder: Dense 320 relu -> Dense H*W*C sigmoid -> Reshape (H, W, C).

    Args:
        n_codings: size of the codings layer.
        input_shape: ``(H, W, C)`` of one image; colour images just use C = 3.
        encoder_units, decoder_units: widths of the hidden relu layers.
        seed: ``keras.utils.set_random_seed(seed)`` first: the same seed, the
            same weights (on one backend).
        dtype_policy: ``None`` (the global policy) or a Keras mixed-precision
            policy such as ``"mixed_bfloat16"`` (the output layer stays float32).

    Returns:
        An :class:`Autoencoder` with ``kind == "dense"``.

    Example:
        >>> ae = dense_autoencoder()
        >>> [m.count_params() for m in (ae.encoder, ae.decoder, ae.model)]
        [200266, 257104, 457370]
    """
    n_codings = check_positive_int(n_codings, "n_codings")
    shape = check_input_shape(input_shape)
    encoder_units, decoder_units = _check_widths(encoder_units=encoder_units,
                                                 decoder_units=decoder_units)
    seed_everything(seed)
    with _dtype_policy(dtype_policy):
        images = keras.Input(shape, name="images")
        encoder = _encoder(images, images, encoder_units, n_codings)
        codings_in, h = _decoder_input(n_codings, decoder_units, len(encoder_units) + 1)
        h = layers.Dense(math.prod(shape), activation="sigmoid", dtype="float32", name="pixels")(h)
        reconstruction = layers.Reshape(shape, name="reconstruction")(h)
        decoder = keras.Model(codings_in, reconstruction, name="decoder")
    return stack(encoder, decoder, "dense")


def conv_autoencoder(
    n_codings: int = 16,
    input_shape: Sequence[int] = (28, 28, 1),
    *,
    encoder_filters: Sequence[int] = (4, 8),
    encoder_kernels: Sequence[int] = (5, 5),
    encoder_units: Sequence[int] = (150,),
    decoder_units: Sequence[int] = (120, 320),
    decoder_maps: int = 16,
    decoder_filters: Sequence[int] = (8, 4),
    decoder_kernels: Sequence[int] = (5, 6),
    output_kernel: int = 7,
    seed: int | None = None,
    dtype_policy: str | None = None,
) -> Autoencoder:
    """The article's convolutional autoencoder (Figure 7).

    Encoder: [Conv2D 5x5 same relu -> MaxPooling2D 2] x (4, 8 filters) ->
    Flatten -> Dense 150 relu -> Dense ``n_codings`` tanh ("codings").
    Decoder: Dense 120 relu -> Dense 320 relu -> Dense h0*w0*16 relu ->
    Reshape (h0, w0, 16) -> [UpSampling2D 2 -> Conv2D relu] x (8@5x5, 4@6x6)
    -> Conv2D C@7x7 sigmoid, with (h0, w0) = (H/4, W/4), the encoder's last map.

    Args:
        n_codings: size of the codings layer.
        input_shape: ``(H, W, C)``; H and W must be divisible by 4.
        encoder_filters, encoder_kernels: one conv + pool stage per entry.
        encoder_units, decoder_units: widths of the dense relu layers.
        decoder_maps: feature maps of the decoder's first (h0, w0) map.
        decoder_filters, decoder_kernels: one upsampling + conv stage per encoder stage.
        output_kernel: kernel size of the final sigmoid conv.
        seed, dtype_policy: as in :func:`dense_autoencoder`.

    Returns:
        An :class:`Autoencoder` with ``kind == "conv"``.

    Example:
        >>> ae = conv_autoencoder()
        >>> [m.count_params() for m in (ae.encoder, ae.decoder, ae.model)]
        [62278, 296985, 359263]
    """
    n_codings = check_positive_int(n_codings, "n_codings")
    shape = check_input_shape(input_shape)
    (encoder_filters, encoder_kernels, encoder_units, decoder_units, decoder_filters,
     decoder_kernels) = _check_widths(
        encoder_filters=encoder_filters, encoder_kernels=encoder_kernels, encoder_units=encoder_units,
        decoder_units=decoder_units, decoder_filters=decoder_filters, decoder_kernels=decoder_kernels)
    decoder_maps = check_positive_int(decoder_maps, "decoder_maps")
    output_kernel = check_positive_int(output_kernel, "output_kernel")
    _check_stages(shape, encoder_filters, encoder_kernels, decoder_filters, decoder_kernels)
    seed_everything(seed)
    with _dtype_policy(dtype_policy):
        images = keras.Input(shape, name="images")
        h = images
        for i, (filters, size) in enumerate(zip(encoder_filters, encoder_kernels), 1):
            h = layers.Conv2D(filters, size, padding="same", activation="relu", name=f"conv{i}")(h)
            h = layers.MaxPooling2D(2, name=f"pool{i}")(h)
        map_shape = (h.shape[1], h.shape[2], decoder_maps)  # mirrors the encoder's last map
        encoder = _encoder(images, h, encoder_units, n_codings)
        codings_in, h = _decoder_input(n_codings, (*decoder_units, math.prod(map_shape)),
                                       len(encoder_units) + 1)
        h = layers.Reshape(map_shape, name="feature_maps")(h)
        for i, (filters, size) in enumerate(zip(decoder_filters, decoder_kernels), 1):
            h = layers.UpSampling2D(2, name=f"upsample{i}")(h)
            h = layers.Conv2D(filters, size, padding="same", activation="relu",
                              name=f"conv{len(encoder_filters) + i}")(h)
        reconstruction = layers.Conv2D(shape[2], output_kernel, padding="same",
                                       activation="sigmoid", dtype="float32",
                                       name="reconstruction")(h)
        decoder = keras.Model(codings_in, reconstruction, name="decoder")
    return stack(encoder, decoder, "conv")


def _encoder(images, h, units: tuple[int, ...], n_codings: int) -> keras.Model:
    """Flatten ``h``, a Dense relu layer per entry of ``units``, Dense ``n_codings`` tanh."""
    h = _dense_relu(layers.Flatten(name="flatten")(h), units, 1)
    codings = layers.Dense(n_codings, activation="tanh", dtype="float32", name="codings")(h)
    return keras.Model(images, codings, name="encoder")


def _decoder_input(n_codings: int, units: tuple[int, ...], first: int):
    """The decoder's input and what its Dense relu layers, ``hidden{first}`` on, make of it."""
    codings_in = keras.Input((n_codings,), name="codings_in")
    return codings_in, _dense_relu(codings_in, units, first)


def _dense_relu(h, units: tuple[int, ...], first: int):
    for i, width in enumerate(units, first):
        h = layers.Dense(width, activation="relu", name=f"hidden{i}")(h)
    return h


def stack(encoder: keras.Model, decoder: keras.Model, kind: str) -> Autoencoder:
    """The stacked model ``decoder(encoder(images))``, wrapped as an :class:`Autoencoder`."""
    images = keras.Input(encoder.inputs[0].shape[1:], name="images")
    model = keras.Model(images, decoder(encoder(images)), name=f"{kind}_autoencoder")
    return Autoencoder(encoder, decoder, model, kind)


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """``model`` on ``x`` in inference mode, ``batch_size`` rows at a time, as float32 numpy.

    Direct calls rather than ``model.predict``: no function to trace for every
    new array size, and no per-call set-up for small arrays.
    """
    chunks = [
        np.asarray(keras.ops.convert_to_numpy(model(x[i : i + batch_size], training=False)),
                   dtype=np.float32)
        for i in range(0, len(x), batch_size)
    ]
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


@dataclass
class Autoencoder:
    """An encoder, a decoder and the stacked model that trains them together.

    Attributes:
        encoder: ``keras.Model`` from ``(N, H, W, C)`` images to ``(N, n_codings)``
            codings in ``(-1, 1)`` (tanh); a VAE's gives the means ``z_mean``.
        decoder: ``keras.Model`` from codings to ``(N, H, W, C)`` images in ``(0, 1)``.
        model: the stacked ``decoder(encoder(x))``, the one to fit; a VAE's is an
            :class:`aelib.vae.VAE` (its call decodes ``z_mean``; it has its own loss).
        kind: ``"dense"`` or ``"conv"``; ``"dense_vae"`` or ``"conv_vae"`` for
            :func:`aelib.variational_autoencoder`'s.

    Example:
        >>> ae = dense_autoencoder(seed=0)
        >>> ae.model.count_params()
        457370
    """

    encoder: keras.Model
    decoder: keras.Model
    model: keras.Model
    kind: str

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of one image."""
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def n_codings(self) -> int:
        """Size of the coding (latent) vector."""
        return int(self.encoder.outputs[0].shape[-1])

    @property
    def is_variational(self) -> bool:
        """True for a variational autoencoder (``kind`` ends in ``"_vae"``)."""
        return self.kind.endswith("_vae")

    @property
    def prior_sigma(self) -> float:
        """Standard deviation of the codings :meth:`generate` draws by default:
        :data:`VAE_PRIOR_SIGMA` for a VAE, else :data:`CODINGS_SIGMA`."""
        return VAE_PRIOR_SIGMA if self.is_variational else CODINGS_SIGMA

    def encode(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Codings of images: ``(N, H, W, C)`` in [0, 1] -> ``(N, n_codings) float32``
        (a VAE's means ``z_mean``)."""
        return predict(self.encoder, check_images(x, "x", shape=self.input_shape), batch_size)

    def decode(self, codings: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Images from codings: ``(N, n_codings)`` -> ``(N, H, W, C) float32`` in (0, 1)."""
        codings = np.asarray(codings, dtype=np.float32)
        if codings.ndim != 2 or codings.shape[1] != self.n_codings or len(codings) == 0:
            raise ValueError(f"codings must have shape (N, {self.n_codings}) with N >= 1, "
                             f"got {describe(codings)}")
        if not np.isfinite(codings).all():
            raise ValueError("codings must be finite, got NaN or inf values")
        return predict(self.decoder, codings, batch_size)

    def reconstruct(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Reconstructions of images, same shape as ``x`` (a VAE decodes ``z_mean``)."""
        return predict(self.model, check_images(x, "x", shape=self.input_shape), batch_size)

    def generate(
        self, n: int, *, sigma: float | None = None, seed: int | None = None
    ) -> np.ndarray:
        """Decode ``n`` random codings drawn from N(0, sigma): ``(n, H, W, C)``
        (``sigma=None``: :attr:`prior_sigma`)."""
        n = check_positive_int(n, "n")
        sigma = self.prior_sigma if sigma is None else check_number(sigma, "sigma", 0.0, lo_open=True)
        rng = np.random.default_rng(seed)
        return self.decode(rng.normal(0.0, sigma, size=(n, self.n_codings)).astype(np.float32))

    def save(self, path: str | os.PathLike) -> None:
        """Save the stacked model (encoder and decoder inside) to a ``.keras`` file.

        Written through a temporary file, so an interrupted save leaves no
        partial file; it names only backend-neutral classes, so any backend
        loads it (:func:`aelib.load_autoencoder`, or ``keras.saving.load_model``).
        """
        from ._io import save_keras

        path = os.fspath(path)
        if not path.endswith(".keras"):
            raise ValueError(f"path must end in '.keras', got {path!r}")
        save_keras(self.model, path)

    def summary(self, **kwargs) -> None:
        """Print the encoder's, decoder's and stacked model's Keras summaries."""
        for m in (self.encoder, self.decoder, self.model):
            m.summary(**kwargs)


def check_input_shape(input_shape, name: str = "input_shape") -> tuple[int, int, int]:
    """``input_shape`` as a tuple of three ints >= 1 (height, width, channels), else raise."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    if len(shape) != 3 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                                  and s >= 1 for s in shape):
        raise ValueError(f"{name} must be (height, width, channels) with positive ints, "
                         f"got {input_shape!r}")
    return tuple(int(s) for s in shape)


def check_autoencoder(value, name: str = "autoencoder") -> Autoencoder:
    """Return ``value`` if it is an :class:`Autoencoder`, else raise ``TypeError``
    (naming what came: a Keras model ``ae.model`` given for ``ae`` shows).

    >>> check_autoencoder("model", "ae")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: ae must be an aelib Autoencoder (from dense_autoencoder(), ...), got str 'model'
    """
    if not isinstance(value, Autoencoder):
        raise TypeError(
            f"{name} must be an aelib Autoencoder (from dense_autoencoder(), conv_autoencoder(), "
            f"variational_autoencoder() or load_autoencoder()), got {describe(value)}"
        )
    return value


def _check_widths(**widths) -> list[tuple[int, ...]]:
    """Each keyword's value as a tuple of ints >= 1 (an int alone: a tuple of one)."""
    checked = []
    for name, units in widths.items():
        if isinstance(units, (int, np.integer)):
            units = (units,)
        if not isinstance(units, Sequence):
            raise TypeError(f"{name} must be a sequence of ints >= 1, got {describe(units)}")
        checked.append(tuple(check_positive_int(u, f"{name}[{i}]") for i, u in enumerate(units)))
    return checked


def _check_stages(shape, encoder_filters, encoder_kernels, decoder_filters, decoder_kernels):
    """A kernel per filter count, a decoder stage per encoder stage, H and W the poolings divide."""
    if len(encoder_filters) != len(encoder_kernels):
        raise ValueError(f"encoder_filters and encoder_kernels must have the same length, got "
                         f"{len(encoder_filters)} and {len(encoder_kernels)}")
    if len(decoder_filters) != len(decoder_kernels) or len(decoder_filters) != len(encoder_filters):
        raise ValueError("decoder_filters and decoder_kernels must have one entry per encoder "
                         f"stage ({len(encoder_filters)}), got {len(decoder_filters)} and "
                         f"{len(decoder_kernels)}")
    factor = 2 ** len(encoder_filters)
    if shape[0] % factor or shape[1] % factor:
        raise ValueError(f"input_shape must have height and width divisible by {factor} (one 2x "
                         f"pooling per encoder stage), got {shape}")


def seed_everything(seed) -> int | None:
    """``keras.utils.set_random_seed(seed)`` unless ``seed`` is None; the checked seed."""
    seed = check_seed(seed)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return seed


@contextlib.contextmanager
def _dtype_policy(policy: str | None):
    """Build layers under a Keras dtype policy (``None``: leave the global one)."""
    if policy is None:
        yield
        return
    try:
        policy = keras.dtype_policies.get(policy)
    except (ValueError, TypeError) as err:
        raise ValueError(f"dtype_policy must be None or a Keras dtype policy name such as "
                         f"'mixed_bfloat16', got {policy!r}") from err
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
