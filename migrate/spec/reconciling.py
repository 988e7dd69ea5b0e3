"""What reconciliation proves for an entity: measures, grains, compared columns."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from migrate.spec.base import Strict
from migrate.spec.grains import Grain

SourceEncoding = Literal["cents", "decimal", "money_text", "integer", "float"]


class Measure(Strict):
    """An amount reconciled between source and staging, with the source-side rule stated."""

    name: str
    source_column: str
    source_encoding: SourceEncoding = Field(
        description=(
            "how the legacy column holds the amount: cents | decimal | money_text | integer | "
            "float (binary floating point, read by reconciliation's own statement of the "
            "float rule, docs/how-to/money.md). The scale and rounding come from the money "
            "step of the field filling target_column"
        )
    )
    sign_column: str | None = Field(default=None, description="e.g. DR_CR_IND")
    sign_values: list[str] = Field(default=[], description="source values selecting this measure")
    target_column: str
    tolerance: str = "0"


class Reconcile(Strict):
    measures: list[Measure] = []
    grains: list[Grain] = []
    compare: list[str] = Field(default=[], description="target columns diffed row by row")
