"""Rules across entities, checked on both sides: a header's amount equals the sum of its lines.

Declared on the header entity (``checks: [{header_total: {lines: ..., key: [...], ...}}]``).

- **Staged side**: one SQL query on staging over the run's rows of both entities: each
  header's amount in cents against the sum of its lines' (a header without lines sums 0).
- **Legacy side**: the legacy rows of both entities, read by reconciliation itself (a
  table through its reflected types, a file as text), each amount restated from the
  mapping's field by reconciliation's own reading of its steps (``restate.py``; never the
  pipeline's code), summed per legacy header key. A header links to its lines through the
  legacy columns its key columns come from: a ``from`` column, a lookup's ``from`` columns,
  or the ``issues_keys.legacy`` columns of the key it issues.

A header off in staging whose legacy header holds, and none of whose lines (nor itself)
the run rejected or filtered, was broken by the migration: FAIL. One already off in the
legacy data is an exception (its legacy keys listed), not the migration's fault; one off
because lines were rejected or filtered is an exception too (the rejects are listed
already). A rule whose lines entity is not part of the run, whose key columns cannot be
traced to legacy columns, or whose legacy amounts cannot be read, is **not verified**
(listed with why, an exception: never a PASS).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from migrate.spec.checks import HeaderTotal
from migrate.spec.loader import Project
from migrate.spec.model import EntitySpec, Field_
from migrate.staging.types import cents_sql
from reconcile.proving import restate_steps as R
from reconcile.proving.restate import Restated, column_kind, target_column
from reconcile.proving.restated import legacy_records
from reconcile.reading.money import SPACE
from reconcile.reading.sqltext import as_text, family
from reconcile.reading.staging_side import Staging, outcomes
from reconcile.report import EXCEPTIONS, FAIL, RuleResult

SHOW = 5
Legacy = Callable[[EntitySpec], Engine | None]


def check_cross_rules(
    project: Project,
    spec: EntitySpec,
    st: Staging,
    legacy: Legacy,
    workdir: Path | None,
    run_entities: Iterable[str],
) -> list[RuleResult]:
    """Every cross-entity rule the entity declares, for the run's rows."""
    staged = set(run_entities)
    out: list[RuleResult] = []
    for check in spec.checks:
        if check.header_total is not None:
            out += _header_total(project, spec, check.header_total, st, legacy, workdir, staged)
        elif check.totals_agree is not None:
            from reconcile.proving.crosstotals import check_totals_agree  # it imports this module

            rule = check.totals_agree
            out += check_totals_agree(project, spec, rule, st, legacy, workdir, staged)
        elif check.balanced_across is not None:
            from reconcile.proving.crosstotals import check_balanced_across

            across = check.balanced_across
            out += check_balanced_across(project, spec, across, st, legacy, workdir, staged)
    return out


def rule_name(spec: EntitySpec, rule: HeaderTotal) -> str:
    return (
        f"header total = sum of lines: {spec.entity}.{rule.header_amount} = SUM "
        f"{rule.lines}.{rule.line_amount} per {', '.join(rule.key)} (tolerance {rule.tolerance})"
    )


def _not_verified(spec: EntitySpec, rule: HeaderTotal, why: str) -> list[RuleResult]:
    name = f"{rule_name(spec, rule)}: not verified"
    return [RuleResult(spec.entity, name, 1, why, EXCEPTIONS)]


def _header_total(
    project: Project,
    spec: EntitySpec,
    rule: HeaderTotal,
    st: Staging,
    legacy: Legacy,
    workdir: Path | None,
    staged_entities: set[str],
) -> list[RuleResult]:
    if rule.lines not in project.entities:
        return _not_verified(spec, rule, f"no entity {rule.lines!r} in the mappings")
    lines = project.spec(rule.lines)
    if rule.lines not in staged_entities:
        return _not_verified(spec, rule, f"the lines ({rule.lines}) were not part of the run")
    tol = Decimal(rule.tolerance) * 100
    try:
        staged_off, checked = _staged(st, spec, lines, rule, tol)
        sides = (
            _LegacySide.read(project, spec, rule.key, rule.header_amount, legacy, workdir),
            _LegacySide.read(project, lines, rule.lines_key, rule.line_amount, legacy, workdir),
        )
    except Unverifiable as exc:
        return _not_verified(spec, rule, str(exc))
    header, line = sides
    sums: dict[str, int] = {}
    for link, cents in line.amounts:
        sums[link] = sums.get(link, 0) + (cents or 0)
    unread = list(dict.fromkeys(header.unreadable + line.unreadable))  # links, each once
    unknown = set(unread)  # a sum with an amount no one can read is no sum
    legacy_off = {
        link: (cents, sums.get(link, 0))
        for link, cents in header.amounts
        if cents is not None and link not in unknown and abs(cents - sums.get(link, 0)) > tol
    }
    cut = _cut_links(st, spec, lines, header, line)
    broken: list[tuple[str, tuple[int, int]]] = []
    explained: list[tuple[str, tuple[int, int]]] = []
    for source_key, amounts in staged_off.items():
        found = header.link_of.get(source_key)
        if found is not None and found in legacy_off:
            continue  # already off in the legacy data: listed there
        (explained if found in cut or found in unread else broken).append((source_key, amounts))
    name = rule_name(spec, rule)
    out = [
        RuleResult(
            spec.entity,
            f"{name}: in staging",
            len(broken),
            _staged_detail(broken)
            or f"{checked[0]:,} staged headers and {checked[1]:,} lines compared: "
            + ("none off but those below" if legacy_off or explained or unread else "all hold"),
            FAIL,
        ),
        RuleResult(
            spec.entity,
            f"{name}: already off in the legacy data (not the migration's doing)",
            len(legacy_off),
            _legacy_detail(legacy_off)
            or f"{sum(k not in unknown for k, _ in header.amounts):,} legacy headers with their "
            f"{len(line.amounts):,} lines read: every one holds",
            EXCEPTIONS,
        ),
    ]
    if explained:
        text = f"{name}: off in staging where lines or headers were rejected or filtered"
        detail = _staged_detail(explained)
        out.append(RuleResult(spec.entity, text, len(explained), detail, EXCEPTIONS))
    if unread:
        text = f"{name}: not verified for headers whose legacy amounts cannot be read"
        detail = f"legacy keys: {', '.join(unread[:SHOW])}"
        out.append(RuleResult(spec.entity, text, len(unread), detail, EXCEPTIONS))
    return out


def _staged_detail(rows: list[tuple[str, tuple[int, int]]]) -> str:
    return "; ".join(
        f"{k}: header {money_text(h)} <> lines {money_text(s)}" for k, (h, s) in rows[:SHOW]
    )


def _legacy_detail(rows: Mapping[str, tuple[int, int]]) -> str:
    shown = list(rows.items())[:SHOW]
    text = "; ".join(f"{k}: header {money_text(h)} <> lines {money_text(s)}" for k, (h, s) in shown)
    return f"legacy keys {text}" if text else ""


def money_text(cents: int) -> str:
    return f"{Decimal(cents).scaleb(-2):,.2f}"


class Unverifiable(ValueError):
    """The rule cannot be checked on one side; the message says why."""


def _staged(
    st: Staging, header: EntitySpec, lines: EntitySpec, rule: HeaderTotal, tol: Decimal
) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """Staged headers of the run whose amount is off their lines' sum (source key ->
    (header cents, lines cents)), and how many staged headers and lines were compared."""
    q = st.engine.dialect.identifier_preparer.quote
    dialect = st.engine.dialect.name
    for spec, col in ((header, rule.header_amount), (lines, rule.line_amount)):
        found = target_column(spec.target.table, col)
        if found is None or column_kind(found) != "money":
            raise Unverifiable(f"{spec.target.table}.{col} is not a staging money column")
    hk = [exact_key(f"h.{q(c)}", dialect) for c in rule.key]
    lk = [exact_key(f"l.{q(c)}", dialect) for c in rule.lines_key]
    inner = ", ".join(f"{e} AS {q(f'k{i}')}" for i, e in enumerate(lk))
    on = " AND ".join(f"s.{q(f'k{i}')} = {e}" for i, e in enumerate(hk))
    h_cents = cents_sql(f"h.{q(rule.header_amount)}", dialect)
    l_cents = cents_sql(f"l.{q(rule.line_amount)}", dialect)
    total = f"COALESCE(s.{q('total')}, 0)"
    rows = st.query(
        f"SELECT h.{q('MIG_SOURCE_KEY')}, {h_cents}, {total} FROM {st.table(header.target.table)} h"
        f" LEFT JOIN (SELECT {inner}, SUM(COALESCE({l_cents}, 0)) AS {q('total')}"
        f" FROM {st.table(lines.target.table)} l WHERE l.{q('MIG_RUN_ID')} = :run"
        f" AND l.{q('MIG_ENTITY')} = :lines GROUP BY {', '.join(lk)}) s ON {on}"
        f" WHERE h.{q('MIG_RUN_ID')} = :run AND h.{q('MIG_ENTITY')} = :entity"
        f" AND ABS(COALESCE({h_cents}, 0) - {total}) > :floor ORDER BY 1",
        entity=header.entity,
        lines=lines.entity,
        floor=int(tol),  # a coarse cut in SQL; the exact test below
    )
    out = {}
    for key, h, s in rows:
        hc, sc = int(str(h or 0)), int(str(s or 0))
        if abs(hc - sc) > tol:
            out[str(key)] = (hc, sc)
    counts = [
        st.query(
            f"SELECT COUNT(*) FROM {st.table(spec.target.table)} t WHERE t.{q('MIG_RUN_ID')} = :run"
            f" AND t.{q('MIG_ENTITY')} = :entity",
            entity=spec.entity,
        )[0][0]
        for spec in (header, lines)
    ]
    return out, (int(str(counts[0])), int(str(counts[1])))


def exact_key(expr: str, dialect: str) -> str:
    """A key as text compared byte for byte (MariaDB's collations pad and fold case)."""
    if family(dialect) == "mysql":
        return f"CAST({expr} AS BINARY)"
    return as_text(expr, dialect)


@dataclass
class _LegacySide:
    """One entity's legacy rows: (link, amount cents or None) per row, each row's source
    key -> link, and the links whose amount could not be read."""

    amounts: list[tuple[str, int | None]]
    link_of: dict[str, str]
    unreadable: list[str]

    @classmethod
    def read(
        cls,
        project: Project,
        spec: EntitySpec,
        key: list[str],
        amount: str,
        legacy: Legacy,
        workdir: Path | None,
    ) -> _LegacySide:
        links = [c for k in key for c in _legacy_columns(spec, k)]
        fields = _amount_fields(spec, amount)
        column = target_column(spec.target.table, amount)
        if not fields or column is None:
            raise Unverifiable(f"{spec.entity}: no field fills {amount}")
        restated = [Restated(amount, f, "money", spec.source.system) for f in fields]
        reads = [c for r in restated for c in r.source_columns()]
        cols = list(dict.fromkeys([*spec.source.key, *links, *reads]))
        records = legacy_records(spec, cols, legacy(spec), workdir)
        if records is None:
            raise Unverifiable(f"{spec.entity}: its legacy rows cannot be read here")
        crosswalks = {n: c.codes for n, c in project.crosswalks.items()}
        side = cls([], {}, [])
        for record in records():
            link = joined(record, links)
            side.link_of[joined(record, spec.source.key)] = link
            cents = [_cents(r, record, crosswalks, side, link) for r in restated]
            present = [c for c in cents if c is not None]
            side.amounts.append((link, sum(present) if present else None))
        return side


def _amount_fields(spec: EntitySpec, amount: str) -> list[Field_]:
    """The fields filling an amount column: one, or one per variant that fills it (a legacy
    row then gives one staged line per variant, each amount counted)."""
    if spec.variants is None:
        return [spec.fields[amount]] if amount in spec.fields else []
    every = [spec.variant_fields(v) for v in spec.variants]
    return [fields[amount] for fields in every if amount in fields]


def _cents(
    restated: Restated,
    record: Mapping[str, object],
    crosswalks: Mapping[str, Mapping[str, str]],
    side: _LegacySide,
    link: str,
) -> int | None:
    try:
        text = restated.canonical(restated.value(record, crosswalks), source=True)
    except (R.Unreadable, ValueError, ArithmeticError):
        side.unreadable.append(link)
        return None
    return None if text is None else int(Decimal(text).scaleb(2))


def _legacy_columns(spec: EntitySpec, column: str) -> list[str]:
    """The legacy columns a key column comes from, or why the rule cannot be traced."""
    ik = spec.issues_keys
    if ik is not None and ik.column == column:
        return list(ik.legacy)
    field = spec.fields.get(column)
    if field is not None and isinstance(field.from_, str):
        return [field.from_]
    if field is not None and field.lookup is not None:
        return list(field.lookup.from_)
    raise Unverifiable(
        f"{spec.entity}.{column} is not a plain column, a lookup or an issued key: its legacy "
        "columns cannot be traced"
    )


def joined(record: Mapping[str, object], columns: list[str]) -> str:
    """Key parts as the pipeline records a key: each as text less the six spaces, ``|``."""
    return "|".join((R.as_text(record.get(c)) or "").strip(SPACE) for c in columns)


def _cut_links(
    st: Staging, header: EntitySpec, lines: EntitySpec, h: _LegacySide, ln: _LegacySide
) -> set[str]:
    """Legacy header links with a header or line the run rejected or filtered."""
    cut: set[str] = set()
    for spec, side in ((header, h), (lines, ln)):
        done = outcomes(st, spec.entity)
        for key in (*done.rejected, *(k for _, k in done.filtered)):
            if key in side.link_of:
                cut.add(side.link_of[key])
    return cut
