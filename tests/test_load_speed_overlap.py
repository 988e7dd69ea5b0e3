"""On PostgreSQL, chunks written in the background while the next is prepared stage exactly
what one chunk at a time stages; a failed background write is redone; the key-map lookup
through the raw cursor finds what the SQLAlchemy one finds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from migrate.config import load_settings
from migrate.load import key_lookups, keymap
from migrate.runs import pipeline
from migrate.runs.runner import run_migration
from migrate.staging.create import ensure_staging
from tests.conftest import drop_pg_database, make_pg_database
from tests.test_pipeline import make_estate

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
ENTITIES = ["suppliers_finance", "ap_invoices", "ap_invoice_lines"]
pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("estate")
    make_estate(folder, scale=1000, seed=11)
    return folder


def migrate_into(estate: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATE_STAGING_URL", url)
    run_migration(load_settings(estate), MAPPINGS, "full", ENTITIES, chunk_size=61)
    monkeypatch.delenv("MIGRATE_STAGING_URL")


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "lines": 'SELECT "INVOICE_ID", "LINE_NUMBER", "LINE_TYPE_LOOKUP_CODE", "AMOUNT", '
        '"QUANTITY_INVOICED", "UNIT_PRICE", "DESCRIPTION", "DIST_CODE_CONCATENATED", '
        '"ACCOUNTING_DATE", "MIG_BATCH_ID", "MIG_SOURCE_SYSTEM", "MIG_SOURCE_KEY", '
        '"MIG_SOURCE_HASH" FROM "AP_INVOICE_LINES_INTERFACE" ORDER BY 1, 2',
        "rejects": 'SELECT "BATCH_ID", "ENTITY", "SOURCE_KEY", "COLUMN_NAME", "REASON_CODE", '
        '"OFFENDING_VALUE", "MESSAGE" FROM "MIG_REJECTS" ORDER BY 2, 1, 3, 4',
        "progress": 'SELECT "ENTITY", "BATCH_ID", "ROWS_IN", "LOADED", "REJECTED", "FILTERED", '
        '"LAST_KEY" FROM "MIG_PROGRESS" ORDER BY 1, 2',
        "keys": 'SELECT "DOMAIN", "SOURCE_SYSTEM", "LEGACY_KEY", "ERP_KEY" FROM "MIG_KEY_MAP" '
        "ORDER BY 1, 2, 3",
    }
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return {k: [tuple(r) for r in conn.execute(text(q))] for k, q in queries.items()}
    finally:
        engine.dispose()


def test_overlapped_writes_stage_what_serial_writes_stage(
    estate: Path, pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial, overlapped = make_pg_database(pg_server), make_pg_database(pg_server)
    try:
        used: list[str] = []
        real = pipeline.can_overlap

        def spy(ctx: Any, spec: Any) -> bool:
            if real(ctx, spec):
                used.append(spec.entity)
            return real(ctx, spec)

        monkeypatch.setattr(pipeline, "can_overlap", lambda ctx, spec: False)
        migrate_into(estate, serial, monkeypatch)
        monkeypatch.setattr(pipeline, "can_overlap", spy)
        migrate_into(estate, overlapped, monkeypatch)
        assert used == ["ap_invoice_lines"]  # the entities issuing keys load one chunk at a time
        want, got = contents(serial), contents(overlapped)
        assert len(want["progress"]) > 10 and len(want["lines"]) > 500
        assert got == want
    finally:
        drop_pg_database(pg_server, serial)
        drop_pg_database(pg_server, overlapped)


def test_a_failed_background_write_is_redone_once_in_order(
    estate: Path, pg_server: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = make_pg_database(pg_server)
    try:
        migrate_into(estate, reference, monkeypatch)
        real = pipeline.write_chunk
        failed: list[int] = []

        def flaky(ctx: Any, spec: Any, table: Any, conn: Any, ready: Any) -> None:
            real(ctx, spec, table, conn, ready)  # written, then lost before the commit
            if spec.entity == "ap_invoice_lines" and ready.chunk.batch_id == 3 and not failed:
                failed.append(ready.chunk.batch_id)
                raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

        monkeypatch.setattr(pipeline, "write_chunk", flaky)
        migrate_into(estate, pg_url, monkeypatch)
        assert failed == [3]
        assert contents(pg_url) == contents(reference)
    finally:
        drop_pg_database(pg_server, reference)


def test_lookup_column_finds_what_lookup_finds(pg_url: str) -> None:
    md = ensure_staging(pg_url)
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            keymap.issue(conn, md, "d", "s", ["a", "b", "c,d", "é", "x'y"], "r1")
            keymap.issue(conn, md, "other", "s", ["z"], "r1")
            legacy = pd.Series(["a", None, "", "c,d", "z", "é", "a", "x'y", "q"], dtype="str")
            got = key_lookups.lookup_column(conn, md, "d", "s", legacy)
            want = legacy.map(key_lookups.lookup(conn, md, "d", "s", legacy.dropna())).astype(
                "Int64"
            )
            assert got.dtype == want.dtype == "Int64"
            assert got.tolist() == want.tolist()
            assert got.index.equals(legacy.index)
            none = key_lookups.lookup_column(conn, md, "d", "s", pd.Series([None, ""], dtype="str"))
            assert none.isna().all()
            # a key holding the separator the keys are joined with goes as a list instead
            keymap.issue(conn, md, "d", "s", ["u\x1fv", " ", "NULL", ",", "-1"], "r1")
            odd = pd.Series(["u\x1fv", "u", "v", " ", "NULL", ",", "-1", "a"], dtype="str")
            for legacy in (odd, odd[1:]):
                got = key_lookups.lookup_column(conn, md, "d", "s", legacy)
                want = legacy.map(key_lookups.lookup(conn, md, "d", "s", legacy)).astype("Int64")
                assert got.tolist() == want.tolist()
                assert got.notna().tolist() == [k not in ("u", "v") for k in legacy]
        # answered on a connection of its own, in the background: the same answer
        with ThreadPoolExecutor(1) as pool, engine.connect() as conn:
            now = key_lookups.KeyResolver(conn, md, lambda d: [])
            later = key_lookups.KeyResolver(conn, md, lambda d: [], (engine, pool))
            for legacy in (odd, pd.Series(["a", None, "zz", "b"], dtype="str")):
                answer = later.begin("d", "s", legacy)
                for got, want in zip(answer(), now("d", "s", legacy), strict=True):
                    pd.testing.assert_series_equal(got, want)
            later.close()
    finally:
        engine.dispose()
