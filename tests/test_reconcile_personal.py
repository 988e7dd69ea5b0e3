"""Personal columns reconcile by keyed hash: a tampered SSN or account fails, never shown.

Each side's value is restated by reconciliation (``reconcile/proving/restate.py``: the field's own
steps and the staging column's type), then compared as a keyed hash (``personal.py``).
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from migrate.lineage.keyed_hash import keyed_hash
from migrate.spec.model import Field_
from reconcile.proving.personal import digest
from reconcile.proving.restate import Restated
from reconcile.reports.report_json import to_json
from reconcile.run import reconcile_run
from tests.test_reconcile import Estate, by_name, estate, tampered

__all__ = ["estate"]  # the module-scoped fixture, shared with tests/test_reconcile.py


def staged_row(estate: Estate, table: str, column: str) -> tuple[str, str]:
    """(MIG_SOURCE_KEY, value) of one staged row of the run with a value in ``column``."""
    with sqlite3.connect(estate.settings.workdir / "staging.db") as conn:
        row = conn.execute(
            f'SELECT "MIG_SOURCE_KEY", "{column}" FROM "{table}" '
            f'WHERE "MIG_RUN_ID" = ? AND "{column}" IS NOT NULL '
            'ORDER BY "MIG_SOURCE_KEY" LIMIT 1',
            (estate.run_id,),
        ).fetchone()
    return str(row[0]), str(row[1])


def restated(kind: str, target: str, **field: object) -> Restated:
    column_kind = "date" if kind == "birth_date" else "text"
    return Restated(target, Field_.model_validate({**field, "personal": kind}), column_kind)


def compared(r: Restated, source: object | None = None, staged: object | None = None) -> str | None:
    """What is compared of one side: the restated legacy value, or the staged value."""
    assert r.personal is not None
    value = r.source({"c": source}, {}) if staged is None else r.staged(staged, "sqlite")
    return digest(value, r.personal)


def test_rule_normalises_both_sides() -> None:
    ssn = restated("ssn", "NATIONAL_IDENTIFIER", **{"from": "c", "steps": ["strip"]})
    assert compared(ssn, source=" 123-45-6789 ") == compared(ssn, staged="123456789")
    assert compared(ssn, source=" 123-45-6789 ") == keyed_hash("123456789", "ssn")
    account = restated("bank_account", "ACCOUNT_NUMBER", **{"from": "c"})
    assert compared(account, source="   ") is None
    assert compared(account, source="n/a") is None  # no digits at all: no value
    birth = restated(
        "birth_date", "DATE_OF_BIRTH", **{"from": "c", "steps": [{"date": "%m/%d/%Y"}]}
    )
    assert compared(birth, source="03/07/1961") == compared(birth, staged=date(1961, 3, 7))
    assert compared(birth, source="03/07/1961") == compared(birth, staged="1961-03-07")
    assert compared(birth, source="13/45/1961") == "(refused: invalid_date)"  # never the value


def test_birth_date_in_any_declared_format_or_a_date_type() -> None:
    """The date step's own format and pivot, or a DATE value as it comes from the database."""
    day = compared(restated("birth_date", "DATE_OF_BIRTH", **{"from": "c"}), staged="1961-03-07")
    cases = [
        ({"from": "c"}, date(1961, 3, 7)),
        ({"from": "c"}, "1961-03-07"),
        ({"from": "c", "steps": [{"date": "%Y%m%d"}]}, "19610307"),
        ({"from": "c", "steps": [{"date": {"format": "%d.%m.%y", "pivot": 20}}]}, "07.03.61"),
    ]
    for field, value in cases:
        assert compared(restated("birth_date", "DATE_OF_BIRTH", **field), source=value) == day


def test_clean_run_has_no_personal_differences(estate: Estate) -> None:
    report = reconcile_run(estate.settings, estate.project, estate.run_id)
    for entity in ("workers", "bank_accounts", "suppliers_finance", "suppliers_procurement"):
        e = by_name(report, entity)
        assert (e.differences, e.not_verified) == ((), ()), entity
        assert e.status != "FAIL", entity  # planted rejects make it EXCEPTIONS, never FAIL


@pytest.mark.parametrize(
    ("entity", "table", "column", "kind", "new"),
    [
        ("workers", "WORKERS", "NATIONAL_IDENTIFIER", "ssn", "987-65-4321"),
        ("workers", "WORKERS", "DATE_OF_BIRTH", "birth_date", "1901-02-03"),
        ("bank_accounts", "WORKER_BANK_ACCOUNTS", "ACCOUNT_NUMBER", "bank_account", "55512345678"),
    ],
)
def test_changed_personal_value_fails_without_showing_it(
    estate: Estate, tmp_path: Path, entity: str, table: str, column: str, kind: str, new: str
) -> None:
    key, old = staged_row(estate, table, column)
    assert old != new
    bad = tampered(
        estate,
        tmp_path,
        f'UPDATE "{table}" SET "{column}" = \'{new}\' '
        f"WHERE \"MIG_SOURCE_KEY\" = '{key}' AND \"MIG_RUN_ID\" = '{estate.run_id}'",
    )
    report = reconcile_run(bad.settings, bad.project, bad.run_id)
    assert report.verdict == "FAIL"
    assert by_name(report, entity).status == "FAIL"
    diffs = by_name(report, entity).differences
    assert len(diffs) == 1
    (d,) = diffs
    assert (d.source_key, d.kind, d.column) == (key, "changed", column)
    assert d.source_value is not None and d.staged_value is not None
    assert d.source_value.startswith("hmac:") and len(d.source_value) == 5 + 12
    field = estate.project.spec(entity).fields[column]
    r = Restated(column, field, "date" if kind == "birth_date" else "text")
    assert d.staged_value == "hmac:" + (digest(r.staged(new, "sqlite"), kind) or "")[:12]
    assert d.source_value != d.staged_value
    text = to_json(report)
    digits = "".join(c for c in old if c.isdigit())
    for shown in {old, new, digits, new.replace("-", "")}:
        assert shown not in text, shown
