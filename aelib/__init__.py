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
"""

import importlib

from ._version import __version__
from .anomaly import (
    ThresholdScores,
    mean_std_threshold,
    one_class_split,
    pca_reconstruction_errors,
    roc_auc,
    threshold_scores,
)
from .animation import interpolation_frames, read_gif, save_gif
from .data import Dataset, load_mnist, prepare_images, tile_images
from .denoising import ClassicalDenoiser, classical_denoise, image_mse, tune_classical
from .devices import native_bfloat16
from .diagrams import layer_table, plot_conv_architecture, plot_dense_architecture
from .metrics import (
    GenerationScores,
    digit_classifier,
    digit_silhouette,
    generation_scores,
    knn_accuracy,
    ks_normality,
    train_digit_classifier,
)
from .models import Autoencoder, conv_autoencoder, dense_autoencoder
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
    plot_projection,
    plot_reconstructions,
    project_codings,
)
from .saving import load_autoencoder
from .batches import add_noise
from .training import (
    ReconstructionRecorder,
    evaluate,
    reconstruction_errors,
    reconstruction_frame,
    spaced_steps,
    to_uint8,
    train,
)
from .vae import VAE, prior_codings, variational_autoencoder
from ._notebook import register_figure_display

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
    "Autoencoder",
    "ClassicalDenoiser",
    "ThresholdScores",
    "add_noise",
    "classical_denoise",
    "codings_sweep",
    "image_mse",
    "mean_std_threshold",
    "one_class_split",
    "pca_reconstruction_errors",
    "plot_anomaly",
    "plot_codings_2d",
    "plot_codings_sweep",
    "plot_denoising",
    "reconstruction_errors",
    "roc_auc",
    "threshold_scores",
    "tune_classical",
    "Dataset",
    "GenerationScores",
    "ReconstructionRecorder",
    "VAE",
    "__version__",
    "conv_autoencoder",
    "dense_autoencoder",
    "digit_classifier",
    "digit_silhouette",
    "evaluate",
    "generation_scores",
    "image_grid",
    "interpolation_frames",
    "knn_accuracy",
    "ks_normality",
    "layer_table",
    "load_autoencoder",
    "load_mnist",
    "native_bfloat16",
    "plot_coding_histograms",
    "plot_conv_architecture",
    "plot_dense_architecture",
    "plot_generated",
    "plot_generated_comparison",
    "plot_history",
    "plot_projection",
    "plot_reconstructions",
    "prepare_images",
    "prior_codings",
    "project_codings",
    "read_gif",
    "reconstruction_frame",
    "save_gif",
    "spaced_steps",
    "tile_images",
    "to_uint8",
    "train",
    "train_digit_classifier",
    "variational_autoencoder",
]
