"""Hash what the shipped mappings stage, to show a change to staging's definition changed no byte.

Runs, through the command line as a user would, ``migrate demo`` (the planted SQLite estate,
every shipped mapping) and, when ``../shared/realdata`` is there, the Chinook (AR tables) and
Baltimore (``WORKER_ANNUAL_PAY``) projects, each in a fresh working folder. Then reads every
staging table of each run's ``staging.db`` with Python's ``sqlite3`` (the stored values:
money as integer cents, dates as text) and prints, per table, the row count and a SHA-256 of
its rows, sorted, without the columns that differ between two runs of the same code: run ids
(``MIG_RUN_ID``, ``RUN_ID``, ``REPLACED_BY_RUN``). The run bookkeeping tables (runs,
progress, partitions, reconciliations, sign-offs, audit checkpoints: timestamps and timings)
are left out; rejects, warnings, filtered rows and the key map are in.

    .venv/bin/python bench/staged_hash.py --out /tmp/before.json
    ... change staging ...
    .venv/bin/python bench/staged_hash.py --out /tmp/after.json --compare /tmp/before.json

The code measured is this checkout's (``PYTHONPATH`` is set to it), so a snapshot of a
commit (``git archive``) can be measured with another checkout's virtualenv.

Exit 1 when ``--compare`` finds a table whose rows differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"
MIGRATE = [str(Path(sys.executable).with_name("migrate"))]
RUN_COLUMNS = {"MIG_RUN_ID", "RUN_ID", "REPLACED_BY_RUN"}
RUN_BOOKKEEPING = {
    "MIG_RUNS",
    "MIG_PROGRESS",
    "MIG_PARTITIONS",
    "MIG_RECONCILIATIONS",
    "MIG_SIGNOFFS",
    # checkpoints of the audit chain's head: a hash over entries that carry times and run ids
    "MIG_AUDIT_ANCHORS",
}


def table_hashes(db: Path) -> dict[str, dict[str, object]]:
    """Per staging table: rows and the SHA-256 of its sorted rows, run ids left out."""
    out: dict[str, dict[str, object]] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        names = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] not in RUN_BOOKKEEPING
        ]
        for name in sorted(names):
            columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')]
            kept = [c for c in columns if c not in RUN_COLUMNS]
            select = ", ".join(f'"{c}"' for c in kept)
            rows = sorted(repr(r) for r in conn.execute(f'SELECT {select} FROM "{name}"'))
            digest = hashlib.sha256()
            digest.update(repr(kept).encode())
            for row in rows:
                digest.update(row.encode() + b"\n")
            out[name] = {"rows": len(rows), "sha256": digest.hexdigest()}
    return out


def migrate(workdir: Path, *args: str, env: dict[str, str] | None = None) -> None:
    command = [*MIGRATE, "--workdir", str(workdir), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}  # this checkout's code
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1, 3):  # a verdict other than PASS is still a run
        sys.exit(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}")


def runs(base: Path, realdata: Path) -> dict[str, Path]:
    """Each project run in its own folder; the staging database each one left."""
    out: dict[str, Path] = {}
    demo = base / "demo"
    demo.mkdir()
    migrate(demo, "demo")
    out["demo"] = demo / "staging.db"
    if not realdata.is_dir():
        print(f"note: no realdata at {realdata}: only the demo is hashed", file=sys.stderr)
        return out
    chinook = base / "chinook"
    chinook.mkdir()
    shutil.copy(realdata / "chinook" / "Chinook_Sqlite.sqlite", chinook / "chinook.sqlite")
    env = {"MIGRATE_FINANCE_URL": f"sqlite:///{chinook / 'chinook.sqlite'}"}
    migrate(chinook, "--mappings", "mappings/realdata/chinook", "run", env=env)
    out["chinook"] = chinook / "staging.db"
    baltimore = base / "baltimore"
    baltimore.mkdir()
    env = {"MIGRATE_REALDATA": str(realdata)}
    project = "mappings/realdata/baltimore"
    migrate(baltimore, "--mappings", project, "run", "--mode", "full", env=env)
    out["baltimore"] = baltimore / "staging.db"
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the hashes as JSON")
    parser.add_argument("--compare", help="an earlier --out file: report every difference")
    parser.add_argument("--realdata", default=str(REALDATA), help="the shared realdata folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="staged_hash_") as tmp:
        staged_dbs = runs(Path(tmp), Path(args.realdata))
        found = {name: table_hashes(db) for name, db in staged_dbs.items()}
    for project, tables in found.items():
        staged = {t: h for t, h in tables.items() if h["rows"]}
        print(f"{project}: {len(tables)} tables, {len(staged)} with rows")
        for table, h in staged.items():
            print(f"  {table:42} {h['rows']:>8,}  {str(h['sha256'])[:16]}")
    if args.out:
        Path(args.out).write_text(json.dumps(found, indent=1, sort_keys=True), encoding="utf-8")
    if not args.compare:
        return 0
    before = json.loads(Path(args.compare).read_text(encoding="utf-8"))
    differ, compared = compare(before, found)
    for line in differ:
        print(f"DIFFERS {line}")
    print(f"{compared - len(differ)} of {compared} table(s) identical to {args.compare}")
    return 1 if differ else 0


def compare(before: dict[str, Any], after: dict[str, Any]) -> tuple[list[str], int]:
    """Every table whose rows differ; a table on one side only is a difference unless it is
    empty (a bookkeeping table added meanwhile holds no staged byte), noted on stderr."""
    differ: list[str] = []
    compared = 0
    for project in sorted(set(before) | set(after)):
        old, new = before.get(project, {}), after.get(project, {})
        for table in sorted(set(old) | set(new)):
            was, now = old.get(table), new.get(table)
            if (was is None or now is None) and not (was or now or {}).get("rows"):
                side = "now" if was is None else "before"
                print(f"note: {project}.{table} only {side}, empty", file=sys.stderr)
                continue
            compared += 1
            if was != now:
                differ.append(f"{project}.{table}: {was} -> {now}")
    return differ, compared


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
