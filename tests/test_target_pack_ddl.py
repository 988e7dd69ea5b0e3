"""The shipped staging built from the generated pack is the staging that was Python: every
CREATE TABLE, CREATE INDEX and COMMENT that ``create_all`` runs for the ERP target tables
and their ``MIG_REPLACED_`` twins, on SQLite, PostgreSQL and MariaDB (MySQL dialect), is
byte for byte the DDL captured from ``migrate/staging/tables.py`` before the pack replaced
it (``tests/data/staging_ddl.<dialect>.txt``).

The DDL is what ``MetaData.create_all`` sends, captured by a mock engine (no server needed),
sorted so that the golden does not depend on the order tables are declared in.
``MIGRATE_UPDATE_GOLDEN=1`` rewrites the files: only for a change to staging you mean.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_mock_engine

from migrate.staging import catalog
from migrate.staging.tables import build_metadata

DATA = Path(__file__).parent / "data"
DIALECTS = {
    "sqlite": "sqlite://",
    "postgresql": "postgresql+psycopg://",
    "mysql": "mysql+pymysql://",
}


def create_all_ddl(md: MetaData, dialect: str) -> str:
    """Every statement ``create_all`` would run on ``dialect`` for the ERP target tables and
    their delta twins (the tool's bookkeeping tables are not the pack's), sorted."""
    statements: list[str] = []

    def capture(sql: Any, *_: Any, **__: Any) -> None:
        statements.append(str(sql.compile(dialect=engine.dialect)).strip())

    engine = create_mock_engine(DIALECTS[dialect], capture)
    targets = [t for t in md.sorted_tables if {"target_key", "replaces"} & set(t.info)]
    md.create_all(engine, tables=targets, checkfirst=False)
    return "".join(f"{s};\n\n" for s in sorted(statements))


def golden(dialect: str) -> Path:
    return DATA / f"staging_ddl.{dialect}.txt"


@pytest.fixture
def shipped_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No user target folder declared by an earlier test in this process."""
    monkeypatch.setattr(catalog, "_directories", [])


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_staging_ddl_is_unchanged(shipped_only: None, dialect: str) -> None:
    text = create_all_ddl(build_metadata(), dialect)
    if os.environ.get("MIGRATE_UPDATE_GOLDEN") == "1":
        golden(dialect).write_text(text, encoding="utf-8")
    assert text == golden(dialect).read_text(encoding="utf-8"), (
        "MIGRATE_UPDATE_GOLDEN=1 rewrites it"
    )
