"""Run every benchmark script in this folder and collect their JSON lines.

python benchmarks/run_all.py --out benchmarks/results/latest.jsonl [--only resample]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.jsonl")
    parser.add_argument("--only", default="", help="run only scripts whose name contains this")
    args = parser.parse_args()
    scripts = sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_") and p.name != "run_all.py")
    scripts = [p for p in scripts if args.only in p.name]
    records, failures = [], []
    for script in scripts:
        print(f"== {script.name}", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, str(script)], cwd=HERE, capture_output=True, text=True)
        sys.stderr.write(proc.stderr[-4000:])
        for line in proc.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                rec.setdefault("script", script.name)
                records.append(rec)
                print(json.dumps(rec), flush=True)
        if proc.returncode != 0:
            failures.append(script.name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".part")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    tmp.replace(args.out)
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
