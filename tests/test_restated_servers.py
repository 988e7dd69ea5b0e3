"""Restated columns over real PostgreSQL and MariaDB legacy tables with DATE and TIMESTAMP
columns: a birth date and a high date as the server's own types, a hire date from a
timestamp with a time of day, a date in a declared text format. No false difference, and
planted changes caught (issue 19, item 6, on every backend the legacy side may be)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Date, DateTime, Integer, String

from reconcile.report import PASS
from tests.support.restated_project import legacy_table, migrate_one
from tests.test_restated import HIGH, people_mapping

pytestmark = pytest.mark.db

COLUMNS = [
    ("emp_id", Integer()),
    ("last_name", String(40)),
    ("hire_ts", DateTime()),
    ("birth_dt", Date()),
    ("term_dt", Date()),
    ("term_txt", String(12)),
]


def _rows() -> list[tuple[object, ...]]:
    return [
        (
            i,
            f"Name{i} ",
            datetime(2000 + i % 20, 1 + i % 12, 1 + i % 28, i % 24, i % 60, 7),
            date(1950 + i % 40, 1 + i % 12, 1 + i % 27),
            HIGH if i % 3 else date(2021, 1 + i % 12, 10 + i % 9),
            f"{1 + i % 12:02d}/{10 + i % 9}/2021" if i % 4 else "",
        )
        for i in range(1, 121)
    ]


@pytest.mark.parametrize(
    ("server", "staging"), [("pg_url", None), ("mysql_url", None), ("pg_url", "staging_pg")]
)
def test_date_and_timestamp_columns_restate_on_each_server(
    server: str, staging: str | None, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Legacy on PostgreSQL or MariaDB, staging on SQLite; and both on PostgreSQL (dates
    and amounts then come back from staging as the server's types)."""
    url = str(request.getfixturevalue(server))
    staging_url = None if staging is None else str(request.getfixturevalue(staging))
    legacy_table(url, "emp", COLUMNS, _rows())
    mapping = people_mapping(
        START_DATE={"from": "hire_ts"},
        MIDDLE_NAMES={"from": "term_txt", "steps": [{"date": "%m/%d/%Y"}]},
    )
    mapping["reconcile"]["compare"].append("MIDDLE_NAMES")  # a date into a text column
    run = migrate_one(tmp_path, url, mapping, staging_url=staging_url)
    e = run.reconcile()
    assert (e.status, e.differences, e.not_verified) == (PASS, (), ())
    bad = run.tampered(
        tmp_path,
        """UPDATE "WORKERS" SET "TERMINATION_DATE" = '9999-01-01' WHERE "PERSON_NUMBER" = '1'""",
        """UPDATE "WORKERS" SET "START_DATE" = '2001-02-03' WHERE "PERSON_NUMBER" = '2'""",
        """UPDATE "WORKERS" SET "DATE_OF_BIRTH" = '1900-01-01' WHERE "PERSON_NUMBER" = '5'""",
        """UPDATE "WORKERS" SET "MIDDLE_NAMES" = NULL WHERE "PERSON_NUMBER" = '6'""",
    )
    got = {(d.source_key, d.column): d for d in bad.reconcile().differences}
    assert set(got) == {
        ("1", "TERMINATION_DATE"),
        ("2", "START_DATE"),
        ("5", "DATE_OF_BIRTH"),
        ("6", "MIDDLE_NAMES"),
    }
    assert (
        got["1", "TERMINATION_DATE"].source_value,
        got["1", "TERMINATION_DATE"].staged_value,
    ) == (
        None,
        "9999-01-01",
    )
    assert got["2", "START_DATE"].source_value == "2002-03-03"
    assert got["6", "MIDDLE_NAMES"].source_value == "2021-07-16 00:00:00"
