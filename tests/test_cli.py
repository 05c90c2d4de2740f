"""`python -m aelib`: arguments, errors and exit codes (the figures and the report are tested in their own files)."""

from __future__ import annotations

import pytest

from aelib import cli
from aelib.figures import FIGURES


class TestErrors:
    """Bad arguments: one line, exit code 2, nothing written."""

    @pytest.mark.parametrize(
        "args, message",
        [
            (["--only", "k_auto9"], "--only: unknown figure 'k_auto9'; known: k_auto0, "),
            (["--data", "{tmp}/missing.npz"], "--data: no file at "),
            (["--data", "{tmp}/corrupt.npz"], "is not a readable .npz file"),
            (["--out", "{tmp}/a_file/figures"], "--out: "),
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
