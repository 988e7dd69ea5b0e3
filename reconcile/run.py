"""``migrate reconcile``: prove a staged run against the legacy systems, write the evidence.

:func:`reconcile_run` reads the legacy databases (read-only engines) and the run's staging
itself and returns the frozen report; :func:`reconcile_command` keeps it as the run's next
numbered reconciliation (its own workbook, JSON and differences CSV, never overwriting an
earlier one: ``reconcile/reports/history.py``), records it, and returns the exit code
(:data:`EXIT_CODES`: 0 PASS, 3 EXCEPTIONS, 1 FAIL; 2 when the run cannot be reconciled) so a
CI job or a flow stops unless the reconciliation passes.

A run is reconciled for the entities it was started with (``migrate run --entity X`` stages
only X: the others are not part of its claim), or for the ones named with ``--entity``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from difflib import get_close_matches
from pathlib import Path

from sqlalchemy import Engine, MetaData, select

from migrate.config import Settings, redact
from migrate.db import readonly_engine, writable_engine
from migrate.errors import ConfigError, RunStateError
from migrate.extract.files import origins
from migrate.progress import ReconcileProgress
from migrate.reach import connection_cause
from migrate.runs import records as runs
from migrate.runs.locate import staging_target
from migrate.spec.loader import Project, load_project
from migrate.spec.model import EntitySpec
from migrate.staging.create import refuse_old_lineage
from migrate.staging.tables import build_metadata
from reconcile.interrupt import interruptible, watch
from reconcile.proving.claims import changed_mapping, refuse_missing_mappings, unclaimed_rows
from reconcile.proving.crossrules import check_cross_rules
from reconcile.proving.entity import reconcile_entity
from reconcile.proving.variants import reconcile_variants
from reconcile.reading.sources import plan_source
from reconcile.reading.sqltext import install_functions
from reconcile.reading.staging_side import Staging
from reconcile.report import (
    EXCEPTIONS,
    FAIL,
    PASS,
    EntityReconciliation,
    MeasureIdentity,
    Reconciliation,
    RunFacts,
)


def locate_run(settings: Settings, run_id: str | None) -> tuple[str, str | None, str]:
    """(staging URL, schema, run id): the latest full-staging run when no id is given."""
    modes = ("full",) if run_id is None else ("full", "rehearsal")
    for mode in modes:
        url, schema = staging_target(settings, mode)
        engine, md = writable_engine(url), build_metadata(schema)
        try:
            found = runs.latest_run(engine, md) if run_id is None else run_id
            info = runs.get_run(engine, md, found) if found is not None else None
        except Exception as exc:  # noqa: BLE001 - a staging without the run (or without tables)
            if connection_cause(exc) is not None:
                raise  # a server that cannot be reached is not "no run to reconcile"
            continue
        finally:
            engine.dispose()
        if info is None:
            continue
        if info.status == "rolled_back":  # a FAIL workbook of everything missing says less
            raise RunStateError(f"run {info.run_id} was rolled back: nothing of it is staged")
        return url, schema, info.run_id
    raise RunStateError(f"unknown run id {run_id!r}" if run_id else "no run to reconcile")


EXIT_CODES = {PASS: 0, FAIL: 1, EXCEPTIONS: 3}
PROGRESS_SECONDS = 10.0  # while an entity runs, a progress line this often
Finished = Callable[[EntityReconciliation, float], None]


def run_entities(
    project: Project, mapping_hashes: dict[str, str], only: list[str] | None = None
) -> list[str]:
    """The entities a run's reconciliation covers, in dependency order: those the run was
    started with (its recorded mappings), narrowed to ``only`` when given."""
    refuse_missing_mappings(project, mapping_hashes)
    started = [n for n in project.order if project.entities[n].display in mapping_hashes]
    if not only:
        return started
    for name in only:
        if name not in project.entities:
            near = get_close_matches(name, list(project.entities), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(f"--entity {name}: no such entity in the mappings{hint}")
        if name not in started:
            raise ConfigError(
                f"--entity {name}: the run did not stage it (its entities: {', '.join(started)})"
            )
    return [n for n in started if n in only]


def reconcile_run(
    settings: Settings,
    project: Project,
    run_id: str,
    only: list[str] | None = None,
    finished: Finished | None = None,
    reconciled_at: str | None = None,
    progress: ReconcileProgress | None = None,
) -> Reconciliation:
    """Reconcile the entities the run staged (or ``only`` those); ``finished`` is told of
    each entity as it is done, with the seconds it took, and ``progress`` of each entity it
    starts and ends (for its lines while one runs). ``reconciled_at`` (ISO text, default
    now) is an input like the data: the same inputs give a byte-identical workbook."""
    origins.remember(project)  # a copybook's path is relative to its mapping's folder
    url, schema, run_id = locate_run(settings, run_id)
    staging = writable_engine(url)
    install_functions(staging)
    watch(staging)
    legacy: dict[str, Engine] = {}
    try:
        st = Staging(staging, schema, run_id)
        md = build_metadata(schema)
        with staging.connect() as conn:
            refuse_old_lineage(conn, md)
        info = runs.get_run(staging, md, run_id)
        chosen = run_entities(project, info.mapping_hashes, only)
        staged = run_entities(project, info.mapping_hashes)
        unclaimed = unclaimed_rows(st, project, staged)
        if progress is not None:  # the rows the run read: known before anything is read
            read = runs.entity_totals(staging, md, run_id)
            progress.begin({n: int(read.get(n, {}).get("rows_in", 0)) for n in chosen})

        def legacy_for(spec: EntitySpec) -> Engine | None:
            if spec.source.file is not None:
                return None
            if spec.source.system not in legacy:
                legacy[spec.source.system] = _legacy(settings, spec.source.system)
            return legacy[spec.source.system]

        entities = []
        for name in chosen:
            began = time.monotonic()
            if progress is not None:
                progress.started(name)
            spec = project.spec(name)
            engine = legacy_for(spec)
            if spec.variants is not None:  # one legacy row, several staged rows
                e = reconcile_variants(project, name, st, engine, settings.workdir)
            else:
                plan = plan_source(spec, engine, settings.workdir)
                e = reconcile_entity(project, name, plan, st, engine, settings.workdir)
            problems = [changed_mapping(project, name, info.mapping_hashes)]
            problems += _unclaimed_for(name, spec.target.table, chosen, project, unclaimed)
            across = check_cross_rules(project, spec, st, legacy_for, settings.workdir, staged)
            entities.append(
                replace(e, problems=tuple(p for p in problems if p), rules=e.rules + tuple(across))
            )
            if progress is not None:
                progress.finished(name, entities[-1].source_rows)
            if finished is not None:
                finished(entities[-1], time.monotonic() - began)
        facts = _facts(staging, build_metadata(schema), run_id, url, schema, reconciled_at)
    finally:
        if progress is not None:
            progress.close()
        staging.dispose()
        for engine in legacy.values():
            engine.dispose()
    return Reconciliation(facts, tuple(entities))


def _unclaimed_for(
    name: str, table: str, chosen: list[str], project: Project, unclaimed: dict[str, list[str]]
) -> list[str]:
    """Rows of the run no entity of it claims, reported by the first reconciled entity of
    their table (or by the first reconciled entity, for a table none of them fills)."""
    mine = [t for t in unclaimed if project.spec(name).target.table == t]
    orphans = [t for t in unclaimed if all(project.spec(n).target.table != t for n in chosen)]
    first_here = next(n for n in chosen if project.spec(n).target.table == table) == name
    tables = (mine if first_here else []) + (orphans if name == chosen[0] else [])
    return [
        f"{line}: staged by the run, claimed by none of its entities"
        for t in tables
        for line in unclaimed[t]
    ]


def _legacy(settings: Settings, system: str) -> Engine:
    engine = readonly_engine(settings.url(system))
    install_functions(engine)
    watch(engine)
    return engine


def _facts(
    engine: Engine,
    md: MetaData,
    run_id: str,
    url: str,
    schema: str | None,
    reconciled_at: str | None = None,
) -> RunFacts:
    info = runs.get_run(engine, md, run_id)
    table = md.tables[f"{schema}.MIG_RUNS" if schema else "MIG_RUNS"]
    with engine.connect() as conn:
        identity = conn.execute(
            select(table.c.SOURCE_IDENTITY).where(table.c.RUN_ID == run_id)
        ).scalar()
    source = {k: v for k, v in json.loads(identity or "{}").items() if k != "staging"}
    return RunFacts(
        run_id=run_id,
        mode=info.mode,
        started_at=info.started_at.isoformat(timespec="seconds"),
        ended_at=info.ended_at.isoformat(timespec="seconds") if info.ended_at else None,
        started_by=info.started_by,
        mapping_hashes=info.mapping_hashes,
        source_identity={k: redact(str(v)) for k, v in source.items()},
        staging_identity=redact(url) + (f" (schema {schema})" if schema else ""),
        reconciled_at=reconciled_at or datetime.now(UTC).isoformat(timespec="seconds"),
    )


SHOWN_EXCEPTIONS = 4


def print_entity(e: EntityReconciliation, seconds: float) -> None:
    """One line per finished entity, as it finishes: verdict, identity, time and rate, what
    fails; under it the first problems, or the exceptions finance must accept."""
    rate = f", {e.source_rows / seconds:,.0f} rows/s" if seconds > 0.05 else ""
    print(
        f"    {e.status:<10} {e.entity:<22} rows {e.source_rows:>7,} = {e.staged_rows:,} staged"
        f" + {e.rejected_rows:,} rejected + {e.filtered_rows:,} filtered"
        f"  ({seconds:.1f} s{rate}){_problems(e)}",
        flush=True,
    )
    lines = _first_problems(e) if e.failures else e.exceptions[:SHOWN_EXCEPTIONS]
    if not e.failures and len(e.exceptions) > SHOWN_EXCEPTIONS:
        lines.append(f"... {len(e.exceptions) - SHOWN_EXCEPTIONS} more on the Sign-off sheet")
    for line in lines:
        print(f"          {line}", flush=True)


def reconcile_command(
    settings: Settings,
    mappings: Path,
    run_id: str | None,
    output: str | None,
    only: list[str] | None = None,
    reconciled_at: str | None = None,
    quiet: bool = False,
    tick: float = PROGRESS_SECONDS,
) -> int:
    """Reconcile a run (default: the latest), keep the evidence as its next numbered
    reconciliation (``reconcile/reports/history.py``), print the verdict: a line per entity as it
    finishes and, every ``tick`` seconds while one runs, the rows, rate and time left
    (``quiet``: one line, the result)."""
    project = load_project(mappings)
    url, schema, run_id = locate_run(settings, run_id)
    if only:  # a misspelt or unstaged --entity: its one-line error first, and alone
        _check_selection(project, url, schema, run_id, only)
    if not quiet:
        print(f"    reconciling run {run_id}", flush=True)
    from reconcile.reports.history import record

    shown = None if quiet else print_entity
    with interruptible(), ReconcileProgress(interval=tick) as progress:  # Ctrl-C: stopped
        report = reconcile_run(  # within a second or two, nothing recorded
            settings, project, run_id, only, shown, reconciled_at, None if quiet else progress
        )
        _warn_changed_mappings(project, report)
        ev = record(settings, report, Path(output) if output else settings.artifacts, url, schema)
    if quiet:
        print(
            f"run {run_id}: {report.verdict}, reconciliation {ev.number}, workbook "
            f"{ev.workbook} (sha256 {ev.workbook_sha256})"
        )
        return EXIT_CODES[report.verdict]
    print(f"    verdict: {report.verdict} (run {run_id}){_verdict_words(report)}")
    print(f"    reconciliation {ev.number} of run {run_id}, kept with the earlier ones")
    print(f"    workbook: {ev.workbook}")
    print(f"    sha256:   {ev.workbook_sha256}")
    if ev.differences_rows:
        print(f"    all {ev.differences_rows:,} row difference(s): {ev.differences}")
    return EXIT_CODES[report.verdict]


def _check_selection(
    project: Project, url: str, schema: str | None, run_id: str, only: list[str]
) -> None:
    """Raise the selection's error (:func:`run_entities`) before anything is printed."""
    staging = readonly_engine(url)
    try:
        info = runs.get_run(staging, build_metadata(schema), run_id)
    finally:
        staging.dispose()
    run_entities(project, info.mapping_hashes, only)


def _verdict_words(report: Reconciliation) -> str:
    if not report.entities:
        return ": no entity reconciled, nothing is proved"
    if report.verdict == EXCEPTIONS:
        n = sum(len(e.exceptions) for e in report.entities)
        return f": totals hold, {n} exception(s) to accept on the Sign-off sheet before signing"
    return ""


def _problems(e: EntityReconciliation) -> str:
    if e.failures:
        return "  [" + "; ".join(e.failures) + "]"
    return f"  [{len(e.exceptions)} exception(s) to accept]" if e.exceptions else ""


SHOWN_DIFFERENCES = 3


def _rounding(m: MeasureIdentity) -> str:
    return (
        f"; rounding {m.rounding:,} staged vs {m.rounding_expected:,} restated "
        f"(bound {m.rounding_bound:,})"
    )


def _first_problems(e: EntityReconciliation) -> list[str]:
    """Which amounts and rows are off, so the terminal already says where to look: keys and
    columns only (values stay in the workbook, where personal data is masked)."""
    lines = [
        f"amount {m.measure}: difference {m.difference:,} (tolerance {m.tolerance:,})"
        + (_rounding(m) if m.rounding_rule else "")
        for m in e.measures
        if m.status == FAIL
    ]
    for m in e.measures:
        for key, value in m.unreadable_rows[:SHOWN_DIFFERENCES]:
            lines.append(f"amount {m.measure}: row {key} holds {value!r}, not an amount")
    for d in e.differences[:SHOWN_DIFFERENCES]:
        lines.append(f"{d.kind} row {d.source_key}" + (f": {d.column}" if d.column else ""))
    if e.differences_found > SHOWN_DIFFERENCES:
        more = e.differences_found - SHOWN_DIFFERENCES
        lines.append(f"... {more:,} more row difference(s): Differences sheet, differences CSV")
    return lines


def _warn_changed_mappings(project: Project, report: Reconciliation) -> None:
    now = project.mapping_hashes()
    changed = sorted(k for k, v in report.run.mapping_hashes.items() if now.get(k) != v)
    if changed:
        print(f"warning: mappings changed since the run: {', '.join(changed)}", file=sys.stderr)
