"""``balanced_across`` with an entity that has variants: the payment journal's debit and
offset lines and an adjustments extract's lines feed the same journals (``REFERENCE4`` =
the payment). Reconciliation checks each journal on the staged rows and on the legacy rows,
each payment counted once per variant that fills the amount column; a staged line changed
FAILs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from migrate.config import Settings
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import FAIL, PASS, EntityReconciliation
from reconcile.run import reconcile_run
from tests.test_variants import PAYMENTS, doc_mapping

ADJUSTMENTS = [
    "ADJ_ID,PAY_ID,ACCT,DR,CR",
    "A1,P1,6100,2.00,",
    "A2,P1,1010,,2.00",
]


def adjustments() -> dict[str, Any]:
    shared = doc_mapping()["fields"]
    fields = {k: v for k, v in shared.items() if k not in ("ACCOUNTING_DATE", "DATE_CREATED")}
    fields.update(
        {
            "ACCOUNTING_DATE": {"const": "2018-02-03", "steps": [{"date": "%Y-%m-%d"}]},
            "DATE_CREATED": {"const": "2018-02-03", "steps": [{"date": "%Y-%m-%d"}]},
            "SEGMENT1": {"const": "100"},
            "SEGMENT2": {"const": "D1"},
            "SEGMENT3": {"from": "ACCT"},
            "ENTERED_DR": {"from": "DR", "steps": [{"money": "fixed"}]},
            "ENTERED_CR": {"from": "CR", "steps": [{"money": "fixed"}]},
            "REFERENCE4": {"from": "PAY_ID"},
            "REFERENCE21": {"from": "ADJ_ID"},
            "PERIOD_NAME": {"const": "2018"},
        }
    )
    return {
        "entity": "adjustments",
        "domain": "finance",
        "source": {"system": "bank", "file": {"path": "adjustments.csv"}, "key": ["ADJ_ID"]},
        "target": {"table": "GL_INTERFACE", "key": ["REFERENCE21"]},
        "fields": fields,
    }


def run(tmp: Path) -> tuple[Settings, Path, str]:
    import yaml

    journal = doc_mapping()
    journal["checks"].append(
        {
            "balanced_across": {
                "entities": ["adjustments"],
                "group": ["REFERENCE4"],
                "debit": "ENTERED_DR",
                "credit": "ENTERED_CR",
            }
        }
    )
    (tmp / "payments.csv").write_text("\n".join(PAYMENTS) + "\n")
    (tmp / "adjustments.csv").write_text("\n".join(ADJUSTMENTS) + "\n")
    folder = tmp / "mappings" / "finance"
    folder.mkdir(parents=True)
    for m in (journal, adjustments()):
        (folder / f"{m['entity']}.yaml").write_text(yaml.safe_dump(m, sort_keys=False))
    settings = Settings(urls={"staging": f"sqlite:///{tmp / 'staging.db'}"}, workdir=tmp)
    return settings, tmp / "mappings", run_migration(settings, tmp / "mappings", "full").run_id


def journal(settings: Settings, mappings: Path, run_id: str) -> EntityReconciliation:
    report = reconcile_run(settings, load_project(mappings), run_id)
    return next(e for e in report.entities if e.entity == "payment_journal")


def across(e: EntityReconciliation) -> dict[str, tuple[int, str]]:
    return {r.rule: (r.violations, r.status) for r in e.rules if "adjustments" in r.rule}


def test_journals_balance_across_a_variants_entity_and_another(tmp_path: Path) -> None:
    settings, mappings, run_id = run(tmp_path)
    e = journal(settings, mappings, run_id)
    rules = across(e)
    assert rules and all(v == (0, PASS) for v in rules.values()), [
        (r.rule, r.violations, r.detail) for r in e.rules
    ]
    assert not any("not verified" in r for r in rules), rules
    assert e.status == PASS, e.failures
    engine = create_engine(settings.urls["staging"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE GL_INTERFACE SET ENTERED_CR = 2 WHERE REFERENCE21 = 'A2'"))
    engine.dispose()
    planted = across(journal(settings, mappings, run_id))
    assert any(v == (1, FAIL) and "staging" in r for r, v in planted.items()), planted
