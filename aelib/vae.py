"""Variational autoencoders on the article's dense and convolutional trunks.

:func:`variational_autoencoder` keeps the layers of :func:`~aelib.dense_autoencoder`
or :func:`~aelib.conv_autoencoder` and changes the encoder's end: instead of
one tanh codings layer, two linear heads give the mean ``z_mean`` and log
variance ``z_log_var`` of a Gaussian over the codings, and a :class:`Sampling`
layer draws ``z = z_mean + exp(z_log_var / 2) * eps`` from it. The decoder is
the plain one. Training minimises the negative ELBO per image::

    loss = reconstruction_loss + kl_weight * kl_loss

with ``reconstruction_loss`` the binary cross-entropy summed over the pixels
(a Bernoulli likelihood for each pixel) and ``kl_loss`` the KL divergence from
N(z_mean, exp(z_log_var)) to the prior N(0, 1), summed over the codings.

Why binary cross-entropy rather than squared error (``reconstruction="sse"``
on :class:`VAE` keeps the other for comparison): summed squared error is the
log-likelihood of a Gaussian with a fixed variance of 1/2, about a quarter of
the cross-entropy of the same digits (18 against 80 per test digit, dense
model), so against the same KL term it behaves like ``kl_weight`` of about 4.
Trained on full MNIST with :func:`aelib.train` (dense 20 epochs at batch 200,
conv 10 at batch 150), squared error left 10 (dense) and 6 (conv) of the 16
codings carrying information (KL per coding > 0.05 nats), against 16 and 10
with cross-entropy, and its test MSE was 0.018 / 0.021 against 0.010 / 0.014.
Its decoded N(0, 1) samples were recognised a little more confidently by a
small MNIST classifier (mean top probability 0.82 / 0.88 against 0.78 / 0.85),
a gain cross-entropy also gets with ``kl_weight=2`` (0.81, test MSE 0.014);
by eye both give digits. So cross-entropy with ``kl_weight=1``: the ELBO of
[0, 1] pixels, the better reconstructions and codings, with the trade-off
between reconstruction and samples left to ``kl_weight``.

The returned :class:`~aelib.Autoencoder` works like the plain ones:
``encode`` gives ``z_mean``, ``reconstruct`` decodes ``z_mean`` (deterministic),
``generate`` samples codings from the prior N(0, 1), ``save`` and
:func:`~aelib.load_autoencoder` round-trip it.

With the defaults (``n_codings=16``, 28x28x1 images) the parameter counts are:

=========  ==============  ====================  =======  =======
model      ``ae.encoder``  ``ae.model.encoder``  decoder  stacked
           (to z_mean)     (both heads)
=========  ==============  ====================  =======  =======
dense_vae  200,266         204,282               257,104  461,386
conv_vae    62,278          64,694               296,985  361,679
=========  ==============  ====================  =======  =======

(the plain model's counts plus one more ``Dense(n_codings)`` head on the last
hidden layer: 250*16+16 = 4,016 dense, 150*16+16 = 2,416 conv).
"""

from __future__ import annotations

import inspect
import math

import keras
import numpy as np
from keras import ops

from .data import _describe, check_images, check_seed
from .models import (
    Autoencoder,
    _conv_networks,
    _dense_networks,
    conv_autoencoder,
    dense_autoencoder,
)

__all__ = ["variational_autoencoder", "prior_codings", "VAE", "Sampling", "KINDS",
           "RECONSTRUCTION_LOSSES"]

#: the trunks :func:`variational_autoencoder` builds on
KINDS = ("dense", "conv")
#: per-image reconstruction losses :class:`VAE` knows: binary cross-entropy or
#: squared error, each summed over all pixels
RECONSTRUCTION_LOSSES = ("bce", "sse")

_BUILDERS = {
    "dense": (dense_autoencoder, _dense_networks),
    "conv": (conv_autoencoder, _conv_networks),
}


def _check_kl_weight(kl_weight) -> float:
    if isinstance(kl_weight, bool) or not isinstance(kl_weight, (int, float, np.integer, np.floating)):
        raise TypeError(f"kl_weight must be a number >= 0, got {_describe(kl_weight)}")
    if not (math.isfinite(kl_weight) and kl_weight >= 0):
        raise ValueError(f"kl_weight must be a finite number >= 0, got {kl_weight!r}")
    return float(kl_weight)


@keras.saving.register_keras_serializable(package="aelib")
class Sampling(keras.layers.Layer):
    """Draws ``z = z_mean + exp(z_log_var / 2) * eps`` with ``eps ~ N(0, 1)``.

    The reparameterisation trick: the randomness sits in ``eps``, so gradients
    flow to ``z_mean`` and ``z_log_var``. It samples on every call, in training
    and in inference alike.

    Args:
        seed: seeds the layer's ``keras.random.SeedGenerator``: two layers made
            with the same seed draw the same sequence of ``eps``. ``None``: a
            random seed.

    Call arguments:
        inputs: ``[z_mean, z_log_var]``, two ``(N, n_codings)`` tensors.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="aelib")
class VAE(keras.Model):
    """A variational autoencoder: an encoder to ``[z_mean, z_log_var, z]`` and a decoder.

    ``vae(x)`` decodes ``z_mean``: the deterministic reconstruction that
    :meth:`~aelib.Autoencoder.reconstruct` and :func:`aelib.evaluate` use.
    ``fit`` and ``evaluate`` run :meth:`train_step` / :meth:`test_step`, which
    decode a sampled ``z`` and minimise, per image and averaged over the batch::

        loss = reconstruction_loss + kl_weight * kl_loss

    all three reported (``val_``-prefixed with ``validation_data``). The
    validation loss is computed the same way as the training loss (a sampled
    ``z``), so the two can be compared.

    The data may be ``(x, y)`` tuples (``fit(x, x)``, a ``tf.data`` pipeline of
    ``(x, x)`` batches) or ``x`` alone; the reconstruction target is ``y``
    when given (``fit(noisy, clean)`` trains a denoising VAE), else ``x``.

    Compile with an optimizer only: the loss is the VAE's own, so a ``loss``
    given to :meth:`compile` is ignored (``aelib.train`` passes ``"mse"``),
    and compiled ``metrics`` are refused. Sample weights are refused too.

    Args:
        encoder: ``keras.Model`` from images to ``[z_mean, z_log_var, z]``.
        decoder: ``keras.Model`` from ``(N, n_codings)`` codings to images in
            ``(0, 1)`` (sigmoid).
        kl_weight: weight of the KL term (``1.0``: the ELBO; ``0``: a plain
            autoencoder with a noisy bottleneck; > 1: a beta-VAE).
        reconstruction: ``"bce"`` (binary cross-entropy, the default; see the
            module notes) or ``"sse"`` (squared error), summed over the pixels.
        **kwargs: ``keras.Model`` arguments, e.g. ``name``.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        *,
        kl_weight: float = 1.0,
        reconstruction: str = "bce",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(encoder, keras.Model) or len(encoder.outputs) != 3:
            raise TypeError(
                "encoder must be a keras.Model with 3 outputs [z_mean, z_log_var, z], "
                f"got {_describe(encoder)}"
            )
        if not isinstance(decoder, keras.Model):
            raise TypeError(f"decoder must be a keras.Model, got {_describe(decoder)}")
        if reconstruction not in RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"reconstruction must be one of {RECONSTRUCTION_LOSSES}, got {reconstruction!r}"
            )
        self.encoder = encoder
        self.decoder = decoder
        self._kl_weight = _check_kl_weight(kl_weight)
        self._reconstruction = reconstruction
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.build(encoder.input_shape)

    @property
    def kl_weight(self) -> float:
        """Weight of the KL term in the loss (read-only: build a new VAE to change it)."""
        return self._kl_weight

    @property
    def reconstruction(self) -> str:
        """``"bce"`` or ``"sse"``: the per-image reconstruction loss."""
        return self._reconstruction

    @property
    def input_shape(self) -> tuple:
        """``(None, H, W, C)``, the encoder's (a subclassed model has none of its own)."""
        return self.encoder.input_shape

    @property
    def output_shape(self) -> tuple:
        """``(None, H, W, C)``, the decoder's."""
        return self.decoder.output_shape

    def build(self, input_shape=None):
        # the encoder and decoder are functional models, built when made
        self.built = True

    def call(self, inputs, training=None):
        z_mean, _, _ = self.encoder(inputs, training=training)
        return self.decoder(z_mean, training=training)

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, **kwargs):
        """``keras.Model.compile`` without a loss: ``loss`` and ``loss_weights``
        are ignored (the VAE trains on its own loss); ``metrics`` are refused."""
        del loss, loss_weights  # the VAE's loss is its own
        if metrics is not None or weighted_metrics is not None:
            raise ValueError(
                "metrics: a VAE reports loss, reconstruction_loss and kl_loss itself and "
                "takes no compiled metrics; compile it with an optimizer only"
            )
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        """Compile a loaded VAE as it was saved (``keras.saving.load_model`` calls this)."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.optimizer is not None and self.built:
            self.optimizer.build(self.trainable_variables)  # so its saved state loads

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    # ----------------------------------------------------------------------
    # losses and steps
    # ----------------------------------------------------------------------
    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError("sample_weight: a VAE does not take sample or class weights")
        return x, x if y is None else y

    def compute_vae_losses(self, x, target, training: bool = False):
        """Batch means of ``(loss, reconstruction_loss, kl_loss)`` for images ``x``.

        One ``z`` is sampled per image; ``target`` is what the decoded ``z``
        should reproduce (``x`` for a plain VAE).
        """
        z_mean, z_log_var, z = self.encoder(x, training=training)
        reconstruction = self.decoder(z, training=training)
        target = ops.cast(target, reconstruction.dtype)
        axes = tuple(range(1, len(reconstruction.shape)))
        if self._reconstruction == "bce":
            per_pixel = ops.binary_crossentropy(target, reconstruction)
        else:
            per_pixel = ops.square(target - reconstruction)
        reconstruction_loss = ops.mean(ops.sum(per_pixel, axis=axes))
        kl = -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
        kl_loss = ops.mean(ops.sum(kl, axis=1))
        return reconstruction_loss + self._kl_weight * kl_loss, reconstruction_loss, kl_loss

    def _update_trackers(self, x, losses):
        n = ops.cast(ops.shape(x)[0], "float32")  # weigh each batch by its images
        for tracker, value in zip(self.metrics, losses):
            tracker.update_state(value, sample_weight=n)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        import tensorflow as tf  # the TensorFlow backend's gradient tape

        x, target = self._unpack(data)
        with tf.GradientTape() as tape:
            losses = self.compute_vae_losses(x, target, training=True)
            scaled = self.optimizer.scale_loss(losses[0])
        weights = self.trainable_weights
        gradients = tape.gradient(scaled, weights)
        self.optimizer.apply_gradients(zip(gradients, weights))
        return self._update_trackers(x, losses)

    def test_step(self, data):
        x, target = self._unpack(data)
        return self._update_trackers(x, self.compute_vae_losses(x, target, training=False))

    # ----------------------------------------------------------------------
    # saving
    # ----------------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "kl_weight": self._kl_weight,
            "reconstruction": self._reconstruction,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("encoder", "decoder"):
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        return cls(**config)


def _variational_head(seed: int | None):
    """Encoder outputs of a VAE: linear ``z_mean`` and ``z_log_var`` heads and ``z``."""

    def head(h, n_codings, init):
        dense = keras.layers.Dense
        z_mean = dense(n_codings, kernel_initializer=init(), name="z_mean")(h)
        z_log_var = dense(n_codings, kernel_initializer=init(), name="z_log_var")(h)
        z = Sampling(seed=seed, name="z")([z_mean, z_log_var])
        return [z_mean, z_log_var, z]

    return head


def _autoencoder_from_vae(vae: VAE, kind: str) -> Autoencoder:
    """The :class:`Autoencoder` of a VAE: its encoder cut at ``z_mean``, its decoder."""
    means = keras.Model(vae.encoder.input, vae.encoder.outputs[0], name="mean_encoder")
    return Autoencoder(means, vae.decoder, vae, kind)


def variational_autoencoder(
    kind: str = "dense",
    n_codings: int = 16,
    input_shape=(28, 28, 1),
    *,
    seed: int | None = None,
    kl_weight: float = 1.0,
    **widths,
) -> Autoencoder:
    """A variational autoencoder on the article's dense or convolutional trunk.

    The layers are those of :func:`~aelib.dense_autoencoder` (``kind="dense"``)
    or :func:`~aelib.conv_autoencoder` (``kind="conv"``), except the encoder's
    tanh codings layer, replaced by two linear ``Dense(n_codings)`` heads,
    ``z_mean`` and ``z_log_var``, and a :class:`Sampling` layer ``z``.

    Args:
        kind: ``"dense"`` or ``"conv"``.
        n_codings: size of the codings (latent) vector.
        input_shape: ``(H, W, C)`` of one image (``"conv"``: H, W divisible by 4).
        seed: seeds every kernel initializer and the sampling layer.
        kl_weight: weight of the KL term, >= 0 (1: the ELBO).
        **widths: the plain builder's keyword arguments, e.g. ``encoder_units``,
            ``decoder_units``, ``kernel_initializer`` (and ``encoder_filters``,
            ``decoder_maps``... for ``"conv"``), with the same defaults.

    Returns:
        An :class:`~aelib.Autoencoder` with ``kind`` ``"dense_vae"`` or
        ``"conv_vae"``: ``encoder`` maps images to ``z_mean``, ``decoder`` is
        the decoder, ``model`` the :class:`VAE` to fit (its own loss; see
        :class:`VAE`), and ``prior_sigma == 1.0``, so ``generate`` samples the
        codings from N(0, 1).

    Example:
        >>> vae = variational_autoencoder("dense", seed=0)
        >>> vae.kind, vae.model.count_params(), vae.prior_sigma
        ('dense_vae', 461386, 1.0)
    """
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    kl_weight = _check_kl_weight(kl_weight)
    seed = check_seed(seed)
    builder, networks = _BUILDERS[kind]
    signature = inspect.signature(builder)
    unknown = sorted(set(widths) - set(signature.parameters))
    if unknown:
        allowed = [p for p in signature.parameters if p not in ("n_codings", "input_shape", "seed")]
        raise TypeError(f"{unknown[0]} is not an argument of a {kind} VAE; the widths are {allowed}")
    args = signature.bind(n_codings, input_shape, seed=seed, **widths)
    args.apply_defaults()  # the plain builder's defaults, so the trunks stay the same
    encoder, decoder = networks(**args.arguments, head=_variational_head(seed))
    vae = VAE(encoder, decoder, kl_weight=kl_weight, name=f"{kind}_vae")
    return _autoencoder_from_vae(vae, f"{kind}_vae")


def prior_codings(
    autoencoder: Autoencoder, x: np.ndarray, *, seed: int | None = None, batch_size: int = 1024
) -> np.ndarray:
    """The codings a model's generator imitates, to compare with its prior.

    For a plain autoencoder that is ``encode(x)``. For a VAE it is one coding
    sampled from each image's posterior ``N(z_mean, exp(z_log_var))``: what
    its decoder is trained on, and what should look like N(0, 1) taken over
    all images (the means alone are narrower).

    Args:
        autoencoder: any :class:`~aelib.Autoencoder`.
        x: ``(N, H, W, C)`` images in [0, 1].
        seed: seeds the VAE's draws (numpy; the model's own sampler is untouched).

    Returns:
        ``(N, n_codings) float32``.
    """
    if not isinstance(autoencoder, Autoencoder):
        raise TypeError(f"autoencoder must be an aelib Autoencoder, got {_describe(autoencoder)}")
    if not autoencoder.is_variational:
        return autoencoder.encode(x, batch_size)
    x = check_images(x, "x", shape=autoencoder.input_shape)
    rng = np.random.default_rng(seed)
    chunks = []
    for i in range(0, len(x), batch_size):
        z_mean, z_log_var, _ = autoencoder.model.encoder(x[i : i + batch_size], training=False)
        z_mean, z_log_var = (keras.ops.convert_to_numpy(t) for t in (z_mean, z_log_var))
        chunks.append(z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal(z_mean.shape))
    return np.concatenate(chunks).astype(np.float32)
