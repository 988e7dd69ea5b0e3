"""Control totals by grain, reconciled between source and staging."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, model_validator

from migrate.spec.base import Strict
from migrate.spec.parts import Piece, part_columns


def _item(value: Any) -> str:
    return "name" if isinstance(value, str) else "pieces"


class Grain(Strict):
    """Control totals by these columns (source columns paired with target columns).

    The declared ``source`` (each item a column, or a nested list of pieces) is
    :attr:`pieces`; the attribute ``source`` is every legacy column the grain reads, flat,
    which is what the scans group by (``reconcile/reading/sources.py``): for a grain without nested
    pieces the two are the same list.
    """

    name: str
    pieces: list[
        Annotated[
            Annotated[str, Tag("name")] | Annotated[list[Piece], Tag("pieces")],
            Discriminator(_item),
        ]
    ] = Field(
        alias="source",
        description=(
            "legacy columns; a nested list is concatenated with `join`, each piece a column, "
            '`{column: C, steps: [...]}` or `{const: "-"}` (as a field\'s `parts`), so '
            "`[[YEAR, {column: MONTH, steps: [{zfill: 2}]}]]` meets a target `2018-02`"
        ),
    )
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
        if len(self.pieces) != len(self.target):
            raise ValueError("grain source and target need the same number of columns")
        if any(isinstance(s, list) and not s for s in self.pieces):
            raise ValueError("a nested grain source needs at least one piece")
        return self

    @property
    def source(self) -> list[str]:
        """Every legacy column the source side reads, nested pieces flattened, in order."""
        cols: list[str] = []
        for item in self.pieces:
            for piece in item if isinstance(item, list) else [item]:
                cols += [c for c in part_columns(piece) if c not in cols]
        return cols
