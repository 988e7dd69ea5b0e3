"""Checks that warn and header = sum of lines (issue 20, items 9 and 10), with the mappings of
docs/how-to/checks-and-rules.md as written, through the real pipeline and reconciliation.

Planted: a warning the pipeline did not record (or recorded and reconciliation does not
derive) FAILs; a header off its lines in staging FAILs; a header already off in the legacy
data is an exception naming the legacy key; lines not part of the run: not verified.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from migrate.config import Settings
from migrate.runs.rollback import rollback_run
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import EXCEPTIONS, FAIL, EntityReconciliation, Reconciliation, RuleResult
from reconcile.run import reconcile_run

DOC = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "checks-and-rules.md"
_YAML = re.compile(r"```yaml\n# (mappings/\S+)\n(.*?)```", re.S)

# invoice 1: two lines; 2: zero total, no lines; 3 and 4: same customer, day and total
INVOICES = [
    (1, "C1", "2024-01-05", "3.00"),
    (2, "C2", "2024-01-06", "0.00"),
    (3, "C3", "2024-01-07", "1.50"),
    (4, "C3", "2024-01-07", "1.50"),
    (5, "C4", "2024-01-08", "2.00"),
]
LINES = [
    (10, 1, 1, 1, "1.00", "1.00"),
    (11, 1, 2, 2, "1.00", "2.00"),
    (12, 3, 1, 1, "1.50", "1.50"),
    (13, 4, 1, 1, "1.50", "1.50"),
    (14, 5, 1, 2, "1.00", "2.00"),
]
# each invoice's day posted: a debit to receivables (1200), a credit to sales (4000)
GL = [
    (1, "JE1", "1200", "2024-01-05", "3.00", None),
    (2, "JE1", "4000", "2024-01-05", None, "3.00"),
    (3, "JE2", "1200 ", "2024-01-07", "3.00", None),
    (4, "JE2", "4000", "2024-01-07", None, "3.00"),
    (5, "JE3", "1200", "2024-01-08", "2.00", None),
    (6, "JE3", "4000", "2024-01-08", None, "2.00"),
]


def write_project(tmp: Path) -> Path:
    """The doc's YAML blocks, each into the file its first line names."""
    blocks = _YAML.findall(DOC.read_text(encoding="utf-8"))
    assert len(blocks) == 3, "the doc's three mappings"
    for name, body in blocks:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return tmp / "mappings"


def legacy_db(
    path: Path,
    invoices: list[tuple[object, ...]],
    lines: list[tuple[object, ...]],
    gl: list[tuple[object, ...]] = GL,
) -> str:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE INV (ID INTEGER PRIMARY KEY, CUST TEXT, DT TEXT, TOTAL TEXT)")
        db.execute(
            "CREATE TABLE INVLINE (ID INTEGER PRIMARY KEY, INV_ID INTEGER, LINE_NO INTEGER,"
            " QTY INTEGER, PRICE TEXT, AMT TEXT)"
        )
        db.executemany("INSERT INTO INV VALUES (?, ?, ?, ?)", invoices)
        db.executemany("INSERT INTO INVLINE VALUES (?, ?, ?, ?, ?, ?)", lines)
        db.execute(
            "CREATE TABLE GL (LINE_ID INTEGER, JE TEXT, ACCT TEXT, DT TEXT, DR TEXT, CR TEXT)"
        )
        db.executemany("INSERT INTO GL VALUES (?, ?, ?, ?, ?, ?)", gl)
    return f"sqlite:///{path}"


def settings_for(tmp: Path, staging: str, legacy: str) -> Settings:
    return Settings(urls={"staging": staging, "finance": legacy}, workdir=tmp)


Plant = Callable[[str, str], None]  # (staging url, run id)


def run_and_reconcile(
    tmp: Path,
    staging: str | None = None,
    invoices: list[tuple[object, ...]] = INVOICES,
    lines: list[tuple[object, ...]] = LINES,
    plant: Plant | None = None,
    gl: list[tuple[object, ...]] = GL,
    entities: list[str] | None = None,
    chunk_size: int = 50_000,
) -> tuple[Reconciliation, str, str]:
    mappings = write_project(tmp)
    url = staging or f"sqlite:///{tmp / 'staging.db'}"
    s = settings_for(tmp, url, legacy_db(tmp / "legacy.db", invoices, lines, gl))
    run = run_migration(s, mappings, "full", entities=entities, chunk_size=chunk_size)
    if plant is not None:
        plant(url, run.run_id)
    return reconcile_run(s, load_project(mappings), run.run_id), run.run_id, url


def entity(report: Reconciliation, name: str) -> EntityReconciliation:
    return next(e for e in report.entities if e.entity == name)


def rule(e: EntityReconciliation, words: str) -> RuleResult:
    found = [r for r in e.rules if words in r.rule]
    assert len(found) == 1, (words, [r.rule for r in e.rules])
    return found[0]


def execute(url: str, sql: str, **params: object) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def warnings_of(url: str, run_id: str) -> list[tuple[str, str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    'SELECT "SOURCE_KEY", "REASON_CODE", "VALUE" FROM "MIG_WARNINGS" '
                    'WHERE "RUN_ID" = :r ORDER BY 2, 1'
                ),
                {"r": run_id},
            )
            return [(str(a), str(b), str(c)) for a, b, c in rows]
    finally:
        engine.dispose()


def assert_clean_exceptions(report: Reconciliation, run_id: str, url: str) -> None:
    """The doc's ledger: warnings listed (EXCEPTIONS), nothing fails."""
    inv = entity(report, "ar_invoices")
    assert inv.failures == [], inv.failures
    assert inv.status == EXCEPTIONS
    zero = rule(inv, "warning zero_amount: TRX_AMOUNT = 0")
    assert (zero.violations, zero.status, zero.detail) == (1, EXCEPTIONS, "2 (0.00)")
    dup = rule(inv, "warning possible_double_billing: rows equal")
    assert dup.violations == 1 and dup.status == EXCEPTIONS
    assert dup.detail == "C3 | 2024-01-07 | 1.50: 3, 4"
    assert rule(inv, "zero_amount: MIG_WARNINGS agrees").violations == 0
    assert rule(inv, "possible_double_billing: MIG_WARNINGS agrees").violations == 0
    assert rule(inv, "per TRX_NUMBER (tolerance 0): in staging").violations == 0
    assert rule(inv, "per TRX_NUMBER (tolerance 0): already off").violations == 0
    assert any("flagged by warning zero_amount" in x for x in inv.exceptions)
    assert entity(report, "ar_invoice_lines").status == "PASS"
    assert entity(report, "gl_lines").status == "PASS"
    assert rule(inv, "per TRX_DATE (tolerance 0): in staging").violations == 0
    assert report.verdict == EXCEPTIONS
    recorded = warnings_of(url, run_id)
    assert recorded[0] in (("3", "possible_double_billing", "C3 | 2024-01-07 | 1.50"),
                           ("4", "possible_double_billing", "C3 | 2024-01-07 | 1.50"))  # fmt: skip
    assert recorded[1] == ("2", "zero_amount", "0.00")


def test_warnings_load_the_rows_and_make_the_entity_exceptions(tmp_path: Path) -> None:
    report, run_id, url = run_and_reconcile(tmp_path)
    assert_clean_exceptions(report, run_id, url)
    assert entity(report, "ar_invoices").staged_rows == 5  # flagged rows are loaded


def test_duplicates_across_chunks_flag_n_minus_one(tmp_path: Path) -> None:
    """One row per chunk: the twin staged by the chunk before is found in staging."""
    report, run_id, url = run_and_reconcile(tmp_path, chunk_size=1)
    assert_clean_exceptions(report, run_id, url)
    assert len(warnings_of(url, run_id)) == 2


def test_the_workbook_lists_warnings_with_their_level(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from reconcile.reports.workbook import write_workbook

    report, _, _ = run_and_reconcile(tmp_path)
    path = tmp_path / "w.xlsx"
    write_workbook(report, path, prepared_by="t")
    rows = [r for r in load_workbook(path)["Rules"].iter_rows(min_row=4) if r[1].value]
    zero = next(r for r in rows if "warning zero_amount: TRX" in str(r[1].value))
    n = zero[0].row
    assert zero[3].value == f'=IF(C{n}=0,"PASS","EXCEPTIONS")' and zero[4].value == EXCEPTIONS
    assert zero[2].value == 1 and zero[5].value == "2 (0.00)"
    agree = next(r for r in rows if "zero_amount: MIG_WARNINGS" in str(r[1].value))
    assert agree[3].value == f'=IF(C{agree[0].row}=0,"PASS","FAIL")'


def test_a_warning_the_pipeline_did_not_record_fails(tmp_path: Path) -> None:
    def drop(url: str, run_id: str) -> None:
        execute(url, 'DELETE FROM "MIG_WARNINGS" WHERE "REASON_CODE" = \'zero_amount\'')

    report, _, _ = run_and_reconcile(tmp_path, plant=drop)
    inv = entity(report, "ar_invoices")
    agree = rule(inv, "zero_amount: MIG_WARNINGS agrees")
    assert agree.status == FAIL and "flagged here, not recorded: 2" in agree.detail
    assert inv.status == FAIL and report.verdict == FAIL


def test_a_warning_recorded_that_reconciliation_does_not_derive_fails(tmp_path: Path) -> None:
    def extra(url: str, run_id: str) -> None:
        execute(
            url,
            'INSERT INTO "MIG_WARNINGS" ("RUN_ID", "BATCH_ID", "ENTITY", "SOURCE_SYSTEM",'
            ' "SOURCE_KEY", "COLUMN_NAME", "REASON_CODE", "VALUE") VALUES (:r, 1,'
            " 'ar_invoices', 'finance', '5', 'TRX_AMOUNT,X', 'possible_double_billing', '')",
            r=run_id,
        )
        execute(
            url,
            'INSERT INTO "MIG_WARNINGS" ("RUN_ID", "BATCH_ID", "ENTITY", "SOURCE_SYSTEM",'
            ' "SOURCE_KEY", "COLUMN_NAME", "REASON_CODE", "VALUE") VALUES (:r, 1,'
            " 'ar_invoices', 'finance', '2', 'TRX_AMOUNT', 'zero_amount', '0.00')",
            r=run_id,
        )

    report, _, _ = run_and_reconcile(tmp_path, plant=extra)
    inv = entity(report, "ar_invoices")
    dup = rule(inv, "possible_double_billing: MIG_WARNINGS agrees")
    assert dup.status == FAIL and "recorded, not flagged here: 5" in dup.detail
    twice = rule(inv, "zero_amount: MIG_WARNINGS agrees")
    assert twice.status == FAIL and "1 recorded more than once" in twice.detail
    assert report.verdict == FAIL


def test_a_header_off_its_lines_in_staging_fails(tmp_path: Path) -> None:
    def cent(url: str, run_id: str) -> None:  # one more cent on a staged line of invoice 5
        execute(url, 'UPDATE "AR_INVOICE_LINES_INTERFACE" SET "AMOUNT" = "AMOUNT" + 1'
                " WHERE \"TRX_NUMBER\" = '5'")  # fmt: skip

    report, _, _ = run_and_reconcile(tmp_path, plant=cent)
    inv = entity(report, "ar_invoices")
    broken = rule(inv, "per TRX_NUMBER (tolerance 0): in staging")
    assert broken.violations == 1 and broken.status == FAIL
    assert broken.detail == "5: header 2.00 <> lines 2.01"
    assert rule(inv, "per TRX_NUMBER (tolerance 0): already off").violations == 0
    assert inv.status == FAIL


def test_a_header_already_off_in_the_legacy_data_is_an_exception(tmp_path: Path) -> None:
    invoices = [*INVOICES[:4], (5, "C4", "2024-01-08", "2.50")]  # its line says 2.00
    report, _, _ = run_and_reconcile(tmp_path, invoices=invoices)
    inv = entity(report, "ar_invoices")
    legacy = rule(inv, "per TRX_NUMBER (tolerance 0): already off")
    assert legacy.violations == 1 and legacy.status == EXCEPTIONS
    assert legacy.detail == "legacy keys 5: header 2.50 <> lines 2.00"
    assert rule(inv, "per TRX_NUMBER (tolerance 0): in staging").violations == 0
    assert inv.failures == [] and inv.status == EXCEPTIONS


def test_a_rejected_line_explains_the_header_as_an_exception(tmp_path: Path) -> None:
    lines = [*LINES[:4], (14, 5, 1, 2, "1.00", "2.0O")]  # an OCR'd O: rejected
    report, _, _ = run_and_reconcile(tmp_path, lines=lines)
    inv = entity(report, "ar_invoices")
    assert rule(inv, "per TRX_NUMBER (tolerance 0): in staging").violations == 0
    cut = rule(inv, "where lines or headers were rejected")
    assert cut.violations == 1 and cut.status == EXCEPTIONS and cut.detail.startswith("5:")
    legacy = rule(inv, "not verified for headers whose legacy amounts")
    assert legacy.violations == 1 and legacy.status == EXCEPTIONS


def test_lines_not_part_of_the_run_are_not_verified(tmp_path: Path) -> None:
    report, _, _ = run_and_reconcile(tmp_path, entities=["ar_invoices"])
    inv = entity(report, "ar_invoices")
    nv = rule(inv, "per TRX_NUMBER (tolerance 0): not verified")
    assert nv.status == EXCEPTIONS and "ar_invoice_lines" in nv.detail
    gl = rule(inv, "per TRX_DATE (tolerance 0): not verified")
    assert gl.status == EXCEPTIONS and "gl_lines" in gl.detail
    assert inv.status == EXCEPTIONS and not inv.failures


def test_rolling_back_a_run_removes_its_warnings(tmp_path: Path) -> None:
    mappings = write_project(tmp_path)
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    s = settings_for(tmp_path, url, legacy_db(tmp_path / "legacy.db", INVOICES, LINES))
    run = run_migration(s, mappings, "full")
    assert len(warnings_of(url, run.run_id)) == 2
    removed = rollback_run(s, run.run_id)
    assert removed["MIG_WARNINGS"] == 2 and warnings_of(url, run.run_id) == []


@pytest.mark.db
def test_on_postgresql_staging(tmp_path: Path, staging_pg: str) -> None:
    report, run_id, url = run_and_reconcile(tmp_path, staging=staging_pg)
    assert_clean_exceptions(report, run_id, url)


@pytest.mark.db
def test_planted_on_postgresql_staging(tmp_path: Path, staging_pg: str) -> None:
    def plant(url: str, run_id: str) -> None:
        execute(url, 'DELETE FROM "MIG_WARNINGS" WHERE "REASON_CODE" = \'zero_amount\'')
        execute(url, 'UPDATE "AR_INVOICE_LINES_INTERFACE" SET "AMOUNT" = "AMOUNT" + 0.01'
                " WHERE \"TRX_NUMBER\" = '5'")  # fmt: skip

    report, _, _ = run_and_reconcile(tmp_path, staging=staging_pg, plant=plant)
    inv = entity(report, "ar_invoices")
    assert rule(inv, "zero_amount: MIG_WARNINGS agrees").status == FAIL
    assert (
        rule(inv, "per TRX_NUMBER (tolerance 0): in staging").detail
        == "5: header 2.00 <> lines 2.01"
    )
    assert report.verdict == FAIL


def test_the_summary_rules_line_agrees_with_its_formula(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from reconcile.reports.workbook import write_workbook

    report, _, _ = run_and_reconcile(tmp_path)
    path = tmp_path / "w.xlsx"
    write_workbook(report, path, prepared_by="t")
    wb = load_workbook(path)
    rules = [r for r in wb["Rules"].iter_rows(min_row=4, values_only=True) if r[1]]
    summary = wb["Summary"]
    for row in summary.iter_rows(min_row=9):
        if row[1].value != "ERP rules failing":
            continue
        entity_name = row[0].value
        # the formula: COUNTIFS(Rules!A, entity, Rules!D, "FAIL"); D is PASS without
        # violations, else the rule's level (the Rules sheet's Report status column)
        failing = sum(1 for r in rules if r[0] == entity_name and r[4] == FAIL)
        assert row[9].value == ("PASS" if failing == 0 else FAIL), entity_name


def test_a_resumed_run_records_each_warning_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run stops while the duplicate's chunk prepares its warnings (the zero amount's
    chunk committed before); resumed, each warning is recorded once, as derived."""
    import migrate.runs.pipeline as pipeline
    from migrate.errors import TerminalError
    from migrate.runs.runner import resume_run

    real = pipeline.warning_rows
    stopped: list[int] = []

    def stop_once(*args: object) -> list[dict[str, object]]:
        spec, batch = args[1], args[5]
        if getattr(spec, "entity", "") == "ar_invoices" and batch == 4 and not stopped:
            stopped.append(batch)
            raise TerminalError("stopped here")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "warning_rows", stop_once)
    mappings = write_project(tmp_path)
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    s = settings_for(tmp_path, url, legacy_db(tmp_path / "legacy.db", INVOICES, LINES))
    with pytest.raises(TerminalError):
        run_migration(s, mappings, "full", chunk_size=1)
    engine = create_engine(url)
    with engine.connect() as conn:
        run_id = str(conn.execute(text('SELECT "RUN_ID" FROM "MIG_RUNS"')).scalar())
    engine.dispose()
    assert stopped == [4] and [w[1] for w in warnings_of(url, run_id)] == ["zero_amount"]
    resume_run(s, mappings, run_id, chunk_size=1)
    report = reconcile_run(s, load_project(mappings), run_id)
    assert_clean_exceptions(report, run_id, url)
    assert len(warnings_of(url, run_id)) == 2
