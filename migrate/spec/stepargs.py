"""The base of step arguments, and the arguments of the ``money`` step (kept apart: money has
its own policy of scale, rounding and floats)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MoneyArgs(_Args):
    encoding: Literal["cents", "fixed", "text"] = Field(
        description=(
            'cents: integer minor units; fixed: "000123.45", "-12.5" (a leading minus only); '
            'text: "$1,234.56 " / "($2.00)" / "5-". Spaces, tabs and line breaks around the '
            "value are ignored (not a non-breaking space)"
        )
    )
