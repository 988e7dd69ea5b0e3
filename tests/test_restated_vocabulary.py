"""Every step and option of the mapping language is restated by reconciliation or has a
reason why a column using it is not verified (issue 19, item 6).

The vocabulary is read from the language's JSON Schema (``migrate mappings schema``), not
from a list kept here: a step, an argument, a fixed argument value, a field option or a
condition option added to the language later fails the test below until reconciliation
either restates it (``reconcile/proving/restate.py``, ``restate_steps.py``) or says why it cannot.
Until then a column using it is reported as not verified at run time.
"""

from __future__ import annotations

from typing import Any

import pytest

from migrate.spec.jsonschema import json_schema
from migrate.spec.model import EntitySpec, Field_
from reconcile.proving import restate
from reconcile.proving.restate import NOT_VERIFIED, RESTATED, field_items, why_not
from reconcile.proving.restate_steps import STEPS
from reconcile.proving.restated import plan


def _fixed_values(schema: dict[str, Any]) -> list[str]:
    """The values an argument may take when they are a fixed set (an enum, a const)."""
    options = schema.get("anyOf", [schema])
    out: list[str] = []
    for o in options:
        out += [str(v) for v in o.get("enum", [])]
        out += [str(o["const"])] if "const" in o else []
    return out


def vocabulary() -> set[str]:
    """Every item of the language, named as ``reconcile/proving/restate.py`` names them."""
    defs = json_schema()["$defs"]
    items = {f"field.{p}" for p in defs["Field_"]["properties"]}
    items |= {f"when.{p}" for p in defs["Condition"]["properties"]}
    for p, schema in defs["Condition"]["properties"].items():
        items |= {f"when.{p}={v}" for v in _fixed_values(schema) if v != "None"}
    items |= {f"part.{p}" for p in defs["Part"]["properties"]}
    items |= {f"personal={k}" for k in _fixed_values(defs["Field_"]["properties"]["personal"])}
    for variant in defs["Step"]["anyOf"]:
        if "const" in variant:
            items.add(f"step.{variant['const']}")
            continue
        [(name, spec)] = variant["properties"].items()
        items.add(f"step.{name}")
        for arg, arg_schema in spec["anyOf"][0].get("properties", {}).items():
            items.add(f"step.{name}.{arg}")
            items |= {f"step.{name}.{arg}={v}" for v in _fixed_values(arg_schema)}
    return items


def test_the_schema_lists_what_the_language_has() -> None:
    items = vocabulary()
    assert {"step.date", "step.date.pivot", "step.money.encoding=text", "field.when"} <= items
    assert {"when.negate", "personal=birth_date", "step.crosswalk.on_missing=block"} <= items
    assert {"when.less_than", "when.between", "when.amount=text", "field.parts"} <= items
    assert "part.steps" in items
    assert {"step.abs", "step.negate", "step.format_number.pad=space"} <= items
    assert len([i for i in items if i.count(".") == 1 and i.startswith("step.")]) == 21


def test_every_item_is_restated_or_has_a_reason() -> None:
    items = vocabulary()
    neither = sorted(items - set(RESTATED) - set(NOT_VERIFIED))
    assert neither == [], f"restate these in reconcile/ or say why not: {neither}"
    assert set(RESTATED) & set(NOT_VERIFIED) == set()
    stale = sorted((set(RESTATED) | set(NOT_VERIFIED)) - items)
    assert stale == [], f"no longer in the language: {stale}"
    assert all(why.strip() for why in [*RESTATED.values(), *NOT_VERIFIED.values()])


def test_each_restated_step_has_its_own_implementation() -> None:
    restated = {i.split(".")[1] for i in RESTATED if i.startswith("step.")}
    steps = {i.split(".")[1] for i in vocabulary() if i.startswith("step.")}
    assert (
        set(STEPS)
        == restated
        == steps - {i.split(".")[1] for i in NOT_VERIFIED if i.startswith("step.")}
    )


def test_a_new_step_without_a_statement_is_not_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the vocabulary test guards, at run time: an unknown item is never compared."""
    field = Field_.model_validate({"from": "c", "steps": ["strip", "title"]})
    assert why_not(field, "text") is None
    monkeypatch.delitem(restate.RESTATED, "step.title")
    assert (
        why_not(field, "text")
        == "the mapping uses 'step.title', which reconciliation does not restate"
    )


def test_each_reason_reaches_the_report_for_its_column(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = EntitySpec.model_validate(
        {
            "entity": "pay",
            "domain": "hr",
            "source": {"system": "hr", "table": "pay", "key": ["chk_id"]},
            "target": {"table": "PAYROLL_HISTORY", "key": ["CHECK_ID"]},
            "fields": {
                "CHECK_ID": {"from": "chk_id"},
                "PERSON_NUMBER": {"lookup": {"domain": "worker", "from": ["emp_id"]}},
                "HOURS": {"expr": "hrs * 2"},
                "GROSS_AMOUNT": {"from": "gross", "steps": [{"money": "text"}]},
                "PAY_TYPE": {"from": "kind", "steps": ["title"]},
            },
            "reconcile": {
                "compare": ["PERSON_NUMBER", "HOURS", "GROSS_AMOUNT", "PAY_TYPE", "NOPE"]
            },
        }
    )
    restated, missing = plan(spec)
    # every column the mapping fills, compared ones first; a lookup through the key map
    assert [r.target for r in restated] == [
        "PERSON_NUMBER",
        "HOURS",
        "GROSS_AMOUNT",
        "PAY_TYPE",
        "CHECK_ID",
    ]
    assert dict(missing) == {"NOPE": "no field of the mapping fills this staging column"}
    # an item said not verified (none is today) gives its column that reason
    monkeypatch.delitem(restate.RESTATED, "step.title")
    monkeypatch.setitem(restate.NOT_VERIFIED, "step.title", "a reason")
    assert dict(plan(spec)[1])["PAY_TYPE"] == "a reason"


def test_field_items_name_only_vocabulary_items() -> None:
    field = Field_.model_validate(
        {
            "from": ["a", "b"],
            "join": "-",
            "steps": [
                {"date": {"format": "%y%m%d", "pivot": 30}},
                {"money": "text"},
                {"crosswalk": {"name": "x", "on_missing": "block"}},
                {"mask": "hash"},
                "check_digit",
            ],
            "when": {"column": "k", "in": ["A"], "negate": True},
            "default": 0,
            "min": 0,
            "personal": "ssn",
        }
    )
    assert set(field_items(field)) <= vocabulary()
    assert "step.crosswalk.on_missing=block" in field_items(field)


def test_the_restatement_never_loads_the_pipeline() -> None:
    """Invariant 3: a fresh interpreter importing the restatement and ``migrate reconcile``
    loads none of the pipeline's transform, validate, extract, load or pipeline modules
    (``reconcile.run`` loaded the load stage's writers, and through them the transform, to
    find a run's staging, until that moved to ``migrate.staging.create``)."""
    import subprocess
    import sys

    # where a mapping's files live and which paths it may name: no reading code, and the
    # packages on the way to them (their __init__ imports nothing)
    allowed = (
        "migrate.extract",
        "migrate.extract.files",
        "migrate.extract.files.origins",
        "migrate.extract.files.confinement",
    )
    code = (
        "import sys, reconcile.proving.restated, reconcile.proving.entity, reconcile.run; "
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'migrate.transform', 'migrate.validate', 'migrate.extract', 'migrate.load', "
        "'migrate.runs.pipeline', 'migrate.runs.runner'))"
        f" and m not in {allowed!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
