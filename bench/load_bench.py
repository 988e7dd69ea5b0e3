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
(b) and (c) run twice, side by side: into a staging whose run index (``MIG_RUN_ID`` of the
lines' table) is a B-tree, and into a copy of it (``CREATE DATABASE ... TEMPLATE``, taken
after the untimed staging) whose run index is BRIN, which run ids that grow with time keep
narrow (issue 21). The bench sets each index itself, whatever the shipped layout declares;
``--pairs N`` runs N such pairs, each in the other order than the one before.
Each migration runs in its own process so its peak RSS (``VmHWM``) is its own. Prints rows/s,
the migration's CPU seconds (its own process, all threads; the servers' share is not in it),
the ratio to the pipe and peak RSS per scale and run index.
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


LINES = "AP_INVOICE_LINES_INTERFACE"
RUN_INDEXES = ("btree", "brin")


def set_run_index(staging: str, kind: str) -> None:
    """Make the lines' index on ``MIG_RUN_ID`` alone a ``kind`` index (B-tree or BRIN)."""
    with psycopg.connect(staging, autocommit=True) as conn:
        names = conn.execute(
            """SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
               WHERE x.indrelid = %s::regclass AND x.indnatts = 1 AND NOT x.indisunique
               AND a.attname = 'MIG_RUN_ID'""",
            (f'"{LINES}"',),
        ).fetchall()
        for (name,) in names:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute(
            f'CREATE INDEX "ix_{LINES}_MIG_RUN_ID" ON "{LINES}" USING {kind} ("MIG_RUN_ID")'
        )


def staging_pipe(staging: str) -> tuple[int, float]:
    """(c): the migrated lines into an empty ``LIKE ... INCLUDING ALL`` copy of their table."""
    with psycopg.connect(staging) as src, psycopg.connect(staging) as dst:
        dst.execute(f'CREATE TABLE "PIPE_STAGED" (LIKE "{LINES}" INCLUDING ALL)')
        dst.commit()
        seconds = _pipe(src, dst, LINES, "PIPE_STAGED")
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
        "from migrate.runs.runner import run_migration\n"
        f"s = load_settings(Path({str(work)!r}))\n"
        f"m = Path({str(ROOT / 'mappings')!r})\n"
        "t0, c0 = time.perf_counter(), time.process_time()\n"
        "run_migration(s, m, 'full', ['ap_invoice_lines'])\n"
        "dt, cpu = time.perf_counter() - t0, time.process_time() - c0\n"
        "print(json.dumps([dt, peak_mib(), cpu]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode:  # say why: the child's own last lines
        raise SystemExit(f"migration failed ({done.returncode}):\n{done.stderr[-3000:]}")
    out = done.stdout
    seconds, peak, cpu = json.loads(out.strip().splitlines()[-1])
    return float(seconds), float(peak), float(cpu)


def bench(scale: int, pairs: int = 1) -> None:
    tag = uuid.uuid4().hex[:6]
    legacy_name = f"bench_leg_{tag}"
    # each pair in the other order than the one before: B-tree first, then BRIN first, ...
    order = [k for i in range(pairs) for k in (RUN_INDEXES if i % 2 == 0 else RUN_INDEXES[::-1])]
    trials = [f"{kind} #{i // 2 + 1}" if pairs > 1 else kind for i, kind in enumerate(order)]
    names = {t: f"bench_stg_{t.split()[0]}_{n}_{tag}" for n, t in enumerate(trials)}
    first = names[trials[0]]
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{legacy_name}"')
        admin.execute(f'CREATE DATABASE "{first}"')
    legacy = _db(legacy_name)
    env = {
        **os.environ,
        "MIGRATE_FINANCE_URL": legacy,
        "MIGRATE_HR_URL": legacy,
        "MIGRATE_PROCUREMENT_URL": legacy,
        "MIGRATE_STAGING_URL": _db(first),
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
                    "cli.main",
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
            with psycopg.connect(ADMIN, autocommit=True) as admin:  # the same staged parents
                for trial in trials[1:]:
                    admin.execute(f'CREATE DATABASE "{names[trial]}" TEMPLATE "{first}"')
            for trial in trials:
                set_run_index(_db(names[trial]), trial.split()[0])
            rows, pipe_s = raw_pipe(legacy, _db(first))
            got: dict[str, tuple[float, float, float, int, float]] = {}
            for trial in trials:
                each = {**env, "MIGRATE_STAGING_URL": _db(names[trial])}
                mig_s, peak, cpu = migrate_lines(work, each)
                staged, floor_s = staging_pipe(_db(names[trial]))
                got[trial] = (mig_s, peak, cpu, staged, floor_s)
        report(rows, pipe_s, got)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            for name in [legacy_name, *names.values()]:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report(
    rows: int, pipe_s: float, got: dict[str, tuple[float, float, float, int, float]]
) -> None:
    """The raw pipe, then each run index's figures in a column of its own."""
    pipe_rate = rows / pipe_s
    print(f"  raw COPY pipe     {pipe_rate:>12,.0f} rows/s  ({pipe_s:.1f}s, {rows:,} rows)")
    print("  run index         " + "".join(f"{kind:>24}" for kind in got))
    lines: dict[str, list[str]] = {
        "migrate rows/s": [],
        "migrate seconds": [],
        "ratio to the pipe": [],
        "client CPU": [],
        "peak RSS": [],
        "(c) staging pipe": [],
        "(c) ratio to pipe": [],
    }
    for mig_s, peak, cpu, staged, floor_s in got.values():
        lines["migrate rows/s"].append(f"{rows / mig_s:,.0f}")
        lines["migrate seconds"].append(f"{mig_s:.1f} s")
        lines["ratio to the pipe"].append(f"{pipe_s / mig_s:.1%}")
        lines["client CPU"].append(f"{cpu:.1f} s")
        lines["peak RSS"].append(f"{peak:,.0f} MiB")
        lines["(c) staging pipe"].append(f"{floor_s:.1f} s ({staged:,} rows)")
        lines["(c) ratio to pipe"].append(f"{pipe_s / floor_s:.1%}")
    for name, cells in lines.items():
        print(f"  {name:<18}" + "".join(f"{c:>24}" for c in cells))
    print(flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scale", type=int, action="append")
    p.add_argument(
        "--pairs", type=int, default=1, help="B-tree/BRIN pairs per scale, in alternating order"
    )
    args = p.parse_args()
    for scale in args.scale or [1_000_000]:
        bench(scale, args.pairs)


if __name__ == "__main__":
    main()
