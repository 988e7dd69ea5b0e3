"""One source row, several target rows (issue 20, item 6): the how-to's payment journal,
run with ``migrate run`` and reconciled, on SQLite staging (PostgreSQL in
``test_variants_servers.py``).

Planted, each must FAIL: a variant row deleted from staging, a debit and credit swapped,
one variant's amount changed, a variant's constant changed; a half-failing journal is
rejected whole, once, naming the variant.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrate.errors import SpecErrors
from migrate.spec.loader import load_project
from reconcile.report import EXCEPTIONS, FAIL, PASS
from tests.support.restated_project import Migrated, migrate_one

DOC = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "write-a-mapping.md"

HEADER = "PAY_ID,PAY_DATE,FUND,DEPT,ACCT,BANK_ACCT,AMOUNT"
PAYMENTS = [
    HEADER,
    "P1,2018-02-03,100,D1,5100,1010,125.50",
    "P2,2018-02-04,100,D1,5200,1010,-40.25",
    "P3,2018-03-01,200,D2,5100,1020,0.00",
    "P4,2018-03-09,200,D2,5300,1020,1000000.01",
]


def doc_mapping() -> dict[str, Any]:
    text = DOC.read_text(encoding="utf-8")
    m = re.search(r"<!-- example: payment-journal -->\n```yaml\n(.*?)```", text, re.S)
    assert m is not None
    loaded = yaml.safe_load(m.group(1))
    assert isinstance(loaded, dict)
    return loaded


def run_journal(
    tmp: Path, lines: list[str], mapping: dict[str, Any] | None = None, staging: str | None = None
) -> Migrated:
    (tmp / "payments.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return migrate_one(
        tmp, f"sqlite:///{tmp / 'unused.db'}", mapping or doc_mapping(), "bank", staging
    )


def staged(run: Migrated, sql: str) -> list[tuple[Any, ...]]:
    db = run.settings.urls["staging"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Migrated:
    return run_journal(tmp_path_factory.mktemp("journal"), PAYMENTS)


def test_each_payment_is_two_lines_traced_to_its_row_and_variant(journal: Migrated) -> None:
    rows = staged(
        journal,
        'SELECT "MIG_SOURCE_KEY", "REFERENCE21", "SEGMENT3", "ENTERED_DR", "ENTERED_CR" '
        'FROM "GL_INTERFACE" ORDER BY 2',
    )
    assert rows == [
        ("P1@offset", "P1-CR", "1010", None, 12550),
        ("P1@debit", "P1-DR", "5100", 12550, None),
        ("P2@offset", "P2-CR", "1010", 4025, None),
        ("P2@debit", "P2-DR", "5200", None, 4025),
        ("P3@offset", "P3-CR", "1020", None, None),
        ("P3@debit", "P3-DR", "5100", None, None),
        ("P4@offset", "P4-CR", "1020", None, 100000001),
        ("P4@debit", "P4-DR", "5300", 100000001, None),
    ]


def test_the_journal_reconciles(journal: Migrated) -> None:
    e = journal.reconcile()
    assert e.status == PASS, (e.failures, e.differences, e.not_verified)
    assert (e.source_rows, e.staged_rows, e.rejected_rows) == (4, 4, 0)
    by = {m.measure: m for m in e.measures}
    assert str(by["debits"].source) == str(by["debits"].staged) == "1000165.76"
    assert str(by["credits"].staged) == "1000165.76"
    assert [r.violations for r in e.rules if "journals balance" in r.rule] == [0]
    assert "8 staged row(s) = 2 x 4" in e.row_diff


SWAP = "UPDATE GL_INTERFACE SET ENTERED_DR = ENTERED_CR, ENTERED_CR = ENTERED_DR"
COPY = "CREATE TABLE t AS SELECT * FROM GL_INTERFACE WHERE REFERENCE21 = 'P3-CR'"
INSERT = "INSERT INTO GL_INTERFACE SELECT * FROM t"


@pytest.mark.parametrize(
    "plants, key, kind, column",
    [
        (["DELETE FROM GL_INTERFACE WHERE REFERENCE21 = 'P1-CR'"], "P1@offset", "missing", None),
        ([SWAP + " WHERE REFERENCE21 = 'P4-DR'"], "P4@debit", "changed", "ENTERED_DR"),
        (
            ["UPDATE GL_INTERFACE SET ENTERED_CR = 12551 WHERE REFERENCE21 = 'P1-CR'"],
            "P1@offset",
            "changed",
            "ENTERED_CR",
        ),
        (
            ["UPDATE GL_INTERFACE SET SEGMENT3 = '1011' WHERE REFERENCE21 = 'P2-CR'"],
            "P2@offset",
            "changed",
            "SEGMENT3",
        ),
        (  # the variant's constant piece of its key
            ["UPDATE GL_INTERFACE SET REFERENCE21 = 'P2-CX' WHERE REFERENCE21 = 'P2-CR'"],
            "P2@offset",
            "changed",
            "REFERENCE21",
        ),
        (  # the same line staged twice (under another target key)
            [
                COPY,
                "UPDATE t SET REFERENCE21 = 'P3-CX'",
                "INSERT INTO GL_INTERFACE SELECT * FROM t",
            ],
            "P3@offset",
            "unexpected",
            None,
        ),
        (  # a variant the mapping does not declare
            [COPY, "UPDATE t SET REFERENCE21 = 'P3-X', MIG_SOURCE_KEY = 'P3@credit'", INSERT],
            "P3@credit",
            "unexpected",
            None,
        ),
    ],
)
def test_a_planted_variant_fails(
    journal: Migrated, tmp_path: Path, plants: list[str], key: str, kind: str, column: str | None
) -> None:
    e = journal.tampered(tmp_path, *plants).reconcile()
    assert e.status == FAIL
    found = {(d.source_key, d.kind, d.column) for d in e.differences}
    assert (key, kind, column) in found, found


def test_a_half_failing_journal_is_rejected_whole_once(tmp_path: Path) -> None:
    lines = [*PAYMENTS, f"P5,2018-03-10,200,D2,5100,{'9' * 30},7.00"]  # too long: no offset
    run = run_journal(tmp_path, lines)
    assert staged(
        run, 'SELECT COUNT(*) FROM "GL_INTERFACE" WHERE "MIG_SOURCE_KEY" LIKE \'P5@%\''
    ) == [(0,)]
    rejects = staged(
        run, 'SELECT "SOURCE_KEY", "COLUMN_NAME", "REASON_CODE", "MESSAGE" FROM "MIG_REJECTS"'
    )
    assert [r[:3] for r in rejects] == [("P5", "offset.SEGMENT3", "too_long")]
    assert "variant_incomplete" in rejects[0][3]
    e = run.reconcile()
    assert e.status == EXCEPTIONS, (e.failures, e.differences)
    assert (e.source_rows, e.staged_rows, e.rejected_rows) == (5, 4, 1)
    debits = next(m for m in e.measures if m.measure == "debits")
    assert (str(debits.source), str(debits.rejected)) == ("1000172.76", "7.00")


def test_a_blank_bank_account_rejects_the_whole_payment_as_the_how_to_says(
    tmp_path: Path,
) -> None:
    """The how-to: a blank ``BANK_ACCT`` rejects the payment once, as
    ``offset.SEGMENT3: required_missing``, never a line staged with an empty account."""
    run = run_journal(tmp_path, [*PAYMENTS, "P5,2018-03-10,200,D2,5100, ,7.00"])
    rejects = staged(run, 'SELECT "SOURCE_KEY", "COLUMN_NAME", "REASON_CODE" FROM "MIG_REJECTS"')
    assert rejects == [("P5", "offset.SEGMENT3", "required_missing")]
    periods = staged(run, 'SELECT DISTINCT "PERIOD_NAME" FROM "GL_INTERFACE" ORDER BY 1')
    assert periods == [("2018-02",), ("2018-03",)]
    assert run.reconcile().status == EXCEPTIONS


def test_colliding_target_keys_are_a_mapping_error(tmp_path: Path) -> None:
    mapping = doc_mapping()
    mapping["variants"]["offset"]["REFERENCE21"] = {"parts": ["PAY_ID", {"const": "-DR"}]}
    folder = tmp_path / "mappings" / "finance"
    folder.mkdir(parents=True)
    (folder / "payment_journal.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    with pytest.raises(SpecErrors) as err:
        load_project(tmp_path / "mappings")
    assert "payment_journal.yaml:" in str(err.value)
    assert "target keys could collide" in str(err.value)


def test_lineage_trace_of_an_offset_line_shows_its_row_and_variant(journal: Migrated) -> None:
    from migrate.lineage.trace import trace

    forward = trace(journal.settings, "GL_INTERFACE", "P2-CR", mappings=journal.mappings)
    [line] = forward.staged
    assert (line.source_key, line.values["SEGMENT3"]) == ("P2@offset", "1010")
    [source] = forward.sources
    assert (source.key, source.via) == ("P2", "MIG_SOURCE_KEY (variant offset)")
    assert source.row is not None and source.row["AMOUNT"] == "-40.25"
    rules = {r.column for r in forward.rules["payment_journal"]}
    assert {"offset.SEGMENT3", "debit.ENTERED_DR", "STATUS"} <= rules
    back = trace(journal.settings, "payments.csv", "P2", reverse=True, mappings=journal.mappings)
    assert sorted(o.detail for o in back.outcomes) == [
        "into GL_INTERFACE as variant debit",
        "into GL_INTERFACE as variant offset",
    ]


def test_a_flag_names_the_variant_line_it_warns_about(tmp_path: Path) -> None:
    mapping = doc_mapping()
    flag = {"when": {"column": "SEGMENT3", "equals": "1020"}, "reason": "second_bank"}
    mapping["checks"].append({"flag": flag})
    run = run_journal(tmp_path, PAYMENTS, mapping)
    warned = staged(run, 'SELECT "SOURCE_KEY", "REASON_CODE" FROM "MIG_WARNINGS" ORDER BY 1')
    assert warned == [("P3@offset", "second_bank"), ("P4@offset", "second_bank")]
    e = run.reconcile()
    assert e.status == EXCEPTIONS and not e.failures
    rules = {r.rule: (r.violations, r.status) for r in e.rules if "second_bank" in r.rule}
    assert sorted(rules.values()) == [(0, PASS), (2, EXCEPTIONS)]


def test_a_filtered_payment_stages_no_line_and_is_counted_once(tmp_path: Path) -> None:
    mapping = doc_mapping()
    mapping["source"]["filters"] = [
        {"name": "zero_payment", "drop_when": {"column": "AMOUNT", "between": [0, 0]}}
    ]
    run = run_journal(tmp_path, PAYMENTS, mapping)
    assert staged(run, 'SELECT "RULE", "SOURCE_KEY" FROM "MIG_FILTERED"') == [
        ("zero_payment", "P3")
    ]
    assert staged(run, 'SELECT COUNT(*) FROM "GL_INTERFACE"') == [(6,)]
    e = run.reconcile()
    assert (e.source_rows, e.staged_rows, e.filtered_rows) == (4, 3, 1)
    assert not e.failures and not e.differences, (e.failures, e.differences)
    planted = run.tampered(tmp_path, "DELETE FROM MIG_FILTERED").reconcile()
    assert planted.status == FAIL


def test_a_legacy_key_twice_is_one_journal_staged_and_one_rejected(tmp_path: Path) -> None:
    """The second P1 is a duplicate_key: reconciliation matches the staged lines to the P1
    they restate and counts the other as the rejected one; a staged line changed FAILs."""
    run = run_journal(tmp_path, [*PAYMENTS, "P1,2018-02-05,100,D1,5100,1010,1.00"])
    rejects = staged(run, 'SELECT "SOURCE_KEY", "REASON_CODE" FROM "MIG_REJECTS"')
    assert rejects == [("P1", "duplicate_key")]
    e = run.reconcile()
    assert (e.source_rows, e.staged_rows, e.rejected_rows) == (5, 4, 1)
    assert e.status == EXCEPTIONS and not e.failures, (e.failures, e.differences)
    debits = next(m for m in e.measures if m.measure == "debits")
    assert (str(debits.source), str(debits.rejected)) == ("1000166.76", "1.00")
    plant = "UPDATE GL_INTERFACE SET SEGMENT3 = '9999' WHERE REFERENCE21 = 'P1-DR'"
    planted = run.tampered(tmp_path, plant).reconcile()
    assert planted.status == FAIL
    found = {(d.source_key, d.kind, d.column) for d in planted.differences}
    assert ("P1@debit", "changed", "SEGMENT3") in found, found


def test_a_column_one_variant_fills_stays_exact_cents(tmp_path: Path) -> None:
    """The brief's own shape: the debit fills ENTERED_DR only, the offset ENTERED_CR only.
    Stacked, the other variant's blank must not turn the cents into floats (a float holds
    no more than 2^53 cents exactly)."""
    mapping = doc_mapping()
    debit, offset = mapping["variants"]["debit"], mapping["variants"]["offset"]
    debit["ENTERED_DR"] = {"from": "AMOUNT", "steps": [{"money": "fixed"}]}
    offset["ENTERED_CR"] = {"from": "AMOUNT", "steps": [{"money": "fixed"}]}
    del debit["ENTERED_CR"], offset["ENTERED_DR"]
    # 123456789012345678 cents: beyond a float's exact range (2^53), below the amount
    # grammar's bound (10^18 cents, docs/how-to/money.md)
    huge = "1234567890123456.78"
    run = run_journal(tmp_path, [HEADER, f"P1,2018-02-03,100,D1,5100,1010,{huge}"], mapping)
    rows = staged(run, 'SELECT "ENTERED_DR", "ENTERED_CR" FROM "GL_INTERFACE" ORDER BY 1')
    assert rows == [(None, 123456789012345678), (123456789012345678, None)]
    e = run.reconcile()
    assert e.status == PASS, (e.failures, e.differences)


def test_mappings_check_sees_the_variants_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mappings check` counts the columns variants fill as filled, and checks their
    source columns at their line: the how-to is OK, a misspelt bank column is not."""
    from cli.main import main

    (tmp_path / "payments.csv").write_text("\n".join(PAYMENTS) + "\n", encoding="utf-8")
    folder = tmp_path / "mappings" / "finance"
    folder.mkdir(parents=True)
    text = yaml.safe_dump(doc_mapping(), sort_keys=False)
    (folder / "payment_journal.yaml").write_text(text, encoding="utf-8")
    args = ["--workdir", str(tmp_path), "--mappings", str(tmp_path / "mappings")]
    assert main([*args, "mappings", "check"]) == 0, capsys.readouterr()
    capsys.readouterr()
    (folder / "payment_journal.yaml").write_text(
        text.replace("from: BANK_ACCT", "from: BANK_AKT"), encoding="utf-8"
    )
    assert main([*args, "mappings", "check"]) == 1
    out = capsys.readouterr().out
    assert "variants.offset.SEGMENT3.from" in out and "did you mean 'BANK_ACCT'" in out, out
