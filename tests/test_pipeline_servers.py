"""The same migration with real servers: PostgreSQL and MariaDB legacy, PostgreSQL staging."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from fixtures.estate.build import build_estate
from migrate.config import load_settings
from migrate.db import readonly_engine
from migrate.runs.runner import rollback_run, run_migration
from migrate.spec.loader import load_project
from tests.support.manifest_check import compare

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
pytestmark = pytest.mark.db


def _migrate(
    tmp_path: Path, legacy_url: str, staging_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    for system in ("finance", "hr", "procurement"):
        monkeypatch.setenv(f"MIGRATE_{system.upper()}_URL", legacy_url)
    monkeypatch.setenv("MIGRATE_STAGING_URL", staging_url)
    settings = load_settings(tmp_path)
    build_estate(
        {s: legacy_url for s in ("finance", "hr", "procurement")},
        tmp_path / "extracts",
        scale=300,
        seed=5,
        manifest_path=tmp_path / "estate_manifest.json",
    )
    return run_migration(settings, MAPPINGS, "full", chunk_size=41).run_id


def _assert_manifest(tmp_path: Path, staging_url: str, run_id: str) -> None:
    result = compare(load_project(MAPPINGS), tmp_path / "estate_manifest.json", staging_url, run_id)
    assert result.checked > 100
    assert result.wrong_reason == []
    assert result.not_rejected == []
    assert result.unexpected_rejects == []
    assert result.cosmetic_not_loaded == []


def test_postgres_to_postgres(
    tmp_path: Path, pg_url: str, staging_pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _migrate(tmp_path, pg_url, staging_pg, monkeypatch)
    _assert_manifest(tmp_path, staging_pg, run_id)
    removed = rollback_run(load_settings(tmp_path), run_id)
    assert removed["AP_INVOICE_LINES_INTERFACE"] > 0


def test_mariadb_legacy_to_postgres(
    tmp_path: Path, mysql_url: str, staging_pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _migrate(tmp_path, mysql_url, staging_pg, monkeypatch)
    _assert_manifest(tmp_path, staging_pg, run_id)


def test_money_is_exact_numeric_in_postgres_staging(
    tmp_path: Path, pg_url: str, staging_pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _migrate(tmp_path, pg_url, staging_pg, monkeypatch)
    engine = create_engine(staging_pg)
    with engine.connect() as conn:
        staged = conn.execute(
            text('SELECT SUM("AMOUNT") FROM "AP_INVOICE_LINES_INTERFACE"')
        ).scalar()
        kind = conn.execute(
            text(
                "SELECT data_type FROM information_schema.columns WHERE table_name = "
                "'AP_INVOICE_LINES_INTERFACE' AND column_name = 'AMOUNT'"
            )
        ).scalar()
    engine.dispose()
    assert kind == "numeric"
    assert staged == staged.quantize(staged.__class__("0.01"))


def test_postgres_source_readable_by_a_select_only_role(pg_url: str, tmp_path: Path) -> None:
    """Legacy connections are read-only even for a role that could write, and a SELECT-only
    role is all a migration needs."""
    build_estate(
        {s: pg_url for s in ("finance", "hr", "procurement")},
        tmp_path / "extracts",
        scale=200,
        seed=1,
    )
    role = f"mig_ro_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    try:
        ro_url = pg_url.replace("postgres@", f"{role}@", 1)
        engine = readonly_engine(ro_url)
        with engine.connect() as conn:
            assert conn.execute(text('SELECT COUNT(*) FROM "APINVLIN"')).scalar() > 0
        engine.dispose()
        writer_even_as_owner = readonly_engine(pg_url)
        with (
            pytest.raises(DBAPIError, match="read-only transaction"),
            writer_even_as_owner.begin() as conn,
        ):
            conn.execute(text('DELETE FROM "APINVLIN"'))
        writer_even_as_owner.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"REASSIGN OWNED BY {role} TO postgres"))
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def test_sqlite_source_is_read_only(tmp_path: Path) -> None:
    db = tmp_path / "legacy.db"
    create_engine(f"sqlite:///{db}").connect().close()
    engine = readonly_engine(f"sqlite:///{db}")
    with pytest.raises(DBAPIError, match="readonly"), engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
