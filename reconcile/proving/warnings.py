"""Warnings re-derived from the staged rows, never taken from the pipeline's list.

For each check that warns (``flag``, ``possible_duplicate``) reconciliation finds the
flagged rows itself, in SQL on the run's staged rows (its own reading of the condition:
``cents = 0`` for a zero amount; ``GROUP BY ... HAVING COUNT(*) > 1`` for duplicates), and
then compares them with what the pipeline recorded in ``MIG_WARNINGS``. Two results per
check:

- the warning itself (level EXCEPTIONS: finance reviews the rows; never FAIL, never PASS
  while a row is flagged), with its count and sample rows, from reconciliation's derivation;
- the agreement (level FAIL): a row flagged here that the pipeline did not record, a row
  recorded that is not flagged here, or a row recorded twice, is a difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import Column, Date, DateTime, Integer

from migrate.spec.checks import FLAG_BOUNDS, Flag, PossibleDuplicate
from migrate.spec.model import EntitySpec
from migrate.staging.catalog import staging_table
from migrate.staging.types import Money, cents_sql
from reconcile.proving.restate_steps import holds
from reconcile.reading.sqltext import family
from reconcile.reading.staging_side import Staging
from reconcile.report import EXCEPTIONS, FAIL, RuleResult

SHOW = 5


def check_warnings(st: Staging, spec: EntitySpec) -> list[RuleResult]:
    out: list[RuleResult] = []
    for c in spec.checks:
        if c.flag is not None:
            out += _flag(st, spec, c.flag)
        elif c.possible_duplicate is not None:
            out += _duplicates(st, spec, c.possible_duplicate)
    return out


def _kind(table: str, column: str) -> str | None:
    t = staging_table(table)
    if t is None or column not in t.c:
        return None
    col: Column[object] = t.c[column]
    if isinstance(col.type, Money):
        return "money"
    if isinstance(col.type, DateTime | Date):
        return "date"
    return "integer" if isinstance(col.type, Integer) else "text"


def _where(st: Staging, alias: str = "t") -> str:
    q = st.engine.dialect.identifier_preparer.quote
    return f"{alias}.{q('MIG_RUN_ID')} = :run AND {alias}.{q('MIG_ENTITY')} = :entity"


def _recorded(st: Staging, spec: EntitySpec, reason: str) -> Counter[str]:
    """The pipeline's record: source keys it flagged with ``reason`` (a key twice counts 2)."""
    q = st.engine.dialect.identifier_preparer.quote
    rows = st.query(
        f"SELECT {q('SOURCE_KEY')} FROM {st.table('MIG_WARNINGS')} "
        f"WHERE {q('RUN_ID')} = :run AND {q('ENTITY')} = :entity AND {q('REASON_CODE')} = :r",
        entity=spec.entity,
        r=reason,
    )
    return Counter(str(r[0]) for r in rows)


def condition_sql(st: Staging, rule: Flag, kind: str) -> tuple[str, dict[str, object]]:
    """The flag's condition in SQL on the staged column (``negate``: not holding, NULL too)."""
    w = rule.when
    dialect = st.engine.dialect.name
    col = f"t.{st.engine.dialect.identifier_preparer.quote(w.column)}"
    value = cents_sql(col, dialect) if kind == "money" else col
    params: dict[str, object] = {}
    if w.is_blank is not None:
        blank = f"({col} IS NULL OR TRIM({col}) = '')" if kind == "text" else f"{col} IS NULL"
        cond = blank if w.is_blank else f"NOT {blank}"
    elif any(getattr(w, b, None) is not None for b in FLAG_BOUNDS):
        cond = f"{col} IS NOT NULL" + "".join(
            f" AND {value} {op} {bound}" for op, bound in _bounds(w, kind)
        )
    else:
        wanted = [w.equals] if w.in_ is None else list(w.in_)
        names = []
        for i, v in enumerate(wanted):
            params[f"v{i}"] = _wanted(v, kind)
            names.append(f":v{i}")
        if kind == "text":
            value = f"UPPER(TRIM({col}))"
        cond = f"{col} IS NOT NULL AND {value} IN ({', '.join(names)})"
    if w.negate:
        cond = f"CASE WHEN {cond} THEN 0 ELSE 1 END = 1"
    return cond, params


def _wanted(value: object, kind: str) -> object:
    if kind == "money":
        return int(Decimal(str(value).strip()) * 100)
    if kind == "integer":
        return int(str(value))
    return str(value).strip().upper()


def _bounds(w: object, kind: str) -> list[tuple[str, str]]:
    """(operator, literal) pairs, in cents for money; literals are Decimals the spec parsed."""
    scale = 100 if kind == "money" else 1
    ops = {"less_than": "<", "greater_than": ">", "at_most": "<=", "at_least": ">="}
    out = []
    for name in FLAG_BOUNDS:
        given = getattr(w, name, None)
        if given is None:
            continue
        if name == "between":
            out += [(">=", str(Decimal(str(given[0])) * scale))]
            out += [("<=", str(Decimal(str(given[1])) * scale))]
        else:
            out.append((ops[name], str(Decimal(str(given)) * scale)))
    return out


def _title(spec: EntitySpec, reason: str, what: str) -> str:
    return f"warning {reason}: {what}"


def _flag(st: Staging, spec: EntitySpec, rule: Flag) -> list[RuleResult]:
    column = rule.when.column
    what = f"{column} {_condition_words(rule)}"
    kind = _kind(spec.target.table, column)
    title = _title(spec, rule.reason, what)
    if kind is None or kind == "date":
        why = "no such staging column" if kind is None else "a date column"
        return [_not_verified(spec, title, f"reconciliation does not re-derive it: {why}")]
    w = rule.when
    in_python = kind == "text" and any(x is not None for x in (w.is_blank, w.in_, w.equals))
    # a text test is decided in Python as the pipeline decides it (trimmed of all whitespace,
    # any case by Unicode's mapping): SQL's UPPER and TRIM differ by database
    cond, params = ("1 = 1", {}) if in_python else condition_sql(st, rule, kind)
    q = st.engine.dialect.identifier_preparer.quote
    rows = st.query(
        f"SELECT t.{q('MIG_SOURCE_KEY')}, t.{q(column)} FROM {st.table(spec.target.table)} t "
        f"WHERE {_where(st)} AND {cond} ORDER BY t.{q('MIG_SOURCE_KEY')}",
        entity=spec.entity,
        **params,
    )
    if in_python:
        rows = [r for r in rows if holds(r[1], w.equals, w.in_, w.is_blank) != w.negate]
    hidden = _personal(spec, column)  # personal data never in the workbook
    derived = {str(r[0]): "***" if hidden else _shown(r[1], kind, st) for r in rows}
    sample = ", ".join(f"{k} ({v})" for k, v in list(derived.items())[:SHOW])
    warning = RuleResult(spec.entity, title, len(derived), sample, EXCEPTIONS)
    return [warning, _agreement(st, spec, rule.reason, set(derived), Counter())]


def _condition_words(rule: Flag) -> str:
    w = rule.when
    if w.is_blank is not None:
        test = "is blank" if w.is_blank else "is not blank"
    elif w.in_ is not None:
        test = f"in {list(w.in_)!r}"
    elif w.equals is not None:
        test = f"= {w.equals!r}"
    else:
        test = " and ".join(f"{n} {getattr(w, n)}" for n in FLAG_BOUNDS if getattr(w, n, None))
    return f"not ({test})" if w.negate else test


def _shown(value: object, kind: str, st: Staging) -> str:
    if value is None:
        return "blank"
    if kind == "money" and st.engine.dialect.name == "sqlite" and isinstance(value, int):
        return str(Decimal(value).scaleb(-2))
    return str(value)


def _personal(spec: EntitySpec, column: str) -> bool:
    field = spec.fields.get(column)
    return field is not None and field.personal is not None


def _not_verified(spec: EntitySpec, title: str, why: str) -> RuleResult:
    return RuleResult(spec.entity, f"{title}: not verified", 1, why, EXCEPTIONS)


def _agreement(
    st: Staging,
    spec: EntitySpec,
    reason: str,
    derived: set[str],
    per_group: Counter[tuple[str, ...]],
    groups: dict[str, tuple[str, ...]] | None = None,
    show: Callable[[tuple[str, ...]], str] = " | ".join,
) -> RuleResult:
    """Differences between reconciliation's flagged rows and the pipeline's record.

    For duplicates (``groups``: member key -> its group) which n - 1 of a group's n rows
    were flagged depends on the load order, so each recorded key must be a member, and per
    group exactly n - 1 distinct members recorded (``per_group``)."""
    recorded = _recorded(st, spec, reason)
    twice = sum(n - 1 for n in recorded.values())
    if groups is None:
        missing = sorted(derived - set(recorded))
        extra = sorted(set(recorded) - derived)
        off = len(missing) + len(extra) + twice
        parts = [f"flagged here, not recorded: {', '.join(missing[:SHOW])}"] if missing else []
    else:
        extra = sorted(k for k in recorded if k not in groups)
        counted = Counter(groups[k] for k in recorded if k in groups)
        wrong = [g for g in per_group if counted.get(g, 0) != per_group[g]]
        off = sum(abs(counted.get(g, 0) - per_group[g]) for g in wrong) + len(extra) + twice
        parts = [
            f"group {show(g)}: {counted.get(g, 0)} recorded, {per_group[g]} expected"
            for g in wrong[:SHOW]
        ]
    if extra:
        parts.append(f"recorded, not flagged here: {', '.join(extra[:SHOW])}")
    if twice:
        parts.append(f"{twice} recorded more than once")
    rule = f"warning {reason}: MIG_WARNINGS agrees with the staged rows (re-derived)"
    return RuleResult(spec.entity, rule, off, "; ".join(parts), FAIL)


def _duplicates(st: Staging, spec: EntitySpec, rule: PossibleDuplicate) -> list[RuleResult]:
    q = st.engine.dialect.identifier_preparer.quote
    title = _title(spec, rule.reason, f"rows equal on {', '.join(rule.columns)}")
    if any(_kind(spec.target.table, c) is None for c in rule.columns):
        return [_not_verified(spec, title, "no such staging column")]
    table = st.table(spec.target.table)
    texts = [_exact(f"t.{q(c)}", st) for c in rule.columns]
    gtexts = [_exact(f"g.{q(c)}", st) for c in rule.columns]
    present = " AND ".join(f"t.{q(c)} IS NOT NULL" for c in rule.columns)
    grouped = ", ".join(texts)
    inner = ", ".join(f"{t} AS {q(f'c{i}')}" for i, t in enumerate(texts))
    on = " AND ".join(f"d.{q(f'c{i}')} = {g}" for i, g in enumerate(gtexts))
    picked = ", ".join(f"d.{q(f'c{i}')}" for i in range(len(texts)))
    rows = st.query(
        f"SELECT g.{q('MIG_SOURCE_KEY')}, {picked}"
        f" FROM {table} g JOIN (SELECT {inner} FROM {table} t WHERE {_where(st)} AND {present}"
        f" GROUP BY {grouped} HAVING COUNT(*) > 1) d ON {on} WHERE {_where(st, 'g')}"
        f" ORDER BY 2, 1",
        entity=spec.entity,
    )
    members: dict[str, tuple[str, ...]] = {}
    kinds = [_kind(spec.target.table, c) or "text" for c in rule.columns]
    hidden = [_personal(spec, c) for c in rule.columns]

    def show(g: tuple[str, ...]) -> str:  # personal data never in the workbook
        return " | ".join("***" if h else v for v, h in zip(g, hidden, strict=True))

    for r in rows:
        members[str(r[0])] = tuple(
            _shown(_text_or(v), k, st) for v, k in zip(r[1:], kinds, strict=True)
        )
    sizes = Counter(members.values())
    per_group = Counter({g: n - 1 for g, n in sizes.items()})
    shown = [
        f"{show(g)}: {', '.join(k for k, m in members.items() if m == g)}"
        for g in list(sizes)[:SHOW]
    ]
    warning = RuleResult(spec.entity, title, sum(per_group.values()), "; ".join(shown), EXCEPTIONS)
    agree = _agreement(st, spec, rule.reason, set(members), per_group, members, show)
    return [warning, agree]


def _exact(expr: str, st: Staging) -> str:
    """A value as text compared byte for byte (MariaDB's collations would pad and fold)."""
    dialect = st.engine.dialect.name
    if family(dialect) == "mysql":
        return f"CAST({expr} AS BINARY)"
    return f"CAST({expr} AS TEXT)" if family(dialect) == "postgresql" else expr


def _text_or(value: object) -> object:
    """Bytes (MariaDB's binary text) as text; other values as they are."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
