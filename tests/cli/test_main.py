import pytest
from click.testing import CliRunner

import eokit
from eokit.cli.main import COMMANDS, cli


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and eokit.__version__ in result.output


def test_help_lists_every_family():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_registered_families_load():
    import importlib.util

    runner = CliRunner()
    for name, (module, _) in COMMANDS.items():
        if importlib.util.find_spec(module) is None:
            continue
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, result.output


def test_eokit_error_is_one_line_and_nonzero(monkeypatch):
    import click

    from eokit.errors import InputNotFoundError

    @cli.command("_boom")
    def _boom():
        raise InputNotFoundError("no such file", path="/x/pop.tif")

    try:
        result = CliRunner().invoke(cli, ["_boom"])
        assert result.exit_code == 3
        lines = [line for line in result.output.splitlines() if line]
        assert lines == ["eokit: error: /x/pop.tif: no such file"]
        verbose = CliRunner().invoke(cli, ["-v", "_boom"])
        assert verbose.exit_code == 3 and "Traceback" in verbose.output
    finally:
        cli.commands.pop("_boom", None)
    assert isinstance(cli, click.Group)


@pytest.mark.parametrize(("flags", "expected"), [(["-q"], 40), (["-vv"], 10), ([], 30)])
def test_log_levels(flags, expected):
    import logging

    @cli.command("_noop")
    def _noop():
        pass

    try:
        result = CliRunner().invoke(cli, [*flags, "_noop"])
        assert result.exit_code == 0
        assert logging.getLogger("eokit").level == expected
    finally:
        cli.commands.pop("_noop", None)


def test_output_piped_into_head_ends_quietly():
    """`eokit algo indices --list | head -1`: the reader closing the pipe is no error to report."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "eokit", "algo", "indices", "--list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # the first line, as `head -1` reads it
    proc.stdout.close()
    err = proc.stderr.read().decode()
    # 1 when a write met the closed pipe; 0 when the whole listing (24 kB, within the pipe's buffer)
    # was written before the reader closed it (a race on a loaded machine): no message either way
    assert proc.wait(timeout=60) in (0, 1)
    assert err == "", err
