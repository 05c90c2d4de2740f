"""Variational autoencoders on the article's dense and convolutional trunks.

:func:`variational_autoencoder` keeps the layers of :func:`~aelib.dense_autoencoder`
or :func:`~aelib.conv_autoencoder` but ends the encoder in two linear heads, the
mean ``z_mean`` and log variance ``z_log_var`` of a Gaussian over the codings,
and a :class:`Sampling` layer that draws ``z`` from it. Training minimises the
negative ELBO per image::

    loss = reconstruction_loss + kl_weight * kl_loss

with ``reconstruction_loss`` the binary cross-entropy summed over the pixels
(a Bernoulli likelihood for each pixel) and ``kl_loss`` the KL divergence from
N(z_mean, exp(z_log_var)) to the prior N(0, 1), summed over the codings.
``reconstruction="sse"`` keeps summed squared error for comparison: a Gaussian
likelihood of fixed variance, which weighs the reconstructions less against
the KL term, as a larger ``kl_weight`` would (docs/convergence.md).
:class:`VAE` overrides Keras's ``compute_loss``, so plain ``fit`` trains it on
every backend.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from .data import check_images, check_number, check_seed, describe
from .models import Autoencoder, check_autoencoder, conv_autoencoder, dense_autoencoder

__all__ = ["KINDS", "RECONSTRUCTION_LOSSES", "VAE", "Sampling", "autoencoder_from_vae",
           "kl_divergence", "sampled_codings", "variational_autoencoder"]

KINDS = ("dense", "conv")  #: the trunks :func:`variational_autoencoder` builds on
RECONSTRUCTION_LOSSES = ("bce", "sse")  #: :class:`VAE`'s per-image losses, summed over the pixels

_BUILDERS = {"dense": dense_autoencoder, "conv": conv_autoencoder}


@keras.saving.register_keras_serializable(package="aelib")
class Sampling(layers.Layer):
    """Draws ``z = z_mean + exp(z_log_var / 2) * eps`` with ``eps ~ N(0, 1)``.

    The reparameterisation trick: the randomness sits in ``eps``, so gradients
    flow to ``z_mean`` and ``z_log_var``. It samples in training and inference
    alike, from two generators, so scoring validation data or recording frames
    leaves the training's draws, and so the run's result, as they were.

    Args:
        seed: seeds the layer's ``keras.random.SeedGenerator`` (two layers with the
            same seed draw the same ``eps``); ``None``: a random seed.

    Call arguments:
        inputs: ``[z_mean, z_log_var]``, two ``(N, n_codings)`` tensors.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)  # training's draws
        self.inference_seed_generator = keras.random.SeedGenerator(
            None if self.seed is None else self.seed + 1)

    def call(self, inputs, training=None):
        z_mean, z_log_var = inputs
        generator = self.seed_generator if training else self.inference_seed_generator
        eps = keras.random.normal(ops.shape(z_mean), dtype=z_mean.dtype, seed=generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def kl_divergence(z_mean, z_log_var):
    """KL(N(z_mean, exp(z_log_var)) || N(0, 1)) per image, summed over the codings: ``(N,)``."""
    return ops.sum(-0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=1)


@keras.saving.register_keras_serializable(package="aelib")
class VAE(keras.Model):
    """A variational autoencoder: an encoder to ``[z_mean, z_log_var, z]`` and a decoder.

    ``vae(x)`` decodes ``z_mean``, the deterministic reconstruction that
    :meth:`~aelib.Autoencoder.reconstruct` and :func:`aelib.evaluate` use;
    ``vae(x, training=True)`` decodes the sampled ``z``. ``fit`` minimises
    ``reconstruction_loss + kl_weight * kl_loss`` per image, averaged over the
    batch, in :meth:`compute_loss` (Keras's train step calls it on every
    backend), and reports all three (``val_``-prefixed with ``validation_data``,
    where ``z = z_mean``: no sampling noise). The reconstruction target is ``y``
    for ``(x, y)`` data (``fit(noisy, clean)`` trains a denoising VAE), else ``x``.

    Compile with an optimizer only: a ``loss`` is ignored (``aelib.train``
    passes ``"mse"``); compiled ``metrics`` and sample weights are refused.

    Args:
        encoder: ``keras.Model`` from images to ``[z_mean, z_log_var, z]``.
        decoder: ``keras.Model`` from ``(N, n_codings)`` codings to images in ``(0, 1)``.
        kl_weight: weight of the KL term (1: the ELBO; 0: a plain autoencoder
            with a noisy bottleneck; > 1: a beta-VAE).
        reconstruction: ``"bce"`` (binary cross-entropy, the default) or ``"sse"``
            (squared error), summed over the pixels.
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
            raise TypeError("encoder must be a keras.Model with 3 outputs [z_mean, z_log_var, z], "
                            f"got {describe(encoder)}")
        if not isinstance(decoder, keras.Model):
            raise TypeError(f"decoder must be a keras.Model, got {describe(decoder)}")
        if reconstruction not in RECONSTRUCTION_LOSSES:
            raise ValueError(f"reconstruction must be one of {RECONSTRUCTION_LOSSES}, "
                             f"got {reconstruction!r}")
        self.encoder = encoder
        self.decoder = decoder
        self._kl_weight = check_number(kl_weight, "kl_weight", 0.0)
        self._reconstruction = reconstruction
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True  # the encoder and decoder are functional models, built when made

    @property
    def kl_weight(self) -> float:
        """Weight of the KL term in the loss (read-only: build a new VAE to change it)."""
        return self._kl_weight

    @property
    def reconstruction(self) -> str:
        """``"bce"`` or ``"sse"``: the per-image reconstruction loss."""
        return self._reconstruction

    def call(self, inputs, training=None):
        z_mean, z_log_var, z = self.encoder(inputs, training=training)
        self.add_loss(ops.mean(kl_divergence(z_mean, z_log_var)))  # read back in compute_loss
        return self.decoder(z if training else z_mean, training=training)

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, **kwargs):
        """``keras.Model.compile`` without a loss: ``loss`` and ``loss_weights``
        are ignored (the VAE trains on its own loss); ``metrics`` are refused."""
        del loss, loss_weights  # the VAE's loss is its own
        if metrics is not None or weighted_metrics is not None:
            raise ValueError("metrics: a VAE reports loss, reconstruction_loss and kl_loss itself "
                             "and takes no compiled metrics; compile it with an optimizer only")
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

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The negative ELBO of a batch: its reconstruction term plus ``kl_weight`` times the
        KL term that :meth:`call` added; updates the three reported losses."""
        if sample_weight is not None:
            raise ValueError("sample_weight: a VAE does not take sample or class weights")
        target = ops.cast(x if y is None else y, y_pred.dtype)
        per_pixel = (ops.binary_crossentropy(target, y_pred) if self._reconstruction == "bce"
                     else ops.square(target - y_pred))
        pixel_axes = tuple(range(1, len(y_pred.shape)))
        reconstruction_loss = ops.mean(ops.sum(per_pixel, axis=pixel_axes))
        kl_loss = ops.sum(ops.stack(self.losses))  # what call() added: the KL term
        loss = reconstruction_loss + self._kl_weight * kl_loss
        n = ops.cast(ops.shape(y_pred)[0], "float32")  # weigh each batch by its images
        for tracker, value in zip(self.metrics, (loss, reconstruction_loss, kl_loss)):
            tracker.update_state(value, sample_weight=n)
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return {m.name: m.result() for m in self.metrics}

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
            config[key] = keras.saving.deserialize_keras_object(config[key], custom_objects)
        return cls(**config)


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

    The plain autoencoder's layers and decoder, with the encoder's tanh codings
    layer replaced by two linear ``Dense(n_codings)`` heads, ``z_mean`` and
    ``z_log_var``, and a :class:`Sampling` layer ``z``.

    Args:
        kind: ``"dense"`` or ``"conv"``.
        n_codings: size of the codings (latent) vector.
        input_shape: ``(H, W, C)`` of one image (``"conv"``: H, W divisible by 4).
        seed: seeds the weights and the sampling layer.
        kl_weight: weight of the KL term, >= 0 (1: the ELBO).
        **widths: the plain builder's keyword arguments, e.g. ``encoder_units``,
            ``decoder_units``, ``dtype_policy`` (and ``encoder_filters``,
            ``decoder_maps``... for ``"conv"``), with the same defaults.

    Returns:
        An :class:`~aelib.Autoencoder` of ``kind`` ``"dense_vae"`` or ``"conv_vae"``:
        ``encoder`` maps images to ``z_mean``, ``model`` is the :class:`VAE` to fit,
        and ``generate`` samples codings from N(0, 1) (``prior_sigma == 1.0``).

    Example:
        >>> vae = variational_autoencoder("dense", seed=0)
        >>> vae.kind, vae.model.count_params(), vae.prior_sigma
        ('dense_vae', 461386, 1.0)
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    kl_weight = check_number(kl_weight, "kl_weight", 0.0)
    plain = _BUILDERS[kind](n_codings, input_shape, seed=seed, **widths)

    trunk = plain.encoder.get_layer("codings").input  # the last hidden layer's output
    z_mean = layers.Dense(plain.n_codings, dtype="float32", name="z_mean")(trunk)
    z_log_var = layers.Dense(plain.n_codings, dtype="float32", name="z_log_var")(trunk)
    z = Sampling(seed=seed, name="z")([z_mean, z_log_var])
    encoder = keras.Model(plain.encoder.inputs[0], [z_mean, z_log_var, z], name="encoder")

    vae = VAE(encoder, plain.decoder, kl_weight=kl_weight, name=f"{kind}_vae")
    return autoencoder_from_vae(vae)


def autoencoder_from_vae(vae: VAE) -> Autoencoder:
    """The :class:`Autoencoder` of a VAE: its encoder cut at ``z_mean``, its decoder."""
    kind = vae.name.split("_", 1)[0]  # "dense_vae" -> "dense"
    means = keras.Model(vae.encoder.inputs[0], vae.encoder.outputs[0], name="mean_encoder")
    return Autoencoder(means, vae.decoder, vae, f"{kind}_vae")


def sampled_codings(
    autoencoder: Autoencoder, x: np.ndarray, *, seed: int | None = None, batch_size: int = 1024
) -> np.ndarray:
    """Codings sampled as the decoder was trained on them, to compare with the prior.

    A plain autoencoder's ``encode(x)``; for a VAE, one coding drawn from each
    image's posterior ``N(z_mean, exp(z_log_var))``, which over all images
    should look like N(0, 1) (the means alone are narrower).

    Args:
        autoencoder: any :class:`~aelib.Autoencoder`.
        x: ``(N, H, W, C)`` images in [0, 1].
        seed: seeds the VAE's draws (numpy; the model's own sampler is untouched).

    Returns:
        ``(N, n_codings) float32``.
    """
    check_autoencoder(autoencoder)
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
