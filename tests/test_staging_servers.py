"""Runs with MariaDB as staging too, and partitions loading side by side on PostgreSQL.

Per staging engine (PostgreSQL, MariaDB): every planted defect caught, rollback, a failed
run resumed exactly once, delta updating in place and its rollback restoring what it
replaced; rehearsal isolation on MariaDB (its own database); a MariaDB legacy source is
read-only. On PostgreSQL, partitions of the large
entities loaded by concurrent threads stage exactly what one sequential pass stages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from fixtures.estate.build import build_estate
from migrate.config import load_settings
from migrate.db import readonly_engine
from migrate.errors import TerminalError
from migrate.runs import partitions, pipeline
from migrate.runs import records as runs
from migrate.runs.runner import open_context, resume_run, rollback_run, run_migration
from migrate.spec.loader import load_project
from tests.conftest import (
    drop_mysql_database,
    drop_pg_database,
    make_mysql_database,
    make_pg_database,
)
from tests.support.manifest_check import compare

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
TARGETS = sorted({e.spec.target.table for e in load_project(MAPPINGS).entities.values()})
pytestmark = pytest.mark.db


@pytest.fixture(params=["postgresql", "mariadb"])
def servers(request: pytest.FixtureRequest, pg_server: str, mysql_server: str) -> Iterator[Any]:
    """(legacy URL, staging URL): staging on the parameter's engine, legacy on the other."""
    pg = make_pg_database(pg_server)
    my = make_mysql_database(mysql_server)
    try:
        yield (my, pg) if request.param == "postgresql" else (pg, my)
    finally:
        drop_pg_database(pg_server, pg)
        drop_mysql_database(mysql_server, my)


def use(monkeypatch: pytest.MonkeyPatch, legacy: str, staging: str) -> None:
    for system in ("FINANCE", "HR", "PROCUREMENT"):
        monkeypatch.setenv(f"MIGRATE_{system}_URL", legacy)
    monkeypatch.setenv("MIGRATE_STAGING_URL", staging)
    monkeypatch.delenv("MIGRATE_STAGING_SCHEMA", raising=False)


def build(folder: Path, legacy: str, seed: int) -> None:
    build_estate(
        {s: legacy for s in ("finance", "hr", "procurement")},
        folder / "extracts",
        scale=200,
        seed=seed,
        manifest_path=folder / "estate_manifest.json",
    )


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = [tuple(r) for r in conn.execute(text(_quote(url, sql)))]
    engine.dispose()
    return out


def _quote(url: str, sql: str) -> str:
    """Tests write identifiers in double quotes; MariaDB wants backticks."""
    return sql.replace('"', "`") if url.startswith("mysql") else sql


def test_defects_rollback_resume_and_delta(
    servers: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy, staging = servers
    use(monkeypatch, legacy, staging)
    build(tmp_path, legacy, seed=41)
    settings = load_settings(tmp_path)

    first = run_migration(settings, MAPPINGS, "full", chunk_size=53).run_id
    found = compare(load_project(MAPPINGS), tmp_path / "estate_manifest.json", staging, first)
    assert found.checked > 50 and found.wrong_reason == found.not_rejected == []
    assert found.unexpected_rejects == []
    removed = rollback_run(settings, first)
    assert removed["AP_INVOICE_LINES_INTERFACE"] > 0 and removed["MIG_KEY_MAP"] > 0
    for table in [*TARGETS, "MIG_REJECTS", "MIG_FILTERED", "MIG_KEY_MAP", "MIG_PROGRESS"]:
        assert rows(staging, f'SELECT COUNT(*) FROM "{table}"') == [(0,)], table

    real = pipeline.process_chunk

    def fail(ctx: Any, spec: Any, table: Any, schema: Any, chunk: Any, *a: Any, **k: Any) -> Any:
        if spec.entity == "ap_invoice_lines" and chunk.batch_id == 3:
            raise TerminalError("staging disk full (injected)")
        return real(ctx, spec, table, schema, chunk, *a, **k)

    monkeypatch.setattr(pipeline, "process_chunk", fail)
    with pytest.raises(TerminalError):
        run_migration(settings, MAPPINGS, "full", chunk_size=53)
    monkeypatch.setattr(pipeline, "process_chunk", real)
    run_id = rows(staging, """SELECT "RUN_ID" FROM "MIG_RUNS" WHERE "STATUS" = 'failed'""")[0][0]
    assert rows(staging, 'SELECT MAX("BATCH_ID") FROM "MIG_PROGRESS" WHERE "ENTITY" = '
                "'ap_invoice_lines'") == [(2,)]  # fmt: skip
    resume_run(settings, MAPPINGS, run_id, chunk_size=53)
    found = compare(load_project(MAPPINGS), tmp_path / "estate_manifest.json", staging, run_id)
    assert found.wrong_reason == found.not_rejected == found.unexpected_rejects == []
    lines = rows(staging, 'SELECT COUNT(*), COUNT(DISTINCT "MIG_SOURCE_KEY") '
                 'FROM "AP_INVOICE_LINES_INTERFACE"')  # fmt: skip
    total = rows(legacy, 'SELECT COUNT(*) FROM "APINVLIN"')[0][0]
    rejected = rows(staging, 'SELECT COUNT(*) FROM "MIG_REJECTS" WHERE "ENTITY" = '
                    "'ap_invoice_lines'")[0][0]  # fmt: skip
    assert lines[0][0] == lines[0][1] and lines[0][0] + rejected == total  # each row once

    pmt = rows(staging, 'SELECT MIN("PAYMENT_ID") FROM "AP_PAYMENTS"')[0][0]
    key = f'SELECT "MIG_SOURCE_KEY" FROM "AP_PAYMENTS" WHERE "PAYMENT_ID" = {pmt}'
    source_pmt = int(rows(staging, key)[0][0])
    counts = {t: rows(staging, f'SELECT COUNT(*) FROM "{t}"')[0][0] for t in DELTA_TABLES}
    old = min(
        int(k) for (k,) in rows(staging, 'SELECT "MIG_SOURCE_KEY" FROM "AP_INVOICES_INTERFACE"')
    )
    new_lines = _copy_invoice(legacy, int(old), source_pmt)
    delta = run_migration(settings, MAPPINGS, "delta", chunk_size=53)
    by_entity = {e.entity: e for e in delta.entities}
    assert by_entity["ap_invoices"].rows_in == 1
    assert by_entity["ap_invoice_lines"].rows_in == new_lines
    after = {t: rows(staging, f'SELECT COUNT(*) FROM "{t}"')[0][0] for t in DELTA_TABLES}
    assert after["AP_INVOICES_INTERFACE"] == counts["AP_INVOICES_INTERFACE"] + 1
    assert after["AP_PAYMENTS"] == counts["AP_PAYMENTS"]  # replaced in place, not added
    amount = rows(
        staging, f'SELECT "AMOUNT", "MIG_RUN_ID" FROM "AP_PAYMENTS" WHERE "PAYMENT_ID" = {pmt}'
    )
    assert amount == [(Decimal("12.34"), delta.run_id)]  # exact NUMERIC, updated in place
    rollback_run(settings, delta.run_id)  # brings back the versions the delta replaced
    after = {t: rows(staging, f'SELECT COUNT(*) FROM "{t}"')[0][0] for t in DELTA_TABLES}
    assert after == counts
    back = rows(staging, f'SELECT "MIG_RUN_ID" FROM "AP_PAYMENTS" WHERE "PAYMENT_ID" = {pmt}')
    assert back == [(run_id,)]


DELTA_TABLES = ("AP_INVOICES_INTERFACE", "AP_INVOICE_LINES_INTERFACE", "AP_PAYMENTS")


def _copy_invoice(legacy: str, old: int, payment: int) -> int:
    """The legacy system keeps working after the full run: a new invoice (a copy of ``old``
    with its lines) and a changed payment amount. Returns the new invoice's line count."""
    q = lambda sql: text(_quote(legacy, sql))  # noqa: E731
    writer = create_engine(legacy)
    with writer.begin() as conn:
        new = int(conn.execute(q('SELECT MAX("INV_ID") FROM "APINVHDR"')).scalar() or 0) + 1
        conn.execute(
            q('INSERT INTO "APINVHDR" SELECT :new, "VND_NO", CONCAT(\'NEW-\', "INV_NO"), '
              '"INV_DT", "INV_AMT", "DUE_DT", "FISC_PER", "DESCR" FROM "APINVHDR" '
              'WHERE "INV_ID" = :old'),
            {"new": new, "old": old},
        )  # fmt: skip
        conn.execute(
            q('INSERT INTO "APINVLIN" SELECT :new, "LIN_NO", "ACCT_STR", "LIN_AMT_CENTS", '
              '"QTY", "UNIT_PRC", "DESCR" FROM "APINVLIN" WHERE "INV_ID" = :old'),
            {"new": new, "old": old},
        )  # fmt: skip
        conn.execute(
            q('UPDATE "APPMT" SET "PMT_AMT" = \'000000012.34\' WHERE "PMT_ID" = :k'),
            {"k": payment},
        )
        lines = conn.execute(
            q('SELECT COUNT(*) FROM "APINVLIN" WHERE "INV_ID" = :old'), {"old": old}
        ).scalar()
    writer.dispose()
    return int(lines or 0)


def test_rehearsal_on_mariadb_uses_its_own_database(
    pg_url: str, mysql_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = make_mysql_database(mysql_server)
    url = make_url(staging)
    rehearsal = url.set(database=f"{url.database}_rehearsal").render_as_string(False)
    admin = create_engine(mysql_server)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{url.database}_rehearsal` CHARACTER SET utf8mb4"))
    admin.dispose()
    try:
        use(monkeypatch, pg_url, staging)
        build(tmp_path, pg_url, seed=43)
        run_migration(load_settings(tmp_path), MAPPINGS, "rehearsal", chunk_size=97)
        assert rows(rehearsal, 'SELECT COUNT(*) FROM "SUPPLIERS"')[0][0] > 0
        real = rows(staging, "SELECT COUNT(*) FROM information_schema.tables WHERE "
                    "table_schema = DATABASE() AND table_name = 'SUPPLIERS'")  # fmt: skip
        assert real == [(0,)] or rows(staging, 'SELECT COUNT(*) FROM "SUPPLIERS"') == [(0,)]
    finally:
        drop_mysql_database(mysql_server, rehearsal)
        drop_mysql_database(mysql_server, staging)


def test_mariadb_source_is_read_only(mysql_url: str, tmp_path: Path) -> None:
    build_estate({s: mysql_url for s in ("finance", "hr", "procurement")}, tmp_path, 200, 2)
    engine = readonly_engine(mysql_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM `APINVLIN`")).scalar() > 0
    with pytest.raises(DBAPIError, match="READ ONLY"), engine.begin() as conn:
        conn.execute(text("DELETE FROM `APINVLIN`"))
    engine.dispose()


def _staged(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Staged rows and rejects, without run and batch ids (they differ by design)."""
    skip = {"MIG_RUN_ID", "MIG_BATCH_ID", "RUN_ID", "BATCH_ID", "MESSAGE"}
    engine = create_engine(url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in [*TARGETS, "MIG_REJECTS", "MIG_FILTERED", "MIG_KEY_MAP"]:
            cols = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns WHERE "
                        "table_schema = 'public' AND table_name = :t ORDER BY ordinal_position"
                    ),
                    {"t": table},
                )
                if r[0] not in skip
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            out[table] = sorted(conn.execute(text(f'SELECT {select} FROM "{table}"')), key=repr)
    engine.dispose()
    return out


def test_partitions_loaded_side_by_side_on_postgres(
    pg_server: str, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three threads load three partitions of each large entity at once into PostgreSQL."""
    build(tmp_path, pg_url, seed=45)
    whole, split = make_pg_database(pg_server), make_pg_database(pg_server)
    try:
        use(monkeypatch, pg_url, whole)
        run_migration(load_settings(tmp_path), MAPPINGS, "full", chunk_size=29)
        use(monkeypatch, pg_url, split)
        project = load_project(MAPPINGS)
        ctx = open_context(load_settings(tmp_path), project, "", "full", 29)
        ctx = dataclasses.replace(ctx, run_id=runs.start_run(ctx.staging, ctx.md, "full", {}, {}))
        with ThreadPoolExecutor(max_workers=3) as pool:
            for name in project.order:
                spec = project.spec(name)
                source = ctx.sources.get(spec.source.system) if spec.source.table else None
                parts = partitions.plan(ctx.staging, ctx.md, source, spec, ctx.run_id, 3)
                jobs = [pool.submit(pipeline.run_entity, ctx, name, None, None, p) for p in parts]
                for job in jobs:
                    job.result()
        ctx.staging.dispose()
        split_counts = rows(split, 'SELECT COUNT(*) FROM "MIG_PARTITIONS" WHERE "PARTITIONS" = 3')
        assert split_counts[0][0] >= 15  # at least five entities ran as three partitions
        assert _staged(split) == _staged(whole)
    finally:
        drop_pg_database(pg_server, whole)
        drop_pg_database(pg_server, split)


def _cli(workdir: Path, legacy: str, staging: str, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATE_")}
    env.update({f"MIGRATE_{s}_URL": legacy for s in ("FINANCE", "HR", "PROCUREMENT")})
    env["MIGRATE_STAGING_URL"] = staging
    cmd = [sys.executable, "-m", "cli.main", "--workdir", str(workdir)]
    cmd += ["--mappings", str(MAPPINGS), *args, "--chunk-size", "25"]
    log = (workdir / f"{args[0]}.log").open("ab")  # progress goes to stderr: not a pipe
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)


def _keys(url: str) -> dict[str, list[tuple[Any, ...]]]:
    out = {t: sorted(rows(url, f'SELECT "MIG_SOURCE_SYSTEM", "MIG_SOURCE_KEY" FROM "{t}"'))
           for t in TARGETS}  # fmt: skip
    out["rejects"] = sorted(
        rows(url, 'SELECT "ENTITY", "SOURCE_KEY", "REASON_CODE" FROM "MIG_REJECTS"')
    )
    return out


@pytest.mark.slow
def test_kill_and_resume_with_mariadb_staging_is_exactly_once(
    pg_url: str, mysql_server: str, tmp_path: Path
) -> None:
    """kill -9 a real loader writing into MariaDB, resume it, compare with a clean run."""
    urls = {s: pg_url for s in ("finance", "hr", "procurement")}
    build_estate(urls, tmp_path / "extracts", 2000, 33)
    staging, reference = make_mysql_database(mysql_server), make_mysql_database(mysql_server)
    try:
        proc = _cli(tmp_path, pg_url, staging, "run")
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.3)
            with contextlib.suppress(Exception):
                if rows(staging, 'SELECT COUNT(*) FROM "MIG_PROGRESS"')[0][0] >= 40:
                    break
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        run_id, status = rows(staging, 'SELECT "RUN_ID", "STATUS" FROM "MIG_RUNS"')[0]
        assert status == "running"
        resumed = _cli(tmp_path, pg_url, staging, "resume", str(run_id))
        assert resumed.wait() == 0, (tmp_path / "resume.log").read_text()[-2000:]
        assert rows(staging, 'SELECT "STATUS" FROM "MIG_RUNS"') == [("complete",)]
        clean = _cli(tmp_path, pg_url, reference, "run")
        assert clean.wait() == 0, (tmp_path / "run.log").read_text()[-2000:]
        assert _keys(staging) == _keys(reference)
    finally:
        drop_mysql_database(mysql_server, staging)
        drop_mysql_database(mysql_server, reference)
