"""Review of issue 20 (checks that warn): reconciliation re-derived a text flag in SQL
(``UPPER(TRIM(col))``), and SQLite's UPPER folds ASCII only, while the pipeline (and the
documented meaning: "text is compared trimmed, in any case") folds every letter. A flag
``equals: "ÉLAN"`` on a staged ``élan`` was recorded by the pipeline and not derived by
reconciliation: the agreement line FAILed a correct run. A text test is now decided in
Python, as the pipeline decides it."""

from __future__ import annotations

from pathlib import Path

from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import EXCEPTIONS
from reconcile.run import reconcile_run
from tests import test_checks_and_rules as T

FLAG = '  - flag: {when: {column: BILL_CUSTOMER_NUMBER, equals: "ÉLAN"}, reason: watched}\n'


def test_a_non_ascii_flag_value_is_derived_as_the_pipeline_flags_it(tmp_path: Path) -> None:
    mappings = T.write_project(tmp_path)
    header = mappings / "finance" / "ar_invoices.yaml"
    header.write_text(header.read_text().replace("checks:\n", "checks:\n" + FLAG, 1))
    invoices = [*T.INVOICES[:4], (5, "élan", "2024-01-08", "2.00")]
    legacy = T.legacy_db(tmp_path / "legacy.db", invoices, T.LINES)
    s = T.settings_for(tmp_path, f"sqlite:///{tmp_path / 'staging.db'}", legacy)
    run = run_migration(s, mappings, "full")
    report = reconcile_run(s, load_project(mappings), run.run_id)
    inv = T.entity(report, "ar_invoices")
    assert T.rule(inv, "warning watched: BILL_CUSTOMER_NUMBER").violations == 1
    assert T.rule(inv, "watched: MIG_WARNINGS agrees").violations == 0
    assert report.verdict == EXCEPTIONS
