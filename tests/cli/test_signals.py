"""Real processes: Ctrl-C exits 130, SIGTERM 143, and nothing a killed run wrote survives the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from eokit.cli import _errors
from eokit.io.atomic import is_temp_name

# A command that starts writing an output atomically, says so, then waits to be signalled.
HARNESS = textwrap.dedent(
    """
    import sys, time, click
    from eokit.cli.main import cli, main
    from eokit.io.atomic import atomic_path, atomic_dir

    @cli.command("_slow")
    @click.option("--out", required=True)
    @click.option("--folder", is_flag=True)
    def _slow(out, folder):
        with (atomic_dir(out) if folder else atomic_path(out)) as tmp:
            if folder:
                (tmp / "part.json").write_text("{}")
            else:
                tmp.write_bytes(b"x" * 1000)
            print("started", flush=True)
            time.sleep(60)

    sys.argv = ["eokit", *sys.argv[1:]]
    main()
    """
)


def _start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "harness.py"
    script.write_text(HARNESS)
    proc = subprocess.Popen(
        [sys.executable, str(script), "_slow", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started", proc.stderr.read() if proc.stderr else ""
    return proc


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if is_temp_name(p.name))


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGINT, _errors.EXIT_INTERRUPTED, "interrupted"), (signal.SIGTERM, _errors.EXIT_TERMINATED, "terminated")],
)
def test_signals_exit_with_their_codes_and_clean_up(tmp_path, sig, code, word):
    out = tmp_path / "out"
    out.mkdir()
    proc = _start(tmp_path, "--out", str(out / "ndvi.tif"))
    assert len(_temporaries(out)) == 1
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert err.strip().splitlines() == [f"eokit: error: {word}"]
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("folder", [False, True])
def test_sigkill_leftovers_are_removed_by_the_next_run(tmp_path, folder):
    out = tmp_path / "out"
    out.mkdir()
    target = out / ("catalog" if folder else "ndvi.tif")
    flags = ["--folder"] if folder else []
    proc = _start(tmp_path, "--out", str(target), *flags)
    proc.kill()
    proc.wait(timeout=60)
    left = _temporaries(out)
    assert len(left) == 1 and str(proc.pid) in left[0]
    # the rerun finds the dead owner's temporary and removes it before writing its own
    rerun = _start(tmp_path, "--out", str(target), *flags)
    try:
        now = _temporaries(out)
        assert len(now) == 1 and str(rerun.pid) in now[0]
    finally:
        rerun.send_signal(signal.SIGTERM)
        rerun.communicate(timeout=60)
    assert list(out.iterdir()) == []


SWAP_KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from eokit.io import atomic

    target = Path(sys.argv[1])
    staging = atomic.staging_dir(target)
    (staging / "catalog.json").write_text("new")
    atomic._RENAMEAT2[:] = [None]  # force the two-rename fallback of systems without renameat2
    real_rename = os.rename

    def rename(src, dst):
        real_rename(src, dst)
        if Path(dst).name.endswith(".old"):
            os.kill(os.getpid(), signal.SIGKILL)  # killed between the two renames

    os.rename = rename
    atomic.swap_dirs(staging, target)
    """
)


def test_a_swap_killed_between_its_renames_is_restored_by_the_next_run(tmp_path):
    from eokit.io.atomic import sweep_stale

    target = tmp_path / "catalog"
    target.mkdir()
    (target / "catalog.json").write_text("old")
    script = tmp_path / "swap.py"
    script.write_text(SWAP_KILLED)
    proc = subprocess.run([sys.executable, str(script), str(target)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not target.exists()  # the window the fallback leaves ...
    sweep_stale(tmp_path)  # ... which the next run closes
    assert (target / "catalog.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog", "swap.py"]


def test_exchange_swap_never_leaves_the_target_absent(tmp_path):
    """With renameat2 (Linux), a reader polling the target always finds a complete catalog."""
    from eokit.io.atomic import _renameat2, atomic_dir

    if _renameat2() is None:
        pytest.skip("renameat2 is not available here")
    import threading

    target = tmp_path / "catalog"
    with atomic_dir(target) as tmp:
        (tmp / "catalog.json").write_text("start")
    missing = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            if not (target / "catalog.json").exists():
                missing.append(time.monotonic())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for version in range(200):
            with atomic_dir(target) as tmp:
                (tmp / "catalog.json").write_text(str(version))
            assert (target / "catalog.json").read_text() == str(version)
    finally:
        stop.set()
        thread.join()
    assert missing == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog"]


def test_python_dash_m_eokit():
    proc = subprocess.run([sys.executable, "-m", "eokit", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "eokit" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "eokit", "--nope"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == _errors.EXIT_USAGE
    assert bad.stderr.startswith("eokit: error: ") and len(bad.stderr.strip().splitlines()) == 1


def test_swept_only_when_owner_is_dead(tmp_path):
    from eokit.io.atomic import sweep_stale, temp_name

    mine = temp_name(tmp_path / "a.tif")
    mine.write_bytes(b"x")
    dead = tmp_path / f".b.tif.eokit-{_dead_pid()}-0a0b0c0d.part.tif"
    dead.write_bytes(b"x")
    legacy_young = tmp_path / ".c.abcdefgh.part.tif"
    legacy_young.write_bytes(b"x")
    legacy_old = tmp_path / ".d.abcdefgh.part.tif"
    legacy_old.write_bytes(b"x")
    old = time.time() - 2 * 24 * 3600
    os.utime(legacy_old, (old, old))
    reused = tmp_path / f".e.tif.eokit-{os.getppid()}-0a0b0c0d.part.tif"  # a live pid, but a week-old file
    reused.write_bytes(b"x")
    week = time.time() - 8 * 24 * 3600
    os.utime(reused, (week, week))
    removed = sweep_stale(tmp_path)
    assert sorted(removed) == sorted([dead, legacy_old, reused])
    assert mine.exists() and legacy_young.exists()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
