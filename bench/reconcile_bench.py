"""Reconciliation speed: our bucket diff vs datacompy, and equal tables confirmed by hashing.

    .venv/bin/python bench/reconcile_bench.py --rows 1000000 --equal-rows 0
    .venv/bin/python bench/reconcile_bench.py --pg postgresql://postgres@127.0.0.1:5432/postgres

Builds a legacy table (key, account, amount as fixed-point text) and a staged table (legacy
key, account, amount in cents) directly, with 0.1% of staged amounts altered by one cent.
Ours: identity totals, grain totals by account and the keyed bucket diff, through the same
calls ``reconcile.proving.entity`` makes (each side's scan read as Arrow batches where it can be,
else pushed down as SQL). datacompy: both tables read into pandas and
compared on the key. Each runs in its own process, imports done before the clock starts, so
the time, CPU and peak RSS printed are that side's alone; "client CPU" is the Python
process's (the database server's work is not in it, so on PostgreSQL it undercounts ours).
On PostgreSQL the bench creates its own databases (``rec_bench_*``) and drops them.
Prints figures; not a timed test.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing as mp
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

SPEC = {
    "entity": "bench_lines",
    "domain": "finance",
    "source": {"system": "finance", "table": "LEGACY_LINES", "key": ["ID"]},
    "target": {"table": "BENCH_LINES", "key": ["MIG_SOURCE_KEY"]},
    "fields": {"AMOUNT": {"from": "AMT"}},
    "reconcile": {
        "measures": [
            {
                "name": "amount",
                "source_column": "AMT",
                "source_encoding": "decimal",
                "target_column": "AMOUNT",
            }
        ],
        "grains": [
            {"name": "account", "source": ["ACCT"], "target": ["ACCOUNT"], "measures": ["amount"]}
        ],
    },
}
SERIES = {
    "sqlite": "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT {n}) "
    "SELECT i FROM c",
    "postgresql": "SELECT i FROM generate_series(1, {n}) AS g(i)",
}


def _cents(dialect: str) -> str:
    """Deterministic cents per row, integer arithmetic only."""
    i = "i" if dialect == "sqlite" else "i::bigint"
    return f"(({i} * 7919) % 500000 + 1)"


def build(legacy: Engine, staging: Engine, n: int, alter_every: int | None) -> None:
    d = legacy.dialect.name
    c = _cents(d)
    amt = (
        f"CAST({c} / 100 AS TEXT) || '.' || substr('0' || CAST({c} % 100 AS TEXT), -2)"
        if d == "sqlite"
        else f"({c} / 100)::text || '.' || lpad(({c} % 100)::text, 2, '0')"
    )
    with legacy.begin() as conn:
        conn.execute(text('DROP TABLE IF EXISTS "LEGACY_LINES"'))
        conn.execute(
            text(
                'CREATE TABLE "LEGACY_LINES" ("ID" INTEGER, "ACCT" VARCHAR(20), "AMT" VARCHAR(16))'
            )
        )
        conn.execute(
            text(
                f"INSERT INTO \"LEGACY_LINES\" SELECT i, 'A' || CAST(i % 50 AS TEXT), "
                f"{amt} FROM ({SERIES[d].format(n=n)}) s"
            )
        )
    delta = f"CASE WHEN i % {alter_every} = 7 THEN 1 ELSE 0 END" if alter_every else "0"
    with staging.begin() as conn:
        conn.execute(text('DROP TABLE IF EXISTS "BENCH_LINES"'))
        money = "BIGINT" if d == "sqlite" else "NUMERIC(18, 2)"
        conn.execute(
            text(
                f'CREATE TABLE "BENCH_LINES" ("MIG_SOURCE_KEY" VARCHAR(200), '
                f'"ACCOUNT" VARCHAR(20), "AMOUNT" {money}, "MIG_RUN_ID" VARCHAR(36), '
                f'"MIG_SOURCE_SYSTEM" VARCHAR(30), "MIG_ENTITY" VARCHAR(120))'
            )
        )
        value = f"({c} + {delta})" if d == "sqlite" else f"(({c} + {delta}) / 100.0)"
        conn.execute(
            text(
                f'INSERT INTO "BENCH_LINES" SELECT CAST(i AS TEXT), '
                f"'A' || CAST(i % 50 AS TEXT), {value}, 'R1', 'finance', 'bench_lines' "
                f"FROM ({SERIES[d].format(n=n)}) s"
            )
        )
    if d == "postgresql":  # a settled legacy database: visibility map and statistics in place
        for engine in {legacy.url: legacy, staging.url: staging}.values():
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text('VACUUM ANALYZE "LEGACY_LINES"'))
                conn.execute(text('VACUUM ANALYZE "BENCH_LINES"'))


def ours(legacy_url: str, staging_url: str) -> dict[str, Any]:
    """The full reconciliation of one entity: identity, grain totals, keyed diff."""
    from migrate.spec.model import EntitySpec
    from reconcile.proving.both_sides import at_once, both
    from reconcile.proving.diff import keyed_diff
    from reconcile.proving.entity import paired
    from reconcile.proving.grains import GrainTotals
    from reconcile.reading.sources import plan_source
    from reconcile.reading.sqltext import install_functions
    from reconcile.reading.staging_side import Staging, staged_relation, target_columns

    started = time.perf_counter()
    spec = EntitySpec.model_validate(SPEC)
    legacy, staging = create_engine(legacy_url), create_engine(staging_url)
    install_functions(legacy)
    install_functions(staging)
    plan = plan_source(spec, legacy, Path("."))
    source, staged = paired(plan.side, staged_relation(Staging(staging, None, "R1"), spec))
    both(source.scan, staged.scan, at_once(source, staged))
    src, stg = source.totals(), staged.totals()
    grains = GrainTotals(spec, {}, plan.grain_columns, target_columns(spec))
    rows = grains.rows(spec.reconcile.grains[0], source, staged, [], [])
    scanned = time.perf_counter()
    diffs, stats = keyed_diff(spec.entity, ("AMOUNT",), source, staged, [])
    done = time.perf_counter()
    source.close()
    staged.close()
    legacy.dispose()
    staging.dispose()
    return {
        "rows": src.rows,
        "identity_gap_cents": src.cents[0] - stg.cents[0],
        "grain_rows_off": sum(r.status == "FAIL" for r in rows),
        "changed": len(diffs),
        "levels": stats.levels,
        "rows_pulled": stats.rows_pulled,
        "scan_s": round(scanned - started, 2),
        "diff_s": round(done - scanned, 2),
    }


def theirs(legacy_url: str, staging_url: str) -> dict[str, Any]:
    """datacompy on the same data: both tables read into pandas (exact cents), joined on key."""
    import datacompy
    import pandas as pd

    legacy, staging = create_engine(legacy_url), create_engine(staging_url)
    src = pd.read_sql('SELECT "ID", "ACCT", "AMT" FROM "LEGACY_LINES"', legacy)
    src["key"] = src["ID"].astype(str)
    src["AMOUNT"] = src["AMT"].str.replace(".", "", regex=False).astype("int64")
    stg = pd.read_sql(
        'SELECT "MIG_SOURCE_KEY" AS key, "ACCOUNT", "AMOUNT" FROM "BENCH_LINES"',
        staging,
        coerce_float=False,
    )
    if stg["AMOUNT"].dtype == object:  # NUMERIC -> Decimal on PostgreSQL (no float)
        stg["AMOUNT"] = (stg["AMOUNT"] * 100).map(int).astype("int64")
    cmp = datacompy.PandasCompare(
        src[["key", "AMOUNT"]], stg[["key", "AMOUNT"]], join_columns="key"
    )
    legacy.dispose()
    staging.dispose()
    return {"rows": len(src), "changed": len(cmp.all_mismatch())}


DRIVERS = ("psycopg", "sqlalchemy.dialects.postgresql.psycopg")  # loaded by create_engine
IMPORTS = {
    "ours": (
        "migrate.spec.model",
        "reconcile.proving.entity",
        "reconcile.proving.diff",
        "reconcile.proving.grains",
    ),
    "theirs": ("datacompy", "pandas"),
}


def _child(fn: str, args: tuple[str, str], queue: Any) -> None:
    """Imports first (not timed, for both), then the work: wall and this process's CPU."""
    # both kinds of side are read through Arrow, whose first conversion of a Python value
    # imports pandas (about 0.3 s); `migrate reconcile` has both loaded before it reconciles
    side = (
        "reconcile.reading.arrowside"
        if args[0].startswith("sqlite")
        else "reconcile.reading.arrowpg"
    )
    arrow = (side, "pandas") if fn == "ours" else ()
    for module in (*IMPORTS[fn], *DRIVERS, *arrow):
        importlib.import_module(module)
    started, cpu = time.perf_counter(), time.process_time()
    result = globals()[fn](*args)
    result["seconds"] = time.perf_counter() - started
    result["client_cpu_s"] = round(time.process_time() - cpu, 2)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(result)


def measure(fn: str, legacy_url: str, staging_url: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, (legacy_url, staging_url), queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


@contextmanager
def databases(args: argparse.Namespace, folder: Path, tag: str) -> Iterator[tuple[str, str]]:
    """(legacy URL, staging URL): two SQLite files, or one fresh PostgreSQL database."""
    if not args.pg:
        yield (
            f"sqlite:///{folder / f'legacy_{tag}.db'}",
            f"sqlite:///{folder / f'staging_{tag}.db'}",
        )
        return
    name = f"rec_bench_{tag}_{os.getpid()}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url, url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def compare(args: argparse.Namespace, folder: Path) -> None:
    with databases(args, folder, "diff") as (legacy_url, staging_url):
        t0 = time.perf_counter()
        build(create_engine(legacy_url), create_engine(staging_url), args.rows, 1000)
        print(f"built {args.rows:,} rows per side in {time.perf_counter() - t0:.1f}s")
        mine = measure("ours", legacy_url, staging_url)
        dc = measure("theirs", legacy_url, staging_url)
    print(f"{'':>10}  {'seconds':>8}  {'rows/s':>10}  {'client CPU s':>12}  {'peak RSS MB':>11}")
    for name, r in (("reconcile", mine), ("datacompy", dc)):
        print(
            f"{name:>10}  {r['seconds']:8.2f}  {r['rows'] / r['seconds']:10,.0f}  "
            f"{r['client_cpu_s']:12.2f}  {r['peak_rss_mb']:11.0f}"
        )
    print(f"reconcile: {mine}")
    print(f"datacompy: {dc}")
    assert mine["changed"] == dc["changed"], "the two diffs disagree"
    print(f"speed-up vs datacompy: {dc['seconds'] / mine['seconds']:.1f}x (wall clock)")


def equal(args: argparse.Namespace, folder: Path) -> None:
    with databases(args, folder, "equal") as (legacy_url, staging_url):
        t0 = time.perf_counter()
        build(create_engine(legacy_url), create_engine(staging_url), args.equal_rows, None)
        print(f"built {args.equal_rows:,} equal rows per side in {time.perf_counter() - t0:.1f}s")
        r = measure("ours", legacy_url, staging_url)
    print(
        f"equal {args.equal_rows:,}-row tables: {r['changed']} differences, "
        f"{r['levels']} level(s), {r['rows_pulled']} rows pulled, full reconciliation "
        f"{r['seconds']:.1f}s (scan {r['scan_s']}s, diff {r['diff_s']}s), "
        f"peak RSS {r['peak_rss_mb']:.0f} MB"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="0 skips the comparison")
    p.add_argument("--equal-rows", type=int, default=5_000_000, help="0 skips equal tables")
    p.add_argument("--pg", help="PostgreSQL admin URL; the bench creates and drops its own DBs")
    args = p.parse_args()
    print(f"{'PostgreSQL' if args.pg else 'SQLite'}, {os.cpu_count()} CPUs, {time.ctime()}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.rows:
            compare(args, Path(tmp))
        if args.equal_rows:
            equal(args, Path(tmp))


if __name__ == "__main__":
    main()
