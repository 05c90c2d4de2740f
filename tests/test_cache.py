"""The trained-model cache that `aelib figures` and `aelib report` share: reused where it
matches, never where it does not. (Damaged entries and faults: test_reliability.py.)"""

from __future__ import annotations

import shutil

import imageio.v3 as iio
import numpy as np
import pytest

from aelib import cli
from aelib.cache import Run
from aelib.figures import FIGURES, MODELS

DENSE = MODELS["dense"]


# Run once, on the suite's backend: what the cache does with a figure run's files does
# not depend on the backend. Each backend's cached files are saved and loaded under
# every backend in test_saving.py, and the notebook trains every model kind under each.
class TestCache:
    def test_one_figure_reuses_the_cached_model(self, quick_run, tmp_path, capsys):
        _, cache, _ = quick_run
        code = cli.main(["figures", "--quick", "--only", "k_auto0_gen", "--out", str(tmp_path),
                         "--cache", str(cache)])
        stdout = capsys.readouterr().out
        assert code == 0
        assert "from the cache" in stdout and "epoch 1/" not in stdout
        # the same model as the full quick run drew: the same pixels
        np.testing.assert_array_equal(iio.imread(tmp_path / "k_auto0_gen.png"),
                                      iio.imread(quick_run[0] / "k_auto0_gen.png"))

    def test_a_cache_for_other_settings_is_not_reused(self, quick_run, tmp_path, capsys):
        _, cache, _ = quick_run
        code = cli.main(["figures", "--quick", "--only", "k_auto0_gen", "--seed", "1",
                         "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache2")])
        assert code == 0
        assert f"epoch 1/{DENSE.quick_epochs}" in capsys.readouterr().out  # seed 1: trained anew

    def test_same_seed_gives_pixel_identical_pngs(self, quick_run, tmp_path):
        names = ["k_auto0_gen", "k_auto0_kerpca2d-all", "k_auto0_enc-hist"]
        assert cli.main(["figures", "--quick", "--retrain", "--only", *names,
                         "--out", str(tmp_path), "--cache", str(tmp_path / "cache")]) == 0
        for name in names:
            np.testing.assert_array_equal(iio.imread(tmp_path / f"{name}.png"),
                                          iio.imread(quick_run[0] / f"{name}.png"))

    def test_only_touches_only_that_file(self, quick_run, tmp_path):
        out = tmp_path / "out"
        out.mkdir()
        for spec in FIGURES.values():
            (out / spec.file).write_bytes(b"old")
        assert cli.main(["figures", "--quick", "--only", "3", "--out", str(out),
                         "--cache", str(quick_run[1])]) == 0
        changed = [p.name for p in out.iterdir() if p.read_bytes() != b"old"]
        assert changed == ["k_auto0_gen.png"]
        assert len(list(out.iterdir())) == len(FIGURES)  # no temporary file, no gallery


def dense_backup(run):
    """The dense model's backup folder, held while the ``with`` lasts."""
    return run._backup(run.cache_stem("dense", run.config("dense")), "dense")


class TestBackup:
    """The folder a cache entry's model keeps its BackupAndRestore backup in while it trains."""

    def stale_backup(self, run):
        with dense_backup(run) as backup:  # as a killed run leaves it
            (backup / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
            shutil.copytree(backup, backup.with_suffix(".kept"))
        shutil.copytree(backup.with_suffix(".kept"), backup)
        return backup

    def test_a_run_takes_up_a_killed_runs_backup_and_removes_it_after(self, tmp_path, sample):
        messages = []
        run = Run(sample, quick=True, cache_dir=tmp_path, progress=messages.append)
        backup = self.stale_backup(run)
        assert backup.name == run.cache_stem("dense", run.config("dense")).name + ".backup"
        with dense_backup(run) as held:
            assert held == backup and (held / "training_metadata.json").is_file()
            with dense_backup(run) as other:  # another run at the same time
                assert other is None  # trains without a backup
        assert messages == [f"dense: resuming from its backup ({backup.name})"]
        assert not backup.exists()

    def test_retrain_clears_the_backup(self, tmp_path, sample):
        messages = []
        run = Run(sample, quick=True, cache_dir=tmp_path, retrain=True, progress=messages.append)
        backup = self.stale_backup(run)
        with dense_backup(run) as held:
            assert held == backup and not any(held.iterdir())
        assert messages == []

    def test_no_backup_without_a_writable_cache(self, tmp_path, sample):
        (tmp_path / "file").write_text("not a folder")
        for cache in (None, tmp_path / "file"):
            run = Run(sample, quick=True, cache_dir=cache)
            with dense_backup(run) as held:
                assert held is None
