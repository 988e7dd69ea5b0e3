"""``migrate reconcile``: prove a staged run against the legacy systems, write the evidence.

:func:`reconcile_run` reads the legacy databases (read-only engines) and the run's staging
itself and returns the frozen report; :func:`reconcile_command` writes the workbook and the
JSON, records the verdict and the workbook's SHA-256 with the run, and returns the exit code
(0 on PASS, 1 on FAIL) so a CI job or a flow fails when the reconciliation fails.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, MetaData, select

from migrate import runs
from migrate.config import Settings, redact
from migrate.db import readonly_engine, writable_engine
from migrate.errors import RunStateError
from migrate.runner import staging_target
from migrate.spec.loader import Project, load_project
from migrate.staging.tables import build_metadata
from reconcile.entity import reconcile_entity
from reconcile.report import EntityReconciliation, Reconciliation, RunFacts
from reconcile.sources import plan_source
from reconcile.sqltext import install_functions
from reconcile.staging_side import Staging


def locate_run(settings: Settings, run_id: str | None) -> tuple[str, str | None, str]:
    """(staging URL, schema, run id): the latest full-staging run when no id is given."""
    modes = ("full",) if run_id is None else ("full", "rehearsal")
    for mode in modes:
        url, schema = staging_target(settings, mode)
        engine, md = writable_engine(url), build_metadata(schema)
        try:
            found = runs.latest_run(engine, md) if run_id is None else run_id
            info = runs.get_run(engine, md, found) if found is not None else None
        except Exception:  # noqa: BLE001 - a staging without the run (or without tables)
            continue
        finally:
            engine.dispose()
        if info is None:
            continue
        if info.status == "rolled_back":  # a FAIL workbook of everything missing says less
            raise RunStateError(f"run {info.run_id} was rolled back: nothing of it is staged")
        return url, schema, info.run_id
    raise RunStateError(f"unknown run id {run_id!r}" if run_id else "no run to reconcile")


def reconcile_run(settings: Settings, project: Project, run_id: str) -> Reconciliation:
    """Reconcile every entity of the project for one staged run."""
    url, schema, run_id = locate_run(settings, run_id)
    staging = writable_engine(url)
    install_functions(staging)
    legacy: dict[str, Engine] = {}
    try:
        st = Staging(staging, schema, run_id)
        entities = []
        for name in project.order:
            spec = project.spec(name)
            engine = None
            if spec.source.file is None:
                engine = legacy.get(spec.source.system) or _legacy(settings, spec.source.system)
                legacy[spec.source.system] = engine
            plan = plan_source(spec, engine, settings.workdir)
            entities.append(reconcile_entity(project, name, plan, st, engine, settings.workdir))
        facts = _facts(staging, build_metadata(schema), run_id, url, schema)
    finally:
        staging.dispose()
        for engine in legacy.values():
            engine.dispose()
    return Reconciliation(facts, tuple(entities))


def _legacy(settings: Settings, system: str) -> Engine:
    engine = readonly_engine(settings.url(system))
    install_functions(engine)
    return engine


def _facts(engine: Engine, md: MetaData, run_id: str, url: str, schema: str | None) -> RunFacts:
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
        reconciled_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def write_reports(report: Reconciliation, folder: Path) -> tuple[Path, str | None]:
    """Workbook (when the workbook module is present) and JSON; returns (path, sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"reconciliation_{report.run.run_id}"
    from reconcile.report_json import write_json

    write_json(report, stem.with_suffix(".json"))
    try:
        from reconcile.workbook import write_workbook
    except ImportError:  # the workbook module is optional; the JSON carries the same content
        return stem.with_suffix(".json"), None
    return stem.with_suffix(".xlsx"), write_workbook(report, stem.with_suffix(".xlsx"))


def reconcile_command(
    settings: Settings, mappings: Path, run_id: str | None, output: str | None
) -> int:
    """Reconcile a run (default: the latest), write the evidence, print the verdict."""
    project = load_project(mappings)
    url, schema, run_id = locate_run(settings, run_id)
    report = reconcile_run(settings, project, run_id)
    _warn_changed_mappings(project, report)
    for e in report.entities:
        gaps = sum(m.status == "FAIL" for m in e.measures)
        print(
            f"    {e.status}  {e.entity:<22} rows {e.source_rows:>7,} = {e.staged_rows:,} staged"
            f" + {e.rejected_rows:,} rejected + {e.filtered_rows:,} filtered"
            f"{_problems(gaps, e)}"
        )
        for line in _first_problems(e):
            print(f"          {line}")
    folder = Path(output) if output else settings.artifacts
    path, digest = write_reports(report, folder)
    engine = writable_engine(url)
    try:
        runs.set_run(
            engine, build_metadata(schema), run_id, VERDICT=report.verdict, WORKBOOK_SHA256=digest
        )
    finally:
        engine.dispose()
    from migrate.audit import record_reconciliation

    record_reconciliation(settings, run_id, report.verdict, digest or "")
    print(f"    verdict: {report.verdict} (run {run_id})")
    print(f"    workbook: {path}")
    print(f"    sha256:   {digest}")
    return 0 if report.verdict == "PASS" else 1


def _problems(gaps: int, e: EntityReconciliation) -> str:
    parts = []
    if e.count_difference:
        parts.append(f"{e.count_difference:+,} rows unaccounted")
    if gaps:
        parts.append(f"{gaps} amount gap(s)")
    if off := sum(g.status == "FAIL" for g in e.grains):
        parts.append(f"{off} grain row(s) off")
    if e.differences:
        parts.append(f"{len(e.differences)} row difference(s)")
    if broken := sum(r.violations for r in e.rules):
        parts.append(f"{broken} rule violation(s)")
    return ("  [" + "; ".join(parts) + "]") if parts else ""


SHOWN_DIFFERENCES = 3


def _first_problems(e: EntityReconciliation) -> list[str]:
    """Which amounts and rows are off, so the terminal already says where to look: keys and
    columns only (values stay in the workbook, where personal data is masked)."""
    lines = [
        f"amount {m.measure}: difference {m.difference:,} (tolerance {m.tolerance:,})"
        for m in e.measures
        if m.status == "FAIL"
    ]
    for d in e.differences[:SHOWN_DIFFERENCES]:
        lines.append(f"{d.kind} row {d.source_key}" + (f": {d.column}" if d.column else ""))
    if len(e.differences) > SHOWN_DIFFERENCES:
        more = len(e.differences) - SHOWN_DIFFERENCES
        lines.append(f"... {more:,} more row difference(s) on the Differences sheet")
    return lines


def _warn_changed_mappings(project: Project, report: Reconciliation) -> None:
    now = project.mapping_hashes()
    changed = sorted(k for k, v in report.run.mapping_hashes.items() if now.get(k) != v)
    if changed:
        print(f"warning: mappings changed since the run: {', '.join(changed)}", file=sys.stderr)
