"""The legacy side of an entity, read by reconciliation itself (never by the pipeline's code).

For a table whose measures are integer cents, whole units or fixed-point decimals, every
count, sum and hash is SQL pushed into the legacy database (``relation.py``); amounts are
parsed to cents in SQL with integer arithmetic (SQLite) or DECIMAL (PostgreSQL, MariaDB).
Money text (``"$1,234.50 "``, ``"($21.00)"``) cannot be parsed exactly in SQLite's SQL, so
such tables, and flat-file extracts, are streamed and parsed in Python with ``Decimal``
(``stream.py``). Each measure carries its rule as text, so a reader sees what was summed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from migrate.spec.model import EntitySpec, Measure
from reconcile.reading.amount_sql import RawAmount, ValueSql
from reconcile.reading.coltypes import untrimmed_columns
from reconcile.reading.files import LINE, file_path, file_records
from reconcile.reading.money import InvalidAmount
from reconcile.reading.relation import Relation
from reconcile.reading.rounding import Reading, read_cents, reading_of
from reconcile.reading.rows import INVALID, Row, RowSource, Value
from reconcile.reading.sqltext import (
    CENTS_FN,
    KEY_SPACE,
    as_text,
    family,
    key_expr,
    key_trim,
    trimmed_text,
)
from reconcile.reading.sqltext import parse_cents as sql_cents
from reconcile.reading.stream import StreamSource
from reconcile.reading.textrule import normalise, text_columns, text_sql

SQL_ENCODINGS = ("cents", "integer", "decimal")


@dataclass(frozen=True)
class SourcePlan:
    """How the legacy side of one entity is read, and the rule stated for each measure."""

    side: RowSource
    rules: tuple[str, ...]
    grain_columns: tuple[str, ...]
    origin: str


def grain_columns(spec: EntitySpec) -> tuple[str, ...]:
    cols: list[str] = []
    for g in spec.reconcile.grains:
        cols += [c for c in g.source if c not in cols]
    return tuple(cols)


def plan_source(spec: EntitySpec, engine: Engine | None, workdir: Path) -> SourcePlan:
    """Pick SQL push-down where it is exact, streaming otherwise."""
    measures = spec.reconcile.measures
    extras = grain_columns(spec)
    if spec.source.file is not None:
        path = file_path(spec, workdir)
        side: RowSource = StreamSource(lambda: _file_rows(spec, path, extras), len(measures))
        how, origin = "streamed from the file, parsed in Python", f"file {path.name}"
    else:
        assert engine is not None
        origin = f"{spec.source.system}: {spec.source.table or 'query'}"
        if pushed_down(spec):
            side, how = _relation(spec, engine, extras), "pushed down as SQL"
        else:
            side = StreamSource(lambda: _table_rows(spec, engine, extras), len(measures))
            how = "streamed from the table, parsed in Python"
    rules = tuple(f"{measure_rule(m, reading_of(spec, m))} [{how}]" for m in measures)
    return SourcePlan(side, rules, extras, origin)


def measure_rule(m: Measure, reading: Reading | None = None) -> str:
    """The source-side rule of a measure, in words an accountant can check."""
    r = reading or Reading(m.source_encoding)
    if r.encoding == "float":
        return _sign_words(m, _float_words(m, r))
    what = {
        "cents": f"SUM({m.source_column})/100 (integer cents)",
        "integer": f"SUM({m.source_column}) (whole units)",
        "decimal": f"SUM({m.source_column}) (fixed-point text, exact, at most 2 decimals)",
        "money_text": f"SUM({m.source_column}) (money text: $, thousands commas, "
        "(x) or - negatives; exact)",
    }[m.source_encoding]
    if r.rounding:
        what = what.replace("at most 2 decimals", f"at most {r.scale} decimals")
        what += f"; each staged row {r.words()}"
    return _sign_words(m, what)


def _float_words(m: Measure, r: Reading) -> str:
    limit = Decimal(2**52).scaleb(-r.scale)
    what = (
        f"SUM({m.source_column}) (binary floats, each read as its shortest decimal form where "
        f"that has at most {r.scale} decimals and is below {limit:,} in magnitude; exact)"
    )
    return what + (f"; each staged row {r.words()}" if r.rounding else "")


def _sign_words(m: Measure, what: str) -> str:
    if m.sign_column:
        listed = ", ".join(f"'{v.strip().upper()}'" for v in m.sign_values)
        what += f" WHERE UPPER(TRIM({m.sign_column})) IN ({listed})"
    return what


def _quote_table(engine: Engine, name: str) -> str:
    quote = engine.dialect.identifier_preparer.quote
    return ".".join(quote(p) for p in name.split("."))


# the legacy scan parses every amount and is the heavier side: on PostgreSQL a large table
# is read as two block ranges at once (``blockranges.py``), 1M rows 1.49 -> 1.35 s
LEGACY_SPLIT = 2


def _relation(spec: EntitySpec, engine: Engine, extras: tuple[str, ...]) -> Relation:
    dialect = engine.dialect.name
    quote = engine.dialect.identifier_preparer.quote
    if spec.source.table is not None:
        from_sql = _quote_table(engine, spec.source.table)
    else:
        from_sql = f"({spec.source.query}) q"
    pre: tuple[list[tuple[str, str]]] = ([],)
    measures = spec.reconcile.measures
    plain = untrimmed_columns(
        engine, from_sql, [*spec.source.key, *(m.source_column for m in measures)]
    )
    values = tuple(_value_sql(m, i, dialect, quote, pre, plain) for i, m in enumerate(measures))
    texts = tuple(text_sql(quote(c.source), c.steps, dialect) for c in text_columns(spec)[0])
    return Relation(
        engine,
        from_sql,
        key_expr(spec.source.key, dialect, quote, plain),
        values,
        tuple(quote(c) for c in extras),
        texts=texts,
        pre=tuple(tuple(level) for level in pre if level),
        split=LEGACY_SPLIT if spec.source.table is not None else 1,
        key_columns=tuple(quote(c) for c in spec.source.key),
    )


def _value_sql(
    m: Measure,
    i: int,
    dialect: str,
    quote: Any,
    pre: tuple[list[tuple[str, str]], ...],
    plain: frozenset[str] = frozenset(),
) -> ValueSql:
    """A measure's SQL. The trimmed text (and the sign test) go to ``pre``, computed once
    per row, and the validity test is written once; on SQLite, our own exact parser
    (``mig_cents``) runs once per row instead, faster there than the rule spelled in
    SQLite's string functions."""
    sel = sign_sql(m, dialect, quote)
    if family(dialect) == "sqlite":
        parsed = f"{CENTS_FN}({quote(m.source_column)}, '{m.source_encoding}')"
        pre[0].append((f"mig_x{i}", f"(CASE WHEN {sel} THEN {parsed} END)"))
        return ValueSql(
            cents=f"(CASE WHEN typeof(mig_x{i}) = 'integer' THEN mig_x{i} END)",
            present=f"(CASE WHEN mig_x{i} IS NULL THEN 0 ELSE 1 END)",
            raw=RawAmount(quote(m.source_column), m.source_encoding, sel),
        )
    amount = trimmed_text(quote(m.source_column), m.source_column in plain, dialect)
    pre[0].append((f"mig_a{i}", amount))
    # PostgreSQL: also read as Arrow batches and parsed in numpy (``arrowpg.py``)
    raw = RawAmount(quote(m.source_column), m.source_encoding, sel)
    if m.sign_column:
        pre[0].append((f"mig_s{i}", f"(CASE WHEN {sel} THEN 1 ELSE 0 END)"))
        sel = f"mig_s{i} = 1"
    _, valid, cents = sql_cents(f"mig_a{i}", m.source_encoding, dialect, trimmed=True)
    return ValueSql(
        cents=f"(CASE WHEN {sel} AND {valid} THEN {cents} END)",
        present=f"(CASE WHEN {sel} AND mig_a{i} <> '' THEN 1 ELSE 0 END)",
        raw=raw if family(dialect) == "postgresql" else None,
    )


def sign_sql(m: Measure, dialect: str, quote: Any) -> str:
    """SQL selecting the rows a measure sums (its sign test; ``1 = 1`` without one): one
    spelling for the scan and for the rows read again (``residue.py``), so both select
    exactly the same rows under the server's own trimming and collation."""
    if not m.sign_column:
        return "1 = 1"
    listed = ", ".join("'" + v.strip().upper().replace("'", "''") + "'" for v in m.sign_values)
    return f"UPPER({key_trim(as_text(quote(m.sign_column), dialect), dialect)}) IN ({listed})"


def pushed_down(spec: EntitySpec) -> bool:
    """Whether the legacy side is read by SQL (a table whose measures SQL parses exactly).
    A float or a rounding policy is read in Python, by ``rounding.py`` alone: the servers'
    text of a float depends on session settings (PostgreSQL's ``extra_float_digits``)."""
    if spec.source.file is not None:
        return False
    return all(
        m.source_encoding in SQL_ENCODINGS and reading_of(spec, m).plain
        for m in spec.reconcile.measures
    )


def sign_selected(m: Measure, sign: object) -> bool:
    """Python's sign test (files and streamed tables), as ``sign_sql`` is SQL's."""
    if not m.sign_column:
        return True
    wanted = {v.strip().upper() for v in m.sign_values}
    return sign is not None and str(sign).strip(KEY_SPACE).upper() in wanted


def python_value(m: Measure, raw: object, sign: object, reading: Reading | None = None) -> Value:
    """One row's amount for a measure, parsed by reconciliation's own rule (a rounding
    policy: the cents the row must be staged as)."""
    if not sign_selected(m, sign):
        return None
    try:
        return read_cents(raw, reading or Reading(m.source_encoding))
    except InvalidAmount:
        return INVALID


def key_string(values: list[object]) -> str:
    """The legacy key as the pipeline records it: values as text without surrounding
    whitespace (:data:`~reconcile.reading.sqltext.KEY_SPACE`), ``|``-joined."""
    return "|".join("" if v is None else str(v).strip(KEY_SPACE) for v in values)


def _to_row(
    spec: EntitySpec,
    record: dict[str, object],
    extras: tuple[str, ...],
    readings: tuple[Reading, ...],
) -> Row:
    measures = spec.reconcile.measures
    values = tuple(
        python_value(
            m,
            record.get(m.source_column),
            record.get(m.sign_column) if m.sign_column else None,
            r,
        )
        for m, r in zip(measures, readings, strict=True)
    )
    key = key_string([record.get(c) for c in spec.source.key])
    texts = tuple(normalise(record.get(c.source), ",".join(c.steps)) for c in text_columns(spec)[0])
    return Row(key, values, tuple(record.get(c) for c in extras), texts)


def _needed(spec: EntitySpec, extras: tuple[str, ...]) -> list[str]:
    cols = list(spec.source.key)
    for m in spec.reconcile.measures:
        cols += [m.source_column] + ([m.sign_column] if m.sign_column else [])
    cols += list(extras) + [c.source for c in text_columns(spec)[0]]
    return [c for i, c in enumerate(cols) if c not in cols[:i] and c != LINE]


def _table_rows(spec: EntitySpec, engine: Engine, extras: tuple[str, ...]) -> Iterator[Row]:
    readings = tuple(reading_of(spec, m) for m in spec.reconcile.measures)
    for record in table_records(spec, engine, _needed(spec, extras)):
        yield _to_row(spec, record, extras, readings)


def table_records(
    spec: EntitySpec, engine: Engine, cols: list[str], where: str = ""
) -> Iterator[dict[str, object]]:
    """The legacy table's (or query's) rows as dicts of ``cols``, streamed; ``where``: SQL
    over the quoted columns that narrows the rows read (e.g. amounts that are not cents)."""
    quote = engine.dialect.identifier_preparer.quote
    origin = (
        _quote_table(engine, spec.source.table) if spec.source.table else f"({spec.source.query}) q"
    )
    sql = text(
        f"SELECT {', '.join(quote(c) for c in cols)} FROM {origin}"
        + (f" WHERE {where}" if where else "")
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=20_000).execute(sql)
        for part in result.partitions(20_000):
            for r in part:
                yield dict(zip(cols, r, strict=True))


def _file_rows(spec: EntitySpec, path: Path, extras: tuple[str, ...]) -> Iterator[Row]:
    readings = tuple(reading_of(spec, m) for m in spec.reconcile.measures)
    for record in file_records(spec, path):
        yield _to_row(spec, record, extras, readings)
