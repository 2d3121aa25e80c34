"""The CLI contract: every failure is one line ``eokit: error: WHAT: PROBLEM`` with a documented exit code."""

from __future__ import annotations

import errno
import json
import os
import socket
import warnings
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from eokit.cli import _errors
from eokit.cli._options import out_option
from eokit.cli.main import cli
from eokit.errors import FallbackWarning, InvalidInputError, OutputError, ProviderError
from eokit.io.atomic import atomic_path

RGB = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def command():
    """Register a throw-away command on the real group; remove it afterwards."""
    names: list[str] = []

    def register(func, *decorators):
        name = f"_t{len(names)}"
        for d in reversed(decorators):
            func = d(func)
        cli.command(name)(func)
        names.append(name)
        return name

    yield register
    for name in names:
        cli.commands.pop(name, None)


def _one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("eokit: error: "), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


def test_library_parameter_is_shown_as_the_option_the_user_typed(command):
    def run(grid_resolution):
        raise InvalidInputError("must be positive", param="grid_resolution")

    name = command(run, click.option("--grid-resolution", type=float, help="Cell size."))
    result = CliRunner().invoke(cli, [name, "--grid-resolution", "-1"])
    assert result.exit_code == _errors.EXIT_INPUT
    assert _one_error_line(result) == "eokit: error: --grid-resolution: must be positive"


@pytest.mark.parametrize(
    ("err", "code"),
    [
        (errno.ENOSPC, _errors.EXIT_RUNTIME),
        (errno.EACCES, _errors.EXIT_INPUT),
        (errno.EISDIR, _errors.EXIT_INPUT),
        (errno.ENOENT, _errors.EXIT_INPUT),
        (errno.EROFS, _errors.EXIT_INPUT),
        (errno.EIO, _errors.EXIT_RUNTIME),
    ],
)
def test_os_errors_name_the_option_and_the_output_not_the_temporary_name(command, tmp_path, err, code):
    target = tmp_path / "ndvi.tif"

    def run(out):
        with atomic_path(out) as tmp:
            raise OSError(err, os.strerror(err), str(tmp))

    name = command(run, out_option())
    result = CliRunner().invoke(cli, [name, "--out", str(target)])
    assert result.exit_code == code
    line = _one_error_line(result)
    assert line.startswith(f"eokit: error: --out {target}: ")
    assert ".part" not in line
    assert list(tmp_path.iterdir()) == []


def test_output_checked_before_work_starts(command, tmp_path):
    calls = []

    def run(out):
        calls.append(out)

    name = command(run, out_option(kind="file", extensions=(".tif", ".tiff")))
    runner = CliRunner()
    for value in ("/proc/ndvi.tif", str(tmp_path), str(tmp_path / "x.png"), str(tmp_path / "no" / "x.png")):
        result = runner.invoke(cli, [name, "--out", value])
        assert result.exit_code == _errors.EXIT_INPUT, value
        assert _one_error_line(result).startswith(f"eokit: error: --out: {value}: ")
    assert calls == []
    assert runner.invoke(cli, [name, "--out", str(tmp_path / "new" / "x.TIF")]).exit_code == 0
    assert calls == [str(tmp_path / "new" / "x.TIF")]


def test_real_command_with_unwritable_output(tmp_path, shared_dir):
    rgb = shared_dir / "data" / "samples" / "rasterio" / "RGB.byte.tif"
    if not rgb.exists():
        pytest.skip("../shared sample RGB.byte.tif not available")
    result = CliRunner().invoke(
        cli, ["algo", "index", "NDVI", str(rgb), "--red", "1", "--nir", "2", "-o", "/proc/x.tif"]
    )
    assert result.exit_code == _errors.EXIT_INPUT
    assert "--out" in _one_error_line(result)
    truncated = tmp_path / "cut.tif"
    truncated.write_bytes(rgb.read_bytes()[:4000])
    result = CliRunner().invoke(
        cli, ["algo", "index", "NDVI", str(truncated), "--red", "1", "--nir", "2", "-o", str(tmp_path / "n.tif")]
    )
    assert result.exit_code == _errors.EXIT_INPUT
    assert "cut.tif" in _one_error_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.tif"]


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (MemoryError(), _errors.EXIT_RUNTIME),
        (json.JSONDecodeError("Expecting value", "{x", 1), _errors.EXIT_INPUT),
        (ProviderError("search failed", status_code=503, url="http://127.0.0.1/x"), _errors.EXIT_REMOTE),
        (OutputError("cannot write", path="/x/y.tif"), _errors.EXIT_INPUT),
        (IndexError("index 1 is out of bounds"), _errors.EXIT_RUNTIME),
        (KeyboardInterrupt(), _errors.EXIT_INTERRUPTED),
        (click.Abort(), _errors.EXIT_RUNTIME),
    ],
)
def test_other_failures_are_one_line(command, exc, code):
    def run():
        raise exc

    name = command(run)
    result = CliRunner().invoke(cli, [name])
    assert result.exit_code == code
    _one_error_line(result)
    verbose = CliRunner().invoke(cli, ["-v", name])
    assert verbose.exit_code == code
    assert ("Traceback" in verbose.output) == (not isinstance(exc, KeyboardInterrupt))  # Ctrl-C is no bug


def test_library_errors_from_rasterio_pyproj_and_requests(command, tmp_path):
    import pyproj
    import rasterio
    import requests

    bad = tmp_path / "not-a-raster.tif"
    bad.write_bytes(b"this is text")

    def run(raster, crs, url):
        if raster:
            rasterio.open(raster)
        if crs:
            pyproj.CRS.from_user_input(crs)
        if url:
            requests.get(url, timeout=5)

    opts = (
        click.option("--raster", help="r"),
        click.option("--crs", help="c"),
        click.option("--url", help="u"),
    )
    name = command(run, *opts)
    runner = CliRunner()
    result = runner.invoke(cli, [name, "--raster", str(bad)])
    assert result.exit_code == _errors.EXIT_INPUT
    assert _one_error_line(result).startswith(f"eokit: error: --raster {bad}: ")
    result = runner.invoke(cli, [name, "--crs", "EPSG:99999999"])
    assert result.exit_code == _errors.EXIT_INPUT
    _one_error_line(result)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = runner.invoke(cli, [name, "--url", f"http://me:secret@127.0.0.1:{port}/x?token=t"])
    assert result.exit_code == _errors.EXIT_REMOTE
    line = _one_error_line(result)
    assert line.startswith(f"eokit: error: http://127.0.0.1:{port}/x: network request failed")
    assert "secret" not in line and "token" not in line


def test_json_and_point_cloud_errors_name_the_file_that_was_read(command, tmp_path):
    bad_json = tmp_path / "area.geojson"
    bad_json.write_text('{"type": "Feature", ')
    garbage = tmp_path / "points.las"
    garbage.write_bytes(b"not a las file at all" * 10)

    def run(geometry, points):
        if geometry:
            with open(geometry, encoding="utf-8") as fh:
                json.load(fh)
        if points:
            import laspy

            laspy.read(points)

    name = command(run, click.option("--geometry", help="g"), click.option("--points", help="p"))
    result = CliRunner().invoke(cli, [name, "--geometry", str(bad_json)])
    assert result.exit_code == _errors.EXIT_INPUT
    assert _one_error_line(result).startswith(f"eokit: error: --geometry {bad_json}: not valid JSON (line 1")
    binary = tmp_path / "area.bin"
    binary.write_bytes(bytes(range(128, 256)))
    result = CliRunner().invoke(cli, [name, "--geometry", str(binary)])
    assert result.exit_code == _errors.EXIT_INPUT
    assert _one_error_line(result).startswith(f"eokit: error: --geometry {binary}: not a text file")
    pytest.importorskip("laspy")
    result = CliRunner().invoke(cli, [name, "--points", str(garbage)])
    assert result.exit_code == _errors.EXIT_INPUT
    assert _one_error_line(result).startswith(f"eokit: error: --points {garbage}: cannot read the point cloud")


def test_bad_option_values_and_usage_errors_have_distinct_codes(command):
    name = command(lambda n: None, click.option("--n", type=click.IntRange(1, 9), help="n"))
    runner = CliRunner()
    bad_value = runner.invoke(cli, [name, "--n", "0"])
    assert bad_value.exit_code == _errors.EXIT_INPUT
    assert _one_error_line(bad_value).startswith("eokit: error: --n: ")
    unknown = runner.invoke(cli, [name, "--nope"])
    assert unknown.exit_code == _errors.EXIT_USAGE
    assert _one_error_line(unknown).endswith(f"see 'cli {name} --help'")
    top = runner.invoke(cli, ["--nope"])
    assert top.exit_code == _errors.EXIT_USAGE
    _one_error_line(top)
    assert len({_errors.EXIT_RUNTIME, _errors.EXIT_USAGE, _errors.EXIT_INPUT, _errors.EXIT_REMOTE}) == 4


@pytest.mark.parametrize("args", [[], ["algo"]])
def test_a_group_alone_shows_its_help(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == _errors.EXIT_USAGE
    assert result.stdout.startswith("Usage: ") and "eokit: error" not in result.output


def test_busy_port_is_one_line_without_banner(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", str(tmp_path), "--port", str(port)])
    assert result.exit_code == _errors.EXIT_INPUT
    assert _one_error_line(result).startswith("eokit: error: --port: ")


def test_quiet_silences_warnings_and_verbose_shows_them_without_source_lines(command, tmp_path):
    import numpy as np
    import rasterio

    plain = tmp_path / "plain.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(plain, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8") as ds:
            ds.write(np.zeros((1, 2, 2), "uint8"))

    def run():
        with rasterio.open(plain) as ds:  # NotGeoreferencedWarning
            ds.read(1)
        warnings.warn("datetime taken from the file time", FallbackWarning, stacklevel=1)

    name = command(run)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        quiet = CliRunner().invoke(cli, ["-q", name])
        default = CliRunner().invoke(cli, [name])
        verbose = CliRunner().invoke(cli, ["-v", name])
    assert quiet.exit_code == default.exit_code == verbose.exit_code == 0
    assert quiet.output == ""
    assert default.output.splitlines() == ["eokit: warning: datetime taken from the file time (FallbackWarning)"]
    lines = verbose.output.splitlines()
    assert any(line.endswith("(NotGeoreferencedWarning)") for line in lines), lines
    assert all(line.startswith("eokit: ") for line in lines), lines  # no source lines
