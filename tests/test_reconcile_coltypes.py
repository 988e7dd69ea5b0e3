"""Legacy columns whose text needs no TRIM (integers, exact decimals), and that dropping the
TRIM there leaves every key and amount text exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from reconcile.reading.coltypes import untrimmed_columns
from reconcile.reading.sqltext import key_expr, trimmed_text

COLUMNS = ["I2", "I4", "I8", "NUM", "VC", "CH", "D", "TX"]
PLAIN = frozenset({"I2", "I4", "I8", "NUM"})
ROWS = [
    "(1, 10, 10000000000, 12.50, ' a ', 'b', DATE '2024-01-31', ' t')",
    "(-3, -40, -9000000000000000000, -0.05, 'x', ' y', NULL, 'u ')",
    "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    "(0, 0, 0, 0, '', '', DATE '1999-12-31', '')",
]


def _table(url: str, dialect: str) -> None:
    text_type = "TEXT" if dialect == "postgresql" else "LONGTEXT"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                'CREATE TABLE "LEG_TYPES" ("I2" SMALLINT, "I4" INTEGER, "I8" BIGINT, '
                '"NUM" NUMERIC(12, 2), "VC" VARCHAR(10), "CH" CHAR(3), "D" DATE, '
                f'"TX" {text_type})'.replace('"', "`" if dialect != "postgresql" else '"')
            )
        )
        table = '"LEG_TYPES"' if dialect == "postgresql" else "`LEG_TYPES`"
        conn.execute(text(f"INSERT INTO {table} VALUES {', '.join(ROWS)}"))
    engine.dispose()


def _check(url: str, dialect: str) -> None:
    _table(url, dialect)
    engine = create_engine(url)
    quote = engine.dialect.identifier_preparer.quote
    table = quote("LEG_TYPES")
    assert untrimmed_columns(engine, table, COLUMNS) == PLAIN
    query = f"(SELECT {quote('I4')}, {quote('VC')} FROM {table}) q"
    assert untrimmed_columns(engine, query, ["I4", "VC", "I4"]) == {"I4"}
    # without the TRIM, every plain column's text (and the key built from it) is unchanged
    for col in sorted(PLAIN):
        trimmed = trimmed_text(quote(col), False, dialect)
        plain = trimmed_text(quote(col), True, dialect)
        key_t = key_expr([col, "VC"], dialect, quote)
        key_p = key_expr([col, "VC"], dialect, quote, PLAIN)
        assert "TRIM" not in plain and key_t != key_p
        sql = f"SELECT {trimmed}, {plain}, {key_t}, {key_p} FROM {table}"
        with engine.connect() as conn:
            for a, b, ka, kb in conn.execute(text(sql)):
                assert (a, ka) == (b, kb)
    engine.dispose()


@pytest.mark.db
def test_postgresql_plain_columns(pg_url: str) -> None:
    _check(pg_url, "postgresql")


@pytest.mark.db
def test_mariadb_plain_columns(mysql_url: str) -> None:
    _check(mysql_url, "mysql")


def test_sqlite_trims_everything(tmp_path: Path) -> None:
    """SQLite columns hold any type (' 7 ' in an INTEGER column): nothing is exempt."""
    engine = create_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    with engine.begin() as conn:
        conn.execute(text('CREATE TABLE "T" ("ID" INTEGER, "AMT" NUMERIC)'))
        conn.execute(text("INSERT INTO \"T\" VALUES (' 7 ', 1.5)"))
    assert untrimmed_columns(engine, '"T"', ["ID", "AMT"]) == frozenset()
    engine.dispose()
