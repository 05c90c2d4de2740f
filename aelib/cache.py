"""The trained-model cache that ``aelib figures`` and ``aelib report`` share.

A :class:`Run` holds the data, the seed and the settings of one regeneration,
and hands out trained models: from this run, from the cache folder, or
trained now (and then cached). A cache entry is three files named by a hash of
everything that decides the model (:meth:`Run.config`): ``KIND-KEY.keras``
(the model), ``KIND-KEY.frames.npz`` (its reconstruction frames) and
``KIND-KEY.json`` (its record, written last: it marks the entry complete).
Every file is written atomically, and the record holds the SHA-256 of the
other two, so it vouches for exactly the files beside it. An entry that cannot
be read in full (a file cut short, emptied, replaced by another, a folder in
its place), or whose record names other settings, is a cache miss: the run
says so in one line, trains again and replaces the entry. A cache that cannot
be written (a read-only folder, a full disk) costs only the caching: the run
says so in one line and carries on. Runs sharing one cache folder take turns
(an advisory lock on the folder) to write or read an entry.

    from aelib.cache import Run
    run = Run(aelib.load_mnist(), seed=0, cache_dir=".aelib-cache")
    ae = run.model("dense").autoencoder
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from ._io import atomic_path, folder_lock, remove_stale_temporaries, save_keras
from ._version import __version__
from .data import Dataset
from .devices import backend_name, native_bfloat16
from .models import Autoencoder, conv_autoencoder, dense_autoencoder
from .saving import as_autoencoder, read_keras_file
from .training import ReconstructionRecorder, evaluate, spaced_steps, train
from .vae import variational_autoencoder

__all__ = ["MODELS", "ModelSpec", "Run", "TrainedModel", "describe_data"]


@dataclass(frozen=True)
class ModelSpec:
    """How the cached model of one kind is built and trained.

    ``snapshot_*``: the reconstruction GIF's frames per epoch and how many
    epochs it covers (``None``: all), or ``snapshot_spaced`` frames spread over
    the run on a log scale (:func:`aelib.training.spaced_steps`: the first
    steps, where digits form, densely). ``bfloat16``: build it with the
    ``"mixed_bfloat16"`` policy where that is measured to pay off (see
    :meth:`dtype_policy`), float32 elsewhere.
    """

    kind: str
    label: str
    build: Callable[..., Autoencoder]
    epochs: int
    batch_size: int
    quick_epochs: int
    snapshot_per_epoch: int
    snapshot_epochs: int | None = None
    n_snapshots: int = 8
    bfloat16: bool = False
    snapshot_spaced: int | None = None

    def recorder(self, images: np.ndarray, n_images: int, epochs: int) -> ReconstructionRecorder:
        """The recorder of this model's GIF, for a run of ``epochs`` over ``n_images``."""
        if self.snapshot_spaced:
            steps = spaced_steps(math.ceil(n_images / self.batch_size), epochs, self.snapshot_spaced)
            return ReconstructionRecorder(images, at_steps=steps)
        return ReconstructionRecorder(images, per_epoch=self.snapshot_per_epoch,
                                      max_epochs=self.snapshot_epochs)

    def n_frames(self, n_images: int, epochs: int) -> int:
        """How many frames :meth:`recorder` takes in that run (the first, untrained, included)."""
        if self.snapshot_spaced:
            steps = math.ceil(n_images / self.batch_size)
            return 1 + len(spaced_steps(steps, epochs, self.snapshot_spaced))
        return 1 + min(epochs, self.snapshot_epochs or epochs) * self.snapshot_per_epoch

    def dtype_policy(self) -> str:
        """The policy this machine builds the model with: ``"mixed_bfloat16"`` for
        a ``bfloat16`` spec under TensorFlow on hardware with native bfloat16
        (:func:`aelib.devices.native_bfloat16`), ``"float32"`` otherwise."""
        native = self.bfloat16 and backend_name() == "tensorflow" and native_bfloat16()
        return "mixed_bfloat16" if native else "float32"


MODELS = {
    "dense": ModelSpec("dense", "dense autoencoder", dense_autoencoder, epochs=50, batch_size=200,
                       quick_epochs=5, snapshot_per_epoch=1, snapshot_spaced=30),
    "conv": ModelSpec("conv", "conv autoencoder", conv_autoencoder, epochs=10, batch_size=150,
                      quick_epochs=6, snapshot_per_epoch=20, snapshot_epochs=5, bfloat16=True),
    # beyond the article: the variational twins (the figures use the dense one)
    "dense_vae": ModelSpec("dense_vae", "dense VAE", functools.partial(variational_autoencoder, "dense"),
                           epochs=30, batch_size=200, quick_epochs=5, snapshot_per_epoch=1),
    "conv_vae": ModelSpec("conv_vae", "conv VAE", functools.partial(variational_autoencoder, "conv"),
                          epochs=10, batch_size=150, quick_epochs=6, snapshot_per_epoch=1),
}


@dataclass
class TrainedModel:
    """A trained autoencoder with its reconstruction frames and record."""

    autoencoder: Autoencoder
    frames: list[np.ndarray]
    info: dict


def describe_data(data: Dataset) -> str:
    """``full MNIST (60,000 train, of which the autoencoders fit 55,000 and hold out
    5,000 for validation / 10,000 test)``, or the sample's equivalent."""
    what = "the embedded MNIST sample" if data.is_sample else "full MNIST"
    fit, valid = data.split_validation()
    return (f"{what} ({len(data.x_train):,} train, of which the autoencoders fit {len(fit):,} "
            f"and hold out {len(valid):,} for validation / {len(data.x_test):,} test)")


class _Miss(Exception):
    """A cache entry that is there but cannot be used; the message says why."""


@dataclass
class Run:
    """Data, seed and settings of one run, and models trained on demand.

    Args:
        data: the MNIST to train and draw on.
        seed: seeds weights, shuffling, random codings and samples.
        quick: train for the specs' ``quick_epochs`` instead of the article's.
        cache_dir: where trained models are kept (``None``: not kept).
        retrain: ignore cached models.
        progress: called with one-line progress messages.
    """

    data: Dataset
    seed: int = 0
    quick: bool = False
    cache_dir: Path | None = None
    retrain: bool = False
    progress: Callable[[str], None] = lambda message: None
    models: dict[str, TrainedModel] = field(default_factory=dict)
    extras: dict[str, TrainedModel] = field(default_factory=dict)
    _codings: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self):
        if self.cache_dir is not None:
            self.cache_dir = Path(self.cache_dir)

    @functools.cached_property
    def data_fingerprint(self) -> str:
        """The data's fingerprint, hashed once per run (it reads every pixel)."""
        return self.data.fingerprint()

    def config(self, kind: str) -> dict:
        """Everything that decides a trained model: a cache entry must match it."""
        spec = MODELS[kind]
        return {
            "kind": kind,
            "aelib": __version__,
            "keras": keras.__version__,
            "backend": backend_name(),
            "recipe": "aelib",
            "epochs": spec.quick_epochs if self.quick else spec.epochs,
            "batch_size": spec.batch_size,
            "dtype_policy": spec.dtype_policy(),
            "seed": self.seed,
            "snapshots": [spec.n_snapshots, spec.snapshot_per_epoch, spec.snapshot_epochs,
                          spec.snapshot_spaced],
            "data": self.data_fingerprint,
            "data_source": "sample" if self.data.is_sample else "full",
            "train_images": len(self.data.split_validation()[0]),  # the validation split held out
        }

    def model(self, kind: str) -> TrainedModel:
        """The trained model of ``kind``: from this run, the cache, or trained now."""
        if kind not in self.models:
            self.models[kind] = self._load_cached(kind) or self._train(kind)
        return self.models[kind]

    def codings(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """Codings of the training set and their labels (computed once)."""
        if kind not in self._codings:
            self._codings[kind] = (self.model(kind).autoencoder.encode(self.data.x_train),
                                   self.data.y_train)
        return self._codings[kind]

    def digit_classifier(self) -> tuple[keras.Model, float]:
        """The digit classifier for this run's data and seed, and its test accuracy.

        Trained with :func:`aelib.train_digit_classifier` on the first call and
        cached like the autoencoders (keyed by the data, seed and versions).
        """
        from .metrics import train_digit_classifier

        config = {"what": "digit_classifier", "aelib": __version__, "keras": keras.__version__,
                  "backend": backend_name(), "seed": self.seed, "data": self.data_fingerprint}

        def load(path: Path, info: dict) -> tuple[keras.Model, float]:
            accuracy = _number(info, "test_accuracy", path.with_suffix(".json"), 0.0, 1.0)
            model = _load_classifier(path, self.data.x_train.shape[1:])
            self.progress(f"digit classifier: from the cache ({path.name}, "
                          f"test accuracy {accuracy:.2%})")
            return model, accuracy

        def fit():
            start = time.perf_counter()
            model, accuracy = train_digit_classifier(self.data, seed=self.seed)
            self.progress(f"digit classifier: trained in {time.perf_counter() - start:.0f} s, "
                          f"test accuracy {accuracy:.2%}")
            return (model, accuracy), model, {"config": config, "test_accuracy": accuracy}

        return self._one_model_entry("classifier", "digit classifier", config, load, fit)

    def trained(self, name: str, label: str, settings: dict,
                fit: Callable[[], tuple[Autoencoder, dict]]) -> TrainedModel:
        """An autoencoder of a recipe of the caller's (a denoiser, a one-class
        model...), trained by ``fit()`` once and cached like :meth:`model`'s.

        Args:
            name: names the cache entry (``NAME-KEY.keras`` and ``.json``) and
                keys this run's models; letters, digits, ``-`` and ``_``.
            label: names it in progress messages.
            settings: everything that decides the model besides the data,
                seed and versions (JSON values); it must hold ``"kind"``
                (``"dense"`` or ``"conv"``) and ``"n_codings"``, which the
                cached file is checked against.
            fit: builds and trains the model; returns it and a record of
                JSON values (e.g. ``{"train_seconds": 12.3}``).
        """
        if not (isinstance(name, str) and name and all(c.isalnum() or c in "-_" for c in name)):
            raise ValueError(f"name must be letters, digits, '-' and '_' (it names cache files), "
                             f"got {name!r}")
        if name in self.extras:
            return self.extras[name]
        config = {"what": name, "aelib": __version__, "keras": keras.__version__,
                  "backend": backend_name(), "seed": self.seed, "data": self.data_fingerprint,
                  "data_source": "sample" if self.data.is_sample else "full", **settings}

        def load(path: Path, info: dict) -> TrainedModel:
            _number(info, "train_seconds", path.with_suffix(".json"), 0.0, math.inf)
            ae = _load_autoencoder(path, settings["kind"], self.data.x_train.shape[1:])
            if ae.n_codings != settings["n_codings"]:
                raise _Miss(f"{path.name} has {ae.n_codings} codings, not {settings['n_codings']}")
            self.progress(f"{label}: from the cache ({path.name})")
            return TrainedModel(ae, [], {**info, "cached": True})

        def train_it():
            ae, record = fit()
            info = {"config": config, **record}
            return TrainedModel(ae, [], info), ae, info

        self.extras[name] = self._one_model_entry(name, label, config, load, train_it)
        return self.extras[name]

    def _one_model_entry(self, name: str, label: str, config: dict,
                         load: Callable[[Path, dict], object],
                         fit: Callable[[], tuple[object, object, dict]]):
        """A cache entry of one ``.keras`` file and its record (the classifier, the
        studies' models): ``load(model_path, record)`` on a hit (raising
        :class:`_Miss` when the entry cannot be used), else ``fit()``, which returns
        the value, the Keras model to save and the record; saved when there is a cache."""
        stem = self.cache_stem(name, config)
        paths = None if stem is None else (stem.with_suffix(".keras"), stem.with_suffix(".json"))
        if paths is not None and not self.retrain:
            try:
                with folder_lock(self.cache_dir, shared=True):
                    if any(_present(p) for p in paths):
                        info = self._read_record(paths[1], config)
                        _check_digests(info, {"model": paths[0]}, paths[1])
                        return load(paths[0], info)
            except _Miss as why:
                self.progress(f"{label}: cache entry {stem.name} unusable ({why}); "
                              "training it again")
        value, model, record = fit()
        if paths is not None:
            def write():
                save_keras(model, paths[0])
                _write_record(paths[1], {**record, "files": {"model": _digest(paths[0])}})

            self._write_entry(label, paths, write)
        return value

    # -- cache ----------------------------------------------------------------
    def cache_stem(self, name: str, config: dict) -> Path | None:
        """``cache_dir/NAME-KEY``, KEY a hash of ``config`` (``None`` without a cache)."""
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
        return self.cache_dir / f"{name}-{key}"

    def _cache_paths(self, kind: str) -> tuple[Path, Path, Path] | None:
        stem = self.cache_stem(kind, self.config(kind))
        if stem is None:
            return None
        return stem.with_suffix(".keras"), stem.with_suffix(".json"), stem.with_suffix(".frames.npz")

    @staticmethod
    def _read_record(path: Path, config: dict) -> dict:
        """The entry's JSON record, checked against ``config``; :class:`_Miss` otherwise."""
        try:
            text = path.read_bytes().decode()
        except OSError as err:
            raise _Miss(_unreadable(path, err)) from None
        except UnicodeDecodeError:
            raise _Miss(f"{path.name} is not a JSON record (binary data)") from None
        if not text.strip():
            raise _Miss(f"{path.name} is empty")
        try:
            info = json.loads(text)
        except ValueError as err:  # JSONDecodeError, or numbers beyond Python's limits
            raise _Miss(f"{path.name} is not valid JSON ({err}); cut short?") from None
        if not isinstance(info, dict) or "config" not in info:
            raise _Miss(f"{path.name} is not an aelib cache record")
        if info["config"] != config:
            raise _Miss(f"{path.name} records other settings")
        return info

    def _load_cached(self, kind: str) -> TrainedModel | None:
        paths = self._cache_paths(kind)
        if self.retrain or paths is None:
            return None
        model_path, info_path, frames_path = paths
        spec, config = MODELS[kind], self.config(kind)
        try:
            with folder_lock(self.cache_dir, shared=True):
                if not any(_present(p) for p in paths):
                    return None
                info = self._read_record(info_path, config)
                test_mse = _number(info, "test_mse", info_path, 0.0, math.inf)
                _number(info, "train_seconds", info_path, 0.0, math.inf)
                _check_digests(info, {"model": model_path, "frames": frames_path}, info_path)
                ae = _load_autoencoder(model_path, kind, self.data.x_train.shape[1:])
                frames = _load_frames(frames_path, spec.n_frames(config["train_images"],
                                                                 config["epochs"]))
        except _Miss as why:
            self.progress(f"{spec.label}: cache entry {model_path.stem} unusable ({why}); "
                          "training it again")
            return None
        self.progress(f"{spec.label}: from the cache ({model_path.name}, test MSE {test_mse:.4f})")
        info["cached"] = True
        return TrainedModel(ae, frames, info)

    def _write_entry(self, label: str, paths: tuple[Path, ...], write: Callable[[], None]) -> None:
        """Write the cache entry of ``paths`` (model, record, ...) by ``write()``
        with the cache folder locked. A cache that cannot be written is said in
        one line, and the run goes on without it."""
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(self.cache_dir)
            with folder_lock(self.cache_dir):
                for path in paths:  # a folder where a file of the entry goes
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path)
                # the record goes first: the entry is incomplete until it is back
                paths[1].unlink(missing_ok=True)
                write()
        except OSError as err:
            if os.path.isfile(self.cache_dir):
                why = f"{self.cache_dir} is a file, not a folder"
            else:
                why = f"cannot write to {self.cache_dir}: {err.strerror or type(err).__name__}"
            self.progress(f"{label}: not cached ({why}); carrying on without the cache")

    def _save_cached(self, kind: str, trained: TrainedModel) -> None:
        paths = self._cache_paths(kind)
        if paths is None:
            return
        model_path, info_path, frames_path = paths

        def write():  # the record last: it marks the entry complete
            trained.autoencoder.save(model_path)
            with atomic_path(frames_path) as tmp:
                np.savez_compressed(tmp, frames=np.stack(trained.frames))
            files = {"model": _digest(model_path), "frames": _digest(frames_path)}
            _write_record(info_path, {**trained.info, "files": files})

        self._write_entry(MODELS[kind].label, paths, write)

    # -- training -------------------------------------------------------------
    def _train(self, kind: str) -> TrainedModel:
        spec, config = MODELS[kind], self.config(kind)
        x, epochs = self.data.split_validation()[0], config["epochs"]  # test set: final score only
        rng = np.random.default_rng(self.seed)
        chosen = np.sort(rng.choice(len(x), spec.n_snapshots, replace=False))
        recorder = spec.recorder(x[chosen], len(x), epochs)
        ae = spec.build(seed=self.seed, dtype_policy=spec.dtype_policy())
        start = time.perf_counter()
        train(ae, x, epochs=epochs, batch_size=spec.batch_size, snapshots=recorder,
              seed=self.seed, callbacks=[_EpochProgress(spec.label, epochs, self.progress)],
              verbose=0)
        seconds = time.perf_counter() - start
        test_mse = evaluate(ae, self.data.x_test)
        self.progress(f"{spec.label}: trained {epochs} epochs in {seconds:.0f} s, "
                      f"test MSE {test_mse:.4f}")
        info = {"config": config, "snapshot_images": chosen.tolist(), "test_mse": test_mse,
                "train_seconds": round(seconds, 1), "data_source": self.data.source}
        trained = TrainedModel(ae, recorder.frames, info)
        self._save_cached(kind, trained)
        return trained


def _present(path: Path) -> bool:
    """Whether anything is at ``path`` (a folder that cannot be searched counts
    as something there: reading it then says why it cannot be used)."""
    try:
        os.stat(path, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return True


def _unreadable(path: Path, err: OSError) -> str:
    """Why a file of an entry cannot be read, in a few words."""
    if isinstance(err, FileNotFoundError):
        return f"{path.name} is missing"
    if isinstance(err, IsADirectoryError):
        return f"{path.name} is a folder"
    return f"{path.name} cannot be read ({err.strerror or type(err).__name__})"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _number(info: dict, key: str, path: Path, lo: float, hi: float) -> float:
    """``info[key]``, a number in ``[lo, hi]``; :class:`_Miss` otherwise."""
    value = info.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise _Miss(f"{path.name} has no valid {key}")
    return float(value)


def _check_digests(info: dict, files: dict[str, Path], record: Path) -> None:
    """The files are the ones the record was written with (a record without
    digests is taken on trust)."""
    digests = info.get("files")
    if digests is None:
        return
    if not isinstance(digests, dict):
        raise _Miss(f"{record.name} is not an aelib cache record")
    for name, path in files.items():
        try:
            digest = _digest(path)
        except OSError as err:
            raise _Miss(_unreadable(path, err)) from None
        if digest != digests.get(name):
            raise _Miss(f"{path.name} has changed since {record.name} recorded it "
                        "(cut short, damaged or replaced)")


def _read_model(path: Path) -> keras.Model:
    """A cached ``.keras`` model; :class:`_Miss` when it cannot be read in full."""
    try:
        return read_keras_file(path)
    except FileNotFoundError:
        raise _Miss(f"{path.name} is missing") from None
    except ValueError as err:
        raise _Miss(f"{path.name} {err}") from None


def _load_autoencoder(path: Path, kind: str, image_shape) -> Autoencoder:
    """The cached autoencoder of ``kind``; :class:`_Miss` for anything else."""
    try:
        ae = as_autoencoder(_read_model(path))
    except ValueError as err:
        raise _Miss(f"{path.name} {err}") from None
    if ae.kind != kind:
        raise _Miss(f"{path.name} holds a {ae.kind!r} model, not a {kind!r} one")
    if tuple(ae.input_shape) != tuple(image_shape):
        raise _Miss(f"{path.name} takes images of shape {tuple(ae.input_shape)}, "
                    f"not {tuple(image_shape)}")
    return ae


def _load_classifier(path: Path, image_shape) -> keras.Model:
    """The cached digit classifier; :class:`_Miss` for anything else."""
    from .metrics import N_DIGITS

    model = _read_model(path)
    try:
        shapes = tuple(model.inputs[0].shape[1:]), tuple(model.outputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError):
        shapes = None
    if model.name != "digit_classifier" or shapes != (tuple(image_shape), (N_DIGITS,)):
        raise _Miss(f"{path.name} holds a Keras model {model.name!r}, not the digit classifier")
    return model


def _load_frames(path: Path, count: int) -> list[np.ndarray]:
    """A cached entry's ``count`` GIF frames; :class:`_Miss` when they cannot be read in full."""
    try:
        with open(path, "rb") as f:
            if not zipfile.is_zipfile(f):
                size = os.fstat(f.fileno()).st_size
                what = "is empty" if size == 0 else f"is not a complete zip archive ({size:,} bytes)"
                raise _Miss(f"{path.name} is not a readable .npz file: it {what}; "
                            "cut short, or another format")
            f.seek(0)
            with np.load(f, allow_pickle=False) as npz:
                frames = npz["frames"]
    except _Miss:
        raise
    except OSError as err:
        raise _Miss(_unreadable(path, err)) from None
    except Exception as err:  # cut short, emptied, garbage, a damaged member (zlib.error), ...
        reason = " ".join(str(err).split())[:100]
        raise _Miss(f"{path.name} does not load ({type(err).__name__}: {reason})") from None
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or len(frames) != count:
        raise _Miss(f"{path.name} does not hold the {count} uint8 frames of this model "
                    f"(holds {frames.dtype} of shape {frames.shape})")
    return list(frames)


def _write_record(path: Path, record: dict) -> None:
    with atomic_path(path) as tmp:  # written last: it marks the entry complete
        tmp.write_text(json.dumps(record, indent=2) + "\n")


class _EpochProgress(keras.callbacks.Callback):
    def __init__(self, label, epochs, progress):
        super().__init__()
        self.label, self.epochs, self.progress = label, epochs, progress

    def on_epoch_end(self, epoch, logs=None):
        self.progress(f"{self.label}: epoch {epoch + 1}/{self.epochs}, loss {logs['loss']:.4f}")
