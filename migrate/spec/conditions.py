"""Tests on source values: filters and conditional fields."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from migrate.spec.base import Strict


class Condition(Strict):
    """A test on one source column, used by filters and conditional fields."""

    column: str
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    is_blank: bool | None = None
    negate: bool = False

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [x for x in (self.equals, self.in_, self.is_blank) if x is not None]
        if len(given) != 1:
            raise ValueError("a condition needs exactly one of: equals, in, is_blank")
        return self


class Filter(Strict):
    """A named rule that drops rows; dropped rows are counted and listed, never lost."""

    name: str
    drop_when: Condition
