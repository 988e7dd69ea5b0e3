"""SQL fragments per dialect: exact cents from legacy text, key strings, a shared row hash.

Reconciliation pushes its arithmetic into each database, so the same idea (an amount in
integer cents, a legacy key as ``a|b``, a 32-bit hash of a string) has to be spelled once per
dialect. Every fragment here is exact: amounts are parsed with integer arithmetic (SQLite)
or DECIMAL (PostgreSQL, MariaDB), never through a float. The 32-bit hash is the first eight
hex digits of MD5, so Python (:func:`h32`) and every database agree bit for bit; SQLite has
no MD5, so :func:`install_functions` registers one on our own connections.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Engine, event

HASH_FN = "mig_h32"
DIGITS_RE = "^[+-]?[0-9]+$"
DECIMAL_RE = "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)$"


def h32(text: str) -> int:
    """First 32 bits of MD5 of the UTF-8 text, as an unsigned integer."""
    return int(hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:8], 16)


def install_functions(engine: Engine) -> None:
    """Register ``mig_h32`` on SQLite connections (other dialects have MD5 built in)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _register(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.create_function(HASH_FN, 1, _h32_or_null, deterministic=True)


def _h32_or_null(text: object) -> int | None:
    return None if text is None else h32(str(text))


def family(dialect: str) -> str:
    """``sqlite`` | ``postgresql`` | ``mysql`` (MariaDB speaks the MySQL dialect)."""
    return "mysql" if dialect in ("mysql", "mariadb") else dialect


def as_text(expr: str, dialect: str) -> str:
    return f"CAST({expr} AS CHAR)" if family(dialect) == "mysql" else f"CAST({expr} AS TEXT)"


def concat(parts: list[str], dialect: str) -> str:
    if len(parts) == 1:
        return parts[0]
    if family(dialect) == "mysql":
        return f"CONCAT({', '.join(parts)})"
    return "(" + " || ".join(parts) + ")"


def key_expr(columns: list[str], dialect: str, quote: Any) -> str:
    """The legacy key as the pipeline records it: each value as text, trimmed, ``|``-joined."""
    parts: list[str] = []
    for i, col in enumerate(columns):
        if i:
            parts.append("'|'")
        parts.append(f"COALESCE(TRIM({as_text(quote(col), dialect)}), '')")
    return concat(parts, dialect)


def hash_expr(text_sql: str, dialect: str) -> str:
    """SQL for :func:`h32` of a text expression."""
    fam = family(dialect)
    if fam == "postgresql":
        return f"(('x' || substr(md5({text_sql}), 1, 8))::bit(32)::bigint)"
    if fam == "mysql":
        return f"CAST(CONV(SUBSTRING(MD5({text_sql}), 1, 8), 16, 10) AS UNSIGNED)"
    return f"{HASH_FN}({text_sql})"


def bigint(dialect: str) -> str:
    return "SIGNED" if family(dialect) == "mysql" else "BIGINT"


def _regex(text_sql: str, pattern: str, dialect: str) -> str:
    op = "REGEXP" if family(dialect) == "mysql" else "~"
    return f"{text_sql} {op} '{pattern}'"


def parse_cents(column_sql: str, encoding: str, dialect: str) -> tuple[str, str, str]:
    """(blank, valid, cents) SQL for a legacy amount column under a declared encoding.

    ``blank``: NULL or only spaces (no amount). ``valid``: the text is a well-formed amount
    (for ``decimal``: optional sign, digits, at most two non-zero decimals). ``cents``: the
    exact integer cents, meaningful only where valid.
    """
    t = f"TRIM({as_text(column_sql, dialect)})"
    blank = f"({t} IS NULL OR {t} = '')"
    scale = "100" if encoding == "integer" else "1"
    if encoding in ("cents", "integer"):
        if family(dialect) == "sqlite":
            valid = (
                f"({t} NOT GLOB '*[^0-9+-]*' AND substr({t}, 2) NOT GLOB '*[+-]*'"
                f" AND {t} GLOB '*[0-9]*')"
            )
        else:
            valid = f"({_regex(t, DIGITS_RE, dialect)})"
        cents = f"(CAST({t} AS {bigint(dialect)}) * {scale})"
        return blank, valid, cents
    if encoding != "decimal":
        raise ValueError(f"encoding {encoding!r} is not parsed in SQL")
    if family(dialect) == "sqlite":
        return blank, *_sqlite_decimal(t)
    p = "strpos" if family(dialect) == "postgresql" else "INSTR"
    beyond = f"substr({t}, {p}({t}, '.') + 3)"
    extra_zero = f"({p}({t}, '.') = 0 OR {_regex(beyond, '^0*$', dialect)})"
    valid = f"({_regex(t, DECIMAL_RE, dialect)} AND {extra_zero})"
    num = "NUMERIC(38, 10)" if family(dialect) == "postgresql" else "DECIMAL(38, 10)"
    cents = f"CAST(CAST({t} AS {num}) * 100 AS {bigint(dialect)})"
    return blank, valid, cents


def _sqlite_decimal(t: str) -> tuple[str, str]:
    """Fixed-point text to cents on SQLite: pad or cut to two decimals, drop the dot, CAST.

    Only integer text reaches the CAST (``-12.5`` -> ``-1250``), so nothing passes through a
    float. The checks mirror ``reconcile.money``: optional sign, digits, at most one dot, and
    decimals beyond the second must be zeros.
    """
    dot = f"instr({t}, '.')"
    valid = (
        f"({t} NOT GLOB '*[^0-9.+-]*' AND substr({t}, 2) NOT GLOB '*[+-]*'"
        f" AND {t} NOT GLOB '*.*.*' AND {t} GLOB '*[0-9]*' AND length({t}) <= 19"
        f" AND ({dot} = 0 OR substr({t}, {dot} + 3) NOT GLOB '*[^0]*'))"
    )
    cents = (
        f"CAST(CASE WHEN {dot} = 0 THEN {t} || '00'"
        f" ELSE replace(substr({t} || '00', 1, {dot} + 2), '.', '') END AS INTEGER)"
    )
    return valid, cents
