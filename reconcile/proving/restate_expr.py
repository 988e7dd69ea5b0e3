"""Reconciliation's own reading of a field's arithmetic (``expr``), on one legacy row.

The mapping language's grammar, read again here (invariant 3: never the pipeline's parser)::

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/') factor)*
    factor := NUMBER | COLUMN | '(' expr ')' | '-' factor

Numbers and column values are exact ``Decimal``: a column's text with its surrounding blanks
and thousands commas removed. A blank value (none, or only blanks) makes the result none. A
value that is present and no number is **refused** (``invalid_number``), and so is a division
by zero (``division_by_zero``, shown as ``6 / 0``) and a result beyond ``Decimal``'s range:
the pipeline rejects such a row, and a row it staged anyway shows as a difference naming the
refused value (never as agreeing with a blank). Nothing from the mapping is evaluated as
Python (invariant 7): an expression is read into nested tuples once, then computed per row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation, Overflow
from functools import cache

from reconcile.proving.restate_steps import Unreadable

_TOKEN = re.compile(r"\s*(?:([0-9]+(?:\.[0-9]+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\S))", re.ASCII)
_SPACE = " \t\n\r\x0b\x0c"
NOT_A_NUMBER, ZERO_DIVISOR = "invalid_number", "division_by_zero"
# a read expression: ("num", Decimal) | ("col", name) | ("neg", node) | (op, left, right)
Node = tuple[object, ...]


class ExprUnreadable(ValueError):
    """Text that is not an expression of the grammar (the mapping check refuses it too)."""


def _tokens(text: str) -> list[str]:
    out = []
    for m in _TOKEN.finditer(text):
        token = m.group(1) or m.group(2) or m.group(3)
        if m.group(3) and token not in "+-*/()":
            raise ExprUnreadable(f"unexpected {token!r} in {text!r}")
        out.append(token)
    return out


@cache
def read(text: str) -> Node:
    """The expression as nested tuples (read once per expression)."""
    node, rest = _sum(_tokens(text))
    if rest:
        raise ExprUnreadable(f"unexpected {rest[0]!r} in {text!r}")
    return node


def _sum(tokens: list[str]) -> tuple[Node, list[str]]:
    node, rest = _product(tokens)
    while rest and rest[0] in ("+", "-"):
        right, after = _product(rest[1:])
        node, rest = (rest[0], node, right), after
    return node, rest


def _product(tokens: list[str]) -> tuple[Node, list[str]]:
    node, rest = _factor(tokens)
    while rest and rest[0] in ("*", "/"):
        right, after = _factor(rest[1:])
        node, rest = (rest[0], node, right), after
    return node, rest


def _factor(tokens: list[str]) -> tuple[Node, list[str]]:
    if not tokens:
        raise ExprUnreadable("the expression ends too early")
    first, rest = tokens[0], tokens[1:]
    if first == "(":
        node, rest = _sum(rest)
        if not rest or rest[0] != ")":
            raise ExprUnreadable("a '(' without its ')'")
        return node, rest[1:]
    if first == "-":
        node, rest = _factor(rest)
        return ("neg", node), rest
    if first[0].isdigit():
        return ("num", Decimal(first)), rest
    if first[0].isalpha() or first[0] == "_":
        return ("col", first), rest
    raise ExprUnreadable(f"unexpected {first!r}")


def number(value: object) -> Decimal | None:
    """A column value as an exact number: the six ASCII blanks around it and its commas
    dropped, then an optional sign, ASCII digits with at most one point, and an optional
    exponent. None when blank (none, or only those blanks); anything else present is
    refused (:class:`~reconcile.proving.restate_steps.Unreadable`, ``invalid_number``):
    ``12O.50``, ``,``, ``NaN``, ``Infinity``, ``1_000``, ``١٢``, a bool, and a float NaN or
    infinity (a legacy row read here holds NULL as none, so a NaN is a value)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise Unreadable(NOT_A_NUMBER, value)
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if value is None:
        return None
    text = (repr(value) if isinstance(value, float) else str(value)).strip(_SPACE)
    if not text:
        return None
    text = text.replace(",", "")
    mantissa, e, exponent = text.partition("e") if "e" in text else text.partition("E")
    if e and not _digits(exponent[1:] if exponent[:1] in "+-" else exponent):
        raise Unreadable(NOT_A_NUMBER, value)
    body = mantissa[1:] if mantissa[:1] in ("+", "-") else mantissa
    whole, point, frac = body.partition(".")
    if not (whole or frac) or (whole and not _digits(whole)) or (frac and not _digits(frac)):
        raise Unreadable(NOT_A_NUMBER, value)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - only numbers get here
        raise Unreadable(NOT_A_NUMBER, value) from None


def _digits(text: str) -> bool:
    return bool(text) and all(c in "0123456789" for c in text)


def compute(node: Node, record: Mapping[str, object]) -> Decimal | None:
    """The expression's value for one legacy row: none where an operand is blank; the first
    refusal, left to right (an operand that is no number, a division by zero), raised as
    :class:`~reconcile.proving.restate_steps.Unreadable`."""
    kind = node[0]
    if kind == "num":
        value = node[1]
        assert isinstance(value, Decimal)
        return value
    if kind == "col":
        return number(record.get(str(node[1])))
    if kind == "neg":
        inner = compute(_node(node[1]), record)
        return None if inner is None else -inner
    left, right = compute(_node(node[1]), record), compute(_node(node[2]), record)
    if left is None or right is None:
        return None
    if kind == "/" and right == 0:
        raise Unreadable(ZERO_DIVISOR, f"{left} / {right}")
    try:
        if kind == "+":
            return left + right
        if kind == "-":
            return left - right
        if kind == "*":
            return left * right
        return left / right
    except Overflow:  # beyond Decimal's range: no number either
        raise Unreadable(NOT_A_NUMBER, f"{left} {kind} {right}") from None


def _node(value: object) -> Node:
    assert isinstance(value, tuple)
    return value


def columns(text: str) -> list[str]:
    """The legacy columns an expression reads."""

    def walk(node: Node) -> list[str]:
        if node[0] == "col":
            return [str(node[1])]
        return [c for child in node[1:] if isinstance(child, tuple) for c in walk(child)]

    return walk(read(text))
