"""SQL fragments per dialect: exact cents from legacy text, key strings, text rules.

Reconciliation pushes its arithmetic into each database, so the same idea (an amount in
integer cents, a legacy key as ``a|b``, a compared text column in its normal form) has to be
spelled once per dialect. Every fragment here is exact: amounts are parsed with integer
arithmetic (SQLite) or DECIMAL (PostgreSQL, MariaDB), never through a float. SQLite lacks
MD5, CRC-32 and regular expressions, so :func:`install_functions` registers them (and the
text rule, with Python's own string semantics) on our own connections. Hashes live in
``hashing.py``.
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import Engine, event

from reconcile.reading.hashing import CRC_FN, MD5_FN, md5_32
from reconcile.reading.money import MAX_TEXT

CENTS_FN = "mig_cents"
# What a legacy key part loses at both ends, as the pipeline strips it (its own constant:
# reconciliation does not import the pipeline; a test holds the two equal)
KEY_SPACE = " \t\n\r\x0b\x0c"
PG_KEY_SPACE = "E' \\t\\n\\r\\f\\x0b'"  # the same characters, as a PostgreSQL literal
DIGITS_RE = "^[+-]?[0-9]+$"
# the amount grammar's fixed-point text (docs/how-to/money.md): a leading minus only, ASCII
# digits and/or decimals, any decimals beyond the second being zeros
PLAIN_RE = "^[0-9]+[.][0-9][0-9]$"
FIXED_RE = "^-?([0-9]+([.][0-9]{0,2}0*)?|[.][0-9]{1,2}0*)$"
# the longest well-formed text whose cents are always below the grammar's 10^18 (sign
# included: at most 16 digits, times 100); longer ones are compared, as numbers, with it
FITS_LENGTH = 16
LIMIT_CENTS = "1000000000000000000"  # 10^18: no amount is this many cents or more


def install_functions(engine: Engine) -> None:
    """Register our hash and text functions on SQLite connections (others have them)."""
    if engine.dialect.name != "sqlite":
        return
    from reconcile.reading.money import cents_or_flag
    from reconcile.reading.textrule import TEXT_FN, normalise  # textrule builds on this module

    @event.listens_for(engine, "connect")
    def _register(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.create_function(MD5_FN, 1, _or_null(md5_32), deterministic=True)
        dbapi_conn.create_function(CRC_FN, 1, _crc_or_null, deterministic=True)
        dbapi_conn.create_function(TEXT_FN, 2, normalise, deterministic=True)
        dbapi_conn.create_function(CENTS_FN, 2, cents_or_flag, deterministic=True)


def _crc_or_null(text: object) -> int | None:
    """``hashing.crc_32`` inlined: called once per row, so every Python call counts."""
    if text is None:
        return None
    return zlib.crc32((text if isinstance(text, str) else str(text)).encode("utf-8"))


def _or_null(fn: Any) -> Any:
    def run(text: object) -> int | None:
        return None if text is None else int(fn(str(text)))

    return run


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


def key_expr(
    columns: list[str], dialect: str, quote: Any, untrimmed: frozenset[str] = frozenset()
) -> str:
    """The legacy key as the pipeline records it: each value as text without surrounding
    :data:`KEY_SPACE`, ``|``-joined (``untrimmed``: columns whose text has nothing to trim,
    see ``coltypes.py``)."""
    parts: list[str] = []
    for i, col in enumerate(columns):
        if i:
            parts.append("'|'")
        text = quote(col)
        text = as_text(text, dialect) if col in untrimmed else key_trim(text, dialect)
        parts.append(f"COALESCE({text}, '')")
    return concat(parts, dialect)


def key_trim(expr: str, dialect: str) -> str:
    """The value as text less surrounding :data:`KEY_SPACE` (SQL's ``TRIM`` drops spaces
    only; MySQL's drops one string, not a set, hence the expression there)."""
    t = as_text(expr, dialect)
    fam = family(dialect)
    if fam == "postgresql":
        return f"btrim({t}, {PG_KEY_SPACE})"
    if fam == "mysql":  # the set built from code points: no backslash escapes to depend on
        chars = "CHAR(32, 9, 10, 13, 11, 12 USING utf8mb4)"
        pattern = f"CONCAT('(?-m)^[', {chars}, ']+|[', {chars}, ']+$')"
        return f"REGEXP_REPLACE({t}, {pattern}, '')"
    return f"trim({t}, char(32, 9, 10, 13, 11, 12))"


def trimmed_text(expr: str, plain: bool, dialect: str) -> str:
    """The value as text less surrounding :data:`KEY_SPACE` (as the pipeline strips an
    amount); just the text where it is ``plain`` (an integer or an exact decimal prints with
    nothing to trim)."""
    return as_text(expr, dialect) if plain else key_trim(expr, dialect)


def bigint(dialect: str) -> str:
    return "SIGNED" if family(dialect) == "mysql" else "BIGINT"


def _regex(text_sql: str, pattern: str, dialect: str) -> str:
    op = "REGEXP" if family(dialect) == "mysql" else "~"
    return f"{text_sql} {op} '{pattern}'"


def parse_cents(
    column_sql: str, encoding: str, dialect: str, trimmed: bool = False
) -> tuple[str, str, str]:
    """(blank, valid, cents) SQL for a legacy amount column under a declared encoding.

    ``blank``: NULL or only :data:`KEY_SPACE` characters (no amount). ``valid``: the text
    is a well-formed amount (for ``decimal``: optional sign, digits, at most two non-zero
    decimals). ``cents``: the exact integer cents, meaningful only where valid.
    ``trimmed``: ``column_sql`` is already the trimmed text (:func:`trimmed_text`, computed
    once per row by the caller, so it is not repeated in each test).
    """
    t = column_sql if trimmed else key_trim(column_sql, dialect)
    blank = f"({t} IS NULL OR {t} = '')"
    scale = "100" if encoding == "integer" else "1"
    if encoding in ("cents", "integer"):
        if family(dialect) == "sqlite":
            most = 18 if encoding == "cents" else 16  # digits below 10^18 cents
            valid = (
                f"({t} NOT GLOB '*[^0-9+-]*' AND substr({t}, 2) NOT GLOB '*[+-]*'"
                f" AND {t} GLOB '*[0-9]*' AND length(ltrim(ltrim({t}, '+-'), '0')) <= {most})"
            )
        else:
            valid = _fits(t, _regex(t, DIGITS_RE, dialect), scale, dialect)
        cents = f"(CAST({t} AS {bigint(dialect)}) * {scale})"
        return blank, valid, cents
    if encoding != "decimal":
        raise ValueError(f"encoding {encoding!r} is not parsed in SQL")
    if family(dialect) == "sqlite":
        return blank, *_sqlite_decimal(t)
    # the usual shape first: a plain pattern the regex engine runs at half the cost
    shaped = f"{_regex(t, PLAIN_RE, dialect)} OR {_regex(t, FIXED_RE, dialect)}"
    valid = _fits(t, shaped, "100", dialect)
    num = "NUMERIC(38, 10)" if family(dialect) == "postgresql" else "DECIMAL(38, 10)"
    # two decimals exactly (the usual legacy shape, once valid): drop the dot, skip NUMERIC
    cents = (
        f"(CASE WHEN {t} LIKE '%.__' THEN CAST(REPLACE({t}, '.', '') AS {bigint(dialect)})"
        f" ELSE CAST(CAST({t} AS {num}) * 100 AS {bigint(dialect)}) END)"
    )
    return blank, valid, cents


def _fits(t: str, shaped: str, scale: str, dialect: str) -> str:
    """Valid: well-formed (``shaped``) and its cents below 10^18, as ``cents_or_flag``
    says (the grammar's bound; beyond 64 bits the server's cast to BIGINT would stop the
    whole query, or MariaDB's clamp it); text longer than ``MAX_TEXT`` is never an amount
    (nor cast: past 131,072 digits PostgreSQL's NUMERIC itself overflows). In a CASE, so
    that only well-formed text is ever cast to a number."""
    num = "NUMERIC" if family(dialect) == "postgresql" else "DECIMAL(65, 10)"
    big = f"ABS(CAST({t} AS {num})) * {scale} < {LIMIT_CENTS}"
    return (
        f"(CASE WHEN NOT ({shaped}) THEN 1 = 0 WHEN LENGTH({t}) <= {FITS_LENGTH} THEN 1 = 1 "
        f"WHEN LENGTH({t}) > {MAX_TEXT} THEN 1 = 0 ELSE {big} END)"
    )


def _sqlite_decimal(t: str) -> tuple[str, str]:
    """Fixed-point text to cents on SQLite: pad or cut to two decimals, drop the dot, CAST.

    Only integer text reaches the CAST (``-12.5`` -> ``-1250``), so nothing passes through a
    float. The checks mirror ``reconcile.reading.money``: a leading minus only, digits, at most one
    dot, decimals beyond the second zeros, at most 16 digits before the point once leading
    zeros are dropped (below 10^18 cents), at most ``MAX_TEXT`` characters.
    """
    dot = f"instr({t}, '.')"
    head = f"CASE WHEN {dot} = 0 THEN {t} ELSE substr({t}, 1, {dot} - 1) END"
    units = f"ltrim(ltrim({head}, '-'), '0')"
    valid = (
        f"({t} NOT GLOB '*[^0-9.-]*' AND substr({t}, 2) NOT GLOB '*-*'"
        f" AND {t} NOT GLOB '*.*.*' AND {t} GLOB '*[0-9]*' AND length({t}) <= {MAX_TEXT}"
        f" AND length({units}) <= 16"
        f" AND ({dot} = 0 OR substr({t}, {dot} + 3) NOT GLOB '*[^0]*'))"
    )
    cents = (
        f"CAST(CASE WHEN {dot} = 0 THEN {t} || '00'"
        f" ELSE replace(substr({t} || '00', 1, {dot} + 2), '.', '') END AS INTEGER)"
    )
    return valid, cents
