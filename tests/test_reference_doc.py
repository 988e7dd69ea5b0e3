"""docs/reference/mapping-language.md is generated from the spec models: it must be what
``python -m migrate.spec.reference`` writes today (a field added without regenerating the
page would leave users a reference that misses it)."""

from __future__ import annotations

from pathlib import Path

from migrate.spec.reference import render

PAGE = Path(__file__).resolve().parents[1] / "docs" / "reference" / "mapping-language.md"


def test_the_reference_page_is_generated_from_the_models() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "regenerate: python -m migrate.spec.reference docs/reference/mapping-language.md"
    )
