"""The estate manifest masks every value the mappings mark personal (issue 22, item 13).

Before: ``short_tax_id`` notes showed suppliers' tax ids in clear (2 in the demo, 18 at
scale 450k) although both supplier mappings mark them ``personal: ssn``: the generator's
own list of personal columns had drifted from the mappings. This test takes the personal
columns from the shipped mappings, so a new personal field is covered without a list.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.estate.build import build_estate, default_urls
from migrate.lineage.masking import BIRTH_DATE_MASK
from migrate.spec.loader import load_mapping

REPO = Path(__file__).resolve().parents[2]


def _personal_columns() -> dict[tuple[str, str, str], str]:
    """(system, legacy table, legacy column) -> kind, for every ``personal:`` field."""
    out: dict[tuple[str, str, str], str] = {}
    for path in sorted((REPO / "mappings").rglob("*.yaml")):
        try:
            spec = load_mapping(path, REPO / "mappings").spec
        except Exception:  # not an entity mapping (a crosswalk or settings file)
            continue
        if not spec.source.table:
            continue
        for rule in spec.fields.values():
            columns = [rule.from_] if isinstance(rule.from_, str) else rule.from_ or []
            for column in columns if rule.personal else []:
                key = (spec.source.system, spec.source.table.lower(), column.lower())
                out[key] = str(rule.personal)
    return out


def test_the_supplier_tax_ids_are_among_the_personal_columns() -> None:
    found = _personal_columns()
    assert found[("finance", "vndmstr", "tax_id")] == "ssn"
    assert found[("procurement", "vendors", "taxid")] == "ssn"


@pytest.fixture(scope="module")
def manifest_notes(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str, str]]:
    folder = tmp_path_factory.mktemp("estate")
    manifest = build_estate(default_urls(folder), folder / "extracts", 300, 42)
    return [(d.system, d.table.lower(), (d.column or "").lower(), d.note) for d in manifest.defects]


def test_no_manifest_note_shows_a_personal_value(
    manifest_notes: list[tuple[str, str, str, str]],
) -> None:
    personal = _personal_columns()
    checked = 0
    for system, table, column, note in manifest_notes:
        kind = personal.get((system, table, column))
        if kind is None or not note.strip():
            continue
        checked += 1
        masked = note == BIRTH_DATE_MASK if kind == "birth_date" else note.startswith("***")
        assert masked, f"{system}.{table}.{column}: manifest note {note!r} is a {kind} in clear"
    assert checked >= 2  # the two short tax ids, at least
