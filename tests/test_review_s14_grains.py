"""Review (session 14) of 9140e44: a grain line's status is one fact.

Where could a line or its entity still say PASS beside an amount reconciliation cannot
read? Planted here: an unreadable legacy amount in a *variant* entity (one source row,
two staged rows). Grains on such an entity are refused when the project loads (they are
not restated per variant, so a line could not be proved); the entity's amounts are
UNVERIFIED, the entity and the run FAIL, in the JSON and after reading it back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrate.errors import SpecErrors
from migrate.spec.loader import load_project
from reconcile.report import FAIL, UNVERIFIED
from reconcile.reports.report_json import from_json, to_json
from reconcile.run import reconcile_run
from tests.test_variants import HEADER, doc_mapping, run_journal

PAYMENTS = [
    HEADER,
    "P1,2018-02-03,100,D1,5100,1010,125.50",
    "P2,2018-02-04,100,D1,5200,1010,4O.25",  # planted: a letter O in the amount
    "P3,2018-03-01,200,D2,5100,1020,7.00",
]


def _grained() -> dict[str, object]:
    mapping = doc_mapping()
    reconcile = mapping["reconcile"]
    assert isinstance(reconcile, dict)
    reconcile["grains"] = [
        {
            "name": "fund",
            "source": ["FUND"],
            "target": ["SEGMENT1"],
            "measures": ["debits", "credits"],
        }
    ]
    return mapping


def test_grains_on_a_variant_entity_are_refused_before_any_verdict(tmp_path: Path) -> None:
    with pytest.raises(SpecErrors, match="on an entity with variants is not supported"):
        run_journal(tmp_path, PAYMENTS, _grained())


def test_a_variant_entitys_unread_amount_fails_in_the_json_too(tmp_path: Path) -> None:
    run = run_journal(tmp_path, PAYMENTS)
    report = reconcile_run(run.settings, load_project(run.mappings), run.run_id)
    (e,) = report.entities
    # the one unread legacy value, counted once per variant that would stage it
    assert {m.measure: (m.unreadable, m.status) for m in e.measures} == {
        "debits": (2, UNVERIFIED),
        "credits": (2, UNVERIFIED),
    }
    assert e.status == FAIL and report.verdict == FAIL
    doc = json.loads(to_json(report))
    assert doc["verdict"] == FAIL and doc["entities"][0]["status"] == FAIL
    back = from_json(to_json(report))
    assert back == report and back.verdict == FAIL
