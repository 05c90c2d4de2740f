"""The trained-model cache that ``aelib figures`` and ``aelib report`` share.

A :class:`Run` holds the data, seed and settings of one regeneration and hands
out trained models: from this run, from the cache folder, or trained now and
cached. An entry, ``KIND-KEY.keras``, ``.frames.npz`` and ``.json`` (the record,
written last with the other files' SHA-256), is keyed by a hash of
:meth:`Run.config`. An entry that cannot be used is a miss, said in one line and
trained again; a cache that cannot be written costs only the caching (see
docs/reliability.md).

    from aelib.cache import Run
    run = Run(aelib.load_mnist(), seed=0, cache_dir=".aelib-cache")
    ae = run.model("dense").autoencoder
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import shutil
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from ._io import (
    atomic_path,
    claim_folder,
    folder_lock,
    remove_stale_temporaries,
    save_keras,
)
from ._version import __version__
from .data import Dataset
from .devices import backend_name, native_bfloat16
from .models import Autoencoder, conv_autoencoder, dense_autoencoder
from .saving import as_autoencoder, read_keras_file
from .training import ReconstructionRecorder, evaluate, spaced_steps, train
from .vae import variational_autoencoder

__all__ = ["MODELS", "ModelSpec", "Run", "TrainedModel"]


@dataclass(frozen=True)
class ModelSpec:
    """How the cached model of one kind is built and trained.

    ``snapshot_*``: the GIF's frames per epoch and how many epochs it covers
    (``None``: all), or ``snapshot_spaced`` frames on a log scale
    (:func:`aelib.training.spaced_steps`). ``bfloat16``: see :meth:`dtype_policy`.
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
        """``"mixed_bfloat16"`` for a ``bfloat16`` spec under TensorFlow on hardware
        with native bfloat16 (:func:`aelib.devices.native_bfloat16`), else ``"float32"``."""
        native = self.bfloat16 and backend_name() == "tensorflow" and native_bfloat16()
        return "mixed_bfloat16" if native else "float32"


MODELS = {
    "dense": ModelSpec("dense", "dense autoencoder", dense_autoencoder, epochs=50, batch_size=200,
                       quick_epochs=5, snapshot_per_epoch=1, snapshot_spaced=30),
    "conv": ModelSpec("conv", "conv autoencoder", conv_autoencoder, epochs=10, batch_size=150,
                      quick_epochs=6, snapshot_per_epoch=20, snapshot_epochs=5, bfloat16=True),
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
    #: wall time this run spent making the models it did not find in the cache, in seconds
    training_seconds: float = 0.0
    _codings: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self):
        if self.cache_dir is not None:
            self.cache_dir = Path(self.cache_dir)

    @functools.cached_property
    def data_fingerprint(self) -> str:
        """The data's fingerprint, hashed once per run (it reads every pixel)."""
        return self.data.fingerprint()

    def _identity(self) -> dict:
        """What decides every cached model besides its own settings."""
        return {"aelib": __version__, "keras": keras.__version__, "backend": backend_name(),
                "seed": self.seed, "data": self.data_fingerprint}

    def config(self, kind: str) -> dict:
        """Everything that decides a trained model: a cache entry must match it."""
        spec = MODELS[kind]
        return {
            "kind": kind,
            **self._identity(),
            "recipe": "aelib",
            "epochs": spec.quick_epochs if self.quick else spec.epochs,
            "batch_size": spec.batch_size,
            "dtype_policy": spec.dtype_policy(),
            "snapshots": [spec.n_snapshots, spec.snapshot_per_epoch, spec.snapshot_epochs,
                          spec.snapshot_spaced],
            "data_source": "sample" if self.data.is_sample else "full",
            "train_images": len(self.data.split_validation()[0]),  # the validation split held out
        }

    def model(self, kind: str) -> TrainedModel:
        """The trained model of ``kind``: from this run, the cache, or trained now."""
        if kind not in self.models:
            self.models[kind] = self._load_cached(kind) or self._timed(lambda: self._train(kind))
        return self.models[kind]

    def _timed(self, make: Callable[[], object]):
        """``make()``, its wall time added to :attr:`training_seconds`."""
        start = time.perf_counter()
        try:
            return make()
        finally:
            self.training_seconds += time.perf_counter() - start

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

        def load(path: Path, info: dict) -> tuple[keras.Model, float]:
            model = _load_classifier(path, self.data.x_train.shape[1:])
            accuracy = float(info["test_accuracy"])
            self.progress(f"digit classifier: from the cache ({path.name}, "
                          f"test accuracy {accuracy:.2%})")
            return model, accuracy

        def fit():
            start = time.perf_counter()
            model, accuracy = train_digit_classifier(self.data, seed=self.seed)
            self.progress(f"digit classifier: trained in {time.perf_counter() - start:.0f} s, "
                          f"test accuracy {accuracy:.2%}")
            return (model, accuracy), model, {"test_accuracy": accuracy}

        config = {"what": "digit_classifier", **self._identity()}
        return self._one_model("classifier", "digit classifier", config, {"test_accuracy": 1.0},
                               load, fit)

    def trained(self, name: str, label: str, settings: dict,
                fit: Callable[[], tuple[Autoencoder, dict]]) -> TrainedModel:
        """An autoencoder of the caller's recipe (a denoiser, a one-class model...),
        trained by ``fit`` once and cached like :meth:`model`'s.

        Args:
            name: names the cache entry (``NAME-KEY.keras`` and ``.json``) and
                keys this run's models; letters, digits, ``-`` and ``_``.
            label: names it in progress messages.
            settings: what decides the model besides the data, seed and
                versions (JSON values), with the ``"kind"`` and ``"n_codings"``
                the cached file is checked against.
            fit: ``fit(backup_dir)`` builds and trains the model, passing
                ``backup_dir`` (or ``None``) to :func:`aelib.train` so that a
                killed run resumes; returns the model and a JSON record
                (``{"train_seconds": 12.3}``).
        """
        if not (isinstance(name, str) and name and all(c.isalnum() or c in "-_" for c in name)):
            raise ValueError(f"name must be letters, digits, '-' and '_' (it names cache files), "
                             f"got {name!r}")
        if name in self.extras:
            return self.extras[name]

        def load(path: Path, info: dict) -> TrainedModel:
            ae = _load_autoencoder(path, settings["kind"], self.data.x_train.shape[1:])
            if ae.n_codings != settings["n_codings"]:
                raise _Miss(f"{path.name} has {ae.n_codings} codings, not {settings['n_codings']}")
            self.progress(f"{label}: from the cache ({path.name})")
            return TrainedModel(ae, [], {**info, "cached": True})

        def train_it():
            with self._backup(self.cache_stem(name, config), label) as backup:
                ae, record = fit(backup)
            return TrainedModel(ae, [], {"config": config, **record}), ae.model, record

        config = {"what": name, **self._identity(),
                  "data_source": "sample" if self.data.is_sample else "full", **settings}
        self.extras[name] = self._one_model(name, label, config, {"train_seconds": math.inf},
                                            load, train_it)
        return self.extras[name]

    # -- cache ----------------------------------------------------------------
    def cache_stem(self, name: str, config: dict) -> Path | None:
        """``cache_dir/NAME-KEY``, KEY a hash of ``config`` (``None`` without a cache)."""
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
        return self.cache_dir / f"{name}-{key}"

    def _cache_paths(self, kind: str) -> tuple[Path, Path, Path] | None:
        """The model, record and frames files of ``kind``'s entry (``None`` without a cache)."""
        stem = self.cache_stem(kind, self.config(kind))
        return None if stem is None else (*_entry_files(stem, frames=True).values(),)

    def _lookup(self, label: str, stem: Path | None, config: dict, numbers: dict[str, float],
                load: Callable[[dict[str, Path], dict], object], frames: bool = False):
        """``load(files, record)`` of the entry at ``stem`` once its record and digests
        are checked; ``None`` without one (a :class:`_Miss` is said in one line)."""
        if stem is None or self.retrain:
            return None
        files = _entry_files(stem, frames)
        try:
            with folder_lock(self.cache_dir, shared=True):
                if not any(_present(p) for p in files.values()):
                    return None
                info = _read_record(files["record"], config, numbers)
                _check_digests(info, files)
                return load(files, info)
        except _Miss as why:
            self.progress(f"{label}: cache entry {stem.name} unusable ({why}); training it again")
            return None

    def _store(self, label: str, stem: Path | None, record: dict,
               write: Callable[[dict[str, Path]], None], frames: bool = False) -> None:
        """``write(files)`` the entry at ``stem``, then ``record`` with their digests:
        last, as it marks the entry complete. A write that fails is said in one line."""
        if stem is None:
            return
        files = _entry_files(stem, frames)
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(self.cache_dir)
            with folder_lock(self.cache_dir):
                for path in files.values():  # a folder where a file of the entry goes
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path)
                files["record"].unlink(missing_ok=True)  # the entry is incomplete until it is back
                write(files)
                digests = {k: _digest(p) for k, p in files.items() if k != "record"}
                with atomic_path(files["record"]) as tmp:
                    tmp.write_text(json.dumps({**record, "files": digests}, indent=2) + "\n")
        except OSError as err:
            why = (f"{self.cache_dir} is a file, not a folder" if os.path.isfile(self.cache_dir)
                   else f"cannot write to {self.cache_dir}: {err.strerror or type(err).__name__}")
            self.progress(f"{label}: not cached ({why}); carrying on without the cache")

    def _one_model(self, name: str, label: str, config: dict, numbers: dict[str, float],
                   load: Callable[[Path, dict], object],
                   fit: Callable[[], tuple[object, keras.Model, dict]]):
        """``load(model_path, record)`` of an entry of one ``.keras`` file, else
        ``fit()``: the value, the Keras model to cache and its record."""
        stem = self.cache_stem(name, config)
        found = self._lookup(label, stem, config, numbers,
                             lambda files, info: load(files["model"], info))
        if found is not None:
            return found
        value, model, record = self._timed(fit)
        self._store(label, stem, {"config": config, **record},
                    lambda files: save_keras(model, files["model"]))
        return value

    def _load_cached(self, kind: str) -> TrainedModel | None:
        spec, config = MODELS[kind], self.config(kind)

        def load(files: dict[str, Path], info: dict) -> TrainedModel:
            ae = _load_autoencoder(files["model"], kind, self.data.x_train.shape[1:])
            frames = _load_frames(files["frames"],
                                  spec.n_frames(config["train_images"], config["epochs"]))
            self.progress(f"{spec.label}: from the cache ({files['model'].name}, "
                          f"test MSE {info['test_mse']:.4f})")
            return TrainedModel(ae, frames, {**info, "cached": True})

        return self._lookup(spec.label, self.cache_stem(kind, config), config,
                            {"test_mse": math.inf, "train_seconds": math.inf}, load, frames=True)

    def _save_cached(self, kind: str, trained: TrainedModel) -> None:
        def write(files: dict[str, Path]) -> None:
            trained.autoencoder.save(files["model"])
            with atomic_path(files["frames"]) as tmp:
                np.savez_compressed(tmp, frames=np.stack(trained.frames))

        self._store(MODELS[kind].label, self.cache_stem(kind, self.config(kind)), trained.info,
                    write, frames=True)

    # -- training -------------------------------------------------------------
    def _train(self, kind: str) -> TrainedModel:
        spec, config = MODELS[kind], self.config(kind)
        x, epochs = self.data.split_validation()[0], config["epochs"]  # test set: final score only
        rng = np.random.default_rng(self.seed)
        chosen = np.sort(rng.choice(len(x), spec.n_snapshots, replace=False))
        recorder = spec.recorder(x[chosen], len(x), epochs)
        ae = spec.build(seed=self.seed, dtype_policy=spec.dtype_policy())

        def say_epoch(epoch, logs):
            self.progress(f"{spec.label}: epoch {epoch + 1}/{epochs}, loss {logs['loss']:.4f}")

        with self._backup(self.cache_stem(kind, config), spec.label) as backup:
            start = time.perf_counter()
            train(ae, x, epochs=epochs, batch_size=spec.batch_size, snapshots=recorder,
                  seed=self.seed, callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=say_epoch)],
                  backup_dir=backup, verbose=0)
            seconds = time.perf_counter() - start
        test_mse = evaluate(ae, self.data.x_test)
        self.progress(f"{spec.label}: trained {epochs} epochs in {seconds:.0f} s, "
                      f"test MSE {test_mse:.4f}")
        info = {"config": config, "snapshot_images": chosen.tolist(), "test_mse": test_mse,
                "train_seconds": round(seconds, 1), "data_source": self.data.source}
        trained = TrainedModel(ae, recorder.frames, info)
        self._save_cached(kind, trained)
        return trained

    @contextlib.contextmanager
    def _backup(self, stem: Path | None, label: str) -> Iterator[Path | None]:
        """``NAME-KEY.backup``, this run's alone while the entry's model trains, so
        that a killed run resumes; ``None`` without a writable cache or while
        another run holds it."""
        if stem is None:
            yield None
            return
        backup = stem.with_suffix(".backup")
        if self.retrain:
            shutil.rmtree(backup, ignore_errors=True)
        with contextlib.ExitStack() as stack:
            try:
                held = stack.enter_context(claim_folder(backup))
            except OSError:  # a cache that cannot be written: _store says so
                held = False
            if held and any(backup.iterdir()):
                self.progress(f"{label}: resuming from its backup ({backup.name})")
            yield backup if held else None
            if held:  # Keras removes it when training ends; a crash after may not have
                shutil.rmtree(backup, ignore_errors=True)


def _entry_files(stem: Path, frames: bool) -> dict[str, Path]:
    """The files of the entry at ``stem``: its model, record and (``frames``) frames."""
    files = {"model": stem.with_suffix(".keras"), "record": stem.with_suffix(".json")}
    if frames:
        files["frames"] = stem.with_suffix(".frames.npz")
    return files


def _present(path: Path) -> bool:
    """Whether anything is at ``path`` (an unsearchable folder counts: reading says why)."""
    try:
        os.stat(path, follow_symlinks=False)
    except OSError as err:
        return not isinstance(err, (FileNotFoundError, NotADirectoryError))
    return True


def _unreadable(path: Path, err: OSError) -> str:
    """Why a file of an entry cannot be read, in a few words."""
    if isinstance(err, FileNotFoundError):
        return f"{path.name} is missing"
    if isinstance(err, IsADirectoryError):
        return f"{path.name} is a folder"
    return f"{path.name} cannot be read ({err.strerror or type(err).__name__})"


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _read_record(path: Path, config: dict, numbers: dict[str, float]) -> dict:
    """The JSON record, written for ``config``, each of ``numbers`` in ``[0, bound]``."""
    try:
        text = path.read_bytes()
        info = json.loads(text)
    except OSError as err:
        raise _Miss(_unreadable(path, err)) from None
    except ValueError as err:  # not text, not JSON, numbers beyond Python's limits
        what = "is empty" if not text.strip() else f"is not valid JSON ({err}); cut short?"
        raise _Miss(f"{path.name} {what}") from None
    if not isinstance(info, dict) or "config" not in info:
        raise _Miss(f"{path.name} is not an aelib cache record")
    if info["config"] != config:
        raise _Miss(f"{path.name} records other settings")
    for key, bound in numbers.items():
        value = info.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= bound:
            raise _Miss(f"{path.name} has no valid {key}")
    return info


def _check_digests(info: dict, files: dict[str, Path]) -> None:
    """The files are those the record was written with (no digests: taken on trust)."""
    digests, record = info.get("files"), files["record"]
    if digests is None:
        return
    if not isinstance(digests, dict):
        raise _Miss(f"{record.name} is not an aelib cache record")
    for name, path in files.items():
        if name == "record":
            continue
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
    except Exception as err:  # noqa: BLE001 (cut short, garbage, a damaged member: zlib.error...)
        reason = " ".join(str(err).split())[:100]
        raise _Miss(f"{path.name} does not load ({type(err).__name__}: {reason})") from None
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or len(frames) != count:
        raise _Miss(f"{path.name} does not hold the {count} uint8 frames of this model "
                    f"(holds {frames.dtype} of shape {frames.shape})")
    return list(frames)
