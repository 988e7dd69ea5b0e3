"""The variants' language: names, target keys that cannot collide (proved from the mapping),
what an entity with variants may not declare yet, and the staged key's form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import reconcile.proving.variants as rv
from migrate.errors import SpecErrors
from migrate.spec.loader import load_project
from migrate.transform import variants as tv
from tests.test_variants import doc_mapping


def load(tmp: Path, mapping: dict[str, Any]) -> str:
    """The loader's errors for ``mapping`` ('' when it loads)."""
    folder = tmp / "mappings" / "finance"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "payment_journal.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    try:
        load_project(tmp / "mappings")
    except SpecErrors as exc:
        return str(exc)
    return ""


def keyed(debit: dict[str, Any], offset: dict[str, Any]) -> dict[str, Any]:
    m = doc_mapping()
    m["variants"]["debit"]["REFERENCE21"] = debit
    m["variants"]["offset"]["REFERENCE21"] = offset
    return m


def parts(*pieces: Any) -> dict[str, Any]:
    return {"parts": list(pieces)}


@pytest.mark.parametrize(
    "debit, offset",
    [
        # "D" ends "-D": payment "P1-" debit and payment "P1" offset are both "P1-D"
        (parts("PAY_ID", {"const": "D"}), parts("PAY_ID", {"const": "-D"})),
        (parts("PAY_ID", {"const": "-D"}), parts("PAY_ID", {"const": "-D"})),
        ({"from": "PAY_ID"}, parts("PAY_ID", {"const": "-C"})),
        (  # a step could change the constant
            {**parts("PAY_ID", {"const": "-d"}), "steps": ["upper"]},
            parts("PAY_ID", {"const": "-C"}),
        ),
        ({"const": "1"}, {"const": " 1 "}),
    ],
)
def test_keys_that_could_collide_are_refused_at_the_variants_line(
    tmp_path: Path, debit: dict[str, Any], offset: dict[str, Any]
) -> None:
    errors = load(tmp_path, keyed(debit, offset))
    assert "payment_journal.yaml:" in errors and "target keys could collide" in errors


@pytest.mark.parametrize(
    "debit, offset",
    [
        (parts("PAY_ID", {"const": "-DR"}), parts("PAY_ID", {"const": "-CR"})),
        (parts({"const": "D"}, "PAY_ID"), parts({"const": "C"}, "PAY_ID")),  # prefixes
        ({**parts("PAY_ID", "D"), "join": "-"}, {**parts("PAY_ID", "C"), "join": "-"}),
    ],
)
def test_keys_proved_apart_load(
    tmp_path: Path, debit: dict[str, Any], offset: dict[str, Any]
) -> None:
    if debit["parts"][-1] == "D":  # a column named D: not a constant, so not proved apart
        assert "could collide" in load(tmp_path, keyed(debit, offset))
        return
    assert load(tmp_path, keyed(debit, offset)) == ""


@pytest.mark.parametrize(
    "change, words",
    [
        ({"variants": {"only": {"SEGMENT3": {"const": "1"}}}}, "at least two"),
        ({"variants": {"Debit": {"SEGMENT3": {"const": "1"}}, "b": {"X": {"const": 1}}}}, "name"),
        (
            {
                "reconcile": {
                    "grains": [
                        {"name": "g", "source": ["FUND"], "target": ["SEGMENT1"], "measures": []}
                    ]
                }
            },
            "grains",
        ),
    ],
)
def test_what_variants_refuse(tmp_path: Path, change: dict[str, Any], words: str) -> None:
    errors = load(tmp_path, {**doc_mapping(), **change})
    assert words in errors, errors


def test_a_measure_no_variant_fills_from_its_column_is_refused(tmp_path: Path) -> None:
    mapping = doc_mapping()
    mapping["reconcile"]["measures"][0]["source_column"] = "FUND"
    errors = load(tmp_path, mapping)
    assert "measure debits: no variant fills ENTERED_DR from FUND" in errors, errors


def test_the_staged_key_splits_back_whatever_the_legacy_key_holds() -> None:
    assert rv.SEP == tv.SEP == "@"
    for legacy in ("P1", "A@B", "x|y@", ""):
        staged = tv.variant_key(legacy, "offset")
        assert tv.split_key(staged) == (legacy, "offset")
        assert staged.rpartition(rv.SEP)[0] == legacy
