"""Faults and bad inputs: a damaged cache, a wrong --data file, a killed run, two
runs at once. None of them may end in a traceback (docs/reliability.md).

Most cache tests damage a copy of one cache trained once in this module and
ask :class:`aelib.cache.Run` directly, with training switched off, whether it
takes the entry; a few go through the command and train the dense model again.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

import aelib
from aelib import cli
from aelib._io import atomic_path, is_temporary, remove_stale_temporaries
from aelib.cache import MODELS, Run
from aelib.data import sample_path

FIGURE = "k_auto0_gen.png"  # figure 3: needs the dense model only


class _Trained(Exception):
    """Raised by the stand-in trainers: the run decided to train."""


def _no_training(*args, **kwargs):
    raise _Trained


@pytest.fixture(scope="module")
def trained_cache(tmp_path_factory, sample):
    """A cache holding the quick dense model and the digit classifier, trained once."""
    cache = tmp_path_factory.mktemp("trained") / "cache"
    run = Run(sample, quick=True, cache_dir=cache)
    run.model("dense")
    run.digit_classifier()
    assert len(list(cache.iterdir())) == 5
    return cache


@pytest.fixture
def cache(trained_cache, tmp_path):
    """A fresh copy of the trained cache, to damage."""
    copy = tmp_path / "cache"
    shutil.copytree(trained_cache, copy)
    return copy


def run_on(cache, sample, messages=None) -> Run:
    """A quick run on ``cache`` that records its progress lines and never trains."""
    run = Run(sample, quick=True, cache_dir=cache,
              progress=(messages if messages is not None else []).append)
    run._train = _no_training
    return run


def entry(cache, sample) -> dict[str, Path]:
    """The dense model's cache entry: {".keras": ..., ".json": ..., ".frames.npz": ...}."""
    model, record, frames = Run(sample, quick=True, cache_dir=cache)._cache_paths("dense")
    return {".keras": model, ".json": record, ".frames.npz": frames}


def classifier_entry(cache) -> dict[str, Path]:
    return {p.name.split(".", 1)[1]: p for p in cache.glob("classifier-*")}


def dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def temporary_name(target: str, pid: int) -> str:
    """The name aelib._io.atomic_path gives a temporary of ``target`` written by ``pid``."""
    return f".{Path(target).stem}.{pid}-abc123_x.tmp{Path(target).suffix}"


# --------------------------------------------------------------------------
# ways to damage a file
# --------------------------------------------------------------------------
def cut_short(path, cache):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def emptied(path, cache):
    path.write_bytes(b"")


def garbage(path, cache):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def bytes_flipped(path, cache):  # same size, damaged in the middle
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def a_folder(path, cache):
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("a folder where a file goes")


def missing(path, cache):
    path.unlink()


def zip_of_garbage(path, cache):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "{not json")
        z.writestr("model.weights.h5", b"not hdf5")


def the_classifier(path, cache):  # another model's complete file
    shutil.copy(next(cache.glob("classifier-*.keras")), path)


def another_autoencoder(path, cache):
    aelib.conv_autoencoder(seed=0).save(path)


def a_dense_model_for_other_images(path, cache):
    aelib.dense_autoencoder(input_shape=(32, 32, 1), seed=0).save(path)


def the_dense_model(path, cache):
    shutil.copy(next(cache.glob("dense-*.keras")), path)


def other_frames(path, cache):  # the conv model's 101 frames
    with open(path, "wb") as f:
        np.savez_compressed(f, frames=np.zeros((101, 56, 224), np.uint8))


def no_frames_array(path, cache):
    with open(path, "wb") as f:
        np.savez(f, pictures=np.zeros((6, 56, 224), np.uint8))


def float_frames(path, cache):
    with open(path, "wb") as f:
        np.savez(f, frames=np.zeros((6, 56, 224), np.float32))


def edit_record(change):
    def damage(path, cache):
        record = json.loads(path.read_text())
        change(record)
        path.write_text(json.dumps(record))
    damage.__name__ = change.__name__
    return damage


def other_seed(record):
    record["config"]["seed"] = 1


def no_test_mse(record):
    record.pop("test_mse", None)
    record.pop("test_accuracy", None)


def mse_a_string(record):
    record["test_mse"] = record["test_accuracy"] = "0.03"


def no_train_seconds(record):
    del record["train_seconds"]


def files_not_a_dict(record):
    record["files"] = ["model", "frames"]


def not_a_dict(path, cache):
    path.write_text("[1, 2, 3]\n")


def no_config(path, cache):
    path.write_text('{"test_mse": 0.02}\n')


def nan_config(path, cache):
    path.write_text('{"config": NaN, "test_mse": 0.02}\n')


def legacy(record):  # written before records held digests
    del record["files"]


ANY_FILE = [cut_short, emptied, garbage, a_folder, missing]
DAMAGES = (
    [(".keras", d) for d in ANY_FILE + [bytes_flipped, zip_of_garbage, the_classifier,
                                        another_autoencoder]]
    + [(".frames.npz", d) for d in ANY_FILE + [bytes_flipped, other_frames, no_frames_array,
                                                float_frames]]
    + [(".json", d) for d in ANY_FILE + [edit_record(other_seed), edit_record(no_test_mse),
                                          edit_record(mse_a_string),
                                          edit_record(no_train_seconds), not_a_dict, no_config,
                                          nan_config]]
)
# without digests in the record, the files' own checks must catch the damage
LEGACY_DAMAGES = (
    [(".keras", d) for d in ANY_FILE + [zip_of_garbage, the_classifier, another_autoencoder]]
    + [(".frames.npz", d) for d in ANY_FILE + [bytes_flipped, other_frames, no_frames_array,
                                                float_frames]]
)


def ids(cases):
    return [f"{suffix}-{damage.__name__}" for suffix, damage in cases]


def assert_one_miss_line(messages, stem, name, who="dense autoencoder"):
    assert len(messages) == 1, messages
    line = messages[0]
    assert line.startswith(f"{who}: cache entry {stem} unusable (") and name in line
    assert line.endswith("; training it again") and "\n" not in line


def miss_line(cache, sample, suffix, damage, *, without_digests=False) -> str:
    """Damage the cached dense entry's ``suffix`` file: the one line its miss says."""
    files = entry(cache, sample)
    if without_digests:  # a record from before digests: the files themselves are checked
        edit_record(legacy)(files[".json"], cache)
    damage(files[suffix], cache)
    messages = []
    assert run_on(cache, sample, messages)._load_cached("dense") is None
    assert_one_miss_line(messages, files[".keras"].stem, files[suffix].name)
    return messages[0]


# --------------------------------------------------------------------------
# the model cache through the Python API
# --------------------------------------------------------------------------
class TestDamagedCacheEntry:
    def test_an_intact_entry_is_taken(self, cache, sample):
        messages = []
        trained = run_on(cache, sample, messages)._load_cached("dense")
        dense = MODELS["dense"]  # quick mode: trained on the sample less its validation split
        expected_frames = dense.n_frames(len(sample.split_validation()[0]), dense.quick_epochs)
        assert trained is not None and len(trained.frames) == expected_frames > 6
        name = entry(cache, sample)[".keras"].name
        assert messages == [f"dense autoencoder: from the cache ({name}, "
                            f"test MSE {trained.info['test_mse']:.4f})"]

    def test_an_entry_recorded_before_digests_is_still_taken(self, cache, sample):
        edit_record(legacy)(entry(cache, sample)[".json"], cache)
        assert run_on(cache, sample)._load_cached("dense") is not None

    @pytest.mark.parametrize("suffix, damage", DAMAGES, ids=ids(DAMAGES))
    def test_is_a_miss_said_in_one_line(self, cache, sample, suffix, damage):
        miss_line(cache, sample, suffix, damage)

    @pytest.mark.parametrize("suffix, damage", LEGACY_DAMAGES, ids=ids(LEGACY_DAMAGES))
    def test_is_a_miss_without_digests_too(self, cache, sample, suffix, damage):
        miss_line(cache, sample, suffix, damage, without_digests=True)

    @pytest.mark.parametrize("suffix, damage, legacy_record, reason", [
        (".keras", a_dense_model_for_other_images, True,
         "takes images of shape (32, 32, 1), not (28, 28, 1)"),
        (".json", edit_record(files_not_a_dict), False, "is not an aelib cache record"),
    ], ids=["model for other images", "digests not a dict"])
    def test_the_miss_says_why(self, cache, sample, suffix, damage, legacy_record, reason):
        assert reason in miss_line(cache, sample, suffix, damage, without_digests=legacy_record)

    def test_model_trains_again_when_the_entry_is_a_miss(self, cache, sample):
        garbage(entry(cache, sample)[".json"], cache)
        with pytest.raises(_Trained):
            run_on(cache, sample).model("dense")

    def test_no_entry_at_all_is_a_plain_miss(self, tmp_path, sample):
        messages = []
        assert run_on(tmp_path / "empty", sample, messages)._load_cached("dense") is None
        assert messages == []  # nothing to say: nothing was there

    def test_retrain_ignores_even_a_damaged_entry(self, cache, sample):
        garbage(entry(cache, sample)[".json"], cache)
        messages = []
        run = Run(sample, quick=True, cache_dir=cache, retrain=True, progress=messages.append)
        assert run._load_cached("dense") is None and messages == []


CLASSIFIER_DAMAGES = (  # (file, damage, record without digests)
    [(".keras", d, legacy) for d in ANY_FILE + [bytes_flipped, zip_of_garbage, the_dense_model]
     for legacy in (False, True)]
    + [(".json", d, False) for d in ANY_FILE + [edit_record(other_seed), edit_record(no_test_mse),
                                                 edit_record(mse_a_string), not_a_dict]]
)


class TestDamagedClassifierEntry:
    def test_an_intact_entry_is_taken(self, cache, sample, monkeypatch):
        monkeypatch.setattr("aelib.metrics.train_digit_classifier", _no_training)
        messages = []
        model, accuracy = run_on(cache, sample, messages).digit_classifier()
        assert model.name == "digit_classifier" and 0.5 < accuracy <= 1
        assert len(messages) == 1 and "digit classifier: from the cache" in messages[0]

    @pytest.mark.parametrize(
        "suffix, damage, legacy_record", CLASSIFIER_DAMAGES,
        ids=[f"{s}-{d.__name__}" + ("-no digests" if legacy else "")
             for s, d, legacy in CLASSIFIER_DAMAGES])
    def test_is_a_miss_said_in_one_line(self, cache, sample, monkeypatch, suffix, damage,
                                        legacy_record):
        monkeypatch.setattr("aelib.metrics.train_digit_classifier", _no_training)
        files = classifier_entry(cache)
        if legacy_record:
            edit_record(legacy)(files["json"], cache)
        damage(files[suffix[1:]], cache)
        messages = []
        with pytest.raises(_Trained):
            run_on(cache, sample, messages).digit_classifier()
        assert_one_miss_line(messages, files["keras"].stem, files[suffix[1:]].name,
                             who="digit classifier")


class TestCacheThatCannotBeWritten:
    """The cache is only a cache: failing to write it costs the caching, not the run."""

    def trained(self, cache, sample):
        return run_on(cache, sample)._load_cached("dense")

    def test_a_file_where_the_cache_folder_goes(self, cache, sample, tmp_path):
        not_a_folder = tmp_path / "cache-file"
        not_a_folder.write_text("a file, not a folder")
        messages = []
        run = run_on(not_a_folder, sample, messages)
        assert run._load_cached("dense") is None and messages == []
        run._save_cached("dense", self.trained(cache, sample))
        assert messages == [f"dense autoencoder: not cached ({not_a_folder} is a file, not a "
                            "folder); carrying on without the cache"]
        assert not_a_folder.read_text() == "a file, not a folder"

    def test_a_folder_refusing_writes(self, cache, sample, tmp_path, monkeypatch):
        trained = self.trained(cache, sample)
        folder = tmp_path / "read-only"
        folder.mkdir()

        def refused(*args, dir=None, **kwargs):  # what a read-only folder answers
            raise PermissionError(13, "Permission denied", str(dir))

        monkeypatch.setattr("aelib._io.tempfile.mkstemp", refused)
        messages = []
        run_on(folder, sample, messages)._save_cached("dense", trained)
        assert messages == [f"dense autoencoder: not cached (cannot write to {folder}: Permission "
                            "denied); carrying on without the cache"]
        assert list(folder.iterdir()) == []

    @pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                        reason="root writes into read-only folders")
    def test_a_read_only_folder(self, cache, sample):
        trained = self.trained(cache, sample)
        before = sorted(p.name for p in cache.iterdir())
        garbage(entry(cache, sample)[".json"], cache)
        cache.chmod(0o555)
        try:
            messages = []
            run = run_on(cache, sample, messages)
            assert run._load_cached("dense") is None
            run._save_cached("dense", trained)
            assert "not cached (cannot write to" in messages[-1]
            assert sorted(p.name for p in cache.iterdir()) == before
        finally:
            cache.chmod(0o755)

    def test_the_entry_replaces_a_folder_in_its_place(self, cache, sample, tmp_path):
        trained = self.trained(cache, sample)
        fresh = tmp_path / "fresh"
        files = entry(fresh, sample)
        fresh.mkdir()
        for path in files.values():
            path.mkdir()
            (path / "inside.txt").write_text("x")
        run_on(fresh, sample)._save_cached("dense", trained)
        assert all(path.is_file() for path in files.values())
        assert run_on(fresh, sample)._load_cached("dense") is not None


# --------------------------------------------------------------------------
# temporaries a killed run leaves
# --------------------------------------------------------------------------
class TestStaleTemporaries:
    def test_those_of_dead_writers_go_those_of_live_ones_stay(self, tmp_path):
        dead, live = dead_pid(), os.getpid()
        stale = [temporary_name("dense-0123abcd.keras", dead),
                 temporary_name("k_auto0.png", dead), temporary_name("report.md", dead)]
        kept = [temporary_name("dense-0123abcd.keras", live), temporary_name("k_auto0.png", live),
                ".hidden", "notes.tmp", f".k_auto0.{dead}.tmp.png", "k_auto0.png", "README.md"]
        for name in stale + kept:
            (tmp_path / name).write_bytes(b"x")
        assert all(is_temporary(name) for name in stale)
        removed = remove_stale_temporaries(tmp_path)
        assert sorted(p.name for p in removed) == sorted(stale)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)

    def test_a_missing_folder_is_nothing_to_clean(self, tmp_path):
        assert remove_stale_temporaries(tmp_path / "missing") == []

    def test_writing_a_file_clears_its_own_stale_temporaries_only(self, tmp_path):
        dead = dead_pid()
        mine, other = temporary_name("a.png", dead), temporary_name("b.png", dead)
        for name in (mine, other):
            (tmp_path / name).write_bytes(b"x")
        with atomic_path(tmp_path / "a.png") as tmp:
            tmp.write_bytes(b"new")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.png", other])

    def test_the_cache_never_takes_them_and_clears_them_when_it_writes(self, cache, sample,
                                                                         tmp_path):
        trained = run_on(cache, sample)._load_cached("dense")
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        files = entry(fresh, sample)
        dead = dead_pid()
        for path in files.values():  # whole files, under their temporary names
            shutil.copy(entry(cache, sample)[path.name[path.name.index("."):]],
                        fresh / temporary_name(path.name, dead))
        messages = []
        run = run_on(fresh, sample, messages)
        assert run._load_cached("dense") is None and messages == []
        run._save_cached("dense", trained)
        assert sorted(p.name for p in fresh.iterdir()) == sorted(p.name for p in files.values())


# --------------------------------------------------------------------------
# aelib.load_autoencoder on damaged and foreign files
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved")
    aelib.dense_autoencoder(seed=0).save(folder / "dense.keras")
    aelib.metrics.digit_classifier((28, 28, 1), 10, seed=0).save(folder / "classifier.keras")
    return folder


LOAD_DAMAGES = [cut_short, emptied, garbage, a_folder, zip_of_garbage, the_classifier]


class TestLoadAutoencoder:
    @pytest.mark.parametrize("damage", LOAD_DAMAGES, ids=[d.__name__ for d in LOAD_DAMAGES])
    def test_a_damaged_or_foreign_file_is_one_clear_value_error(self, saved_models, tmp_path,
                                                                 damage):
        path = tmp_path / "model.keras"
        shutil.copy(saved_models / "dense.keras", path)
        (tmp_path / "classifier-x.keras").symlink_to(saved_models / "classifier.keras")
        damage(path, tmp_path)
        with pytest.raises(ValueError) as info:
            aelib.load_autoencoder(path)
        message = str(info.value)
        assert message.startswith(f"path: {str(path)!r} ") and "\n" not in message
        assert "File not found" not in message

    def test_another_format_under_a_keras_name(self, tmp_path):
        path = tmp_path / "frames.keras"
        with open(path, "wb") as f:
            np.savez(f, frames=np.zeros((2, 4, 4), np.uint8))  # a zip, but no model in it
        with pytest.raises(ValueError, match=r"frames\.keras' is not a readable \.keras file"):
            aelib.load_autoencoder(path)

    def test_a_missing_file_is_file_not_found(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="nope.keras"):
            aelib.load_autoencoder(tmp_path / "nope.keras")

    def test_a_whole_file_still_loads(self, saved_models):
        ae = aelib.load_autoencoder(saved_models / "dense.keras")
        assert ae.kind == "dense" and ae.input_shape == (28, 28, 1)


# --------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------
class TestCommandOnADamagedCache:
    @pytest.mark.parametrize("suffix, damage", [(".keras", cut_short), (".json", garbage),
                                                (".frames.npz", a_folder)],
                             ids=["model cut short", "record not JSON", "frames a folder"])
    def test_trains_again_replaces_the_entry_and_draws(self, cache, sample, tmp_path, capsys,
                                                       suffix, damage):
        files = entry(cache, sample)
        damage(files[suffix], cache)
        out = tmp_path / "out"
        code = cli.main(["figures", "--quick", "--only", "3", "--out", str(out),
                         "--cache", str(cache)])
        captured = capsys.readouterr()
        assert code == 0 and captured.err == ""
        unusable = [line for line in captured.out.splitlines() if "unusable" in line]
        assert len(unusable) == 1 and files[suffix].name in unusable[0]
        assert "dense autoencoder: epoch 1/" in captured.out
        assert iio.imread(out / FIGURE).shape[:2] == (200, 650)
        # the entry is whole again: the next run takes it
        assert run_on(cache, sample)._load_cached("dense") is not None
        assert not any(is_temporary(p.name) for p in cache.iterdir())

    def test_a_file_as_the_cache_still_draws(self, tmp_path, capsys):
        not_a_folder = tmp_path / "cache"
        not_a_folder.write_text("not a folder")
        code = cli.main(["figures", "--quick", "--only", "3", "--out", str(tmp_path / "out"),
                         "--cache", str(not_a_folder)])
        stdout = capsys.readouterr().out
        assert code == 0
        assert "dense autoencoder: not cached (" in stdout
        assert (tmp_path / "out" / FIGURE).is_file()

    def test_output_folder_is_cleared_of_stale_temporaries(self, trained_cache, tmp_path, capsys):
        out = tmp_path / "out"
        out.mkdir()
        dead = dead_pid()
        (out / temporary_name(FIGURE, dead)).write_bytes(b"half a png")
        (out / temporary_name("README.md", dead)).write_bytes(b"half a gallery")
        assert cli.main(["figures", "--quick", "--only", "3", "--out", str(out),
                         "--cache", str(trained_cache)]) == 0
        assert "from the cache" in capsys.readouterr().out
        assert [p.name for p in out.iterdir()] == [FIGURE]


def mnist_file(folder: Path, name="data", **change) -> Path:
    """The embedded sample as a --data file, with some arrays changed (None: left out)."""
    with np.load(sample_path(), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(change)
    path = folder / f"{name}.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def _sample(key):
    with np.load(sample_path(), allow_pickle=False) as f:
        return f[key]


X, Y = _sample("x_train"), _sample("y_train")
XT, YT = _sample("x_test"), _sample("y_test")
BAD_DATA = [
    ("images 32x32", dict(x_train=np.zeros((6000, 32, 32), np.uint8)),
     "x_train must hold MNIST's 28x28 grey images"),
    ("test images 32x32", dict(x_test=np.zeros((1000, 32, 32, 1), np.uint8)),
     "x_test must hold MNIST's 28x28 grey images"),
    ("colour images", dict(x_train=np.zeros((6000, 28, 28, 3), np.uint8)),
     "x_train must hold MNIST's 28x28 grey images"),
    ("flat images", dict(x_train=X.reshape(6000, 784)), "x_train must have rank 3"),
    ("int64 pixels", dict(x_train=X.astype(np.int64)),
     "x_train must be uint8 pixels or floats in [0, 1]"),
    ("float pixels 0..255", dict(x_train=X.astype(np.float32)),
     "x_train must be floats in [0, 1], got values in [0, 255]"),
    ("negative floats", dict(x_test=XT / 255.0 - 0.5), "x_test must be floats in [0, 1]"),
    ("NaN pixels", dict(x_train=np.where(X > 250, np.nan, X / 255.0)), "x_train must be finite"),
    ("labels 1..10", dict(y_train=Y + 1),
     "y_train must hold digit labels 0..9, got values in [1, 10]"),
    ("negative labels", dict(y_test=YT.astype(np.int64) - 1),
     "y_test must hold digit labels 0..9"),
    ("float labels", dict(y_train=Y.astype(float)),
     "y_train must be a 1-D array of integer labels"),
    ("one-hot labels", dict(y_train=np.eye(10, dtype=np.uint8)[Y]),
     "y_train must be a 1-D array of integer labels"),
    ("labels short", dict(y_test=YT[:10]), "y_test must have one label per image"),
    ("no training images", dict(x_train=X[:0], y_train=Y[:0]), "x_train is empty"),
    ("150 training images", dict(x_train=X[:150], y_train=Y[:150]),
     "x_train holds 150 images; the figures and the report need at least 1,000 training and "
     "200 test images"),
    ("50 test images", dict(x_test=XT[:50], y_test=YT[:50]), "x_test holds 50 images"),
    ("no 7s", dict(y_test=np.where(YT == 7, 1, YT)), "y_test has no image of digit 7"),
    ("no y_test", dict(y_test=None), "is not an MNIST npz: expected keys"),
]


class TestBadDataFile:
    """Everything wrong with --data is found before training: one line, exit 2, nothing written."""

    @pytest.fixture(autouse=True)
    def no_training(self, monkeypatch):
        monkeypatch.setattr("aelib.cache.Run._train", _no_training)
        monkeypatch.setattr("aelib.metrics.train_digit_classifier", _no_training)

    def refused(self, folder, capsys, *args):
        before = sorted(p.name for p in folder.iterdir())
        code = cli.main(list(args))
        err = capsys.readouterr().err
        assert code == 2
        assert err.startswith("aelib: error: --data: ") and err.count("\n") == 1
        assert sorted(p.name for p in folder.iterdir()) == before  # no assets/, no cache
        return err

    @pytest.mark.parametrize("change, message", [c[1:] for c in BAD_DATA],
                             ids=[c[0] for c in BAD_DATA])
    def test_figures(self, tmp_path, monkeypatch, capsys, change, message):
        monkeypatch.chdir(tmp_path)
        path = mnist_file(tmp_path, **change)
        err = self.refused(tmp_path, capsys, "figures", "--only", "3", "--data", str(path))
        assert message in err and repr(str(path)) in err

    @pytest.mark.parametrize("change, message", [c[1:] for c in BAD_DATA[:1] + BAD_DATA[-4:-1]],
                             ids=[c[0] for c in BAD_DATA[:1] + BAD_DATA[-4:-1]])
    def test_report(self, tmp_path, monkeypatch, capsys, change, message):
        monkeypatch.chdir(tmp_path)
        path = mnist_file(tmp_path, **change)
        assert message in self.refused(tmp_path, capsys, "report", "--data", str(path))

    @pytest.mark.parametrize("content", [b"", b"PK\x03\x04 cut", b"\x93NUMPY garbage"],
                             ids=["empty", "zip cut short", "npy cut short"])
    def test_unreadable_files(self, tmp_path, monkeypatch, capsys, content):
        monkeypatch.chdir(tmp_path)
        (tmp_path / "data.npz").write_bytes(content)
        err = self.refused(tmp_path, capsys, "figures", "--data", "data.npz")
        assert "'data.npz' is not a readable .npz file" in err

    def test_a_folder(self, tmp_path, monkeypatch, capsys):
        monkeypatch.chdir(tmp_path)
        (tmp_path / "mnist").mkdir()
        err = self.refused(tmp_path, capsys, "figures", "--data", "mnist")
        assert "'mnist' is a folder, not an .npz file" in err

    def test_a_file_cut_short(self, tmp_path, monkeypatch, capsys):
        monkeypatch.chdir(tmp_path)
        path = mnist_file(tmp_path)
        cut_short(path, tmp_path)
        assert "is not a readable .npz file" in self.refused(tmp_path, capsys, "figures",
                                                             "--data", str(path))

    def test_the_environment_variable_is_checked_the_same_way(self, tmp_path, monkeypatch,
                                                              capsys):
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("AELIB_MNIST", str(mnist_file(tmp_path, y_train=Y + 1)))
        before = sorted(p.name for p in tmp_path.iterdir())
        assert cli.main(["figures", "--only", "3"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("aelib: error: $AELIB_MNIST: ") and err.count("\n") == 1
        assert "y_train must hold digit labels 0..9" in err
        assert sorted(p.name for p in tmp_path.iterdir()) == before


class TestLoadMnistChecks:
    def test_images_must_be_28x28(self, tmp_path):
        with pytest.raises(ValueError, match=r"x_train must hold MNIST's 28x28 grey images.*"
                                             r"\(6000, 32, 32\)"):
            aelib.load_mnist(mnist_file(tmp_path, x_train=np.zeros((6000, 32, 32), np.uint8)))

    def test_labels_must_be_digits(self, tmp_path):
        with pytest.raises(ValueError, match=r"y_test must hold digit labels 0..9, got values "
                                             r"in \[0, 12\]"):
            aelib.load_mnist(mnist_file(tmp_path, y_test=np.where(YT == 9, 12, YT)))


# --------------------------------------------------------------------------
# a killed run, then two runs at once on one cache and one output folder
# --------------------------------------------------------------------------
def figures_process(cache, out, cwd, stderr=subprocess.PIPE):
    return subprocess.Popen(
        [sys.executable, "-m", "aelib", "figures", "--quick", "--only", "3",
         "--cache", str(cache), "--out", str(out)],
        cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, text=True,
    )


def test_a_killed_run_then_two_runs_at_once(tmp_path, sample):
    cache, out = tmp_path / "cache", tmp_path / "out"
    # kill -9 while the dense model trains, once its first epoch is backed up
    files = entry(cache, sample)
    backup = files[".keras"].with_suffix(".backup")
    victim = figures_process(cache, out, tmp_path, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    for line in victim.stdout:
        if line.startswith("dense autoencoder: epoch 1/") or time.monotonic() > deadline:
            break
    while not (backup / "training_metadata.json").exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # Keras's BackupAndRestore writes it after the epoch's callbacks
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    assert not (out / FIGURE).exists()
    assert (backup / "aelib-progress.npz").is_file()
    # what a kill during a write leaves: hidden temporaries of a dead process
    cache.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    for path in files.values():
        path.with_name(temporary_name(path.name, victim.pid)).write_bytes(b"half")
    (out / temporary_name(FIGURE, victim.pid)).write_bytes(b"half")

    runs = [figures_process(cache, out, tmp_path) for _ in range(2)]
    results = [proc.communicate(timeout=600) for proc in runs]
    for proc, (stdout, stderr) in zip(runs, results):
        assert proc.returncode == 0, stderr
        assert "Traceback" not in stderr
    # one of them takes up the backup, the other trains without one; neither leaves it
    resumed = [f"dense autoencoder: resuming from its backup ({backup.name})" in out_
               for out_, _ in results]
    assert sorted(resumed) == [False, True], results
    assert [p.name for p in out.iterdir()] == [FIGURE]
    assert iio.imread(out / FIGURE).shape[:2] == (200, 650)
    assert sorted(p.name for p in cache.iterdir()) == sorted(p.name for p in files.values())
    messages = []
    assert run_on(cache, sample, messages)._load_cached("dense") is not None
    assert "from the cache" in messages[0]
