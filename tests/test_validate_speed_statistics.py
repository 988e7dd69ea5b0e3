"""Statistics refreshes while an entity runs analyse only the columns its queries filter on
(and the key map only for an entity that issues keys); the last one analyses whole tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from migrate.load.statistics import refresh_statistics
from migrate.spec.loader import load_project
from migrate.staging.tables import build_metadata

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


def _analysed(conn: object, table: str) -> set[str]:
    rows = conn.execute(  # type: ignore[attr-defined]
        text("SELECT attname FROM pg_stats WHERE tablename = :t"), {"t": table}
    )
    return {str(r[0]) for r in rows}


@pytest.mark.db
def test_refresh_analyses_queried_columns_then_whole_tables(pg_url: str) -> None:
    engine = create_engine(pg_url)
    md = build_metadata()
    md.create_all(engine)
    lines = load_project(MAPPINGS).spec("ap_invoice_lines")
    table = lines.target.table
    with engine.begin() as conn:
        conn.execute(
            text(
                f'INSERT INTO "{table}" ("INVOICE_ID", "LINE_NUMBER", "LINE_TYPE_LOOKUP_CODE", '
                '"AMOUNT", "DIST_CODE_CONCATENATED", "MIG_RUN_ID", "MIG_BATCH_ID", '
                '"MIG_ENTITY", "MIG_SOURCE_SYSTEM", "MIG_SOURCE_KEY", '
                "\"MIG_SOURCE_HASH\") SELECT g, 1, 'ITEM', 100, 'A', 'r', 1, 'ap_invoice_lines', "
                "'finance', g::text, "
                "md5(g::text) FROM generate_series(1, 500) g"
            )
        )
        conn.execute(
            text(
                'INSERT INTO "MIG_KEY_MAP" ("DOMAIN", "SOURCE_SYSTEM", "LEGACY_KEY", "ERP_KEY", '
                "\"RUN_ID\") SELECT 'ap_invoice', 'finance', g::text, g, 'r' "
                "FROM generate_series(1, 50) g"
            )
        )
    refresh_statistics(engine, md, lines, final=False)
    with engine.connect() as conn:
        assert _analysed(conn, table) == {"INVOICE_ID", "LINE_NUMBER", "MIG_RUN_ID"}
        assert _analysed(conn, "MIG_KEY_MAP") == set()  # lines issue no keys
    refresh_statistics(engine, md, lines, final=True)
    with engine.connect() as conn:
        assert {"AMOUNT", "MIG_SOURCE_KEY", "LINE_TYPE_LOOKUP_CODE"} <= _analysed(conn, table)
        assert _analysed(conn, "MIG_KEY_MAP") == set()
    invoices = load_project(MAPPINGS).spec("ap_invoices")
    assert invoices.issues_keys is not None
    refresh_statistics(engine, md, invoices, final=False)
    with engine.connect() as conn:
        assert {"DOMAIN", "LEGACY_KEY"} <= _analysed(conn, "MIG_KEY_MAP")
    engine.dispose()
