"""Personal columns reconcile by keyed hash: a tampered SSN or account fails, never shown."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from migrate.lineage.keyed_hash import keyed_hash
from reconcile.personal import source_text, staged_text
from reconcile.report_json import to_json
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


def test_rule_normalises_both_sides() -> None:
    assert source_text(" 123-45-6789 ", "ssn") == staged_text("123456789", "ssn") == "123456789"
    assert source_text("   ", "bank_account") is None
    assert source_text("03/07/1961", "birth_date") == staged_text(date(1961, 3, 7), "birth_date")
    assert staged_text("1961-03-07", "birth_date") == "1961-03-07"
    assert source_text("13/45/1961", "birth_date") is None
    assert keyed_hash(source_text("123-45-6789", "ssn"), "ssn") == keyed_hash("123456789", "ssn")


def test_clean_run_has_no_personal_differences(estate: Estate) -> None:
    report = reconcile_run(estate.settings, estate.project, estate.run_id)
    for entity in ("workers", "bank_accounts"):
        assert by_name(report, entity).differences == (), entity
    assert report.verdict == "PASS"


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
    assert d.staged_value == "hmac:" + (keyed_hash(staged_text(new, kind), kind) or "")[:12]
    assert d.source_value != d.staged_value
    text = to_json(report)
    digits = "".join(c for c in old if c.isdigit())
    for shown in {old, new, digits, new.replace("-", "")}:
        assert shown not in text, shown
