"""A tiny arithmetic grammar for mapping expressions: no eval, a fixed set of operations.

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/') factor)*
    factor := NUMBER | COLUMN | '(' expr ')' | '-' factor

Columns are evaluated as exact ``Decimal`` values, so ``Qty * UnitPrice`` is exact; a
division that does not terminate within 28 digits is the only rounding, and money steps
after it refuse more than two decimals rather than round.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

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


def _as_decimal(v: object) -> Decimal | None:
    """An operand as an exact number; None when blank or no number (a NaN or infinity held
    as a value included: the result is then none, on both sides)."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, Decimal):
        return v if v.is_finite() else None
    if isinstance(v, int) and not isinstance(v, bool):
        return Decimal(v)
    text = (repr(v) if isinstance(v, float) else str(v)).strip(_SPACE).replace(",", "")
    if not _OPERAND.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None


def evaluate(node: Node, frame: pd.DataFrame) -> pd.Series:
    """Evaluate over a chunk; nulls and non-numbers propagate as None (object dtype)."""
    if isinstance(node, Num):
        return pd.Series([node.value] * len(frame), index=frame.index, dtype="object")
    if isinstance(node, Col):
        column = frame[node.name]
        if pd.api.types.is_integer_dtype(column.dtype):  # exact: never through float
            column = column.astype("object")
        elif pd.api.types.is_float_dtype(column.dtype):  # there NaN is pandas' NULL
            column = column.astype("object").where(column.notna(), None)
        return column.map(_as_decimal).astype("object")
    if isinstance(node, Neg):
        return evaluate(node.operand, frame).map(lambda v: None if v is None else -v)
    left, right = evaluate(node.left, frame), evaluate(node.right, frame)
    ops: dict[str, Callable[[Decimal, Decimal], Decimal | None]] = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b if b != 0 else None,
    }
    fn = ops[node.op]
    values = [
        None if a is None or b is None else fn(a, b) for a, b in zip(left, right, strict=True)
    ]
    return pd.Series(values, index=frame.index, dtype="object")
