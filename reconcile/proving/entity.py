"""One entity's proof: the accounting identity, grain totals, the row diff and ERP rules."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from migrate.spec.loader import Project
from migrate.spec.model import EntitySpec
from reconcile.proving.attribution import attribute
from reconcile.proving.both_sides import at_once, both
from reconcile.proving.diff import FIRST_BITS, DiffStats, iter_keyed_diff
from reconcile.proving.differences import keep
from reconcile.proving.exact import Exact
from reconcile.proving.grains import Amounts, GrainTotals, grain_rule
from reconcile.proving.restated import check_columns
from reconcile.proving.rules import check_rules
from reconcile.proving.unreadable import unreadable_differences
from reconcile.reading.hashing import choose_hasher
from reconcile.reading.money import cents_to_decimal
from reconcile.reading.rows import RowSource, Totals
from reconcile.reading.sources import SourcePlan
from reconcile.reading.staging_side import Staging, outcomes, staged_relation, target_columns
from reconcile.reading.textrule import text_columns
from reconcile.report import EntityReconciliation, MeasureIdentity, RejectGroup, RowDifference


def reconcile_entity(
    project: Project,
    name: str,
    plan: SourcePlan,
    st: Staging,
    legacy: Engine | None = None,
    workdir: Path | None = None,
) -> EntityReconciliation:
    """Compared columns that are not plain text, and personal columns, are restated from
    the legacy rows (``legacy`` engine for tables, ``workdir`` for files) or reported as
    not verified: see ``reconcile/proving/restated.py``."""
    source, staged = paired(plan.side, staged_relation(st, project.spec(name)))
    try:
        return _prove(project, name, plan, st, (source, staged), legacy, workdir)
    finally:
        source.close()
        staged.close()


def _prove(
    project: Project,
    name: str,
    plan: SourcePlan,
    st: Staging,
    sides: tuple[RowSource, RowSource],
    legacy: Engine | None,
    workdir: Path | None,
) -> EntityReconciliation:
    spec = project.spec(name)
    source, staged = sides
    done = outcomes(st, name)
    both(source.scan, staged.scan, at_once(source, staged))  # one pass per side
    src_tot, stg_tot = source.totals(), staged.totals()
    attr = attribute(source, staged, done.rejected, done.filtered, done.reasons)
    exact = Exact(spec, src_tot, legacy, workdir)
    rejected = [exact.amounts(r) for r in attr.rejected]
    filtered = [exact.amounts(r) for _, r in attr.filtered]
    measures = _identities(project, name, plan, src_tot, stg_tot, exact, rejected, filtered)
    crosswalks = {n: c.codes for n, c in project.crosswalks.items()}
    grains = GrainTotals(spec, crosswalks, plan.grain_columns, target_columns(spec))
    grain_rows = [
        row
        for g in spec.reconcile.grains
        for row in grains.rows(g, source, staged, rejected, filtered, exact.finer())
    ]
    columns = tuple(m.target_column for m in spec.reconcile.measures)
    texts = text_columns(spec)[0]
    found, stats = iter_keyed_diff(
        name, columns, source, staged, attr.excluded, tuple(t.target for t in texts)
    )
    unknown = (RowDifference(name, k, "unexpected", "(rejected or filtered)") for k in attr.unknown)
    excluded = (*done.rejected, *(key for _, key in done.filtered))
    checked = check_columns(spec, crosswalks, st, excluded, legacy, workdir, done.filtered)
    marked = unreadable_differences(spec, name, done, workdir)  # rejected, as they must be?
    kept = keep(chain(found, unknown, checked.differences, marked))  # the first of each kind
    return EntityReconciliation(
        entity=name,
        source_table=plan.origin,
        target_table=st.table(spec.target.table).replace('"', "").replace("`", ""),
        source_rows=src_tot.rows,
        staged_rows=stg_tot.rows,
        rejected_rows=len(done.rejected),
        filtered_rows=len(done.filtered),
        filtered_by_rule=done.filtered_by_rule,
        measures=tuple(measures),
        grains=tuple(grain_rows),
        differences=kept.listed,
        rules=tuple(check_rules(st, spec)),
        rejects=_with_amounts(
            done.groups, spec, attr.reasons, rejected, [r.key for r in attr.rejected]
        ),
        compared=tuple(t.rule for t in texts) + checked.compared,
        not_verified=checked.not_verified,
        row_diff=row_diff_method(stats, source, staged),
        difference_count=kept.count,
        difference_kinds=kept.kinds,
        differences_csv=kept.csv,
    )


READ = {
    "postgresql": "summed in PostgreSQL (SQL)",
    "mysql": "summed in MariaDB (SQL)",
    "sqlite": "summed in SQLite (SQL, with our hash and parser as SQLite functions)",
    "arrow": "read from the SQLite file as Arrow batches, summed with numpy",
    "pg-arrow": "key hashed in PostgreSQL, read as Arrow batches (binary COPY), summed with "
    "numpy; rows of differing buckets fetched through SQL",
    "stream": "streamed and summed in Python",
}


def row_diff_method(stats: DiffStats, source: RowSource, staged: RowSource) -> str:
    """How the keyed diff was done, for the report (an auditor's question)."""

    def read(side: RowSource) -> str:
        how = READ.get(side.family, side.family)
        if getattr(side, "fell_back", False):  # an Arrow side that answered through SQL
            how += " (then through SQL: something the batches could not carry; the log says what)"
        return how

    return (
        f"hashed-bucket diff: {stats.buckets_differing} differing bucket(s) compared row by "
        f"row over {stats.levels} level(s), {stats.rows_pulled} row(s) pulled; legacy side "
        f"{read(source)}; staging side {read(staged)}"
    )


def paired(source: RowSource, staged: RowSource) -> tuple[RowSource, RowSource]:
    """Both sides set to the cheapest hash they share and the same first-level buckets (a
    SQLite or PostgreSQL side then read as Arrow batches where it can be, ``arrowside.py``,
    ``arrowpg.py``)."""
    hasher = choose_hasher({source.family, staged.family})
    shift = 32 - FIRST_BITS
    source, staged = source.using(hasher, shift), staged.using(hasher, shift)
    families = {source.family, staged.family}
    if "postgresql" in families:
        from reconcile.reading.arrowpg import read_as_arrow  # the ADBC driver: PostgreSQL only

        source, staged = read_as_arrow(source), read_as_arrow(staged)
    if "sqlite" in families:
        from reconcile.reading.arrowside import vectorised  # the ADBC driver: SQLite only

        source, staged = vectorised(source), vectorised(staged)
    return source, staged


def _with_amounts(
    groups: tuple[RejectGroup, ...],
    spec: EntitySpec,
    reasons: tuple[str, ...],
    rejected: list[Amounts],
    keys: list[str] | None = None,
) -> tuple[RejectGroup, ...]:
    """Each reject reason with the exact amounts of its rows, per measure (read from the
    source, as the Rejected column), and each sample row's own amounts (``keys``: the source
    key of each of ``rejected``)."""
    names = [m.name for m in spec.reconcile.measures]
    totals: dict[str, list[Decimal]] = {}
    each: dict[tuple[str, str], list[tuple[Decimal, ...]]] = {}
    for i, (reason, (_, amounts)) in enumerate(zip(reasons, rejected, strict=True)):
        acc = totals.setdefault(reason, [Decimal(0)] * len(names))
        for j, v in enumerate(amounts):
            acc[j] += v
        if keys is not None:
            each.setdefault((reason, keys[i]), []).append(tuple(amounts))
    return tuple(
        replace(
            g,
            amounts=tuple(zip(names, totals.get(g.reason, [Decimal(0)] * len(names)), strict=True)),
            sample_amounts=_sample_amounts(g, each),
        )
        for g in groups
    )


def _sample_amounts(
    g: RejectGroup, each: dict[tuple[str, str], list[tuple[Decimal, ...]]]
) -> tuple[tuple[Decimal, ...], ...]:
    """The amounts of the group's sample rows, in order; none at all when one of them was
    not attributed (no amount shown rather than a guessed one)."""
    out = []
    for key, _, _ in g.sample:
        found = each.get((g.reason, key))
        if not found:
            return ()
        out.append(found.pop(0) if len(found) > 1 else found[0])
    return tuple(out)


def _identities(
    project: Project,
    name: str,
    plan: SourcePlan,
    src: Totals,
    stg: Totals,
    exact: Exact,
    rejected: list[Amounts],
    filtered: list[Amounts],
) -> list[MeasureIdentity]:
    spec = project.spec(name)
    files = {n: c.path.name for n, c in project.crosswalks.items()}
    out = []
    for i, m in enumerate(spec.reconcile.measures):
        rule = plan.rules[i] + exact.rule(i)
        for g in spec.reconcile.grains:
            if m.name in g.measures:
                rule += "; " + grain_rule(g, files)
        out.append(
            MeasureIdentity(
                measure=m.name,
                source_rule=rule,
                target_column=m.target_column,
                source=cents_to_decimal(src.cents[i]) + exact.finer_total(i),
                staged=cents_to_decimal(stg.cents[i]),
                rejected=sum((a[i] for _, a in rejected), Decimal(0)),
                filtered=sum((a[i] for _, a in filtered), Decimal(0)),
                tolerance=Decimal(m.tolerance),
                unreadable=exact.unreadable_count(i),
                unreadable_rows=exact.unreadable_rows(i),
                **_rounding(exact, i),
            )
        )
    return out


def _rounding(exact: Exact, i: int) -> dict[str, Any]:
    """The rounding line's figures, under a rounding policy (nothing without one)."""
    reading = exact.reading(i)
    if reading.rounding is None:
        return {}
    rows = len(exact.rounded_rows(i))
    return {
        "rounding_rule": reading.words(),
        "rounded_rows": rows,
        "rounding_expected": exact.rounding(i),
        "rounding_bound": rows * reading.bound_per_row(),
    }
