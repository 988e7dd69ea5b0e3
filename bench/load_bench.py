"""PostgreSQL to PostgreSQL: the migration of AP invoice lines beside a raw COPY pipe.

    python bench/load_bench.py --scale 1000000 [--scale 5000000 ...]

For each scale, in a fresh pair of databases: build the estate in the legacy database, stage
the suppliers and invoice headers (untimed: lines look them up), then time
  (a) the raw pipe: ``COPY (SELECT * FROM "APINVLIN") TO STDOUT`` streamed into
      ``COPY ... FROM STDIN`` of an identical table in the staging database;
  (b) ``migrate run --entity ap_invoice_lines`` (extract, ten field rules, the account
      crosswalk, a key-map lookup, Pandera validation, COPY load, rejects, progress);
  (c) the staged rows of (b) piped the same way as (a) into an empty copy of the staging
      table, with its indexes: what filling the target layout (wider rows with the lineage
      columns, the unique key, the run index) costs with no client work at all. The pipe's
      time divided by this one is the ratio a migration with an infinitely fast client
      would reach.
Each migration runs in its own process so its peak RSS (``VmHWM``) is its own. Prints rows/s,
the migration's CPU seconds (its own process, all threads; the servers' share is not in it),
the ratio to the pipe and peak RSS per scale.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[1]


def _db(name: str) -> str:
    return ADMIN.rsplit("/", 1)[0] + "/" + name


def _pipe(src: psycopg.Connection, dst: psycopg.Connection, table: str, into: str) -> float:
    """Seconds to stream ``table`` out of ``src`` and into ``into`` in ``dst``, committed."""
    t0 = time.perf_counter()
    with (
        src.cursor().copy(f'COPY "{table}" TO STDOUT') as out,
        dst.cursor().copy(f'COPY "{into}" FROM STDIN') as inp,
    ):
        for block in out:
            inp.write(block)
    dst.commit()
    return time.perf_counter() - t0


def raw_pipe(legacy: str, staging: str) -> tuple[int, float]:
    with psycopg.connect(legacy) as src, psycopg.connect(staging) as dst:
        ddl = src.execute("""SELECT string_agg(format('%I %s', column_name,
                  format_type(atttypid, atttypmod)), ', ' ORDER BY attnum)
                  FROM pg_attribute a JOIN information_schema.columns c
                  ON c.table_name = 'APINVLIN' AND c.column_name = a.attname
                  WHERE a.attrelid = '"APINVLIN"'::regclass AND a.attnum > 0""").fetchone()
        dst.execute(f'CREATE TABLE "PIPE_APINVLIN" ({ddl[0]})')
        seconds = _pipe(src, dst, "APINVLIN", "PIPE_APINVLIN")
        rows = dst.execute('SELECT COUNT(*) FROM "PIPE_APINVLIN"').fetchone()[0]
    return int(rows), seconds


def staging_pipe(staging: str) -> tuple[int, float]:
    """(c): the migrated lines into an empty ``LIKE ... INCLUDING ALL`` copy of their table."""
    with psycopg.connect(staging) as src, psycopg.connect(staging) as dst:
        dst.execute('CREATE TABLE "PIPE_STAGED" (LIKE "AP_INVOICE_LINES_INTERFACE" INCLUDING ALL)')
        dst.commit()
        seconds = _pipe(src, dst, "AP_INVOICE_LINES_INTERFACE", "PIPE_STAGED")
        rows = dst.execute('SELECT COUNT(*) FROM "PIPE_STAGED"').fetchone()[0]
    return int(rows), seconds


# The child's own high-water mark. ``ru_maxrss`` would not do: Linux carries it across
# fork and exec, so the child would report this process's RSS (the estate was built here,
# ~600 MiB at 5M rows) instead of the migration's.
PEAK = (
    "def peak_mib():\n"
    "    try:\n"
    "        with open('/proc/self/status') as f:\n"
    "            kb = next(int(l.split()[1]) for l in f if l.startswith('VmHWM:'))\n"
    "        return kb / 1024\n"
    "    except (OSError, StopIteration):\n"
    "        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
)


def migrate_lines(work: Path, env: dict[str, str]) -> tuple[float, float, float]:
    code = PEAK + (
        "import json, resource, time, sys\n"
        "from pathlib import Path\n"
        "from migrate.config import load_settings\n"
        "from migrate.runner import run_migration\n"
        f"s = load_settings(Path({str(work)!r}))\n"
        f"m = Path({str(ROOT / 'mappings')!r})\n"
        "t0, c0 = time.perf_counter(), time.process_time()\n"
        "run_migration(s, m, 'full', ['ap_invoice_lines'])\n"
        "dt, cpu = time.perf_counter() - t0, time.process_time() - c0\n"
        "print(json.dumps([dt, peak_mib(), cpu]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout
    seconds, peak, cpu = json.loads(out.strip().splitlines()[-1])
    return float(seconds), float(peak), float(cpu)


def bench(scale: int) -> None:
    legacy_name, staging_name = (
        f"bench_leg_{uuid.uuid4().hex[:6]}",
        f"bench_stg_{uuid.uuid4().hex[:6]}",
    )
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{legacy_name}"')
        admin.execute(f'CREATE DATABASE "{staging_name}"')
    legacy, staging = _db(legacy_name), _db(staging_name)
    env = {
        **os.environ,
        "MIGRATE_FINANCE_URL": legacy,
        "MIGRATE_HR_URL": legacy,
        "MIGRATE_PROCUREMENT_URL": legacy,
        "MIGRATE_STAGING_URL": staging,
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            from fixtures.estate.build import build_estate

            t0 = time.perf_counter()
            build_estate(
                {s: legacy for s in ("finance", "hr", "procurement")},
                work / "extracts",
                scale=scale,
                seed=1,
            )
            print(f"scale {scale:,}: estate built in {time.perf_counter() - t0:.1f}s", flush=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "migrate.cli",
                    "--workdir",
                    str(work),
                    "run",
                    "--entity",
                    "suppliers_finance",
                    "--entity",
                    "ap_invoices",
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            rows, pipe_s = raw_pipe(legacy, staging)
            mig_s, peak, cpu = migrate_lines(work, env)
            staged, floor_s = staging_pipe(staging)
        pipe_rate, mig_rate = rows / pipe_s, rows / mig_s
        print(f"  raw COPY pipe     {pipe_rate:>12,.0f} rows/s  ({pipe_s:.1f}s)")
        print(f"  migrate           {mig_rate:>12,.0f} rows/s  ({mig_s:.1f}s, {cpu:.1f}s CPU)")
        print(f"  ratio             {mig_rate / pipe_rate:>12.1%}")
        print(
            f"  pipe into staging {staged / floor_s:>12,.0f} rows/s  ({floor_s:.1f}s, "
            f"{staged:,} staged rows; ratio to the raw pipe {pipe_s / floor_s:.1%})"
        )
        print(f"  peak RSS          {peak:>12,.0f} MiB", flush=True)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{legacy_name}" WITH (FORCE)')
            admin.execute(f'DROP DATABASE IF EXISTS "{staging_name}" WITH (FORCE)')


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scale", type=int, action="append")
    args = p.parse_args()
    for scale in args.scale or [1_000_000]:
        bench(scale)


if __name__ == "__main__":
    main()
