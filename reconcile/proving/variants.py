"""Reconciliation of an entity with variants: one legacy row, one staged row per variant.

Restated independently of the pipeline (reconcile's own :class:`~reconcile.proving.restate.Restated`
rules, never ``migrate.transform``): every legacy row that is neither rejected nor filtered
must be staged exactly once per variant, under ``MIG_SOURCE_KEY`` = legacy key ``@``
variant, each column the variant fills equal to its restatement. A variant row missing, one
staged twice or of no declared variant, a debit staged as a credit, a constant changed:
each is a difference naming ``key@variant`` and the column. Rows are counted per source row
(a source row is staged with all its variants or rejected whole), so ``source = staged +
rejected + filtered`` holds by rows, and the row diff says how many target rows that is.

A measure on target column C is restated from the rule of the field filling C in each
variant that fills it (once per such variant, a debit line's and an offset line's amount
alike), summed exactly as ``Decimal``; a value reconciliation refuses on a row the pipeline
rejected is unreadable (the measure is then unverified, never counted as 0).

Limits (said, not hidden): the expected rows are held in memory (a dict per staged source
row: fine for extracts of a few million rows, not bounded as the hashed diff is); a lookup
field is reported as not verified; grains are refused when the mapping is loaded. A legacy
key that occurs twice (one staged, one rejected ``duplicate_key``) is settled by
:func:`_settle` (a first pass counts the keys).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, text

from migrate.spec.loader import Project
from migrate.spec.model import EntitySpec, Measure
from reconcile.proving.differences import keep
from reconcile.proving.filtered import check_filtered, filter_columns, first_rule
from reconcile.proving.personal import REFUSED, UNREADABLE, digest, shown
from reconcile.proving.restate import Canonical, Restated, column_kind, target_column
from reconcile.proving.restate import why_not as why_not_restated
from reconcile.proving.restate_memo import Memo
from reconcile.proving.restated import Crosswalks, legacy_records
from reconcile.proving.rules import check_rules
from reconcile.proving.unreadable import unreadable_differences
from reconcile.proving.variant_doubles import Row as _Row
from reconcile.proving.variant_doubles import key_counts as _key_counts
from reconcile.proving.variant_doubles import settle as _settle
from reconcile.reading.sources import key_string
from reconcile.reading.staging_side import Staging, outcomes
from reconcile.report import EntityReconciliation, MeasureIdentity, RejectGroup, RowDifference

SEP = "@"  # as the pipeline writes it (restated here: reconcile imports no transform code)
Values = dict[str, Canonical]


@dataclass
class _Plan:
    """Each variant's restated columns, and the columns not verified with why."""

    spec: EntitySpec
    rules: dict[str, list[Restated]]
    not_verified: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, spec: EntitySpec) -> _Plan:
        assert spec.variants is not None
        plan = cls(spec, {})
        for v in spec.variants:
            plan.rules[v] = []
            for name, rule in spec.variant_fields(v).items():
                column = target_column(spec.target.table, name)
                kind = None if column is None else column_kind(column)
                why = "a lookup in a variant is not restated yet" if rule.lookup else None
                why = why or why_not_restated(rule, kind)
                if column is None or kind is None or why is not None:
                    plan.not_verified.append((f"{v}.{name}", why or "no such staging column"))
                else:
                    plan.rules[v].append(Restated(name, rule, kind, spec.source.system))
        return plan

    def columns(self) -> list[str]:
        return list(
            dict.fromkeys(c for rules in self.rules.values() for r in rules for c in [r.target])
        )

    def needed(self) -> list[str]:
        cols = [*self.spec.source.key, *filter_columns(self.spec)]
        cols += [c for rules in self.rules.values() for r in rules for c in r.source_columns()]
        return list(dict.fromkeys(cols))


def _compared(r: Restated, value: Canonical) -> Canonical:
    return digest(value, r.personal) if r.personal else value


def _restated(r: Restated, crosswalks: Crosswalks, record: Mapping[str, object]) -> Canonical:
    return _compared(r, r.source(record, crosswalks))


def _staged_value(r: Restated, dialect: str, value: object) -> Canonical:
    return _compared(r, r.staged(value, dialect))


def _amount(value: Canonical) -> Decimal | None:
    """A restated money value as a Decimal (None when blank); ValueError when refused."""
    if value is None:
        return None
    if value.startswith((REFUSED, UNREADABLE)):
        raise ValueError(value)
    return Decimal(value)


def reconcile_variants(
    project: Project, name: str, st: Staging, legacy: Engine | None, workdir: Path | None
) -> EntityReconciliation:
    spec = project.spec(name)
    assert spec.variants is not None
    plan = _Plan.of(spec)
    crosswalks = {n: c.codes for n, c in project.crosswalks.items()}
    done = outcomes(st, name)
    rejected, filtered = set(done.rejected), {k for _, k in done.filtered}
    records = legacy_records(spec, plan.needed(), legacy, workdir)
    measures = spec.reconcile.measures
    fills = [
        [v for v in spec.variants if m.target_column in spec.variant_fields(v)] for m in measures
    ]
    sums = _Sums(len(measures))
    memos = {  # a value repeated down a column restated once (reconcile/proving/restate_memo.py)
        v: [(r, r.source_columns(), Memo(partial(_restated, r, crosswalks))) for r in rules]
        for v, rules in plan.rules.items()
    }
    diffs: list[RowDifference] = []
    expected: dict[str, Values] = {}
    source_rows = 0
    counts = _key_counts(spec, records)
    doubles: dict[str, list[_Row]] = {}  # legacy keys found more than once
    for record in records() if records is not None else iter(()):
        source_rows += 1
        key = key_string([record.get(c) for c in spec.source.key])
        rows = {
            v: {r.target: memo(tuple(map(record.get, cols)), record) for r, cols, memo in rules}
            for v, rules in memos.items()
        }
        amounts = [
            [rows[v].get(m.target_column) for v in f] for m, f in zip(measures, fills, strict=True)
        ]
        if counts[key] > 1:  # settled once the staged lines are known
            doubles.setdefault(key, []).append(_Row(rows, amounts))
            continue
        where = "rejected" if key in rejected else "filtered" if key in filtered else "source"
        sums.add(where, key, amounts)
        if where != "source":
            continue
        rule = first_rule(spec, record)
        if rule is not None:
            diffs.append(
                RowDifference(
                    name, key, "filtered_wrongly", rule, "dropped by the mapping", "staged"
                )
            )
        for v, values in rows.items():
            expected[f"{key}{SEP}{v}"] = values
    staged_keys: set[str] = set()
    staged_lines = 0
    doubled_lines: dict[str, dict[str, Values]] = {}
    for key, values in _staged(st, spec, plan):
        staged_lines += 1
        legacy_key, _, variant = key.rpartition(SEP)
        if legacy_key in doubles and variant not in doubled_lines.get(legacy_key, {}):
            doubled_lines.setdefault(legacy_key, {})[variant] = values
            staged_keys.add(legacy_key)
            sums.staged(values, measures)
            continue
        want = expected.pop(key, None)
        if want is None:
            diffs.append(RowDifference(name, key, "unexpected", None, None, "staged"))
            continue
        staged_keys.add(legacy_key)
        sums.staged(values, measures)
        for column, value in values.items():
            if want.get(column) != value:
                r = next(r for r in plan.rules[variant] if r.target == column)
                s, t = (
                    (shown(want.get(column)), shown(value))
                    if r.personal
                    else (want.get(column), value)
                )
                diffs.append(RowDifference(name, key, "changed", column, s, t))
    diffs += [RowDifference(name, k, "missing", None, "legacy row", None) for k in expected]
    outcomes_left = (Counter(done.rejected), Counter(k for _, k in done.filtered))
    for key, found in doubles.items():
        diffs += _settle(name, key, found, doubled_lines.get(key, {}), outcomes_left, sums)
    if records is None:
        plan.not_verified.append(
            ("(all)", "the legacy side cannot be read here (no connection or working folder)")
        )
    checked = check_filtered(spec, st, done.filtered, records)
    marked = unreadable_differences(spec, name, done, workdir)
    kept = keep(iter([*diffs, *checked.differences, *marked]))
    n = len(spec.variants)
    return EntityReconciliation(
        entity=name,
        source_table=spec.source.table
        or (spec.source.file.path if spec.source.file else "(query)"),
        target_table=spec.target.table,
        source_rows=source_rows,
        staged_rows=len(staged_keys),
        rejected_rows=len(done.rejected),
        filtered_rows=len(done.filtered),
        filtered_by_rule=done.filtered_by_rule,
        measures=tuple(sums.identities(spec, fills)),
        grains=(),
        differences=kept.listed,
        rules=tuple(check_rules(st, spec)),
        rejects=_with_amounts(
            done.groups, [m.name for m in measures], sums.per_reject(done.rejected, done.reasons)
        ),
        compared=tuple(f"{v}: {r.rule}" for v, rules in plan.rules.items() for r in rules),
        not_verified=tuple(plan.not_verified) + checked.not_verified,
        row_diff=(
            f"variants ({', '.join(spec.variants)}): each legacy row restated once per variant "
            f"in Python and diffed by (legacy key, variant); {staged_lines:,} staged row(s) = "
            f"{n} x {len(staged_keys):,} staged source row(s) when nothing differs"
        ),
        difference_count=kept.count,
        difference_kinds=kept.kinds,
        differences_csv=kept.csv,
    )


def _staged(st: Staging, spec: EntitySpec, plan: _Plan) -> Iterator[tuple[str, Values]]:
    """Each staged row of the run's entity: its MIG_SOURCE_KEY and its variant's columns
    as compared (a variant the mapping does not declare: no columns, reported unexpected)."""
    q = st.engine.dialect.identifier_preparer.quote
    dialect = st.engine.dialect.name
    columns = plan.columns()
    sql = text(
        f"SELECT {q('MIG_SOURCE_KEY')}{''.join(', ' + q(c) for c in columns)} "
        f"FROM {st.table(spec.target.table)} "
        f"WHERE {q('MIG_RUN_ID')} = :run AND {q('MIG_ENTITY')} = :entity"
    )
    memos = {
        v: [(r, Memo(partial(_staged_value, r, dialect))) for r in rules]
        for v, rules in plan.rules.items()
    }
    with st.engine.connect() as conn:
        for key, *values in conn.execute(sql, {"run": st.run_id, "entity": spec.entity}):
            variant = str(key).rpartition(SEP)[2]
            by_column = dict(zip(columns, values, strict=True))
            yield (
                str(key),
                {
                    r.target: memo((by_column[r.target],), by_column[r.target])
                    for r, memo in memos.get(variant, [])
                },
            )


class _Sums:
    """Each measure's totals: source, staged, rejected, filtered, and the unreadable."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.totals = {w: [Decimal(0)] * n for w in ("source", "staged", "rejected", "filtered")}
        self.unreadable: list[list[tuple[str, str]]] = [[] for _ in range(n)]
        self.rejected: dict[str, list[tuple[Decimal, ...]]] = {}

    def add(self, where: str, key: str, values: list[list[Canonical]]) -> None:
        mine = [Decimal(0)] * self.n
        for i, per_variant in enumerate(values):
            for value in per_variant:
                try:
                    amount = _amount(value)
                except ValueError:
                    self.unreadable[i].append((key, str(value)))
                    continue
                mine[i] += amount or 0
        for i in range(self.n):
            self.totals["source"][i] += mine[i]
            if where != "source":
                self.totals[where][i] += mine[i]
        if where == "rejected":
            self.rejected.setdefault(key, []).append(tuple(mine))

    def staged(self, values: Values, measures: list[Measure]) -> None:
        for i, m in enumerate(measures):
            try:
                self.totals["staged"][i] += _amount(values.get(m.target_column)) or 0
            except ValueError:
                continue  # a staged amount that is no amount is a changed row already

    def per_reject(
        self, keys: tuple[str, ...], reasons: tuple[str, ...]
    ) -> dict[str, list[Decimal]]:
        out: dict[str, list[Decimal]] = {}
        for key, reason in zip(keys, reasons, strict=True):
            acc = out.setdefault(reason, [Decimal(0)] * self.n)
            found = self.rejected.get(key)
            for i, v in enumerate(found.pop(0) if found else ()):
                acc[i] += v
        return out

    def identities(self, spec: EntitySpec, fills: list[list[str]]) -> Iterator[MeasureIdentity]:
        for i, m in enumerate(spec.reconcile.measures):
            rule = (
                f"sum of {m.target_column} restated from the legacy row by the rule of "
                f"{', '.join(fills[i]) or 'no variant'} (once per variant filling it)"
            )
            yield MeasureIdentity(
                measure=m.name,
                source_rule=rule,
                target_column=m.target_column,
                source=self.totals["source"][i],
                staged=self.totals["staged"][i],
                rejected=self.totals["rejected"][i],
                filtered=self.totals["filtered"][i],
                tolerance=Decimal(m.tolerance),
                unreadable=len(self.unreadable[i]),
                unreadable_rows=tuple(self.unreadable[i][:25]),
            )


def _with_amounts(
    groups: tuple[RejectGroup, ...], names: list[str], totals: Mapping[str, list[Decimal]]
) -> tuple[RejectGroup, ...]:
    """Each reject reason with its rows' restated amounts, per measure."""
    zero = [Decimal(0)] * len(names)
    return tuple(
        replace(g, amounts=tuple(zip(names, totals.get(g.reason, zero), strict=True)))
        for g in groups
    )
