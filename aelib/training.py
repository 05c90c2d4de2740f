"""Training on ``model.fit``, the reconstruction recorder, and evaluation.

Two recipes, both Keras's ``compile`` and ``fit`` with Adam and MSE, on any
backend. ``"article"``: the model as built, Adam's defaults. ``"aelib"``
(default): the decoder's output bias starts at the logit of the mean training
image and the learning rate follows a cosine decay (why: ``docs/convergence.md``).
Only how the batches reach ``fit`` differs by backend (:mod:`aelib.batches`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from ._io import atomic_path
from .batches import batches, is_stream, with_targets
from .data import check_images, check_number, check_positive_int, describe, tile_images
from .devices import backend_name
from .models import Autoencoder, check_autoencoder, predict, seed_everything

__all__ = ["train", "evaluate", "reconstruction_errors", "ReconstructionRecorder", "spaced_steps",
           "EpochMSE", "reconstruction_frame", "grid_frame", "to_uint8", "RECIPES", "jit_compile"]

RECIPES = ("aelib", "article")
#: run up to this many training steps per call into TensorFlow (see train())
MAX_STEPS_PER_EXECUTION = 50
#: the default recipe's peak learning rate and the fraction of it it decays to
PEAK_LEARNING_RATE = 4e-3
FINAL_LR_FRACTION = 0.01


def to_uint8(images: np.ndarray) -> np.ndarray:
    """``[0, 1]`` floats to ``uint8`` 0..255 (rounded, clipped)."""
    return np.clip(np.rint(np.asarray(images) * 255.0), 0, 255).astype(np.uint8)


def grid_frame(images: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    """``(n_rows * n_cols, H, W, C)`` floats in [0, 1] tiled as one ``uint8`` GIF
    frame, ``(n_rows * H, n_cols * W)`` (grey) or ``(n_rows * H, n_cols * W, C)``."""
    frame = to_uint8(tile_images(images, n_rows, n_cols))
    return frame[..., 0] if frame.shape[-1] == 1 else frame


def reconstruction_frame(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """The article's frame: originals in the top row, reconstructions below.

    Args:
        originals, reconstructions: ``(n, H, W, C)`` floats in [0, 1].

    Returns:
        ``uint8`` image of shape ``(2H, nW)`` for grey images, ``(2H, nW, C)``
        otherwise (8 MNIST digits give 56x224 pixels).
    """
    if np.shape(originals) != np.shape(reconstructions):
        raise ValueError("originals and reconstructions must have the same shape, got "
                         f"{np.shape(originals)} and {np.shape(reconstructions)}")
    return grid_frame(np.concatenate([originals, reconstructions]), 2, len(originals))


def _check_steps(at_steps) -> list[int]:
    steps = list(at_steps) if isinstance(at_steps, (list, tuple, range, np.ndarray)) else []
    if not steps or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1
                            for s in steps):
        raise ValueError("at_steps must be a non-empty sequence of training steps (integers >= 1), "
                         f"got {describe(at_steps)}")
    return sorted({int(s) for s in steps})


def spaced_steps(steps_per_epoch: int, epochs: int, frames: int = 30) -> list[int]:
    """Training steps for about ``frames`` frames, evenly spaced on a log scale
    from the first step to the last: dense at the start, where the
    reconstructions change fastest.

    Each step is rounded up to a multiple of the largest divisor of
    ``steps_per_epoch`` that is at most a twentieth of it, so training still
    runs several steps per execution (:func:`train`); the run's last step is
    always in. 275 steps per epoch over 50 epochs: 11, 22, 33, 44, 55, 77, ..., 13750.

    Example:
        >>> spaced_steps(10, 3, frames=5)
        [1, 3, 6, 13, 30]
    """
    steps_per_epoch = check_positive_int(steps_per_epoch, "steps_per_epoch")
    epochs = check_positive_int(epochs, "epochs")
    frames = check_positive_int(frames, "frames")
    unit = max(d for d in range(1, max(1, steps_per_epoch // 20) + 1) if steps_per_epoch % d == 0)
    total = steps_per_epoch * epochs
    spaced = np.geomspace(1, total, frames) if frames > 1 else np.array([total])
    return sorted({min(total, unit * math.ceil(s / unit - 1e-9)) for s in spaced} | {total})


class ReconstructionRecorder(keras.callbacks.Callback):
    """Records reconstructions of fixed images ``per_epoch`` times per epoch,
    or after chosen training steps.

    The first frame shows the untrained model; each epoch's frames are spread
    evenly over its steps, the last after its final step: ``1 + E * per_epoch``
    frames over ``E`` epochs. With ``at_steps``, the frames follow those steps.

    Args:
        images: ``(n, H, W, C)`` floats in [0, 1], the images to follow.
        per_epoch: frames per epoch (1 for the article's dense GIF, 20 for the conv one).
        max_epochs: stop recording after this many epochs (the article's conv GIF
            covers 5 epochs of a longer run); ``None``: all.
        at_steps: training steps (from 1, over the whole run) to take the frames
            after, instead of ``per_epoch``: e.g. ``spaced_steps(steps_per_epoch, epochs)``.

    Attributes:
        frames: list of ``uint8`` frames (see :func:`reconstruction_frame`).
        steps: the global training step of each frame (0 = before training).

    Example:
        >>> recorder = ReconstructionRecorder(data.x_train[:8], per_epoch=1)  # doctest: +SKIP
        >>> train(ae, data.x_train, epochs=3, batch_size=200, snapshots=recorder)  # doctest: +SKIP
        >>> save_gif(recorder.frames, "progress.gif")  # doctest: +SKIP
    """

    def __init__(self, images: np.ndarray, per_epoch: int = 1, max_epochs: int | None = None,
                 at_steps: Sequence[int] | None = None):
        super().__init__()
        self.images = check_images(images, "images")
        self.per_epoch = check_positive_int(per_epoch, "per_epoch")
        self.max_epochs = None if max_epochs is None else check_positive_int(max_epochs, "max_epochs")
        self.at_steps = None if at_steps is None else _check_steps(at_steps)
        if self.at_steps is not None and (per_epoch != 1 or max_epochs is not None):
            raise ValueError("give either at_steps or per_epoch/max_epochs, not both; got at_steps "
                             f"with per_epoch={per_epoch!r}, max_epochs={max_epochs!r}")
        self.frames: list[np.ndarray] = []
        self.steps: list[int] = []
        self._marks: list[int] = []
        self._epochs_seen = self._step0 = self._steps = 0
        # one frame per epoch needs no batch hook, so Keras may run batch hooks asynchronously
        self.async_safe = self.per_epoch == 1 and self.at_steps is None

    def frame_steps(self, steps: int) -> list[int]:
        """The steps (from 1, within an epoch of ``steps``) that frames follow in
        any epoch: training ends its executions on them."""
        return sorted({(s - 1) % steps + 1 for s in self.at_steps or self._spread(steps)})

    def _spread(self, steps: int) -> list[int]:
        """``per_epoch`` steps spread evenly over an epoch of ``steps``, the last one last."""
        return [math.ceil((j + 1) * steps / self.per_epoch) for j in range(self.per_epoch)]

    def _check_shape(self, expected: tuple) -> None:
        if tuple(expected) != self.images.shape[1:]:
            raise ValueError(f"snapshots images must have the model's input shape "
                             f"{tuple(expected)}, got {describe(self.images)}")

    def _record(self, step: int) -> None:
        # Keras's compiled predict function: the training waits for every frame
        recon = np.asarray(self.model.predict_on_batch(self.images), dtype=np.float32)
        self.frames.append(reconstruction_frame(self.images, recon))
        self.steps.append(step)

    def on_train_begin(self, logs=None):
        # a VAE is a subclassed model: its encoder holds the input
        self._check_shape(getattr(self.model, "encoder", self.model).inputs[0].shape[1:])
        if not self.frames:
            self._record(0)

    def on_epoch_begin(self, epoch, logs=None):
        steps = self.params.get("steps")
        if not steps and self.per_epoch > 1:
            raise ValueError("per_epoch > 1 needs training data of known length")
        self._steps = steps = steps or 1
        self._step0 = done = self._epochs_seen * steps
        if self.at_steps is not None:
            self._marks = [s - done for s in self.at_steps if done < s <= done + steps]
        elif self.max_epochs is None or self._epochs_seen < self.max_epochs:
            self._marks = self._spread(steps)
        else:
            self._marks = []

    def on_train_batch_end(self, batch, logs=None):
        # frames inside the epoch; the one after its last step is on_epoch_end's
        while self._marks and self._marks[0] < self._steps and batch + 1 >= self._marks[0]:
            self._record(self._step0 + self._marks.pop(0))

    def on_epoch_end(self, epoch, logs=None):
        while self._marks:  # data shorter than announced: finish the epoch's frames
            self._record(self._step0 + self._marks.pop(0))
        self._epochs_seen += 1


class EpochMSE(keras.callbacks.Callback):
    """Scores images with :func:`evaluate` after every epoch, into ``values``
    (one float per epoch): unlike ``val_loss``, the plain pixel MSE, for a VAE too.

    Example:
        >>> probe = EpochMSE(ae, data.x_test)  # doctest: +SKIP
        >>> train(ae, data.x_train, epochs=5, batch_size=200, callbacks=[probe])  # doctest: +SKIP
        >>> probe.values  # doctest: +SKIP
    """

    def __init__(self, autoencoder: Autoencoder, x: np.ndarray):
        super().__init__()
        self.autoencoder = autoencoder
        self.x = check_images(x, "x", shape=autoencoder.input_shape)
        self.values: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        self.values.append(evaluate(self.autoencoder, self.x))


def _set_output_bias(ae: Autoencoder, mean_image: np.ndarray) -> None:
    """Each output bias at the logit of its pixel's (dense) or channel's (conv) mean."""
    layer = next(l for l in reversed(ae.decoder.layers) if getattr(l, "bias", None) is not None)
    mean = np.asarray(mean_image, np.float64).reshape(-1, layer.bias.shape[0]).mean(axis=0)
    p = np.clip(mean, 1e-3, 1 - 1e-3)
    layer.bias.assign(np.log(p / (1 - p)).astype(np.float32))


def _steps_per_execution(steps: int, marks: Sequence[int]) -> int:
    """The most steps per execution (<= 50, 1 under PyTorch) that divide the epoch
    and every frame's step: Keras calls back only between executions."""
    if backend_name() == "torch":
        return 1
    for n in range(min(MAX_STEPS_PER_EXECUTION, steps), 1, -1):
        if steps % n == 0 and all(m % n == 0 for m in marks):
            return n
    return 1


def jit_compile(model: keras.Model) -> bool | str:
    """Whether :func:`train` runs ``model`` with XLA: ``True`` for a model
    without convolutions under TensorFlow, else Keras's ``"auto"``.

    ``"auto"``: XLA off under TensorFlow on a CPU, on for JAX, PyTorch eager.
    XLA runs the dense models faster (it fuses each step, Adam's updates
    included) and the conv model slower on a CPU.
    """
    if backend_name() != "tensorflow":
        return "auto"
    convolutional = any(isinstance(layer, keras.layers.Conv2D) for layer in _all_layers(model))
    return "auto" if convolutional else True


def _all_layers(model):
    """Every layer of ``model`` and of the models inside it (a VAE's too)."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _changed(model: keras.Model, execution: dict) -> bool:
    """Whether ``model`` runs otherwise than ``execution`` asks (``"auto"``: as it
    is). Compiling again traces the training step again, so only then."""
    return any(value != "auto" and getattr(model, key) != value for key, value in execution.items())


def _check_training(autoencoder, x, batch_size, steps_per_epoch, validation_data, snapshots,
                    recipe, learning_rate, noise, mean_image):
    """``train``'s arguments, checked before any work: ``(x, batch_size,
    steps_per_epoch, validation_data, noise, mean_image)``."""
    check_autoencoder(autoencoder)
    shape = autoencoder.input_shape
    if steps_per_epoch is not None:
        steps_per_epoch = check_positive_int(steps_per_epoch, "steps_per_epoch")
    if is_stream(x):
        if batch_size is not None:
            raise ValueError(f"batch_size must be None when x is a {type(x).__name__} (the "
                             f"stream makes its own batches), got {batch_size!r}")
    else:
        x = check_images(x, "x", shape=shape)
        if batch_size is None:
            raise ValueError("batch_size is needed when x is an array, got None")
        batch_size = check_positive_int(batch_size, "batch_size")
        if steps_per_epoch is not None:
            raise ValueError(f"steps_per_epoch is for a stream x; an array's follow from "
                             f"batch_size, got steps_per_epoch={steps_per_epoch!r}")
    if validation_data is not None:
        validation_data = check_images(validation_data, "validation_data", shape=shape)
    if snapshots is not None:
        if not isinstance(snapshots, ReconstructionRecorder):
            raise TypeError(f"snapshots must be a ReconstructionRecorder, got {describe(snapshots)}")
        snapshots._check_shape(shape)
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {RECIPES}, got {recipe!r}")
    if learning_rate is not None:
        check_number(learning_rate, "learning_rate", 0.0, lo_open=True)
    if mean_image is not None:
        if np.shape(mean_image) != tuple(shape):
            raise ValueError(f"mean_image must have the model's input shape {tuple(shape)}, "
                             f"got {describe(mean_image)}")
        mean_image = check_images(np.asarray(mean_image)[None], "mean_image")[0]
    noise = 0.0 if noise is None else check_number(noise, "noise", 0.0)
    return x, batch_size, steps_per_epoch, validation_data, noise, mean_image


def _start(autoencoder: Autoencoder, recipe: str, learning_rate, total_steps: int,
           mean_image: np.ndarray | None, images: np.ndarray, execution: dict) -> None:
    """Compile: on a fresh model, by the recipe (the output bias at ``mean_image``,
    or at the mean of ``images``); else again only where ``execution`` changes,
    keeping the optimizer and its state."""
    model = autoencoder.model
    if getattr(model, "optimizer", None) is None:
        if recipe == "aelib":
            _set_output_bias(autoencoder, images.mean(axis=0, dtype=np.float64)
                             if mean_image is None else mean_image)
            rate = keras.optimizers.schedules.CosineDecay(
                learning_rate or PEAK_LEARNING_RATE, total_steps, alpha=FINAL_LR_FRACTION)
        else:
            rate = learning_rate or 1e-3
        model.compile(optimizer=keras.optimizers.Adam(rate), loss="mse", **execution)
    elif _changed(model, execution):
        model.compile(optimizer=model.optimizer, loss="mse", **execution)


def train(
    autoencoder: Autoencoder,
    x,
    *,
    epochs: int,
    batch_size: int | None = None,
    steps_per_epoch: int | None = None,
    mean_image: np.ndarray | None = None,
    validation_data: np.ndarray | None = None,
    snapshots: ReconstructionRecorder | None = None,
    seed: int | None = None,
    recipe: str = "aelib",
    learning_rate: float | None = None,
    noise: float | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    backup_dir: str | os.PathLike | None = None,
    verbose: int | str = 2,
) -> keras.callbacks.History:
    """Train an autoencoder to reconstruct ``x``: the recipe, then ``compile`` and ``fit``.

    A fresh model starts by the recipe; later calls keep its optimizer and state.
    Several steps run per execution (one under PyTorch), with XLA where faster
    (:func:`jit_compile`); arrays are fed by :func:`aelib.batches.batches`.

    Args:
        autoencoder: from :func:`dense_autoencoder` or :func:`conv_autoencoder`.
        x: ``(N, H, W, C)`` float32 in [0, 1], the model's input shape; or a
            stream of such batches (``tf.data.Dataset``, ``keras.utils.PyDataset``,
            PyTorch ``DataLoader``...): see :func:`aelib.batches.with_targets`.
        epochs, batch_size: integers >= 1 (``batch_size=None`` for a stream: it batches itself).
        steps_per_epoch: batches per epoch of a stream with no length.
        mean_image: ``(H, W, C)``: starts the output bias (default: the mean of
            ``x``, or of a stream's first 1,000 images).
        validation_data: images (same shape rules) scored each epoch as ``val_loss``.
        snapshots: a :class:`ReconstructionRecorder` to fill with frames.
        seed: makes the run repeatable (the batches' order; build the model with it too).
        recipe: ``"aelib"`` (default: the output bias at the mean image, Adam with a
            cosine decay from ``PEAK_LEARNING_RATE``) or ``"article"`` (Adam's defaults).
        learning_rate: Adam's (peak) learning rate; the recipe's by default.
        noise: train a denoiser: the inputs get Gaussian noise of this standard
            deviation (clipped to [0, 1], fresh every batch, seeded by ``seed``),
            the targets stay the clean ``x``, as does ``validation_data``.
        callbacks, verbose: more Keras callbacks; ``fit``'s verbosity.
        backup_dir: a folder for ``keras.callbacks.BackupAndRestore``: a killed
            run resumes after its last finished epoch (an array ``x`` on the
            same batches and noise); it is removed when training ends.

    Returns:
        The ``keras.callbacks.History`` (a resumed run's earlier epochs included).
    """
    x, batch_size, steps_per_epoch, validation_data, noise, mean_image = _check_training(
        autoencoder, x, batch_size, steps_per_epoch, validation_data, snapshots, recipe,
        learning_rate, noise, mean_image)
    epochs = check_positive_int(epochs, "epochs")
    seed = seed_everything(seed)
    data, steps, first = (with_targets(x, autoencoder.input_shape, epochs=epochs, noise=noise,
                                       seed=seed, steps_per_epoch=steps_per_epoch)
                          if is_stream(x) else (None, math.ceil(len(x) / batch_size), x))
    marks = snapshots.frame_steps(steps) if snapshots is not None else []
    model = autoencoder.model
    _start(autoencoder, recipe, learning_rate, epochs * steps, mean_image, first,
           {"steps_per_execution": _steps_per_execution(steps, marks),
            "jit_compile": jit_compile(model)})
    progress = None if backup_dir is None else _Progress(backup_dir, snapshots)
    done = 0 if progress is None else progress.restore(model)
    history = model.fit(
        batches(x, batch_size, seed, epochs, noise, done) if data is None else data,
        epochs=epochs,
        steps_per_epoch=steps,
        shuffle=False,  # the batches come shuffled
        validation_data=None if validation_data is None else (validation_data, validation_data),
        callbacks=[*callbacks, *([snapshots] if snapshots is not None else []),
                   *([] if progress is None else [progress, progress.backup])],
        verbose=verbose,
    )
    return history if progress is None else progress.whole(history)


class _Progress(keras.callbacks.Callback):
    """Each finished epoch's logs and the recorder's frames, in
    ``backup_dir/aelib-progress.npz``, beside Keras's ``BackupAndRestore``.

    Written before Keras's backup at each epoch's end, so it holds at least its
    epochs; a restore keeps those the restored optimizer has done."""

    def __init__(self, backup_dir, recorder: ReconstructionRecorder | None):
        super().__init__()
        self.backup = keras.callbacks.BackupAndRestore(os.fspath(backup_dir),
                                                       double_checkpoint=True)
        self.path = Path(backup_dir) / "aelib-progress.npz"
        self.recorder = recorder
        self.epochs: list[dict] = []  # per finished epoch: steps done, logs, frames so far
        self.restored: list[dict] = []

    def restore(self, model: keras.Model) -> int:
        """Load the backup, if any, into ``model`` (Keras's callback does) and
        the recorder; return the epochs it had finished."""
        self.backup.set_model(model)
        self.backup.on_train_begin()  # fit calls it again: it loads the same files
        if not self.path.is_file():
            return 0
        with np.load(self.path) as saved:
            epochs, frames, steps = json.loads(str(saved["epochs"])), saved["frames"], saved["steps"]
        done = _steps_done(model)
        self.restored = [e for e in epochs if e["iterations"] <= done]
        self.epochs = list(self.restored)
        recorder = self.recorder
        if recorder is not None and self.restored:
            n = self.restored[-1]["frames"]
            recorder.frames, recorder.steps = list(frames[:n]), steps[:n].tolist()
            recorder._epochs_seen = self.restored[-1]["recorder_epochs"]
        return len(self.restored)

    def on_epoch_end(self, epoch, logs=None):
        recorder = self.recorder
        self.epochs.append({"iterations": _steps_done(self.model),
                            "logs": {k: float(v) for k, v in (logs or {}).items()},
                            "frames": len(recorder.frames) if recorder else 0,
                            "recorder_epochs": recorder._epochs_seen if recorder else 0})
        frames = np.stack(recorder.frames) if recorder and recorder.frames else np.zeros(0, np.uint8)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            np.savez(tmp, epochs=json.dumps(self.epochs), frames=frames,
                     steps=np.asarray(recorder.steps if recorder else [], np.int64))

    def whole(self, history: keras.callbacks.History) -> keras.callbacks.History:
        """``history`` with the restored epochs' logs in front."""
        for key, values in history.history.items():
            history.history[key] = [e["logs"].get(key, math.nan) for e in self.restored] + values
        history.epoch = list(range(len(self.restored))) + history.epoch
        return history


def _steps_done(model: keras.Model) -> int:
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def evaluate(autoencoder: Autoencoder, x: np.ndarray, batch_size: int = 1000,
             targets: np.ndarray | None = None) -> float:
    """Mean squared reconstruction error over all pixels of ``x`` (the test MSE).

    With ``targets`` (e.g. the clean images of noisy ``x``), the error of
    ``x``'s reconstructions against them.
    """
    return float(reconstruction_errors(autoencoder, x, targets=targets,
                                       batch_size=batch_size).mean())


def reconstruction_errors(autoencoder: Autoencoder, x: np.ndarray, *,
                          targets: np.ndarray | None = None,
                          batch_size: int = 1000) -> np.ndarray:
    """Each image's mean squared reconstruction error: its anomaly score.

    Args:
        autoencoder: a trained :class:`~aelib.Autoencoder`.
        x: ``(N, H, W, C)`` float32 in [0, 1], the model's input shape.
        targets: what the reconstructions are compared with, the same shape
            as ``x`` (default: ``x`` itself; for a denoiser, the clean images).
        batch_size: images per forward pass.

    Returns:
        ``(N,)`` float64: the mean over each image's pixels of the squared
        error (its mean is :func:`evaluate`'s MSE).

    Example:
        >>> errors = reconstruction_errors(ae, data.x_test)  # doctest: +SKIP
        >>> errors.argsort()[-10:]  # the ten worst-reconstructed digits  # doctest: +SKIP
    """
    check_autoencoder(autoencoder)
    x = check_images(x, "x", shape=autoencoder.input_shape)
    if targets is None:
        targets = x
    else:
        targets = check_images(targets, "targets", shape=autoencoder.input_shape)
        if len(targets) != len(x):
            raise ValueError(f"targets must hold one image per image of x ({len(x)}), "
                             f"got {describe(targets)}")
    batch_size = check_positive_int(batch_size, "batch_size")
    errors = np.empty(len(x), np.float64)
    for i in range(0, len(x), batch_size):
        err = predict(autoencoder.model, x[i : i + batch_size], batch_size) - targets[i : i + batch_size]
        errors[i : i + batch_size] = np.square(err, dtype=np.float64).reshape(len(err), -1).mean(axis=1)
    return errors
