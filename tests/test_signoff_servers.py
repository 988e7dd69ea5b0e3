"""The history tables' added column (``MIG_SIGNOFFS.WHY``) is added to a table made before
it on PostgreSQL (in a schema) and MariaDB too, and a sign-off's reason is stored there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from migrate.signoff import reconciliations
from migrate.signoff.reconciliations import SignOff
from migrate.staging.tables import build_metadata
from tests.conftest import (
    drop_mysql_database,
    drop_pg_database,
    make_mysql_database,
    make_pg_database,
)

pytestmark = pytest.mark.db


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, str | None]]:
    if request.param == "postgresql":
        admin = request.getfixturevalue("pg_server")
        url = make_pg_database(admin)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE SCHEMA stage"))
        yield engine, "stage"
        engine.dispose()
        drop_pg_database(admin, url)
    else:
        admin = request.getfixturevalue("mysql_server")
        url = make_mysql_database(admin)
        engine = create_engine(url)
        yield engine, None
        engine.dispose()
        drop_mysql_database(admin, url)


def test_why_is_added_to_an_older_table(server: tuple[Engine, str | None]) -> None:
    engine, schema = server
    md = build_metadata(schema)
    reconciliations.ensure_tables(engine, md)
    table = md.tables[f"{schema}.MIG_SIGNOFFS" if schema else "MIG_SIGNOFFS"]
    name = engine.dialect.identifier_preparer.format_table(table)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"ALTER TABLE {name} DROP COLUMN {engine.dialect.identifier_preparer.quote('WHY')}"
            )
        )
    columns = {c["name"] for c in inspect(engine).get_columns("MIG_SIGNOFFS", schema=schema)}
    assert "WHY" not in columns
    reconciliations.ensure_tables(engine, md)
    why = "it lacks fy13 (the run staged fy12, fy13)"
    with engine.begin() as conn:
        reconciliations.add_signoff(conn, md, SignOff("r1", 1, "c" * 64, "PASS", "C", "approve",
                                                      "NOT APPROVED", 0, "", "", why))  # fmt: skip
    [got] = reconciliations.signoffs(engine, md, "r1")
    assert (got.outcome, got.why) == ("NOT APPROVED", why)
