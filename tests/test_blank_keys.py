"""Which rows count as having no key: every part of the source key blank, or of the legacy
key an entity issues ERP keys for; a key with some parts present is a key."""

from __future__ import annotations

import pandas as pd

from migrate.spec.model import EntitySpec
from migrate.transform.engine import blank_keys
from migrate.transform.failures import Failures


def _spec(issuing: list[str] | None = None) -> EntitySpec:
    spec: dict[str, object] = {
        "entity": "lines",
        "domain": "finance",
        "source": {"system": "finance", "table": "T", "key": ["A", "B"]},
        "target": {"table": "T2", "key": ["X"]},
        "fields": {"X": {"from": "A"}},
    }
    if issuing is not None:
        spec["issues_keys"] = {"domain": "d", "column": "X", "legacy": issuing}
    return EntitySpec.model_validate(spec)


ROWS = pd.DataFrame(
    {
        "A": ["1", None, " ", "4", None],
        "B": ["x", "y", "", None, "  "],
        "C": ["c", "c", "c", "", "c"],
    },
    index=[10, 11, 12, 13, 14],
)


def _rejected(spec: EntitySpec) -> list[tuple[int, str, str, str | None]]:
    failures = Failures(ROWS.index)
    keys = blank_keys(spec, ROWS, failures)
    assert keys.tolist() == ["1|x", "|y", "|", "4|", "|"]
    cases = failures.to_frame()
    return list(cases[["row", "column", "reason", "value"]].itertuples(index=False, name=None))


def test_a_key_blank_in_every_part_is_rejected() -> None:
    assert _rejected(_spec()) == [
        (12, "A", "required_missing", "|"),
        (14, "A", "required_missing", "|"),
    ]


def test_a_blank_issuing_key_is_rejected_too() -> None:
    assert _rejected(_spec(["C"])) == [
        (12, "A", "required_missing", "|"),
        (14, "A", "required_missing", "|"),
        (13, "C", "required_missing", ""),
    ]
