"""Pieces of a composed value: a field's ``parts`` and a grain's nested ``source``.

A piece is a source column (a bare name, or ``{column: C, steps: [...]}``: the column's
trimmed text through its own steps) or a constant (``{const: "-"}``). Pieces are joined as
text, each none as empty, so ``2018`` and ``2`` with ``{zfill: 2}`` and ``join: "-"`` give
``2018-02``. The same model serves both, so a grain's source side can compose columns
exactly as a field does.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from migrate.spec.base import Strict
from migrate.spec.steps import Step, parse_step


class Part(Strict):
    """One piece: a source column with its own steps, or a constant text."""

    column: str | None = Field(default=None, description="the source column read (trimmed)")
    const: str | int | None = Field(default=None, description="a constant piece, as text")
    steps: list[Step] = Field(default=[], description="steps on this piece alone, in order")

    @field_validator("steps", mode="before")
    @classmethod
    def _parse_steps(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("steps must be a list")
        return [parse_step(item, index) for index, item in enumerate(value)]

    @model_validator(mode="after")
    def _one_origin(self) -> Part:
        if (self.column is None) == (self.const is None):
            raise ValueError("a part needs exactly one of: column, const")
        if self.const is not None and self.steps:
            raise ValueError("a constant part takes no steps (write the text it should be)")
        return self


def as_part(item: str | Part) -> Part:
    """A bare column name as the part it stands for."""
    return Part(column=item) if isinstance(item, str) else item


def part_columns(item: str | Part) -> list[str]:
    """The source columns a piece reads (its column, and any its steps read)."""
    part = as_part(item)
    cols = [part.column] if part.column is not None else []
    return cols + [c for s in part.steps for c in s.source_columns()]


def _kind(value: Any) -> str:
    return "name" if isinstance(value, str) else "piece"


# A piece as written: a bare column name or a mapping. Told apart by the value's own type, so
# a mistake inside a mapping is reported once, at its key (not once per kind it is not).
Piece = Annotated[
    Annotated[str, Tag("name")] | Annotated[Part, Tag("piece")],
    Discriminator(_kind),
]
