"""The estate's AP invoices declare header = sum of lines (mappings/finance/ap_invoices.yaml).

Its legacy data holds the rule except where a defect was planted (the generator writes each
header as the sum of its clean lines): every header reconciliation finds already off in the
legacy data is an invoice with a planted defect, nothing is blamed on the migration, and a
cent added to one staged line FAILs the rule, naming the header's legacy key.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from fixtures.estate.build import build_estate, default_urls
from fixtures.estate.manifest import EstateManifest
from migrate.config import Settings
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import EXCEPTIONS, FAIL, RuleResult
from reconcile.run import reconcile_run

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
AP = ["suppliers_finance", "suppliers_procurement", "ap_invoices", "ap_invoice_lines"]


@dataclass(frozen=True)
class Run:
    settings: Settings
    run_id: str
    manifest: EstateManifest


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("estate")
    urls = {**default_urls(folder), "staging": f"sqlite:///{folder / 'staging.db'}"}
    manifest = build_estate(urls, folder / "extracts", scale=300, seed=7)
    settings = Settings(urls=urls, workdir=folder)
    return Run(settings, run_migration(settings, MAPPINGS, "full", entities=AP).run_id, manifest)


def header_rules(settings: Settings, run_id: str) -> list[RuleResult]:
    report = reconcile_run(settings, load_project(MAPPINGS), run_id, only=["ap_invoices"])
    return [r for r in report.entities[0].rules if r.rule.startswith("header total")]


def one(rules: list[RuleResult], words: str) -> RuleResult:
    found = [r for r in rules if words in r.rule]
    assert len(found) == 1, [r.rule for r in rules]
    return found[0]


def test_legacy_headers_off_their_lines_are_the_planted_ones(run: Run) -> None:
    rules = header_rules(run.settings, run.run_id)
    assert one(rules, ": in staging").violations == 0
    legacy = one(rules, "already off in the legacy data")
    assert legacy.status == EXCEPTIONS and 0 < legacy.violations <= 5
    keys = re.findall(r"(?:legacy keys |; )(\d+):", legacy.detail)
    assert len(keys) == legacy.violations
    planted = {
        str(d.key["INV_ID"])
        for d in run.manifest.defects
        if d.table in ("APINVHDR", "APINVLIN") and "INV_ID" in d.key
    }
    assert set(keys) <= planted, (keys, legacy.detail)
    assert all(r.status != FAIL for r in rules)


def test_a_cent_on_a_staged_line_is_blamed_on_the_migration(run: Run, tmp_path: Path) -> None:
    db = tmp_path / "staging.db"
    shutil.copy(run.settings.workdir / "staging.db", db)
    with sqlite3.connect(db) as conn:
        inv, key = conn.execute(
            "SELECT h.INVOICE_ID, h.MIG_SOURCE_KEY FROM AP_INVOICES_INTERFACE h"
            " WHERE h.INVOICE_AMOUNT = (SELECT SUM(l.AMOUNT) FROM AP_INVOICE_LINES_INTERFACE l"
            " WHERE l.INVOICE_ID = h.INVOICE_ID) ORDER BY 1 LIMIT 1"
        ).fetchone()
        conn.execute(
            "UPDATE AP_INVOICE_LINES_INTERFACE SET AMOUNT = AMOUNT + 1 WHERE rowid ="
            " (SELECT MIN(rowid) FROM AP_INVOICE_LINES_INTERFACE WHERE INVOICE_ID = ?)",
            (inv,),
        )
    settings = replace(run.settings, urls={**run.settings.urls, "staging": f"sqlite:///{db}"})
    broken = one(header_rules(settings, run.run_id), ": in staging")
    assert broken.violations == 1 and broken.status == FAIL
    assert broken.detail.startswith(f"{key}: header ")
