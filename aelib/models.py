"""The article's two autoencoders, built with Keras 3 functional models.

Both builders return an :class:`Autoencoder`: the ``encoder`` (images to
codings), the ``decoder`` (codings to images) and the stacked ``model`` that
is trained, plus helpers to encode, decode, reconstruct and generate.

:func:`aelib.variational_autoencoder` builds the variational versions on the
same trunks (see :mod:`aelib.vae`) and returns an :class:`Autoencoder` too.

With the defaults the parameter counts are the article's:

=========  =======  =======  =======
model      encoder  decoder  stacked
=========  =======  =======  =======
dense      200,266  257,104  457,370
conv        62,278  296,985  359,263
=========  =======  =======  =======
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from .data import _describe, check_images, check_positive_int
from .layers import BlockedConv2D

__all__ = [
    "Autoencoder",
    "dense_autoencoder",
    "conv_autoencoder",
    "load_autoencoder",
    "CODINGS_SIGMA",
    "VAE_PRIOR_SIGMA",
    "native_bfloat16",
]

#: Standard deviation of the random codings the article decodes into digits:
#: most values then fall inside tanh's range (-1, 1).
CODINGS_SIGMA = 0.33

#: Standard deviation of a variational autoencoder's prior N(0, 1): the
#: distribution its KL term pulls the codings towards, and so the one to
#: sample codings from when generating.
VAE_PRIOR_SIGMA = 1.0


def _predict(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Run ``model`` on ``x`` in inference mode, ``batch_size`` images at a time.

    Direct calls rather than ``model.predict``: no tf.function to retrace for
    every new array size, and no per-call setup for small arrays.
    """
    chunks = [
        np.asarray(keras.ops.convert_to_numpy(model(x[i : i + batch_size], training=False)),
                   dtype=np.float32)  # float32 whatever the model computes in
        for i in range(0, len(x), batch_size)
    ]
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


@dataclass
class Autoencoder:
    """An encoder, a decoder and the stacked model that trains them together.

    Attributes:
        encoder: ``keras.Model`` from ``(N, H, W, C)`` images to ``(N, n_codings)``
            codings in ``(-1, 1)`` (tanh). For a variational autoencoder, the
            means ``z_mean`` of the codings' distribution (unbounded, linear).
        decoder: ``keras.Model`` from codings to ``(N, H, W, C)`` images in
            ``(0, 1)`` (sigmoid).
        model: the stacked autoencoder, ``decoder(encoder(x))``; the one to fit.
            For a variational autoencoder, an :class:`aelib.vae.VAE` (its call
            decodes ``z_mean``; it trains on its own loss).
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
        return tuple(self.encoder.input_shape[1:])

    @property
    def n_codings(self) -> int:
        """Size of the coding (latent) vector."""
        return int(self.encoder.output_shape[-1])

    @property
    def is_variational(self) -> bool:
        """True for a variational autoencoder (``kind`` ends in ``"_vae"``)."""
        return self.kind.endswith("_vae")

    @property
    def prior_sigma(self) -> float:
        """Standard deviation of the codings :meth:`generate` draws by default.

        1.0 (:data:`VAE_PRIOR_SIGMA`, the prior N(0, 1)) for a variational
        autoencoder; the article's 0.33 (:data:`CODINGS_SIGMA`) for the plain
        ones, whose tanh codings have no prior.
        """
        return VAE_PRIOR_SIGMA if self.is_variational else CODINGS_SIGMA

    def encode(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Codings of images: ``(N, H, W, C)`` in [0, 1] -> ``(N, n_codings) float32``.

        A variational autoencoder gives the means ``z_mean`` (no sampling).
        """
        x = check_images(x, "x", shape=self.input_shape)
        return _predict(self.encoder, x, batch_size)

    def decode(self, codings: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Images from codings: ``(N, n_codings)`` -> ``(N, H, W, C) float32`` in (0, 1)."""
        codings = np.asarray(codings, dtype=np.float32)
        if codings.ndim != 2 or codings.shape[1] != self.n_codings or len(codings) == 0:
            raise ValueError(
                f"codings must have shape (N, {self.n_codings}) with N >= 1, "
                f"got {_describe(codings)}"
            )
        if not np.isfinite(codings).all():
            raise ValueError("codings must be finite, got NaN or inf values")
        return _predict(self.decoder, codings, batch_size)

    def reconstruct(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Reconstructions of images, same shape as ``x`` (a VAE decodes ``z_mean``)."""
        x = check_images(x, "x", shape=self.input_shape)
        return _predict(self.model, x, batch_size)

    def generate(
        self, n: int, *, sigma: float | None = None, seed: int | None = None
    ) -> np.ndarray:
        """Decode ``n`` random codings drawn from N(0, sigma): ``(n, H, W, C)``.

        ``sigma=None`` means :attr:`prior_sigma`: 1.0 for a variational
        autoencoder (its prior), the article's 0.33 otherwise.
        """
        n = check_positive_int(n, "n")
        if sigma is None:
            sigma = self.prior_sigma
        if not (isinstance(sigma, (int, float)) and sigma > 0 and math.isfinite(sigma)):
            raise ValueError(f"sigma must be a positive number, got {sigma!r}")
        rng = np.random.default_rng(seed)
        codings = rng.normal(0.0, sigma, size=(n, self.n_codings)).astype(np.float32)
        return self.decode(codings)

    def save(self, path: str | os.PathLike) -> None:
        """Save the stacked model (encoder and decoder inside) to a ``.keras`` file."""
        path = os.fspath(path)
        if not path.endswith(".keras"):
            raise ValueError(f"path must end in '.keras', got {path!r}")
        self.model.save(path)

    def summary(self, **kwargs) -> None:
        """Print the encoder's, decoder's and stacked model's Keras summaries."""
        for m in (self.encoder, self.decoder, self.model):
            m.summary(**kwargs)


def load_autoencoder(path: str | os.PathLike) -> Autoencoder:
    """Load an :class:`Autoencoder` saved with :meth:`Autoencoder.save`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no saved autoencoder at {path!r}")
    from .vae import VAE, _autoencoder_from_vae  # registers aelib's VAE classes for loading

    model = keras.saving.load_model(path)
    kind = model.name.split("_", 1)[0]  # "dense_autoencoder", "dense_vae" -> "dense"
    if isinstance(model, VAE):
        return _autoencoder_from_vae(model, f"{kind}_vae")
    return Autoencoder(model.get_layer("encoder"), model.get_layer("decoder"), model, kind)


# --------------------------------------------------------------------------
# builders
# --------------------------------------------------------------------------
def _check_input_shape(input_shape, name: str = "input_shape") -> tuple[int, int, int]:
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if (
        shape is None
        or len(shape) != 3
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in shape)
    ):
        raise ValueError(
            f"{name} must be (height, width, channels) with positive ints, got {input_shape!r}"
        )
    return tuple(int(s) for s in shape)


def _check_units(units, name: str) -> tuple[int, ...]:
    if isinstance(units, (int, np.integer)):
        units = (units,)
    if not isinstance(units, Sequence):
        raise TypeError(f"{name} must be a sequence of ints >= 1, got {_describe(units)}")
    return tuple(check_positive_int(u, f"{name}[{i}]") for i, u in enumerate(units))


class _Init:
    """Hands out a fresh kernel initializer per layer, seeded ``seed, seed+1, ...``.

    Keras 3 warns when one seeded initializer instance is reused, and reusing
    it would give every same-shaped layer the same weights.
    """

    def __init__(self, spec, seed: int | None):
        self.spec = spec
        self.seed = seed
        self.count = 0

    def __call__(self):
        init = keras.initializers.get(self.spec)
        if self.seed is None:
            return init
        config = init.get_config()
        if "seed" in config:
            config["seed"] = self.seed + self.count
            self.count += 1
            init = init.__class__.from_config(config)
        return init


@functools.cache
def native_bfloat16() -> bool:
    """Whether this machine computes bfloat16 natively: a CPU with avx512_bf16 or
    amx_bf16, or a GPU of compute capability 8.0 or newer (asked once per process)."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability and capability >= (8, 0):
            return True
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:  # not Linux: be conservative
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


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


def _codings_head(h, n_codings: int, init: _Init):
    """The plain autoencoders' encoder output: Dense ``n_codings`` tanh ("codings")."""
    return keras.layers.Dense(n_codings, "tanh", kernel_initializer=init(), dtype="float32",
                              name="codings")(h)  # float32 codings under a mixed policy too


def dense_autoencoder(
    n_codings: int = 16,
    input_shape: Sequence[int] = (28, 28, 1),
    *,
    encoder_units: Sequence[int] = (250,),
    decoder_units: Sequence[int] = (320,),
    kernel_initializer="glorot_uniform",
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
        kernel_initializer: any Keras initializer name or object.
        seed: seeds every initializer, so the same seed gives the same weights.
        dtype_policy: ``None`` (float32) or a Keras mixed-precision policy
            such as ``"mixed_bfloat16"``: weights stay float32, the layers
            compute in bfloat16, and the output layer stays float32. Faster
            only where the hardware has bfloat16 units (see
            :func:`native_bfloat16`); elsewhere it is emulated and slower.

    Returns:
        An :class:`Autoencoder` with ``kind == "dense"``.

    Example:
        >>> ae = dense_autoencoder()
        >>> [m.count_params() for m in (ae.encoder, ae.decoder, ae.model)]
        [200266, 257104, 457370]
    """
    encoder, decoder = _dense_networks(
        n_codings,
        input_shape,
        encoder_units=encoder_units,
        decoder_units=decoder_units,
        kernel_initializer=kernel_initializer,
        seed=seed,
        head=_codings_head,
        dtype_policy=dtype_policy,
    )
    return _stack(encoder, decoder, "dense")


def _relu_stack(h, widths, init: _Init):
    """Dense relu layers ``hidden1``, ``hidden2``, ... of ``widths`` on ``h``, seeded in order."""
    for i, units in enumerate(widths):
        h = keras.layers.Dense(units, "relu", kernel_initializer=init(), name=f"hidden{i + 1}")(h)
    return h


def _dense_networks(
    n_codings, input_shape, *, encoder_units, decoder_units, kernel_initializer, seed, head,
    dtype_policy=None,
) -> tuple[keras.Model, keras.Model]:
    """The dense encoder and decoder; ``head(h, n_codings, init)`` makes the encoder's outputs.

    Shared by :func:`dense_autoencoder` (a tanh codings layer) and
    :func:`aelib.variational_autoencoder` (``z_mean``, ``z_log_var``, ``z``).
    Kernel seeds run in layer order: encoder hidden layers, head, decoder.
    """
    n_codings = check_positive_int(n_codings, "n_codings")
    shape = _check_input_shape(input_shape)
    encoder_units = _check_units(encoder_units, "encoder_units")
    decoder_units = _check_units(decoder_units, "decoder_units")
    with _dtype_policy(dtype_policy):
        init = _Init(kernel_initializer, seed)
        layers = keras.layers
        inputs = keras.Input(shape, name="images")
        h = layers.Flatten(name="flatten")(inputs)
        h = _relu_stack(h, encoder_units, init)
        encoder = keras.Model(inputs, head(h, n_codings, init), name="encoder")

        codings_in = keras.Input((n_codings,), name="codings_in")
        h = _relu_stack(codings_in, decoder_units, init)
        h = layers.Dense(
            math.prod(shape),
            "sigmoid",
            kernel_initializer=init(),
            dtype="float32",  # the output stays float32 under a mixed policy
            name="pixels",
        )(h)
        outputs = layers.Reshape(shape, name="reconstruction")(h)
        decoder = keras.Model(codings_in, outputs, name="decoder")
        return encoder, decoder


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
    kernel_initializer="glorot_uniform",
    seed: int | None = None,
    dtype_policy: str | None = None,
    blocked_output: bool = True,
) -> Autoencoder:
    """The article's convolutional autoencoder (Figure 7).

    Encoder: [Conv2D 5x5 same relu -> MaxPool 2] x (4, 8 filters) -> Flatten
    -> Dense 150 relu -> Dense ``n_codings`` tanh ("codings").
    Decoder: Dense 120 relu -> Dense 320 relu -> Dense h0*w0*16 relu ->
    Reshape (h0, w0, 16) -> [UpSampling 2 -> Conv2D relu] x (8@5x5, 4@6x6)
    -> Conv2D C@7x7 sigmoid. The first feature map (h0, w0) is read off the
    encoder's last pooling layer (H/4, W/4), so any input whose height and
    width divide by 4 works (e.g. 32x32x3).

    Args:
        n_codings: size of the codings layer.
        input_shape: ``(H, W, C)``; H and W must be divisible by 4.
        encoder_filters, encoder_kernels: one conv + pool stage per entry (two).
        encoder_units, decoder_units: widths of the dense relu layers.
        decoder_maps: feature maps of the decoder's first (h0, w0) map.
        decoder_filters, decoder_kernels: one upsampling + conv stage per entry.
        output_kernel: kernel size of the final sigmoid conv.
        kernel_initializer, seed, dtype_policy: as in :func:`dense_autoencoder`
            (``"mixed_bfloat16"`` trains this model about 1.25-1.3x faster
            on a 2-core CPU with avx512_bf16, to the same test MSE;
            docs/benchmarks.md).
        blocked_output: compute the output convolution (few channels, so
            slow on a CPU) as :class:`aelib.layers.BlockedConv2D`: the same
            weights and sums on 2x2 pixel blocks, about 1.1x (bfloat16) to
            1.3x (float32) faster training (docs/benchmarks.md). ``False``
            builds a stock ``keras.layers.Conv2D``.

    Returns:
        An :class:`Autoencoder` with ``kind == "conv"``.

    Example:
        >>> ae = conv_autoencoder()
        >>> [m.count_params() for m in (ae.encoder, ae.decoder, ae.model)]
        [62278, 296985, 359263]
    """
    encoder, decoder = _conv_networks(
        n_codings,
        input_shape,
        encoder_filters=encoder_filters,
        encoder_kernels=encoder_kernels,
        encoder_units=encoder_units,
        decoder_units=decoder_units,
        decoder_maps=decoder_maps,
        decoder_filters=decoder_filters,
        decoder_kernels=decoder_kernels,
        output_kernel=output_kernel,
        kernel_initializer=kernel_initializer,
        seed=seed,
        head=_codings_head,
        dtype_policy=dtype_policy,
        blocked_output=blocked_output,
    )
    return _stack(encoder, decoder, "conv")


def _conv_networks(
    n_codings,
    input_shape,
    *,
    encoder_filters,
    encoder_kernels,
    encoder_units,
    decoder_units,
    decoder_maps,
    decoder_filters,
    decoder_kernels,
    output_kernel,
    kernel_initializer,
    seed,
    head,
    dtype_policy=None,
    blocked_output=True,
) -> tuple[keras.Model, keras.Model]:
    """The convolutional encoder and decoder; ``head`` as in :func:`_dense_networks`."""
    if not isinstance(blocked_output, bool):
        raise TypeError(f"blocked_output must be True or False, got {_describe(blocked_output)}")
    n_codings = check_positive_int(n_codings, "n_codings")
    shape = _check_input_shape(input_shape)
    encoder_filters = _check_units(encoder_filters, "encoder_filters")
    encoder_kernels = _check_units(encoder_kernels, "encoder_kernels")
    decoder_filters = _check_units(decoder_filters, "decoder_filters")
    decoder_kernels = _check_units(decoder_kernels, "decoder_kernels")
    encoder_units = _check_units(encoder_units, "encoder_units")
    decoder_units = _check_units(decoder_units, "decoder_units")
    decoder_maps = check_positive_int(decoder_maps, "decoder_maps")
    output_kernel = check_positive_int(output_kernel, "output_kernel")
    if len(encoder_filters) != len(encoder_kernels):
        raise ValueError(
            f"encoder_filters and encoder_kernels must have the same length, got "
            f"{len(encoder_filters)} and {len(encoder_kernels)}"
        )
    if len(decoder_filters) != len(decoder_kernels) or len(decoder_filters) != len(encoder_filters):
        raise ValueError(
            "decoder_filters and decoder_kernels must have one entry per encoder stage "
            f"({len(encoder_filters)}), got {len(decoder_filters)} and {len(decoder_kernels)}"
        )
    factor = 2 ** len(encoder_filters)
    if shape[0] % factor or shape[1] % factor:
        raise ValueError(
            f"input_shape must have height and width divisible by {factor} (one 2x pooling "
            f"per encoder stage), got {shape}"
        )
    with _dtype_policy(dtype_policy):
        init = _Init(kernel_initializer, seed)
        layers = keras.layers
        inputs = keras.Input(shape, name="images")
        h = inputs
        for i, (filters, k) in enumerate(zip(encoder_filters, encoder_kernels)):
            h = layers.Conv2D(filters, k, padding="same", activation="relu",
                              kernel_initializer=init(), name=f"conv{i + 1}")(h)
            h = layers.MaxPooling2D(2, name=f"pool{i + 1}")(h)
        h0, w0 = h.shape[1], h.shape[2]  # the decoder's first feature map mirrors this
        h = layers.Flatten(name="flatten")(h)
        h = _relu_stack(h, encoder_units, init)
        encoder = keras.Model(inputs, head(h, n_codings, init), name="encoder")

        codings_in = keras.Input((n_codings,), name="codings_in")
        h = _relu_stack(codings_in, decoder_units, init)
        h = layers.Dense(h0 * w0 * decoder_maps, "relu", kernel_initializer=init(),
                         name=f"hidden{len(decoder_units) + 1}")(h)
        h = layers.Reshape((h0, w0, decoder_maps), name="feature_maps")(h)
        for i, (filters, k) in enumerate(zip(decoder_filters, decoder_kernels)):
            h = layers.UpSampling2D(2, name=f"upsample{i + 1}")(h)
            h = layers.Conv2D(filters, k, padding="same", activation="relu",
                              kernel_initializer=init(), name=f"deconv{i + 1}")(h)
        output_conv = BlockedConv2D if blocked_output else layers.Conv2D
        outputs = output_conv(
            shape[2],
            output_kernel,
            padding="same",
            activation="sigmoid",
            kernel_initializer=init(),
            dtype="float32",  # the output stays float32 under a mixed policy
            name="reconstruction",
        )(h)
        decoder = keras.Model(codings_in, outputs, name="decoder")
        return encoder, decoder


def _stack(encoder: keras.Model, decoder: keras.Model, kind: str) -> Autoencoder:
    inputs = keras.Input(encoder.input_shape[1:], name="images")
    model = keras.Model(inputs, decoder(encoder(inputs)), name=f"{kind}_autoencoder")
    return Autoencoder(encoder, decoder, model, kind)
