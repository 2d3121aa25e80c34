"""Shared options: --out checks, deprecated aliases, progress bars."""

from __future__ import annotations

import io
import logging

import click
import pytest
from click.testing import CliRunner

from eokit.cli import _logging
from eokit.cli._options import UNKNOWN_TOTAL, check_output_path, deprecated_alias, out_option, progress_bar


def test_check_output_path(tmp_path):
    (tmp_path / "file.tif").write_bytes(b"x")
    assert check_output_path(tmp_path / "a" / "b" / "x.tif", kind="file", extensions=(".tif",)) is None
    assert check_output_path(tmp_path, kind="file") is not None
    assert check_output_path(tmp_path / "file.tif", kind="folder") is not None
    assert check_output_path(tmp_path / "file.tif" / "x.tif", kind="file") is not None  # parent is a file
    assert check_output_path(tmp_path / "x", kind="file", extensions=(".tif",)) is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.tif"]  # the probe leaves nothing


def test_deprecated_alias_sets_the_new_option_and_warns(tmp_path, caplog):
    @click.command()
    @out_option(kind="folder", deprecated=("--out-dir",))
    @click.option("--units", default=None, help="u")
    @deprecated_alias("--unit", "units", "--units")
    def cmd(out, units):
        click.echo(f"{out} {units}")

    runner = CliRunner()
    with caplog.at_level(logging.WARNING, logger="eokit.cli"):
        result = runner.invoke(cmd, ["--out-dir", str(tmp_path), "--unit", "pixels"])
    assert result.exit_code == 0 and result.stdout.strip() == f"{tmp_path} pixels"
    assert [r.getMessage().split()[0] for r in caplog.records] == ["--out-dir", "--unit"]
    assert runner.invoke(cmd, ["--out", str(tmp_path)]).stdout.strip() == f"{tmp_path} None"
    missing = runner.invoke(cmd, [])
    assert missing.exit_code == 2 and isinstance(missing.exception, SystemExit)
    help_text = runner.invoke(cmd, ["--help"]).output
    assert "--out-dir" not in help_text and "--unit " not in help_text and "[required]" in help_text


@pytest.mark.parametrize(("level", "shown"), [(0, True), (-1, False)])
def test_progress_bar_has_total_and_eta_and_is_quiet_with_q(monkeypatch, level, shown):
    import tqdm.auto

    stream = io.StringIO()
    real = tqdm.auto.tqdm

    def bar(*args, **kwargs):
        kwargs["file"] = stream
        if kwargs.get("disable") is None:
            kwargs["disable"] = False  # pretend stderr is a terminal
        return real(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", bar)
    monkeypatch.setitem(_logging._state, "verbosity", level)
    with progress_bar(4, "blocks", unit="block") as progress:
        for _ in range(4):
            progress(1)
    text = stream.getvalue()
    if shown:
        assert "0/4 block" in text and "00:00<" in text  # total, and elapsed<remaining: the ETA
    else:
        assert text == ""
    stream.truncate(0)
    with progress_bar(UNKNOWN_TOTAL, "files", unit="file") as progress:
        progress(2)
        progress.total = 5  # learnt later
        assert progress.total == 5
