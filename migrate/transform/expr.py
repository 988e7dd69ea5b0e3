"""A tiny arithmetic grammar for mapping expressions: no eval, a fixed set of operations.

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/') factor)*
    factor := NUMBER | COLUMN | '(' expr ')' | '-' factor

Columns are evaluated as exact ``Decimal`` values, so ``Qty * UnitPrice`` is exact; a
division that does not terminate within 28 digits is the only rounding, and money steps
after it refuse more than two decimals rather than round.

Nothing is lost silently: a blank operand makes the result blank (as a blank column is), but
an operand that is present and no number (``12O.50``, ``abc``, ``NaN``) is *refused*, and so
is a division by zero (and a result beyond ``Decimal``'s range): the engine rejects the row
(``invalid_number`` with the operand's value; ``division_by_zero`` with the division's
operands, ``6 / 0``), never stages it blank. A row's first refusal, left to right, is its
reason. Reconciliation reads expressions again on its own
(``reconcile/proving/restate_expr.py``) and refuses the same rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, Overflow

import pandas as pd

_TOKEN = re.compile(r"\s*(?:([0-9]+(?:\.[0-9]+)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))", re.ASCII)
# an operand's text once trimmed of the six ASCII blanks and its commas dropped: the number
# grammar of conditions (ASCII digits, an optional exponent); NaN, Infinity, ``1_000`` and
# Unicode digits (which ``Decimal()`` itself would take) are no numbers
_OPERAND = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SPACE = " \t\n\r\x0b\x0c"


@dataclass(frozen=True)
class Num:
    value: Decimal


@dataclass(frozen=True)
class Col:
    name: str


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg:
    operand: Node


Node = Num | Col | BinOp | Neg


class ExprError(ValueError):
    pass


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        tok = m.group(1) or m.group(2) or m.group(3)
        if tok is None:
            continue
        if m.group(3) and tok not in "+-*/()":
            raise ExprError(f"unexpected character {tok!r} in expression {text!r}")
        out.append(tok)
    return out


def parse(text: str) -> Node:
    toks = _tokens(text)
    node, rest = _expr(toks, text)
    if rest:
        raise ExprError(f"unexpected {rest[0]!r} in expression {text!r}")
    return node


def _expr(toks: list[str], text: str) -> tuple[Node, list[str]]:
    node, toks = _term(toks, text)
    while toks and toks[0] in "+-":
        op, (right, toks) = toks[0], _term(toks[1:], text)
        node = BinOp(op, node, right)
    return node, toks


def _term(toks: list[str], text: str) -> tuple[Node, list[str]]:
    node, toks = _factor(toks, text)
    while toks and toks[0] in "*/":
        op, (right, toks) = toks[0], _factor(toks[1:], text)
        node = BinOp(op, node, right)
    return node, toks


def _factor(toks: list[str], text: str) -> tuple[Node, list[str]]:
    if not toks:
        raise ExprError(f"expression {text!r} ends too early")
    tok, rest = toks[0], toks[1:]
    if tok == "(":
        node, rest = _expr(rest, text)
        if not rest or rest[0] != ")":
            raise ExprError(f"missing ')' in expression {text!r}")
        return node, rest[1:]
    if tok == "-":
        node, rest = _factor(rest, text)
        return Neg(node), rest
    if tok[0].isdigit():
        return Num(Decimal(tok)), rest
    if tok[0].isalpha() or tok[0] == "_":
        return Col(tok), rest
    raise ExprError(f"unexpected {tok!r} in expression {text!r}")


def columns_of(text: str) -> list[str]:
    """The column names an expression reads (for schema checks and lineage)."""
    out: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Col):
            out.append(n.name)
        elif isinstance(n, BinOp):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, Neg):
            walk(n.operand)

    walk(parse(text))
    return out


class NotANumber(ValueError):
    """An operand that is present and no number."""


def _as_decimal(v: object) -> Decimal | None:
    """An operand as an exact number; None when blank (None, pandas' NA or NaT, a float NaN,
    which is pandas' NULL, or text of only the six ASCII blanks); :class:`NotANumber` when
    present and no number (a ``Decimal`` NaN or infinity, a float infinity, a bool, a date,
    other text)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, Decimal):
        if not v.is_finite():
            raise NotANumber(v)
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return Decimal(v)
    if isinstance(v, float) and v != v:
        return None
    text = (repr(v) if isinstance(v, float) else str(v)).strip(_SPACE)
    if text == "":
        return None
    text = text.replace(",", "")
    if not _OPERAND.fullmatch(text):
        raise NotANumber(v)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise NotANumber(v) from None


# the reasons a row is rejected for: an operand that is no number, a division by zero
NO_NUMBER_REASON = "invalid_number"
ZERO_DIVISOR_REASON = "division_by_zero"


@dataclass(frozen=True)
class Refusal:
    """Why one row's value cannot be computed: the reason and the value shown with it."""

    reason: str
    value: str


@dataclass(frozen=True)
class Refused:
    """The rows refused for one reason (a mask over the chunk) and each one's value shown."""

    reason: str
    rows: pd.Series
    values: pd.Series


Value = Decimal | Refusal | None


def _shown(v: object) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def _operand(v: object) -> Value:
    try:
        return _as_decimal(v)
    except NotANumber:
        return Refusal(NO_NUMBER_REASON, _shown(v))


def _apply(op: str, a: Value, b: Value) -> Value:
    """One operation on one row: a refusal passes on (the left one first), then a blank."""
    if isinstance(a, Refusal):
        return a
    if isinstance(b, Refusal):
        return b
    if a is None or b is None:
        return None
    if op == "/" and b == 0:
        return Refusal(ZERO_DIVISOR_REASON, f"{a} / {b}")
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return a / b
    except Overflow:  # beyond Decimal's range (10**999999): no number either
        return Refusal(NO_NUMBER_REASON, f"{a} {op} {b}")


def _values(node: Node, frame: pd.DataFrame) -> list[Value]:
    if isinstance(node, Num):
        return [node.value] * len(frame)
    if isinstance(node, Col):
        column = frame[node.name]
        if pd.api.types.is_integer_dtype(column.dtype):  # exact: never through float
            column = column.astype("object")
        elif pd.api.types.is_float_dtype(column.dtype):  # there NaN is pandas' NULL
            column = column.astype("object").where(column.notna(), None)
        return [_operand(v) for v in column.astype("object")]
    if isinstance(node, Neg):
        return [
            v if v is None or isinstance(v, Refusal) else -v for v in _values(node.operand, frame)
        ]
    left, right = _values(node.left, frame), _values(node.right, frame)
    return [_apply(node.op, a, b) for a, b in zip(left, right, strict=True)]


def computed(node: Node, frame: pd.DataFrame) -> tuple[pd.Series, list[Refused]]:
    """Evaluate over a chunk: the values (object dtype; None where blank or refused) and the
    refused rows by reason, for the engine to reject."""
    got = _values(node, frame)
    values = [None if isinstance(v, Refusal) else v for v in got]
    refused: list[Refused] = []
    for reason in (NO_NUMBER_REASON, ZERO_DIVISOR_REASON):
        rows = [isinstance(v, Refusal) and v.reason == reason for v in got]
        if any(rows):
            shown = [v.value if isinstance(v, Refusal) else None for v in got]
            refused.append(
                Refused(
                    reason,
                    pd.Series(rows, index=frame.index, dtype=bool),
                    pd.Series(shown, index=frame.index, dtype="object"),
                )
            )
    return pd.Series(values, index=frame.index, dtype="object"), refused


def evaluate(node: Node, frame: pd.DataFrame) -> pd.Series:
    """The values alone (object dtype): None where blank, and where refused (see
    :func:`computed`, which says which rows the engine must reject)."""
    return computed(node, frame)[0]
