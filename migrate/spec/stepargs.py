"""The base of step arguments, and the arguments of the ``money`` step (kept apart: money has
its own policy of scale, rounding and floats, ``docs/how-to/money.md``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Rounding = Literal["half_up", "half_even", "truncate"]
MAX_SCALE = 9  # decimals a source may declare (int64 holds 9.2 billion units at scale 9)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MoneyArgs(_Args):
    encoding: Literal["cents", "fixed", "text", "float"] = Field(
        description=(
            'cents: integer minor units ("+7", "-12345"); fixed: "000123.45", "-12.5" (a '
            'leading minus only); text: "$1,234.56 " / "($2.00)" / "5-" (one $, commas in '
            "threes, one negative marker). ASCII digits only (٦ or ６ is no digit); below "
            "10**18 units of the scale (999,999,999,999,999.99 at scale 2); no exponent, NaN "
            "or infinity (docs/how-to/money.md, the amount grammar). Spaces, tabs and line "
            "breaks around the value are ignored (not a non-breaking space); float: binary "
            "floating point "
            "(REAL, DOUBLE), read once to an exact amount where its shortest decimal form "
            "has at most `scale` decimals and its magnitude is below 2**52 / 10**scale, "
            "else rejected as inexact_float (text in such a column is read as fixed)"
        )
    )
    scale: int | None = Field(
        default=None,
        ge=2,
        le=MAX_SCALE,
        description=(
            "decimals the source holds (e.g. 4 for SQL Server money); default 2. A value with "
            "a non-zero digit beyond it is rejected (invalid_amount, or inexact_float for a "
            "float). Above 2 it needs `rounding`"
        ),
    )
    rounding: Rounding | None = Field(
        default=None,
        description=(
            "how an amount of `scale` decimals becomes cents: half_up (a tie away from "
            "zero), half_even (a tie to the even cent), truncate (toward zero). Without it "
            "nothing is ever rounded: a value finer than a cent is rejected"
        ),
    )

    @model_validator(mode="after")
    def _policy(self) -> MoneyArgs:
        scale = self.scale or 2
        if self.encoding == "cents" and (self.scale is not None or self.rounding is not None):
            raise ValueError("encoding cents holds whole cents: it takes no scale or rounding")
        if scale > 2 and self.rounding is None:
            raise ValueError(
                f"scale {scale} needs a rounding (half_up, half_even or truncate): "
                "nothing is rounded unless the mapping says how"
            )
        if self.rounding is not None and scale <= 2:
            raise ValueError(
                "rounding needs the source's scale above 2 (e.g. scale: 4): at 2 decimals "
                "nothing is rounded"
            )
        return self

    @property
    def decimals(self) -> int:
        """The source's declared decimals (2 unless ``scale`` says more)."""
        return self.scale or 2
