"""The download ledger: one appended line per verified file, read incrementally, compacted, converted."""

from __future__ import annotations

import json
import os
from pathlib import Path

from eokit.hub.files import LEDGER_NAME, Ledger


def _lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / LEDGER_NAME).read_text().splitlines()]


def test_each_record_appends_one_line_whatever_the_ledger_holds(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    growth = []
    for i in range(500):
        before = (tmp_path / LEDGER_NAME).stat().st_size if i else 0
        ledger.record(f"S2A_{i:04d}.zip", {"key": f"k{i:04d}", "size": 1000 + i})
        growth.append((tmp_path / LEDGER_NAME).stat().st_size - before)
    # the 500th record writes what the 1st did (not the whole ledger again)
    assert len(set(growth)) == 1
    assert len(_lines(tmp_path)) == 500
    assert Ledger(tmp_path).get("S2A_0499.zip") == {"key": "k0499", "size": 1499}


def test_superseded_lines_are_compacted_and_forget_is_kept(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.record("a.zip", {"key": "a", "size": 1})
    for i in range(300):
        ledger.record("b.zip", {"key": "b", "size": i})
    ledger.forget("a.zip")
    lines = _lines(tmp_path)
    assert len(lines) <= 2 * 1 + 64 + 2  # rewritten while the same path kept being recorded
    assert {item["path"] for item in lines} <= {"a.zip", "b.zip"}
    assert not list(tmp_path.glob("*.tmp"))
    fresh = Ledger(tmp_path).files()  # another reader sees the same
    assert fresh == {"b.zip": {"key": "b", "size": 299}}


def test_a_line_torn_by_a_crash_is_skipped_and_the_next_record_starts_a_new_line(tmp_path: Path) -> None:
    (tmp_path / LEDGER_NAME).write_text(
        json.dumps({"path": "ok.zip", "entry": {"key": "ok", "size": 3}}) + "\n" + '{"path": "torn.zip", "ent'
    )
    ledger = Ledger(tmp_path)
    assert ledger.files() == {"ok.zip": {"key": "ok", "size": 3}}
    ledger.record("next.zip", {"key": "next", "size": 5})
    text = (tmp_path / LEDGER_NAME).read_text().splitlines()
    assert text[1] == '{"path": "torn.zip", "ent' and json.loads(text[2])["path"] == "next.zip"
    assert sorted(Ledger(tmp_path).files()) == ["next.zip", "ok.zip"]


def test_garbage_and_foreign_lines_are_ignored(tmp_path: Path) -> None:
    with open(tmp_path / LEDGER_NAME, "wb") as f:
        f.write(b"x" * (3 << 20))  # one 3 MiB "line": read in bounded blocks and dropped
        f.write(b'\n[1, 2]\n{"path": 7}\nnot json\n')
        f.write(json.dumps({"path": "good.zip", "entry": {"key": "g"}}).encode() + b"\n")
    assert Ledger(tmp_path).files() == {"good.zip": {"key": "g"}}


def test_a_ledger_of_the_previous_format_is_converted_on_first_use(tmp_path: Path) -> None:
    old = tmp_path / ".eokit-downloads.json"
    old.write_text(json.dumps({"version": 1, "files": {"p.zip": {"key": "p", "size": 10, "verified": True}}}))
    assert Ledger(tmp_path).get("p.zip") == {"key": "p", "size": 10, "verified": True}
    assert not old.exists() and _lines(tmp_path) == [
        {"path": "p.zip", "entry": {"key": "p", "size": 10, "verified": True}}
    ]


def test_another_processs_lines_and_rewrites_are_seen(tmp_path: Path) -> None:
    mine, theirs = Ledger(tmp_path), Ledger(tmp_path)
    mine.record("a.zip", {"key": "a"})
    # what another process does: append a line, then rewrite the file (a new inode)
    with open(tmp_path / LEDGER_NAME, "a") as f:
        f.write(json.dumps({"path": "b.zip", "entry": {"key": "b"}}) + "\n")
    assert mine.get("b.zip") == {"key": "b"}
    tmp = tmp_path / "rewrite.tmp"
    tmp.write_text(json.dumps({"path": "c.zip", "entry": {"key": "c"}}) + "\n")
    os.replace(tmp, tmp_path / LEDGER_NAME)
    assert theirs.files() == {"c.zip": {"key": "c"}}
