"""The rules across entities with the legacy estate and the staging on PostgreSQL: header =
sum of lines reads the legacy side through the server's types (INV_ID an integer there) and
finds the same planted headers as on SQLite; a cent on a staged line FAILs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from fixtures.estate.build import build_estate
from migrate.config import Settings
from migrate.runs.runner import run_migration
from tests.conftest import drop_pg_database, make_pg_database
from tests.test_header_total_estate import AP, MAPPINGS, header_rules, one

pytestmark = pytest.mark.db


def test_header_total_on_postgresql(pg_server: str, tmp_path: Path) -> None:
    urls = {k: make_pg_database(pg_server) for k in ("finance", "hr", "procurement", "staging")}
    try:
        manifest = build_estate(urls, tmp_path / "extracts", scale=300, seed=7)
        settings = Settings(urls=urls, workdir=tmp_path)
        run_id = run_migration(settings, MAPPINGS, "full", entities=AP).run_id
        rules = header_rules(settings, run_id)
        assert one(rules, ": in staging").violations == 0
        legacy = one(rules, "already off in the legacy data")
        planted = {
            str(d.key["INV_ID"])
            for d in manifest.defects
            if d.table in ("APINVHDR", "APINVLIN") and "INV_ID" in d.key
        }
        assert legacy.violations > 0
        assert all(k.split(":")[0].split()[-1] in planted for k in legacy.detail.split("; "))
        engine = create_engine(urls["staging"])
        with engine.begin() as conn:
            conn.execute(
                text(
                    'UPDATE "AP_INVOICE_LINES_INTERFACE" SET "AMOUNT" = "AMOUNT" + 0.01 WHERE'
                    ' ctid = (SELECT l.ctid FROM "AP_INVOICE_LINES_INTERFACE" l JOIN'
                    ' "AP_INVOICES_INTERFACE" h ON h."INVOICE_ID" = l."INVOICE_ID" WHERE'
                    ' h."INVOICE_AMOUNT" = (SELECT SUM(x."AMOUNT") FROM'
                    ' "AP_INVOICE_LINES_INTERFACE" x WHERE x."INVOICE_ID" = h."INVOICE_ID")'
                    " LIMIT 1)"
                )
            )
        engine.dispose()
        broken = one(header_rules(settings, run_id), ": in staging")
        assert broken.violations == 1 and broken.status == "FAIL"
    finally:
        for url in urls.values():
            drop_pg_database(pg_server, url)
