"""Reconciliation against the run it checks: ``migrate run`` and ``migrate reconcile`` timed
side by side on the scale estate, for each staging backend.

    .venv/bin/python bench/reconcile_vs_run.py                      # scale 200000
    .venv/bin/python bench/reconcile_vs_run.py --scale 50000 --backend sqlite
    .venv/bin/python bench/reconcile_vs_run.py --backend sqlite postgresql mariadb

Builds the legacy estate once (SQLite files in a temporary folder, ``migrate estate build``),
then for each backend migrates it into a fresh staging (a SQLite file; a PostgreSQL or MariaDB
database created for the bench and dropped after it) and reconciles that run, each command
in its own process as a user runs it, so its wall time and peak RSS (``wait4``) are its own.
Prints per backend: source rows, seconds, rows/s and peak RSS of each command, and the ratio
of reconcile to run time; then the reconcile's slowest entities (its own progress lines).
The estate's verdict is FAIL by design (planted unreadable amounts): that is not measured.
Prints figures; not a timed test. Issue 19, item 8: reconciliation must cost the same order
as the run on every backend.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
MIGRATE = [str(Path(sys.executable).parent / "migrate"), "--mappings", str(ROOT / "mappings")]
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN = os.environ.get("BENCH_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/mysql")
ENTITY_LINE = re.compile(r"^\s+(PASS|EXCEPTIONS|FAIL)\s+(\S+)\s+rows\s+([\d,]+).*\(([\d.]+) s")


@dataclass(frozen=True)
class Timed:
    """One command: wall seconds, peak RSS (MiB), exit code, output."""

    seconds: float
    peak_mib: float
    code: int
    out: str


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> Timed:
    """Run ``migrate ARGS``; its own wall time and peak RSS, from ``wait4``."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [*MIGRATE, *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return Timed(seconds, usage.ru_maxrss / 1024, proc.returncode, out.read())


@contextmanager
def staging(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, empty staging of ``backend``: its URL; a server database is dropped after."""
    if backend == "sqlite":
        path = folder / "staging_bench.db"
        path.unlink(missing_ok=True)
        yield f"sqlite:///{path}"
        return
    name = f"rec_vs_run_{uuid.uuid4().hex[:8]}"
    pg = backend == "postgresql"
    admin = create_engine(PG_ADMIN if pg else MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
    q = '"' if pg else "`"
    with admin.connect() as conn:
        extra = "" if pg else " CHARACTER SET utf8mb4"
        conn.execute(text(f"CREATE DATABASE {q}{name}{q}{extra}"))
    base = (PG_ADMIN if pg else MYSQL_ADMIN).rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}" + ("" if pg else "?charset=utf8mb4")
    finally:
        with admin.connect() as conn:
            force = " WITH (FORCE)" if pg else ""
            conn.execute(text(f"DROP DATABASE IF EXISTS {q}{name}{q}{force}"))
        admin.dispose()


def source_rows(run_out: str) -> int:
    """The source total of the run's summary table (its ``total`` line)."""
    for line in run_out.splitlines():
        parts = line.split()
        if parts and parts[0] == "total":
            return int(parts[1].replace(",", ""))
    raise SystemExit(f"no total line in the run's output:\n{run_out[-2000:]}")


def slowest(reconcile_out: str, n: int = 4) -> str:
    found = [
        (float(m.group(4)), m.group(2))
        for m in map(ENTITY_LINE.match, reconcile_out.splitlines())
        if m is not None
    ]
    total = sum(s for s, _ in found)
    top = ", ".join(f"{e} {s:.1f} s" for s, e in sorted(found, reverse=True)[:n])
    return f"entities {total:.1f} s in all; slowest: {top}"


def bench(backend: str, folder: Path) -> None:
    with staging(backend, folder) as url:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATE_")}
        env = {**clean, "MIGRATE_STAGING_URL": url}
        run = timed(["run"], folder, env)
        if run.code != 0:
            raise SystemExit(f"migrate run failed ({run.code}):\n{run.out[-3000:]}")
        rec = timed(["reconcile"], folder, env)
        if rec.code not in (0, 1, 3):  # PASS, FAIL, EXCEPTIONS: each a reconciliation
            raise SystemExit(f"migrate reconcile failed ({rec.code}):\n{rec.out[-3000:]}")
    rows = source_rows(run.out)
    print(f"\n{backend} staging, {rows:,} source rows")
    print(f"{'':>10}{'seconds':>10}{'rows/s':>10}{'peak RSS MiB':>14}")
    for name, t in (("run", run), ("reconcile", rec)):
        print(f"{name:>10}{t.seconds:>10.1f}{rows / t.seconds:>10,.0f}{t.peak_mib:>14,.0f}")
    print(f"reconcile / run: {rec.seconds / run.seconds:.2f}")
    print(slowest(rec.out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=200_000, help="AP invoice lines")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--backend",
        nargs="+",
        default=["sqlite", "postgresql"],
        choices=["sqlite", "postgresql", "mariadb"],
    )
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"scale {args.scale:,}, seed {args.seed}, {os.cpu_count()} CPUs, load {load:.2f}")
    with tempfile.TemporaryDirectory(prefix="rec_vs_run_") as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATE_")}
        build = timed(["estate", "build", "--scale", str(args.scale), "--seed", str(args.seed)],
                      folder, env)  # fmt: skip
        if build.code != 0:
            raise SystemExit(f"estate build failed:\n{build.out[-3000:]}")
        built = build.out.strip().splitlines()[-1]
        print(f"legacy estate, SQLite files: {built} ({build.seconds:.1f} s)")
        for backend in args.backend:
            bench(backend, folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
