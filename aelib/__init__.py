"""aelib: the autoencoders of "Intro to Autoencoders", in Keras 3.

Load MNIST, build the article's dense or convolutional autoencoder, train it
while recording reconstructions, and draw every figure of the article::

    import aelib

    data = aelib.load_mnist()                   # or load_mnist(source="sample")
    ae = aelib.dense_autoencoder(n_codings=16, seed=0)
    aelib.train(ae, data.x_train, epochs=50, batch_size=200, seed=0)
    print("test MSE:", aelib.evaluate(ae, data.x_test))
    digits = ae.generate(36, sigma=0.33, seed=0)
    vae = aelib.variational_autoencoder("conv", seed=0)   # same trunk, variational
    digits = vae.generate(36, seed=0)           # codings ~ N(0, 1), the prior

aelib runs on any Keras backend: it uses the one Keras picked
(``KERAS_BACKEND`` or ``~/.keras/keras.json``) and never changes it.
The command line, the figure registry, the model cache and the report load
when first used: ``aelib.figures``, ``aelib.cache``, ``aelib.report``.
The top level holds what the notebook uses, in the order of its story; the
rest stays in its module (``aelib.metrics`` for the report's scores,
``aelib.denoising`` for the classical filters, ``aelib.data.Dataset``,
``aelib.vae.VAE``, ``aelib.diagrams.layer_table``...).
"""

import importlib

from ._onednn import enable_onednn

enable_onednn()  # before Keras loads TensorFlow: oneDNN's kernels on every x86 CPU

from ._version import __version__
from .data import load_images, load_mnist, prepare_images
from .models import Autoencoder, conv_autoencoder, dense_autoencoder
from .diagrams import plot_conv_architecture, plot_dense_architecture
from .saving import load_autoencoder
from .training import (
    ReconstructionRecorder,
    evaluate,
    reconstruction_errors,
    spaced_steps,
    to_uint8,
    train,
)
from .animation import interpolation_frames, read_gif, save_gif
from .plots import (
    image_grid,
    plot_anomaly,
    plot_codings_2d,
    plot_codings_sweep,
    plot_coding_histograms,
    plot_denoising,
    plot_generated,
    plot_generated_comparison,
    plot_history,
    plot_latent_grid,
    plot_projection,
    plot_reconstructions,
)
from .metrics import train_digit_classifier
from .vae import sampled_codings, variational_autoencoder
from .batches import add_noise
from .denoising import image_mse, tune_classical
from .anomaly import (
    mean_std_threshold,
    one_class_split,
    pca_reconstruction_errors,
    roc_auc,
    threshold_scores,
)
from ._notebook import register_figure_display, setup_notebook

register_figure_display()

_LAZY_MODULES = ("cache", "cli", "figures", "report", "studies")


def codings_sweep(*args, **kwargs):
    """Test MSE against the number of codings for the dense and conv models and
    PCA: see :func:`aelib.studies.codings_sweep`."""
    from .studies import codings_sweep as sweep

    return sweep(*args, **kwargs)


def __getattr__(name):
    """``aelib.report``, ``aelib.figures``...: imported on first use."""
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'aelib' has no attribute {name!r}")


__all__ = [
    # the data
    "load_mnist",
    "load_images",
    "prepare_images",
    # the models: the article's dense and convolutional autoencoders
    "Autoencoder",
    "dense_autoencoder",
    "conv_autoencoder",
    "plot_dense_architecture",
    "plot_conv_architecture",
    "load_autoencoder",
    # training, and watching it learn
    "train",
    "evaluate",
    "ReconstructionRecorder",
    "spaced_steps",
    "to_uint8",
    "save_gif",
    "read_gif",
    # looking at the results
    "image_grid",
    "plot_history",
    "plot_reconstructions",
    # generating digits, and the coding space
    "plot_generated",
    "plot_coding_histograms",
    "plot_projection",
    "interpolation_frames",
    # variational autoencoders
    "variational_autoencoder",
    "sampled_codings",
    "plot_generated_comparison",
    "train_digit_classifier",
    # beyond the article: denoising
    "add_noise",
    "tune_classical",
    "image_mse",
    "plot_denoising",
    # beyond the article: anomaly detection
    "reconstruction_errors",
    "one_class_split",
    "pca_reconstruction_errors",
    "roc_auc",
    "mean_std_threshold",
    "threshold_scores",
    "plot_anomaly",
    # beyond the article: how many codings
    "codings_sweep",
    "plot_codings_sweep",
    "plot_codings_2d",
    "plot_latent_grid",
    # notebook set-up, and the version
    "setup_notebook",
    "__version__",
]
