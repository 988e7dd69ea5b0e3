"""Which column rules reconciliation restates itself, and, for the others, why not.

A column's rule is its field in the mapping (origin, steps, ``when``, ``default``, checks)
plus the staging column's type, which the pipeline casts to last. Reconciliation restates a
rule by computing, from the legacy row alone, the value staging must hold
(``restate_steps.py``: its own code for every step; an ERP key, from the legacy key and the
key map the pipeline recorded, ``restate_keys.py``), and compares that with the staged value
row by row (``restated.py``). A rule it cannot restate is never compared as if it could: the
column is reported as **not verified**, with the reason, and its entity cannot PASS.

The vocabulary of the mapping language, as its JSON Schema names it, is listed here once:
each item either in :data:`RESTATED` (how reconciliation restates it) or in
:data:`NOT_VERIFIED` (why a column using it is not verified). An item in neither (a step
added to the language later) makes the column not verified at run time, and the vocabulary
test (``tests/test_restated.py``) fail. Items are named ``field.<option>``,
``when.<option>``, ``personal=<kind>``, ``step.<name>``, ``step.<name>.<argument>`` and
``step.<name>.<argument>=<value>`` for arguments with a fixed set of values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column

from migrate.spec.model import Field_
from migrate.spec.parts import as_part, part_columns
from migrate.spec.steps import Step
from migrate.staging.catalog import staging_table
from reconcile.proving import restate_expr as E
from reconcile.proving import restate_steps as R
from reconcile.proving.personal import REFUSED, UNREADABLE
from reconcile.proving.restate_keys import KeyLookup, lookup_origin, lookup_text
from reconcile.proving.restate_pieces import (
    condition_holds,
    condition_text,
    part_text,
    piece,
    step_text,
)
from reconcile.reading import numbers as N
from reconcile.reading.coltypes import Kind
from reconcile.reading.coltypes import column_kind as column_kind

_CHECK = "a check that rejects a row, never a change of its value: nothing to restate"
_STEP = "reconciliation's own Python code for the step (reconcile/proving/restate_steps.py)"
_NUMBER = (
    "its value read as an exact number by reconciliation's own reader "
    "(reconcile/reading/numbers.py; blank holds no comparison, text that is no number is "
    "refused: invalid_number)"
)
_DAY = (
    "its value read as a day by reconciliation's own reader (reconcile/reading/numbers.py: a "
    "DATE or TIMESTAMP its day, text by strptime; blank holds none, no date: refused)"
)
_NUMBERS = "its own code on exact numbers (reconcile/reading/numbers.py); no number: refused"
_WHEN = (
    *("equals", "in", "is_blank", "less_than", "greater_than", "at_most", "at_least"),
    *("between", "before", "after", "on_or_before", "on_or_after", "date_format"),
)

RESTATED: dict[str, str] = {
    "field.from": "the legacy column's value, read by reconciliation itself",
    "field.lookup": (
        "the ERP key MIG_KEY_MAP (the pipeline's record) holds for the legacy key restated "
        "from the row (reconcile/proving/restate_keys.py); a blank key is no value, a key with "
        "none "
        "recorded is refused (orphan)"
    ),
    "field.join": "the listed columns' (or parts') texts, each trimmed (none as empty), joined",
    "field.parts": "each piece restated (reconcile/proving/restate.py), as text, none as empty, "
    "joined",
    "part.column": "the legacy column's text, trimmed, read by reconciliation itself",
    "part.const": "the constant, as text",
    "part.steps": "each of the piece's own steps, in order (reconcile/proving/restate_steps.py)",
    "field.const": "the constant",
    "field.expr": "its own reading of the arithmetic, exact Decimal "
    "(reconcile/proving/restate_expr.py); a blank operand makes it blank, one that is no "
    "number is refused (invalid_number), and so is a division by zero (division_by_zero)",
    "field.steps": "each step in order, as listed",
    "field.when": "no value where the condition does not hold (tested on the legacy row)",
    "field.default": "the default where the value is none or blank",
    "field.required": _CHECK,
    "field.allowed": _CHECK,
    "field.pattern": _CHECK,
    "field.min": _CHECK,
    "field.max": _CHECK,
    "field.personal": "compared by keyed hash (HMAC-SHA256) of both sides, never shown",
    "personal=ssn": "digits only",
    "personal=bank_account": "digits only",
    "personal=routing": "digits only",
    "personal=birth_date": "the date as ISO YYYY-MM-DD",
    "when.column": "the legacy column tested",
    "when.equals": "its text, trimmed, in any case, equals the value",
    "when.in": "its text, trimmed, in any case, is one of the values",
    "when.is_blank": "it is none or only whitespace (or, with false, it is not)",
    "when.negate": "the test reversed (a missing value then passes; an unreadable number "
    "is still refused)",
    "when.less_than": _NUMBER + ", < the bound",
    "when.greater_than": _NUMBER + ", > the bound",
    "when.at_most": _NUMBER + ", <= the bound",
    "when.at_least": _NUMBER + ", >= the bound",
    "when.between": _NUMBER + ", low <= it <= high",
    "when.before": _DAY + ", before the day",
    "when.after": _DAY + ", after the day",
    "when.on_or_before": _DAY + ", the day or earlier",
    "when.on_or_after": _DAY + ", the day or later",
    "when.date_format": "text read with datetime.strptime in this format "
    "(reconcile/reading/numbers.py)",
    "when.amount": "the value read as the money step reads it, by reconciliation's own parser "
    "(reconcile/reading/money.py), compared in units; no amount: refused (invalid_amount)",
    "when.amount=cents": "integer minor units",
    "when.amount=fixed": "fixed-point text, a leading minus",
    "when.amount=text": "$, thousands commas, (x), x- and -x negatives",
    "step.strip": "surrounding whitespace removed",
    "step.upper": "upper case, character by character",
    "step.lower": "lower case, character by character",
    "step.title": "each run of letters capitalised",
    "step.collapse_spaces": "runs of spaces, tabs and line breaks to one space, trimmed",
    "step.blank_to_null": "blank text to no value",
    "step.ascii_fold": "accents removed (NFKD), other non-ASCII dropped",
    "step.replace": _STEP,
    "step.replace.old": "the text replaced, everywhere, literally",
    "step.replace.new": "its replacement",
    "step.zfill": _STEP,
    "step.zfill.width": "zeros on the left up to the width (after a sign)",
    "step.split": _STEP,
    "step.split.sep": "the literal separator",
    "step.split.index": "the part taken (negative from the end; none when out of range)",
    "step.split.rest": "the text from that part on",
    "step.date": _STEP,
    "step.date.format": "datetime.strptime with the declared format, any format",
    "step.date.pivot": "two-digit years up to the pivot are 20xx, later ones 19xx",
    "step.datetime": _STEP,
    "step.datetime.format": "datetime.strptime with the declared format, any format",
    "step.money": _STEP,
    "step.money.encoding": "the amount as exact integer cents (reconcile/reading/money.py)",
    "step.money.encoding=cents": "integer minor units",
    "step.money.encoding=fixed": "fixed-point text, a leading minus",
    "step.money.encoding=text": "$, thousands commas, (x), x- and -x negatives",
    "step.money.encoding=float": "a float read once to exact cents by reconciliation's own "
    "float rule (reconcile/reading/money.py, reconcile/reading/rounding.py); an inexact one "
    "refused",
    "step.money.scale": "the source's declared decimals, read exactly at that scale "
    "(reconcile/reading/money.py step_cents, reconcile/reading/rounding.py)",
    "step.money.rounding": "the declared rounding to cents, restated by "
    "reconcile/reading/rounding.py",
    "step.money.rounding=half_up": "a tie away from zero",
    "step.money.rounding=half_even": "a tie to the even cent",
    "step.money.rounding=truncate": "toward zero",
    "step.integer": "an integer, or integer text",
    "step.sign_by": _STEP,
    "step.sign_by.column": "the indicator column, trimmed, in any case",
    "step.sign_by.negative": "indicator values that negate the amount",
    "step.crosswalk": _STEP,
    "step.crosswalk.name": "the code looked up in the mapping's crosswalk file",
    "step.crosswalk.on_missing": "an unknown code is refused (rejected or blocking)",
    "step.crosswalk.on_missing=reject": "the row is rejected",
    "step.crosswalk.on_missing=block": "the run stops",
    "step.mask": _STEP,
    "step.mask.kind": "the masked form",
    "step.mask.kind=last4": "*** and the last four digits",
    "step.mask.kind=hash": "HMAC-SHA256 with the mask key, 32 hex digits",
    "step.mask.kind=full": "***",
    "step.check_digit": _CHECK,
    "step.check_digit.kind": _CHECK,
    "step.check_digit.kind=aba": "the ABA routing-number check digit",
    "step.abs": _NUMBERS,
    "step.negate": _NUMBERS,
    "step.format_number": _NUMBERS,
    "step.format_number.decimals": "exactly so many decimals, by integer arithmetic; a value "
    "with more non-zero decimals is refused (invalid_number), never rounded",
    "step.format_number.width": "padded on the left to this length",
    "step.format_number.pad": "what pads",
    "step.format_number.pad=zero": "zeros after the sign",
    "step.format_number.pad=space": "spaces before the sign",
    "step.format_number.cents": "integer cents shown in units (moved two places)",
}

NOT_VERIFIED: dict[str, str] = {}  # nothing today: every item of the language is restated

# the staging column's type, as the pipeline casts to it last (reconcile/reading/coltypes.py)
KINDS = ("text", "date", "datetime", "money", "integer", "decimal", "boolean")


def field_items(field: Field_) -> list[str]:
    """The vocabulary items a field uses, in the order they apply."""
    options = [
        name
        for name, value in (
            ("from", field.from_),
            ("join", field.join),
            ("const", field.const),
            ("expr", field.expr),
            ("lookup", field.lookup),
            ("parts", field.parts),
            ("steps", field.steps or None),
            ("when", field.when),
            ("default", field.default),
            ("required", field.required),
            ("allowed", field.allowed),
            ("pattern", field.pattern),
            ("min", field.min),
            ("max", field.max),
            ("personal", field.personal),
        )
        if value is not None
    ]
    items = [f"field.{o}" for o in options]
    for item in field.parts or []:
        part = as_part(item)
        items += ["part.column"] if part.column is not None else ["part.const"]
        items += ["part.steps"] if part.steps else []
        items += [i for step in part.steps for i in step_items(step)]
    items += [i for step in field.steps for i in step_items(step)]
    if field.when is not None:
        w = field.when.model_dump(by_alias=True)
        items += ["when.column", *(f"when.{k}" for k in _WHEN if w[k] is not None)]
        items += ["when.amount", f"when.amount={w['amount']}"] if w["amount"] else []
        items += ["when.negate"] if w["negate"] else []
    if field.personal is not None:
        items.append(f"personal={field.personal}")
    return items


def step_items(step: Step) -> list[str]:
    """The vocabulary items one step uses: its name, its arguments, their fixed values."""
    items = [f"step.{step.name}"]
    for arg, value in step.args.model_dump().items():
        if value is not None:
            items.append(f"step.{step.name}.{arg}")
            if isinstance(value, str) and _enumerated(step.name, arg):
                items.append(f"step.{step.name}.{arg}={value}")
    return items


def _enumerated(step: str, arg: str) -> bool:
    return any(k.startswith(f"step.{step}.{arg}=") for k in (*RESTATED, *NOT_VERIFIED))


def why_not(field: Field_, kind: str | None) -> str | None:
    """Why reconciliation cannot restate this field into a column of ``kind`` (None: it can)."""
    for item in field_items(field):
        if item in NOT_VERIFIED:
            return NOT_VERIFIED[item]
        if item not in RESTATED:
            return f"the mapping uses {item!r}, which reconciliation does not restate"
    if kind is None:
        return "the staging column's type is not one reconciliation restates"
    return None


def target_column(table: str, column: str) -> Column[object] | None:
    t = staging_table(table)
    return None if t is None or column not in t.c else t.c[column]


Crosswalks = Mapping[str, Mapping[str, str]]
Canonical = str | None  # a value as compared: ISO date, cents as "-12.34", text


@dataclass(frozen=True)
class Restated:
    """One column whose rule reconciliation restates: from a legacy row, the value staging
    must hold, and the staged value, both as comparable text (:data:`Canonical`)."""

    target: str
    field: Field_
    kind: str
    system: str = ""  # the entity's source system: a lookup's default
    issued: bool = False  # the ERP key this entity issues (``issues_keys``)

    @property
    def personal(self) -> str | None:
        return self.field.personal

    def source_columns(self) -> list[str]:
        f = self.field
        cols = [f.from_] if isinstance(f.from_, str) else list(f.from_ or [])
        cols += E.columns(f.expr) if f.expr is not None else []
        cols += f.lookup.from_ if f.lookup is not None else []
        cols += [c for p in f.parts or [] for c in part_columns(p)]
        cols += [f.when.column] if f.when is not None else []
        cols += [c for s in f.steps for c in s.source_columns()]
        return list(dict.fromkeys(cols))

    def value(
        self,
        record: Mapping[str, object],
        crosswalks: Mapping[str, Mapping[str, str]],
        keys: KeyLookup | None = None,
    ) -> object:
        """The value staging must hold for this legacy row (``Unreadable`` if refused);
        ``keys`` answers a lookup from the key map."""
        f = self.field
        ctx = R.Context(record, crosswalks)
        if f.lookup is not None:
            value = lookup_origin(f, self.system, record, keys)
        else:
            value = _origin(f, record, crosswalks)
        for step in f.steps:
            value = R.STEPS[step.name](value, step.args, ctx)
        if f.when is not None and not condition_holds(f.when, record):
            value = None
        if f.default is not None and R.is_blank(value):
            value = f.default
        return value

    def source(
        self,
        record: Mapping[str, object],
        crosswalks: Mapping[str, Mapping[str, str]],
        keys: KeyLookup | None = None,
    ) -> Canonical:
        try:
            return self.canonical(self.value(record, crosswalks, keys), source=True)
        except R.Unreadable as exc:
            return f"{REFUSED}: {exc.reason if self.personal else exc})"

    def canonical(self, value: object, source: bool = False) -> Canonical:
        """A value cast to the column's kind as text: ISO dates, cents as ``-12.34``."""
        if self.kind == "date":
            day = R.to_date(value)
            return None if day is None else day.isoformat()
        if self.kind == "datetime":
            stamp = R.to_timestamp(value)
            return None if stamp is None else stamp.isoformat(sep=" ")
        if self.kind == "money":
            is_cents = source and any(s.name == "money" for s in self.field.steps)
            cents = R.to_cents(value, is_cents)
            return None if cents is None else str(Decimal(cents).scaleb(-2))
        if self.kind == "integer":
            number = R.to_integer(value)
            return None if number is None else str(number)
        if self.kind in ("decimal", "boolean"):
            try:
                return Kind.of(self.kind).canonical(value, source)
            except N.Refused as exc:
                raise R.Unreadable(exc.reason, value) from None
        text = R.as_text(value)
        return None if text is None or text.strip() == "" else text

    def staged(self, value: object, dialect: str) -> Canonical:
        """The staged value as text (SQLite holds money as integer cents, dates as text)."""
        if self.kind == "money" and isinstance(value, int) and dialect == "sqlite":
            value = Decimal(value).scaleb(-2)
        if self.kind in ("date", "datetime") and isinstance(value, str):
            value = _stored_time(value)
        if self.kind == "decimal":
            value = Kind.of(self.kind).from_stored(value, dialect)
        try:
            return self.canonical(value)
        except R.Unreadable:
            shown = "" if self.personal else f" {value!r}"
            return f"{UNREADABLE} staged value{shown})"

    @property
    def rule(self) -> str:
        f = self.field
        steps = ", ".join(step_text(s.name, s.args.model_dump()) for s in f.steps)
        origin = lookup_text(f, self.system, self.issued) if f.lookup else _origin_text(f)
        rule = f"{self.target} vs {origin}: {steps or 'as is'}"
        rule += f"; only when {condition_text(f.when)}" if f.when is not None else ""
        rule += f"; default {f.default!r}" if f.default is not None else ""
        how = f"by keyed hash ({f.personal})" if f.personal else "as values"
        article = "an" if self.kind[0] in "aeiou" else "a"
        return f"{rule}; as {article} {self.kind}; restated from the legacy row, compared {how}"


def _origin(f: Field_, record: Mapping[str, object], crosswalks: Crosswalks) -> object:
    if f.const is not None:
        return f.const
    if f.expr is not None:
        return E.compute(E.read(f.expr), record)
    if isinstance(f.from_, list):
        return (f.join or "").join((R.as_text(record.get(c)) or "").strip() for c in f.from_)
    if f.parts is not None:
        ctx = R.Context(record, crosswalks)
        return (f.join or "").join(piece(as_part(p), ctx) for p in f.parts)
    assert isinstance(f.from_, str)
    return record.get(f.from_)


def _origin_text(f: Field_) -> str:
    if f.const is not None:
        return f"constant {f.const!r}"
    if f.expr is not None:
        return f"expr {f.expr!r}"
    if isinstance(f.from_, list):
        return f"{f.join!r}.join({', '.join(f.from_)})"
    if f.parts is not None:
        return f"{(f.join or '')!r}.join({', '.join(part_text(p) for p in f.parts)})"
    return str(f.from_)


def _stored_time(text: str) -> object:
    """A date or timestamp as SQLite staging stores it (ISO text)."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            return date.fromisoformat(text.strip()[:10])
        except ValueError:
            return text
