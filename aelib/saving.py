"""Loading a saved autoencoder, plain or variational.

:func:`load_autoencoder` reads what :meth:`aelib.Autoencoder.save` wrote, on any
backend, with the encoder and decoder; a file that plain ``model.save`` wrote under
PyTorch (naming PyTorch's own Adam) loads as if it named ``keras.optimizers.Adam``.
"""

from __future__ import annotations

import os
import tempfile
import zipfile

import keras

from ._io import make_backend_neutral
from .models import Autoencoder
from .vae import VAE, autoencoder_from_vae  # registers aelib's VAE classes for loading

__all__ = ["load_autoencoder"]


def load_autoencoder(path: str | os.PathLike) -> Autoencoder:
    """Load an :class:`~aelib.Autoencoder` saved with :meth:`~aelib.Autoencoder.save`.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: ``path`` is a folder, or not a readable ``.keras`` archive
            of an aelib autoencoder (cut short, emptied, another format,
            another model); the message names the file and says which.
    """
    path = os.fspath(path)
    try:
        return as_autoencoder(read_keras_file(path))
    except ValueError as err:
        raise ValueError(f"path: {path!r} {err}") from err.__cause__


def read_keras_file(path: str | os.PathLike) -> keras.Model:
    """The model in a ``.keras`` file, read in full; ``FileNotFoundError`` if there
    is none, else one ``ValueError`` for Keras's many errors on a damaged archive,
    saying why (without the file's name, for callers to prefix)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError("is a folder, not a .keras file")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no saved model at {path!r}")
    try:
        complete = zipfile.is_zipfile(path)
    except OSError as err:
        raise ValueError(f"cannot be read ({err.strerror or type(err).__name__})") from err
    if not complete:
        size = os.path.getsize(path)
        what = "is empty" if size == 0 else f"is not a complete zip archive ({size:,} bytes)"
        raise ValueError(f"is not a readable .keras file: it {what}; cut short, or another format")
    try:  # a backend-neutral copy where the config names a backend's own class
        with tempfile.TemporaryDirectory() as folder:
            copy = os.path.join(folder, "model.keras")
            return keras.saving.load_model(copy if make_backend_neutral(path, copy) else path)
    except Exception as err:  # a damaged archive fails in many ways inside Keras
        reason = " ".join(str(err).split())[:160]
        raise ValueError(f"is not a readable .keras file ({type(err).__name__}: {reason})") from err


def as_autoencoder(model: keras.Model) -> Autoencoder:
    """The :class:`Autoencoder` of a loaded stacked model or VAE; ``ValueError``
    (message without the file's name) for any other Keras model."""
    if isinstance(model, VAE):
        return autoencoder_from_vae(model)
    layers = {layer.name: layer for layer in getattr(model, "layers", [])}
    encoder, decoder = layers.get("encoder"), layers.get("decoder")
    if not (isinstance(encoder, keras.Model) and isinstance(decoder, keras.Model)):
        raise ValueError(f"holds a Keras model {model.name!r} without an 'encoder' and a "
                         "'decoder' model inside: not an aelib autoencoder")
    kind = model.name.split("_", 1)[0]  # "dense_autoencoder" -> "dense"
    return Autoencoder(encoder, decoder, model, kind)
