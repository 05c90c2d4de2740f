"""`python -m aelib`: arguments, errors and exit codes (the figures and the report are tested in their own files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aelib import cli
from aelib.data import sample_path
from aelib.figures import FIGURES

from conftest import other_data_file


class TestErrors:
    """Bad arguments: one line, exit code 2, nothing written."""

    @pytest.mark.parametrize(
        "args, message",
        [
            (["--only", "k_auto9"], "--only: unknown figure 'k_auto9'; known: k_auto0, "),
            (["--data", "{tmp}/missing.npz"], "--data: no file at "),
            (["--data", "{tmp}/corrupt.npz"], "is not a readable .npz file"),
            (["--out", "{tmp}/a_file/figures"], "--out: "),
            (["--quick", "--data", "{tmp}/corrupt.npz"], "with --quick, which runs on the embedded"),
        ],
    )
    def test_exit_2_and_nothing_written(self, args, message, tmp_path, capsys, monkeypatch):
        monkeypatch.chdir(tmp_path)
        (tmp_path / "corrupt.npz").write_bytes(b"not an npz")
        (tmp_path / "a_file").write_text("a file, not a folder")
        before = sorted(p.name for p in tmp_path.iterdir())
        code = cli.main(["figures", *[a.format(tmp=tmp_path) for a in args]])
        err = capsys.readouterr().err
        assert code == 2
        assert message in err and err.count("\n") == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == before

    def test_an_out_folder_refusing_writes_exits_2(self, tmp_path, capsys, monkeypatch):
        # simulated: the tests run as root, whom a read-only folder does not stop
        monkeypatch.setattr(cli.os, "access", lambda path, mode: False)
        out = tmp_path / "figures"
        assert cli.main(["figures", "--only", "1", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"--out: {str(out)!r} is not writable" in err and err.count("\n") == 1
        assert not out.exists()

    def test_argparse_errors_exit_2(self, capsys):
        with pytest.raises(SystemExit) as info:
            cli.main(["figures", "--seed", "many"])
        assert info.value.code == 2

    def test_list_names_every_figure(self, capsys):
        assert cli.main(["figures", "--list"]) == 0
        listing = capsys.readouterr().out
        assert all(spec.file in listing for spec in FIGURES.values())


class TestInterrupt:
    def test_the_command_reports_an_interrupt_with_exit_code_130(self, monkeypatch, capsys):
        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr("aelib.figures.regenerate", interrupted)
        assert cli.main(["figures", "--quick", "--only", "3"]) == 130
        assert "interrupted" in capsys.readouterr().err


class TestOtherData:
    """Data in MNIST's layout that is not MNIST (Fashion-MNIST, say): its own folder, never assets/."""

    @pytest.mark.parametrize("name, folder", [("fashion-mnist", "assets-fashion-mnist"),
                                              ("digits", "assets")])
    def test_the_default_folder_is_named_after_the_data(self, name, folder, tmp_path, monkeypatch,
                                                        capsys):
        monkeypatch.chdir(tmp_path)
        if name == "digits":  # MNIST in a file of any name is still MNIST: the article's folder
            with np.load(sample_path(), allow_pickle=False) as f:
                np.savez(tmp_path / "digits.npz", **{k: f[k] for k in f.files})
        else:
            other_data_file(tmp_path / f"{name}.npz")
        # figure 1 is drawn from the model's layers: nothing trains
        assert cli.main(["figures", "--data", f"{name}.npz", "--only", "1", "--cache", "cache"]) == 0
        start = capsys.readouterr().out.splitlines()[0]
        assert f"writing to {folder}/" in start and ("not MNIST" in start) == (folder != "assets")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([folder, f"{name}.npz"])
        assert [p.name for p in (tmp_path / folder).iterdir()] == ["k_auto0.png"]

    @pytest.mark.parametrize("command", ["figures", "report"])
    @pytest.mark.parametrize("out", ["assets", "./assets/", "{tmp}/assets"])
    def test_the_articles_folder_is_refused(self, command, out, tmp_path, monkeypatch, capsys):
        monkeypatch.chdir(tmp_path)
        other_data_file(tmp_path / "fashion-mnist.npz")
        before = sorted(p.name for p in tmp_path.iterdir())
        monkeypatch.setattr("aelib.cache.Run.__post_init__", lambda run: pytest.fail("a run began"))
        out = out.format(tmp=tmp_path)
        assert cli.main([command, "--data", "fashion-mnist.npz", "--out", out]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"aelib: error: --out: {str(Path(out))!r} holds the article's MNIST "
                              "figures, and 'fashion-mnist.npz' is not MNIST")
        assert err.count("\n") == 1
        assert "assets-fashion-mnist/" in err
        assert sorted(p.name for p in tmp_path.iterdir()) == before
