"""A column type as the database stores it: kind, length, precision, scale.

Reflection and the drift check both need to say what a live column *is*, whatever the
dialect calls it (MariaDB's ``TINYINT(1)`` is a boolean, ``INTEGER(11)`` an integer,
SQLite's ``BIGINT`` may hold money as cents). A declared column is compared by the type it
is stored as on that dialect (:func:`stored_signature`), never by its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


@dataclass(frozen=True)
class Signature:
    """What a column stores. ``kind`` is a definition type, or another name (``float``,
    ``smallint``, ``blob`` ...) that a definition cannot declare."""

    kind: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.kind == "text":
            return f"text({self.length})" if self.length else "text"
        if self.kind == "decimal" and self.precision is not None:
            return f"decimal({self.precision},{self.scale or 0})"
        return self.kind


def signature(t: TypeEngine[Any]) -> Signature:
    """The signature of a (reflected or generic) SQLAlchemy type; a decorated type by the
    type it decorates (use :func:`stored_signature` for what one dialect stores)."""
    if isinstance(t, TypeDecorator):
        return signature(t.impl_instance)
    if isinstance(t, Boolean):
        return Signature("boolean")
    if isinstance(t, Integer) and type(t).__name__ == "TINYINT":  # MariaDB's BOOL
        return Signature("boolean" if getattr(t, "display_width", None) == 1 else "tinyint")
    if isinstance(t, BigInteger):
        return Signature("bigint")
    if isinstance(t, SmallInteger):
        return Signature("smallint")
    if isinstance(t, Integer):
        return Signature("bigint" if type(t).__name__ == "BIGINT" else "integer")
    if isinstance(t, Float):
        return Signature("float")
    if isinstance(t, Numeric):
        scale = t.scale if t.scale is not None or t.precision is None else 0
        return Signature("decimal", precision=t.precision, scale=scale)
    if isinstance(t, DateTime):  # a definition's timestamp has no time zone
        return Signature("timestamp with time zone" if t.timezone else "timestamp")
    if isinstance(t, Date):
        return Signature("date")
    if isinstance(t, Text):
        return Signature("text")
    if isinstance(t, String):
        return Signature("text", length=t.length)
    return Signature(type(t).__name__.lower())


def stored_signature(t: TypeEngine[Any], dialect: Dialect) -> Signature:
    """The signature of a declared type as ``dialect`` stores it (money: cents on SQLite)."""
    if isinstance(t, TypeDecorator):
        return signature(t.load_dialect_impl(dialect))
    return signature(t)
