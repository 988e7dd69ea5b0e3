"""The fixed vocabulary of field steps, and the parsing of ``steps:`` items.

A step is written either as a bare name (``strip``) or as a one-key mapping whose value is
the step's arguments (``{date: {format: "%Y%m%d"}}``) or, for short, its main argument
(``{date: "%Y%m%d"}``). Unknown names are rejected with a "did you mean" suggestion; the
arguments of each step are checked by a small model. Nothing here is ever evaluated as code.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from migrate.spec.stepargs import MoneyArgs as MoneyArgs
from migrate.spec.stepargs import _Args as _Args


class NoArgs(_Args):
    pass


class ReplaceArgs(_Args):
    old: str
    new: str = ""


class ZfillArgs(_Args):
    width: int = Field(ge=1, le=100)


class SplitArgs(_Args):
    sep: str = Field(min_length=1)
    index: int
    rest: bool = Field(default=False, description="keep everything from `index` on")


class DateArgs(_Args):
    format: str
    pivot: int | None = Field(
        default=None,
        description="two-digit years up to and including (pivot % 100) are 20xx, later ones 19xx",
    )


class DatetimeArgs(_Args):
    format: str


class SignByArgs(_Args):
    column: str
    negative: list[str]


class CrosswalkArgs(_Args):
    name: str
    on_missing: Literal["reject", "block"] = "reject"


class MaskArgs(_Args):
    kind: Literal["last4", "hash", "full"] = "last4"


class CheckDigitArgs(_Args):
    kind: Literal["aba"] = "aba"


class FormatNumberArgs(_Args):
    """A number as text, without Python format strings: fixed decimals, padded to a width.
    Nothing is rounded: a value with more (non-zero) decimals than ``decimals`` is rejected
    (``invalid_number``)."""

    decimals: int = Field(default=0, ge=0, le=10, description="digits after the decimal point")
    width: int | None = Field(
        default=None, ge=1, le=100, description="the text padded on the left to this length"
    )
    pad: Literal["zero", "space"] = Field(
        default="zero", description="zero: zeros after the sign (-0012); space: spaces before it"
    )
    cents: bool = Field(
        default=False,
        description="the value is integer cents (after a `money` step), shown in units",
    )


STEP_ARGS: dict[str, tuple[type[_Args], str | None]] = {
    "strip": (NoArgs, None),
    "upper": (NoArgs, None),
    "lower": (NoArgs, None),
    "title": (NoArgs, None),
    "collapse_spaces": (NoArgs, None),
    "blank_to_null": (NoArgs, None),
    "ascii_fold": (NoArgs, None),
    "replace": (ReplaceArgs, None),
    "zfill": (ZfillArgs, "width"),
    "split": (SplitArgs, None),
    "date": (DateArgs, "format"),
    "datetime": (DatetimeArgs, "format"),
    "money": (MoneyArgs, "encoding"),
    "integer": (NoArgs, None),
    "sign_by": (SignByArgs, None),
    "crosswalk": (CrosswalkArgs, "name"),
    "mask": (MaskArgs, "kind"),
    "check_digit": (CheckDigitArgs, "kind"),
    # numbers: integer cents after `money`, integers, Decimals, or text read as a number
    # (see migrate/spec/conditions.py); a present value that is not a number: invalid_number
    "abs": (NoArgs, None),
    "negate": (NoArgs, None),
    "format_number": (FormatNumberArgs, "width"),
}


class Step(BaseModel):
    """One parsed step: its name and checked arguments."""

    model_config = ConfigDict(frozen=True)
    name: str
    args: _Args

    def source_columns(self) -> list[str]:
        return [self.args.column] if isinstance(self.args, SignByArgs) else []


def suggest(name: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else an empty string."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class StepError(ValueError):
    """A bad step; ``index`` (and ``key``) locate it within the steps list."""

    def __init__(self, index: int, message: str, key: str | None = None) -> None:
        self.index = index
        self.key = key
        super().__init__(message)


def parse_step(item: Any, index: int) -> Step:
    if isinstance(item, Step):
        return item
    if isinstance(item, str):
        name, raw = item, None
    elif isinstance(item, dict) and len(item) == 1:
        name, raw = next(iter(item.items()))
    else:
        raise StepError(index, "a step is a name or a one-key mapping {name: arguments}")
    if name not in STEP_ARGS:
        raise StepError(index, f"unknown step {name!r}{suggest(name, sorted(STEP_ARGS))}")
    model, primary = STEP_ARGS[name]
    if raw is None:
        payload: dict[str, Any] = {}
    elif isinstance(raw, dict):
        payload = raw
    elif primary is not None:
        payload = {primary: raw}
    else:
        raise StepError(index, f"step {name!r} takes a mapping of arguments")
    try:
        args = model.model_validate(payload)
    except ValidationError as exc:
        errs = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        err = errs[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown argument {key!r}{suggest(key, list(model.model_fields))}"
        raise StepError(index, f"step {name!r}: {msg}", key=key or None) from None
    return Step(name=name, args=args)
