"""Import TensorFlow without its start-up chatter on stderr.

TensorFlow's C++ side prints oneDNN, CUDA-probe and cpu-feature lines to file
descriptor 2 while it imports and sets up its devices, before its own log
level (``TF_CPP_MIN_LOG_LEVEL``) applies. They say nothing a tutorial reader
can act on, so aelib silences that descriptor just for those two steps.
Its log level is also set to 3 (fatal only) unless ``TF_CPP_MIN_LOG_LEVEL``
is already set: training the conv model from a ``tf.data`` pipeline makes
oneDNN log, at error level, "oneDNN supports DT_INT32 only on platforms with
AVX-512. Falling back to the default Eigen-based implementation" (on a CPU
that has AVX-512; nothing fails, and nothing to act on).
Python errors still propagate; set ``AELIB_TF_LOGS=1`` to see everything.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def _stderr_to_devnull():
    fd = 2  # TensorFlow's C++ side writes to descriptor 2, whatever sys.stderr is
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(devnull)
        os.close(saved)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras and initialise the devices, quietly."""
    if "tensorflow" in sys.modules or os.environ.get("AELIB_TF_LOGS"):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_to_devnull():
        import tensorflow as tf

        tf.config.list_physical_devices()
        import keras  # noqa: F401
