"""Rules across entities (issue 20, item 10) beyond header = sum of lines: a subledger
equals its GL control account, journals balance across the entities that feed them, and the
names a check gives are checked; personal values never reach a warning line. The mappings of
docs/how-to/checks-and-rules.md as written, through the real pipeline and reconciliation."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import create_engine

from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import EXCEPTIONS, FAIL, RuleResult
from reconcile.run import reconcile_run
from tests.test_checks_and_rules import (
    DOC,
    GL,
    INVOICES,
    LINES,
    Plant,
    entity,
    execute,
    legacy_db,
    rule,
    run_and_reconcile,
    settings_for,
    write_project,
)


def test_subledger_off_its_control_account_in_staging_fails(tmp_path: Path) -> None:
    def cent(url: str, run_id: str) -> None:  # a cent more on the 2024-01-08 receivable
        execute(url, 'UPDATE "GL_INTERFACE" SET "ENTERED_DR" = "ENTERED_DR" + 1'
                " WHERE \"REFERENCE21\" = '5'")  # fmt: skip

    report, _, _ = run_and_reconcile(tmp_path, plant=cent)
    broken = rule(entity(report, "ar_invoices"), "per TRX_DATE (tolerance 0): in staging")
    assert (broken.violations, broken.status) == (1, FAIL)
    assert broken.detail == "2024-01-08: 2.00 <> 2.01"


def test_subledger_already_off_its_control_account_in_legacy_is_an_exception(
    tmp_path: Path,
) -> None:
    gl = [*GL[:4], (5, "JE3", "1200", "2024-01-08", "2.10", None), (*GL[5][:5], "2.10")]
    report, _, _ = run_and_reconcile(tmp_path, gl=gl)
    inv = entity(report, "ar_invoices")
    legacy = rule(inv, "per TRX_DATE (tolerance 0): already off in the legacy data")
    assert (legacy.violations, legacy.status) == (1, EXCEPTIONS)
    assert legacy.detail == "2024-01-08: 2.00 <> 2.10"
    assert rule(inv, "per TRX_DATE (tolerance 0): in staging").violations == 0
    assert inv.failures == []


_JOURNALS = re.compile(r"```yaml\n# journals/(mappings/\S+)\n(.*?)```", re.S)
ACROSS = "journals balance across gl_receivable_lines, gl_sales_lines"


def run_journals(
    tmp: Path,
    gl: list[tuple[object, ...]] = GL,
    plant: Plant | None = None,
    entities: list[str] | None = None,
) -> list[RuleResult]:
    """The doc's two GL mappings (one journal's lines split between them), run and
    reconciled; the balanced_across lines of the receivable entity."""
    blocks = _JOURNALS.findall(DOC.read_text(encoding="utf-8"))
    assert len(blocks) == 2
    for name, body in blocks:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(body, encoding="utf-8")
    url = f"sqlite:///{tmp / 'staging.db'}"
    s = settings_for(tmp, url, legacy_db(tmp / "legacy.db", INVOICES, LINES, gl))
    run = run_migration(s, tmp / "mappings", "full", entities=entities)
    if plant is not None:
        plant(url, run.run_id)
    report = reconcile_run(s, load_project(tmp / "mappings"), run.run_id)
    e = entity(report, "gl_receivable_lines")
    if plant is None:  # nothing planted in staging: only the rule may say something
        assert all(x.failures == [] for x in report.entities), report.entities
    return [r for r in e.rules if r.rule.startswith(ACROSS)]


def test_journals_balance_across_the_entities_that_feed_them(tmp_path: Path) -> None:
    rules = run_journals(tmp_path)
    assert [(r.rule.rsplit(": ", 1)[-1], r.violations) for r in rules] == [
        ("in staging", 0),
        ("already off in the legacy data (not the migration's doing)", 0),
    ]


def test_a_journal_unbalanced_in_staging_fails(tmp_path: Path) -> None:
    def cent(url: str, run_id: str) -> None:
        execute(url, 'UPDATE "GL_INTERFACE" SET "ENTERED_CR" = "ENTERED_CR" + 1'
                " WHERE \"REFERENCE21\" = '6'")  # fmt: skip

    rules = run_journals(tmp_path, plant=cent)
    assert (rules[0].violations, rules[0].status) == (1, FAIL)
    assert rules[0].detail == "JE3: -0.01 <> 0.00"


def test_a_journal_already_unbalanced_in_legacy_is_an_exception(tmp_path: Path) -> None:
    gl = [*GL[:5], (*GL[5][:5], "2.10")]
    rules = run_journals(tmp_path, gl=gl)
    assert rules[0].violations == 0
    assert (rules[1].violations, rules[1].status) == (1, EXCEPTIONS)
    assert rules[1].detail == "JE3: -0.10 <> 0.00"


def test_a_journal_with_a_feeder_not_in_the_run_is_not_verified(tmp_path: Path) -> None:
    (nv,) = run_journals(tmp_path, entities=["gl_receivable_lines"])
    assert nv.rule.endswith(": not verified") and nv.status == EXCEPTIONS
    assert "gl_sales_lines" in nv.detail


def test_names_a_check_gets_wrong_are_reported_at_their_line(tmp_path: Path) -> None:
    """Before: 'mappings OK', then the run stopped at the first chunk (a flag's column) or
    reconciliation said 'not verified' (a rule's entity)."""
    from migrate.errors import SpecErrors
    from migrate.spec.checkrefs import check_references

    mappings = write_project(tmp_path)
    path = mappings / "finance" / "ar_invoices.yaml"
    text_ = path.read_text(encoding="utf-8")
    text_ = text_.replace("column: TRX_AMOUNT, equals: 0", "column: TRX_AMOUNTT, equals: 0")
    text_ = text_.replace("lines: ar_invoice_lines", "lines: ar_invoice_line")
    path.write_text(text_, encoding="utf-8")
    assert check_references(load_project(write_project(tmp_path / "clean"))) == []
    try:  # once the loader calls check_references, loading itself reports them
        found = [str(e) for e in check_references(load_project(mappings))]
    except SpecErrors as exc:
        found = [str(e) for e in exc.errors]
    lines = text_.splitlines()
    flag_line = next(i for i, x in enumerate(lines, 1) if "TRX_AMOUNTT" in x)
    lines_line = next(i for i, x in enumerate(lines, 1) if "ar_invoice_line" in x)
    assert any(
        f"ar_invoices.yaml:{flag_line}" in e and "no column 'TRX_AMOUNTT'" in e
        and "did you mean 'TRX_AMOUNT'" in e for e in found
    ), found  # fmt: skip
    assert any(
        f"ar_invoices.yaml:{lines_line}" in e and "unknown entity 'ar_invoice_line'" in e
        and "did you mean 'ar_invoice_lines'" in e for e in found
    ), found  # fmt: skip


def test_personal_values_never_reach_the_warning_lines(tmp_path: Path) -> None:
    """A flag or a duplicate on a personal column (an SSN) lists keys, never the value."""
    from migrate.spec.model import EntitySpec
    from migrate.staging.create import ensure_staging
    from reconcile.proving.warnings import check_warnings
    from reconcile.reading.staging_side import Staging

    url = f"sqlite:///{tmp_path / 'staging.db'}"
    ensure_staging(url)
    for key, ssn in (("1", "123-45-6789"), ("2", "123-45-6789"), ("3", "987-65-4321")):
        execute(
            url,
            'INSERT INTO "WORKERS" ("PERSON_NUMBER", "LAST_NAME", "NATIONAL_IDENTIFIER",'
            ' "START_DATE", "DEPARTMENT_CODE", "JOB_CODE", "ASSIGNMENT_STATUS", "MIG_RUN_ID",'
            ' "MIG_BATCH_ID", "MIG_ENTITY", "MIG_SOURCE_SYSTEM", "MIG_SOURCE_KEY",'
            " \"MIG_SOURCE_HASH\") VALUES (:k, 'X', :ssn, '2020-01-01', 'D', 'J', 'A', 'r', 1,"
            " 'workers', 'hr', :k, 'h')",
            k=key,
            ssn=ssn,
        )
    spec = EntitySpec.model_validate(
        {
            "entity": "workers",
            "domain": "hr",
            "source": {"system": "hr", "table": "EMP", "key": ["ID"]},
            "target": {"table": "WORKERS", "key": ["PERSON_NUMBER"]},
            "fields": {
                "PERSON_NUMBER": {"from": "ID"},
                "NATIONAL_IDENTIFIER": {"from": "SSN", "personal": "ssn"},
            },
            "checks": [
                {
                    "flag": {
                        "when": {"column": "NATIONAL_IDENTIFIER", "equals": "987-65-4321"},
                        "reason": "test_ssn",
                    }
                },  # fmt: skip
                {"possible_duplicate": {"columns": ["NATIONAL_IDENTIFIER"], "reason": "twin"}},
            ],
        }
    )
    engine = create_engine(url)
    try:
        rules = check_warnings(Staging(engine, None, "r"), spec)
    finally:
        engine.dispose()
    flag, _, dup, _ = rules
    assert (flag.violations, flag.detail) == (1, "3 (***)")
    assert (dup.violations, dup.detail) == (1, "***: 1, 2")
    assert not any("45-67" in r.detail or "65-43" in r.detail for r in rules)
