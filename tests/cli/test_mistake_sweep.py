"""The mistakes new users make, tried on every ``eokit`` command.

Every leaf command of the click tree is found by introspection. Each has a
*baseline*: a valid invocation on tiny real files (placeholders ``{raster}``,
``{out_tif}``... below). Mistakes are derived from the baseline and from the
command's click parameters, so a new command is covered without editing this
file (its baseline is then guessed from its parameter names and types):

- every input file of the baseline (and every optional input file option) given
  as a missing file, a folder, an empty file, garbage bytes, a text file, a URL
  nothing listens on and a real file of the wrong kind (a GeoJSON as a raster, a
  GeoTIFF as a vector, a LAS point cloud, a STAC item...);
- every output given as an existing folder, inside a file, with a wrong extension,
  as one of the command's inputs, and inside a folder that does not exist
  (created by design, or refused);
- every numeric option given as -1, 0, NaN, ±inf and a huge value, unless the
  value is meaningful for that option (``ACCEPTED``);
- wrong values of the text options that mean the same everywhere (``TEXT_MISTAKES``);
- every required argument and option left out.

Each mistake must end with exactly one line ``eokit: error: WHAT: PROBLEM`` that
names the option or file at fault, exit code 3 (2 for usage; 4 where a server
is asked), no traceback, no new file anywhere in the run's folders and no
existing file changed. Each baseline is run once too, so every case holds one
mistake only. The tables live in ``_mistakes.py``.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
from click.testing import CliRunner

from eokit.cli import _errors
from eokit.cli.main import cli
from eokit.io.atomic import is_temp_name

from ._mistakes import (
    ACCEPTED,
    BASELINES,
    CLOSED_PORT,
    EXTRA,
    FOLDERS,
    INPUT_KINDS,
    KNOWN_BUGS,
    LONG_RUNNING,
    NOT_MISTAKES,
    OPTIONAL_OUTPUTS,
    RASTERS,
    TEXT_FILE_INPUTS,
    TEXT_MISTAKES,
    TEXTS,
    VECTORS,
    write_inputs,
)
from .test_option_table import _commands

pytestmark = pytest.mark.filterwarnings("ignore")


@dataclass
class Case:
    command: str
    args: list[str]
    blame: list[str]  # the line must name one of these (option, argument metavar or file name)
    code: int = _errors.EXIT_INPUT
    may_succeed: str | None = None  # an output path that may instead be written (a missing folder is created)
    id: str = ""
    skip: str = ""
    marks: list[str] = field(default_factory=list)


COMMANDS = _commands()  # every leaf command, as the option table test walks them


def _label(p: click.Parameter) -> str:
    if isinstance(p, click.Argument):
        return (p.metavar or p.name or "").upper()
    longs = [o for o in p.opts if o.startswith("--")]
    return longs[0] if longs else p.opts[0]


def _is_path(p: click.Parameter) -> bool:
    return isinstance(p.type, click.Path)


def _is_output(command: str, p: click.Parameter) -> bool:
    return p.name == "out" or "out" in (p.name or "").split("_") or (command, _label(p)) in OPTIONAL_OUTPUTS


def _guess_baseline(cmd: click.Command) -> list[str]:
    """A baseline for a command not in BASELINES: every required parameter filled by its type and name."""
    args: list[str] = []
    for p in cmd.params:
        if not p.required and p.name != "out":
            continue
        if p.name == "out":
            value = "{out_dir}" if isinstance(p.type, click.Path) and not p.type.file_okay else "{out_tif}"
        elif _is_path(p):
            folder = not p.type.file_okay  # type: ignore[attr-defined]
            value = "{tree}" if folder else ("{zones}" if "zone" in (p.name or "") else "{raster}")
        elif isinstance(p.type, click.types.IntParamType | click.types.FloatParamType):
            value = "1"
        elif isinstance(p.type, click.Choice):
            value = str(p.type.choices[0])
        else:
            value = "x"
        values = [value] * max(p.nargs, 1)
        args += values if isinstance(p, click.Argument) else [_label(p), *values]
    return args


def _baseline(command: str) -> list[str]:
    return list(BASELINES.get(command) or _guess_baseline(COMMANDS[command]))


def _params_by_label(cmd: click.Command) -> dict[str, click.Parameter]:
    return {o: p for p in cmd.params for o in (*p.opts, *getattr(p, "secondary_opts", []))}


def _owner(cmd: click.Command, args: list[str], index: int) -> click.Parameter | None:
    """The parameter that holds ``args[index]`` (an option's value, or a positional argument's)."""
    by_label = _params_by_label(cmd)
    owner: dict[int, click.Parameter] = {}
    positional: list[int] = []
    i = 0
    while i < len(args):
        p = by_label.get(args[i])
        if p is None:
            positional.append(i)
            i += 1
            continue
        n = 0 if getattr(p, "is_flag", False) or getattr(p, "count", False) else p.nargs
        owner.update({i + k: p for k in range(1, n + 1)})
        i += 1 + n
    arguments = [p for p in cmd.params if isinstance(p, click.Argument)]
    free = len(positional) - sum(p.nargs for p in arguments if p.nargs > 0)
    cursor = 0
    for p in arguments:
        n = free if p.nargs < 0 else p.nargs
        owner.update(dict.fromkeys(positional[cursor : cursor + n], p))
        cursor += n
    return owner.get(index)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# The mistakes tried on an input file of each kind: (id, fixture that replaces it).
_WRONG_KIND = {**dict.fromkeys(RASTERS, "geojson"), **dict.fromkeys(VECTORS, "tif"), **dict.fromkeys(TEXTS, "tif")}
_WRONG_KIND["csv"] = "geojson"


def _input_mistakes(kind: str, product: bool = False) -> list[tuple[str, str]]:
    if kind in FOLDERS:
        return [("missing", "missing_dir"), ("file-for-folder", "raster"), ("empty-folder", "empty_dir")]
    out = [("missing", "missing"), ("folder", "empty_dir"), ("empty", "empty"), ("garbage", "garbage")]
    out.append(("unreachable-url", "url"))
    out.append(("text", "text"))
    out.append(("wrong-kind", _WRONG_KIND.get(kind, "geojson")))
    if kind in RASTERS | VECTORS:  # a point cloud, and a STAC item, where a raster or a vector file is expected
        out += [("point-cloud", "las")]
        if not product:  # commands that read products take STAC items by design
            out.append(("stac-item", "stac_item"))
    return out


def _output_mistakes(kind: str) -> list[tuple[str, str]]:
    if kind == "out_dir":
        return [("out-is-file", "existing_file"), ("out-under-file", "under_file")]
    ext = {"out_tif": ".tif", "out_csv": ".csv", "out_gpkg": ".gpkg", "out_json": ".json"}.get(kind, "")
    cases = [("out-is-folder", "existing_dir"), ("out-under-file", "under_file"), ("out-missing-folder", "new_dir")]
    if ext:
        cases.append(("out-wrong-ext", "wrong_ext"))
    return cases


def _numbers(command: str, p: click.Parameter) -> list[str]:
    integer = isinstance(p.type, click.types.IntParamType)
    values = ["-1", "0", str(10**30)] if integer else ["-1", "0", "nan", "inf", "-inf", "1e308"]
    accepted = ACCEPTED.get((command, _label(p)), ACCEPTED.get(_label(p), set()))
    return [v for v in values if v not in accepted]


def _cases() -> list[Case]:
    cases: list[Case] = []
    for command, cmd in sorted(COMMANDS.items()):
        base = _baseline(command)
        blame_out = ["--out", "OUT"]
        # input and output files of the baseline
        for i, a in enumerate(base):
            for kind in _PLACEHOLDER.findall(a):
                owner = _owner(cmd, base, i)
                label = _label(owner) if owner is not None else ""
                product = owner is not None and type(owner.type).__name__ == "_InputOrUrl"  # a product or a URL
                mistakes = _output_mistakes(kind) if kind.startswith("out_") else _input_mistakes(kind, product)
                for mid, fixture in mistakes:
                    args = [*base[:i], a.replace("{" + kind + "}", "{!" + fixture + ":" + kind + "}"), *base[i + 1 :]]
                    blame = [label, *(blame_out if kind.startswith("out_") else [])]
                    cases.append(Case(command, args, blame, id=f"{label or kind}-{mid}"))
                first_input = next((j for j, b in enumerate(base) if _PLACEHOLDER.fullmatch(b) and b[1:-1] in
                                    RASTERS | VECTORS | TEXTS), None)  # fmt: skip
                if kind.startswith("out_") and kind != "out_dir" and first_input is not None:
                    # the output is one of the inputs: refused before the rename replaces the input
                    args = list(base)
                    args[first_input] = args[i] = "{!copy:" + base[first_input][1:-1] + "}"
                    cases.append(Case(command, args, [label, *blame_out], id=f"{label}-is-input"))
        # optional inputs and outputs the baseline does not use
        given = {a for a in base if a.startswith("-")}
        for p in cmd.params:
            if not isinstance(p, click.Option) or p.hidden or set(p.opts) & given:
                continue
            label = _label(p)
            out_kind = OPTIONAL_OUTPUTS.get((command, label))
            if out_kind:
                for mid, fixture in _output_mistakes(out_kind):
                    cases.append(Case(command, [*base, label, "{!" + fixture + ":" + out_kind + "}"], [label],
                                      id=f"{label}-{mid}"))  # fmt: skip
            elif (_is_path(p) and not _is_output(command, p)) or p.name in TEXT_FILE_INPUTS:
                kind = TEXT_FILE_INPUTS.get(p.name or "") or INPUT_KINDS.get(p.name or "", "raster")
                if _is_path(p) and not p.type.file_okay:  # type: ignore[attr-defined]
                    kind = "tree"
                for mid, fixture in _input_mistakes(kind):
                    value = "{!" + fixture + ":" + kind + "}"
                    cases.append(Case(command, [*base, label, *[value] * max(p.nargs, 1)], [label],
                                      id=f"{label}-{mid}"))  # fmt: skip
        # numbers
        for p in cmd.params:
            if not isinstance(p, click.Option) or p.hidden or p.is_flag or p.count:
                continue
            if not isinstance(p.type, click.types.IntParamType | click.types.FloatParamType):
                continue
            label = _label(p)
            if label in ("--port",):  # a port is checked by binding it (test_contract)
                continue
            stripped = _without_option(base, label, p.nargs)
            for v in _numbers(command, p):
                cases.append(Case(command, [*stripped, label, *[v] * p.nargs], [label], id=f"{label}={v}"))
        # text options with one meaning everywhere
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.hidden and _label(p) in TEXT_MISTAKES:
                label = _label(p)
                stripped = _without_option(base, label, p.nargs)
                for v in TEXT_MISTAKES[label]:
                    cases.append(Case(command, [*stripped, label, v], [label], id=f"{label}={v}"))
        # required arguments and options left out
        positional = [p for p in cmd.params if isinstance(p, click.Argument) and p.required]
        if positional:
            cases.append(Case(command, [], [_label(positional[0])], code=_errors.EXIT_USAGE, id="no-arguments"))
        for p in cmd.params:
            if isinstance(p, click.Option) and p.required and _label(p) in base:
                args = _without_option(base, _label(p), p.nargs)
                cases.append(Case(command, args, [_label(p)], code=_errors.EXIT_USAGE, id=f"no-{_label(p)}"))
    cases += [Case(command, args, blame, id=mid) for command, mid, args, blame in EXTRA]
    for case in cases:
        case.skip = NOT_MISTAKES.get((case.command, case.id), "")
    return cases


def _without_option(args: list[str], label: str, nargs: int) -> list[str]:
    if label not in args:
        return list(args)
    i = args.index(label)
    return [*args[:i], *args[i + 1 + nargs :]]


def _realise(args: list[str], inputs: dict[str, Path], work: Path) -> tuple[list[str], list[str], str | None]:
    """Fill the placeholders; return (args, names of the mistake files, an output that may be created)."""
    out = work / "out"
    wrong = work / "wrong"
    wrong.mkdir(exist_ok=True)
    ext = {"out_tif": ".tif", "out_csv": ".csv", "out_gpkg": ".gpkg", "out_json": ".json", "out_geojson": ".geojson",
           "out_db": ".sqlite", "out_dir": ""}  # fmt: skip
    named: list[str] = []
    may_succeed: list[str] = []

    def mistake(fixture: str, kind: str) -> str:
        suffix = ext.get(kind) if kind.startswith("out_") else None
        if suffix is None:  # an input: a wrong file with the extension the right one has
            right = inputs[kind]
            suffix = "" if right.is_dir() else right.suffix
        if fixture == "missing":
            path = wrong / f"missing{suffix}"
        elif fixture == "missing_dir":
            path = wrong / "missing-folder"
        elif fixture == "empty":
            path = wrong / f"empty{suffix}"
            path.write_bytes(b"")
        elif fixture == "garbage":
            path = wrong / f"garbage{suffix}"
            path.write_bytes(bytes(np.random.default_rng(7).integers(0, 256, 3000, dtype=np.uint8)))
        elif fixture == "text":
            path = wrong / f"notes{suffix}"
            path.write_text("These are my notes about the scene.\nNothing geospatial here.\n")
        elif fixture == "existing_dir":
            path = out / f"folder{suffix}"
            path.mkdir(parents=True)
        elif fixture == "existing_file":
            path = out / "result.txt"
            path.write_text("keep me\n")
        elif fixture == "under_file":
            (out / "plain.txt").write_text("keep me\n")
            path = out / "plain.txt" / f"result{suffix}"
        elif fixture == "new_dir":
            path = out / "new" / "deeper" / f"result{suffix}"
            may_succeed.append(str(path))
        elif fixture == "wrong_ext":
            path = out / "result.png"
        elif fixture == "url":  # nothing listens there
            named.append(f"127.0.0.1:{CLOSED_PORT}")
            return f"http://127.0.0.1:{CLOSED_PORT}/data/scene{suffix}"
        elif fixture == "copy":  # a copy of the right input, given twice
            path = wrong / inputs[kind].name
            if not path.exists():
                shutil.copy(inputs[kind], path)
        else:
            path = inputs[fixture]
        named.append(path.name)
        return str(path)

    def fill(a: str) -> str:
        a = re.sub(r"\{!(\w+):(\w+)\}", lambda m: mistake(m.group(1), m.group(2)), a)

        def right(m: re.Match[str]) -> str:
            kind = m.group(1)
            if kind.startswith("out_"):
                return str(out / "result") if kind == "out_dir" else str(out / f"result{ext[kind]}")
            return str(inputs[kind])

        return _PLACEHOLDER.sub(right, a)

    out.mkdir(parents=True, exist_ok=True)
    filled = [fill(a) for a in args]
    return filled, named, may_succeed[0] if may_succeed else None


def _tree(*roots: Path) -> dict[str, tuple[int, float]]:
    found = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for n in [*dirnames, *filenames]:
                p = Path(dirpath) / n
                st = p.lstat()
                found[str(p)] = (st.st_size if p.is_file() else -1, st.st_mtime)
    return found


ALL_CASES = _cases()


def _param(case: Case) -> object:
    marks = []
    if case.skip:
        marks.append(pytest.mark.skip(reason=case.skip))
    if (case.command, case.id) in KNOWN_BUGS:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case.command, case.id]))
    return pytest.param(case, id=f"{case.command}: {case.id}", marks=marks)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return write_inputs(tmp_path_factory.mktemp("inputs"))


@dataclass
class Run:
    result: Any
    calls: list[object]  # calls of a long-running command's work (stubbed)
    before: dict[str, tuple[int, float]]
    after: dict[str, tuple[int, float]]
    named: list[str]
    may_succeed: str | None
    shown: str


def _run(command: str, case_args: list[str], inputs: dict[str, Path], work: Path, monkeypatch: Any) -> Run:
    work.mkdir()
    monkeypatch.chdir(work)
    calls: list[object] = []
    stub = LONG_RUNNING.get(command.split()[0]) or LONG_RUNNING.get(command)
    if stub:
        module, _, attr = stub.rpartition(".")

        def record(*a: Any, **k: Any) -> Any:
            calls.append((a, k))
            return [], work / "report.html"  # what run_demo returns (uvicorn.run's result is unused)

        monkeypatch.setattr(importlib.import_module(module), attr, record)
    args, named, may_succeed = _realise(case_args, inputs, work)
    roots = (work, *{p.parent for p in inputs.values()})
    before = _tree(*roots)
    env = {"HOME": str(work), "XDG_CACHE_HOME": str(work / ".cache"), "EOKIT_PGSTAC_DSN": None}
    result = CliRunner().invoke(cli, [*command.split(), *args], env=env)
    shown = f"eokit {command} {' '.join(args)} -> exit {result.exit_code}: {' | '.join(result.output.splitlines())}"
    for root, short in ((str(work), "RUN"), *((str(p.parent), "IN") for p in inputs.values())):
        shown = shown.replace(root, short)
    return Run(result, calls, before, _tree(*roots), named, may_succeed, shown)


@pytest.mark.parametrize("case", [_param(c) for c in ALL_CASES])
def test_mistake_is_one_line_naming_it(case: Case, inputs, tmp_path, monkeypatch):
    run = _run(case.command, case.args, inputs, tmp_path / "run", monkeypatch)
    result, shown = run.result, run.shown
    if run.may_succeed and result.exit_code == 0:  # a missing output folder is created by design
        assert Path(run.may_succeed).exists() or run.calls, shown
        left = [p for p in set(run.after) - set(run.before) if is_temp_name(Path(p).name)]
        assert not left, f"left behind: {left}: {shown}"
        return
    assert not run.calls, f"accepted, work started: {shown}"
    expected = {case.code, _errors.EXIT_REMOTE} if "unreachable" in case.id else {case.code}  # a server is asked
    assert result.exit_code in expected, shown
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("eokit: error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, shown
    line = errors[0]
    assert any(b and b in line for b in [*case.blame, *run.named]), f"names none of {case.blame + run.named}: {shown}"
    assert set(run.after) == set(run.before), f"left behind: {sorted(set(run.after) - set(run.before))}: {shown}"
    changed = [p for p, (size, mtime) in run.before.items() if size >= 0 and run.after[p] != (size, mtime)]
    assert not changed, f"changed: {changed}: {shown}"


# Baselines that need a server: with nothing listening they must fail in one line with exit 4.
NEEDS_SERVER = {"hub search", "catalog publish"}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_baseline_works(command, inputs, tmp_path, monkeypatch):
    """The mistakes are made on an invocation that works, so each case tests one mistake only."""
    run = _run(command, _baseline(command), inputs, tmp_path / "run", monkeypatch)
    if command in NEEDS_SERVER:
        assert run.result.exit_code == _errors.EXIT_REMOTE, run.shown
        assert run.result.output.count("eokit: error: ") == 1, run.shown
        return
    assert run.result.exit_code == 0, run.shown
    assert "eokit: error" not in run.result.output, run.shown
    assert run.calls or set(run.after) - set(run.before) or run.result.stdout.strip(), f"no result: {run.shown}"
    assert not [p for p in run.after if is_temp_name(Path(p).name)], run.shown


def test_every_command_is_tried():
    tried = {c.command for c in ALL_CASES}
    assert tried == set(COMMANDS), set(COMMANDS) - tried
