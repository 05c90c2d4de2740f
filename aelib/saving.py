"""Loading a saved autoencoder, plain or variational.

:meth:`aelib.Autoencoder.save` writes the stacked model to a ``.keras`` file.
A plain autoencoder's file holds stock Keras layers and optimizer only, so
``keras.saving.load_model`` reads it anywhere, on any backend;
:func:`load_autoencoder` also gives back the encoder / decoder helpers, and
reads aelib's variational autoencoders.
"""

from __future__ import annotations

import os
import zipfile

import keras

from .models import Autoencoder
from .vae import VAE, autoencoder_from_vae  # registers aelib's VAE classes for loading

__all__ = ["load_autoencoder"]


def load_autoencoder(path: str | os.PathLike) -> Autoencoder:
    """Load an :class:`~aelib.Autoencoder` saved with :meth:`~aelib.Autoencoder.save`.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a readable ``.keras`` archive of an aelib
            autoencoder (cut short, emptied, another format, another model);
            the message names the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no saved autoencoder at {path!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"path: {path!r} is not a readable .keras file (not a complete zip "
                         "archive: cut short, emptied or another format)")
    try:
        model = keras.saving.load_model(path)
    except Exception as err:  # Keras raises many kinds for a damaged archive
        raise ValueError(f"path: {path!r} is not a readable .keras file of an autoencoder "
                         f"({type(err).__name__}: {str(err)[:200]})") from err
    if isinstance(model, VAE):
        return autoencoder_from_vae(model)
    kind = model.name.split("_", 1)[0]  # "dense_autoencoder" -> "dense"
    try:
        encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    except ValueError as err:
        raise ValueError(f"path: {path!r} holds a Keras model {model.name!r} without an "
                         "'encoder' and a 'decoder', not an aelib autoencoder") from err
    return Autoencoder(encoder, decoder, model, kind)
