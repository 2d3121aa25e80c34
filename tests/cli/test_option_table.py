"""Every command's options: each has help, and one option name has one meaning across all commands.

The rules are the option table of the README ("The command line"). The walk
is over the real click tree (``eokit --help`` and every subcommand), so a new
command is checked without being listed here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import click
import pytest

from eokit.cli.main import COMMANDS, cli

# Families whose renames (issue 18) land through their own branches. A family listed here is expected to
# fail (strict): once its branch is merged and it passes, remove it from this set.
PENDING_FAMILIES: dict[str, str] = {
    f: f"the {f} family applies the option table on its own branch (issue 18); remove from PENDING once merged"
    for f in ()
}

# Names whose one meaning is fixed by the table (checked by _table_rules); a clash there is blamed on the
# command that breaks the rule, not on every command that follows it.
TABLE_NAMES = {"-o", "--out", "--band", "--bands", "--var", "--units", "--workers", "--json", "-q", "-v"}


def _walk(cmd: click.Command, path: tuple[str, ...], ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, (*path, name), ctx)
    else:
        yield " ".join(path), cmd


def _commands() -> dict[str, click.Command]:
    return dict(_walk(cli, (), click.Context(cli)))


def _options(cmd: click.Command) -> list[click.Option]:
    return [p for p in cmd.params if isinstance(p, click.Option) and not p.hidden]


def _names(p: click.Option) -> list[str]:
    return [*p.opts, *p.secondary_opts]


_KIND = {"integer range": "integer", "float range": "float", "file": "path", "directory": "path", "choice": "text"}


def _meaning(p: click.Option) -> tuple[object, ...]:
    """What an option *is*, ignoring refinements (a range of integers is still an integer)."""
    kind = "flag" if p.is_flag else _KIND.get(p.type.name, p.type.name)
    return (p.name, kind, p.multiple, p.count)


def _table_rules(command: str, cmd: click.Command) -> list[str]:
    """The README's option table, as checks on one command."""
    problems = []
    opts = _options(cmd)
    by_name = {n: p for p in opts for n in _names(p)}
    for p in opts:
        names = _names(p)
        if "-o" in names and "--out" not in names:
            problems.append(f"-o is {names}: -o is only the short form of --out")
        if any(n in ("-q", "--quiet", "-v", "--verbose") for n in names):
            problems.append(f"{names}: -q/-v are only the global flags, before the command")
        if any(n.endswith("-unit") for n in names):
            problems.append(f"{names}: units options end in -units (--units, --friction-units)")
        if any(n in ("--out-dir", "--path", "--unit") for n in names):
            problems.append(f"{names}: old spelling; keep it only as a hidden deprecated alias")
    band = by_name.get("--band")
    if band is not None:
        if band.multiple or "=" in (band.metavar or ""):
            problems.append("--band is one input band; SHORT=BAND bindings are --var")
        if band.type.name in ("integer", "integer range"):
            problems.append("--band takes a 1-based number or a band name, not only integers")
    var = by_name.get("--var")
    if var is not None and "=" not in (var.metavar or ""):
        problems.append("--var binds SHORT=BAND (metavar SHORT=BAND)")
    bands = by_name.get("--bands")
    if bands is not None and bands.name != "bands":
        problems.append(f"--bands arrives as {bands.name!r}; several input bands are 'bands'")
    out = by_name.get("--out")
    if out is not None and out.name != "out":
        problems.append(f"--out arrives as {out.name!r}")
    units = by_name.get("--units")
    if units is not None and not isinstance(units.type, click.Choice):
        problems.append("--units lists its choices")
    workers = by_name.get("--workers")
    if workers is not None and not (isinstance(workers.type, click.IntRange) and workers.type.min == 0):
        problems.append("--workers N uses eokit.cli._options.workers_option")
    if "--geometry" in by_name and "--geometry-crs" not in by_name:
        problems.append("--geometry comes with --geometry-crs")
    json_flag = by_name.get("--json")
    if json_flag is not None and not json_flag.is_flag:
        problems.append("--json is a flag (machine-readable output on stdout)")
    if command == "hub search" and "--order-by" not in by_name:
        problems.append("hub search orders with --order-by (-o stays a hidden deprecated alias)")
    if command == "hub search" and "--query" not in by_name:
        problems.append("hub search takes its query as --query (-q stays a hidden deprecated alias)")
    return problems


def _family_problems(family: str) -> list[str]:
    commands = _commands()
    meanings: dict[str, dict[tuple[object, ...], list[str]]] = defaultdict(lambda: defaultdict(list))
    for command, cmd in commands.items():
        for p in _options(cmd):
            for name in _names(p):
                meanings[name][_meaning(p)].append(command)
    problems = []
    for command, cmd in commands.items():
        if command.split()[0] != family:
            continue
        for p in _options(cmd):
            if not (p.help or "").strip():
                problems.append(f"{command}: {'/'.join(_names(p))} has no help text")
            for name in _names(p):
                if name not in TABLE_NAMES and len(meanings[name]) > 1:
                    mine = _meaning(p)
                    others = sorted({c for m, cs in meanings[name].items() if m != mine for c in cs})
                    problems.append(f"{command}: {name} {mine} means something else in: {', '.join(others)}")
        problems += [f"{command}: {msg}" for msg in _table_rules(command, cmd)]
    return problems


@pytest.mark.parametrize(
    "family",
    [
        pytest.param(f, marks=pytest.mark.xfail(strict=True, reason=PENDING_FAMILIES[f]))
        if f in PENDING_FAMILIES
        else f
        for f in sorted(COMMANDS)
    ],
)
def test_every_option_has_help_and_one_meaning(family):
    problems = _family_problems(family)
    assert not problems, "\n".join(problems)


def test_global_flags_and_exit_codes_in_top_help():
    from click.testing import CliRunner

    out = CliRunner().invoke(cli, ["--help"]).output
    assert "-q, --quiet" in out and "-v, --verbose" in out
    for code in ("0", "1", "2", "3", "4", "130", "143"):
        assert f" {code} " in " ".join(out.split()), code


def test_the_rules_catch_what_the_issue_reported():
    """The checks themselves: a command with the old spellings fails every rule it breaks."""

    @click.command()
    @click.option("-o", "order_by", help="order")
    @click.option("--band", "extra", multiple=True, metavar="SHORT=BAND", help="b")
    @click.option("--friction-unit", help="u")
    @click.option("-q", "query", help="query")
    @click.option("--geometry", help="g")
    def old(**kwargs):
        pass

    problems = _table_rules("x old", old)
    assert len(problems) == 5, problems


def _groups(cmd: click.Command, path: tuple[str, ...], ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    yield " ".join(path), cmd
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _groups(sub, (*path, name), ctx)


@pytest.mark.parametrize("command", sorted(n for n, _ in _groups(cli, (), click.Context(cli))))
def test_help_of_every_command_documents_it(command):
    """``--help`` works, says what the command does, names its arguments and shows every option with its help."""
    from click.testing import CliRunner

    cmd = dict(_groups(cli, (), click.Context(cli)))[command]
    result = CliRunner().invoke(cli, [*command.split(), "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (cmd.help or "").strip(), f"{command or 'eokit'} has no description"
    for p in cmd.params:
        if isinstance(p, click.Argument):
            name = (p.metavar or p.name or "").upper()
            assert name in (cmd.help or ""), f"{command}: argument {name} is not explained in the help text"
        elif isinstance(p, click.Option) and not p.hidden:
            assert p.opts[0] in text, f"{command}: {p.opts[0]} is missing from --help"
            first_words = " ".join((p.help or "").split()[:3])
            assert first_words and first_words in text, f"{command}: {p.opts[0]} has no help text in --help"
            if isinstance(p.type, click.Choice):
                assert all(str(c) in text for c in p.type.choices), f"{command}: {p.opts[0]} does not list its choices"
