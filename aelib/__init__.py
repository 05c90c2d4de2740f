"""aelib: the autoencoders of "Intro to Autoencoders", in Keras 3.

Load MNIST, build the article's dense or convolutional autoencoder, train it
while recording reconstructions, and draw every figure of the article::

    import aelib

    data = aelib.load_mnist()                   # or load_mnist(source="sample")
    ae = aelib.dense_autoencoder(n_codings=16, seed=0)
    aelib.train(ae, data.x_train, epochs=50, batch_size=200, seed=0)
    print("test MSE:", aelib.evaluate(ae, data.x_test))
    digits = ae.generate(36, sigma=0.33, seed=0)
"""

from ._quiet import import_tensorflow_quietly

import_tensorflow_quietly()

from .animation import read_gif, save_gif
from .data import Dataset, load_mnist, prepare_images, tile_images
from .models import Autoencoder, conv_autoencoder, dense_autoencoder, load_autoencoder
from .training import ReconstructionRecorder, evaluate, reconstruction_frame, to_uint8, train

__version__ = "0.1.0"

__all__ = [
    "Autoencoder",
    "Dataset",
    "ReconstructionRecorder",
    "conv_autoencoder",
    "dense_autoencoder",
    "evaluate",
    "load_autoencoder",
    "load_mnist",
    "prepare_images",
    "read_gif",
    "reconstruction_frame",
    "save_gif",
    "tile_images",
    "to_uint8",
    "train",
]
