"""Only a duplicate target key sends a chunk to the key-by-key retry.

A chunk whose load fails on an integrity error is redone checking each target key only when
the error is a duplicate key: a NOT NULL or foreign-key failure would fail the same way
again, and the log would say "target keys already staged" when none were. Each database is
asked for real errors, through SQLAlchemy and through the raw driver cursor (bulk loads).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from migrate.runs.pipeline import unique_violation

DDL = (
    'CREATE TABLE "T" ("K" VARCHAR(10) NOT NULL, "V" VARCHAR(10) NOT NULL, '
    'CONSTRAINT "T_K" UNIQUE ("K"))'
)
ROWS = {"dup": ("a", "y"), "null": ("b", None)}


def _error(engine: Engine, kind: str, raw: bool) -> BaseException:
    with engine.begin() as conn:
        conn.execute(text(DDL))
        conn.execute(text("""INSERT INTO "T" VALUES ('a', 'x')"""))
    try:
        if raw:
            dbapi = engine.raw_connection()
            try:
                style = "?" if engine.dialect.name == "sqlite" else "%s"
                cur = dbapi.cursor()
                cur.executemany(f'INSERT INTO "T" VALUES ({style}, {style})', [ROWS[kind]])
                dbapi.commit()
            finally:
                dbapi.close()
        else:
            with engine.begin() as conn:
                k, v = ROWS[kind]
                conn.execute(text('INSERT INTO "T" VALUES (:k, :v)'), {"k": k, "v": v})
    except Exception as exc:  # the error under test
        return exc
    raise AssertionError(f"{kind} insert did not fail")


def _check(make: Callable[[], Engine]) -> None:
    for raw in (False, True):
        for kind, expected in (("dup", True), ("null", False)):
            engine = make()
            try:
                exc = _error(engine, kind, raw)
                assert unique_violation(engine, exc) is expected, (kind, raw, repr(exc))
            finally:
                with engine.begin() as conn:
                    conn.execute(text('DROP TABLE IF EXISTS "T"'))
                engine.dispose()


def test_sqlite(tmp_path: Path) -> None:
    _check(lambda: create_engine(f"sqlite:///{tmp_path / 's.db'}"))


@pytest.mark.db
def test_postgresql(pg_url: str) -> None:
    _check(lambda: create_engine(pg_url))


@pytest.mark.db
def test_mariadb(mysql_url: str) -> None:
    ansi = {"init_command": "SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_ALL_TABLES'"}
    _check(lambda: create_engine(mysql_url, connect_args=ansi))


class _ConnectorError(Exception):
    """As mysql-connector and the MariaDB connector raise it: SQLSTATE 23000, number in errno."""

    def __init__(self, errno: int) -> None:
        super().__init__(f"{errno} (23000): integrity")
        self.errno, self.sqlstate = errno, "23000"


def test_other_mysql_drivers_by_error_number() -> None:
    from migrate.load.retry import is_duplicate_key

    assert is_duplicate_key(_ConnectorError(1062))
    assert not is_duplicate_key(_ConnectorError(1048))  # column cannot be null
