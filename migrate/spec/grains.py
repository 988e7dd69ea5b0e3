"""Control totals by grain, reconciled between source and staging."""

from __future__ import annotations

from pydantic import Field, model_validator

from migrate.spec.base import Strict


class Grain(Strict):
    """Control totals by these columns (source columns paired with target columns)."""

    name: str
    source: list[str]
    target: list[str | list[str]] = Field(
        description="staging columns; a nested list is concatenated with `join`"
    )
    join: str = "."
    source_crosswalk: dict[str, str] = Field(
        default={}, description="source column -> crosswalk applied before grouping"
    )
    measures: list[str]

    @model_validator(mode="after")
    def _paired(self) -> Grain:
        if len(self.source) != len(self.target):
            raise ValueError("grain source and target need the same number of columns")
        return self
