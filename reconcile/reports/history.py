"""Keeping every reconciliation: numbered files that are never replaced, and their record.

A sign-off approves one reconciliation's workbook, so a later ``migrate reconcile`` of the
same run must neither overwrite that file nor change what the record says it was. Each
reconciliation of a run gets the next number (1, 2, ...) and its own workbook, JSON and
differences CSV, ``reconciliation_<run>_<n>.xlsx`` and so on, each created only if no such
file exists; their SHA-256s go into ``MIG_RECONCILIATIONS`` and the audit log. ``MIG_RUNS``
keeps the latest verdict and workbook hash for the readers that only want those.
"""

from __future__ import annotations

import getpass
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, MetaData
from sqlalchemy.exc import IntegrityError

from migrate.audit import log as audit
from migrate.config import Settings
from migrate.db import writable_engine
from migrate.errors import RunStateError
from migrate.runs import records as runs
from migrate.signoff import reconciliations
from migrate.signoff.reconciliations import Reconciled
from migrate.staging.tables import build_metadata
from reconcile.interrupt import deferred, unwritten_if_interrupted
from reconcile.proving.differences import write_differences_csv
from reconcile.report import Reconciliation
from reconcile.reports.report_json import write_json
from reconcile.reports.workbook import write_workbook

SUFFIXES = (".xlsx", ".json", "_differences.csv")


@dataclass(frozen=True)
class Evidence:
    """The files of one reconciliation and their SHA-256s."""

    number: int
    workbook: Path
    workbook_sha256: str
    json: Path
    json_sha256: str
    differences: Path
    differences_sha256: str
    differences_rows: int


def stem(folder: Path, run_id: str, number: int) -> Path:
    return folder / f"reconciliation_{run_id}_{number}"


def free_number(folder: Path, run_id: str, start: int) -> int:
    """The first number from ``start`` whose files are all absent from ``folder``."""
    n = start
    while any(Path(f"{stem(folder, run_id, n)}{s}").exists() for s in SUFFIXES):
        n += 1
    return n


def write_reports(report: Reconciliation, folder: Path, number: int) -> Evidence:
    """The differences CSV, then the workbook (which names the CSV by its hash) and the
    JSON, each a new file: an existing file is an error, never overwritten."""
    folder.mkdir(parents=True, exist_ok=True)
    base = stem(folder, report.run.run_id, number)
    csv_path = Path(f"{base}_differences.csv")
    diffs = write_differences_csv(report, csv_path)
    workbook = base.with_suffix(".xlsx")
    sha = write_workbook(report, workbook, differences=diffs)
    named = {"name": csv_path.name, "sha256": diffs.sha256, "rows": diffs.rows}
    data = write_json(report, base.with_suffix(".json"), named)
    return Evidence(
        number, workbook, sha, base.with_suffix(".json"), hashlib.sha256(data).hexdigest(),
        csv_path, diffs.sha256, diffs.rows,
    )  # fmt: skip


def record(
    settings: Settings, report: Reconciliation, folder: Path, url: str, schema: str | None
) -> Evidence:
    """Write the reconciliation's files under its new number and record it: in
    ``MIG_RECONCILIATIONS``, as the run's latest (``MIG_RUNS``) and in the audit log."""
    run_id = report.run.run_id
    engine, md = writable_engine(url), build_metadata(schema)
    try:
        reconciliations.ensure_tables(engine, md)
        with engine.connect() as conn:
            number = free_number(folder, run_id, reconciliations.next_number(conn, md, run_id))
        from migrate.audit.anchors import stamped  # the files carry the audit log's head

        report = stamped(report, settings)
        # Ctrl-C while the files are written removes them; once they are, the record is
        # made whole (reconcile/interrupt.py): an interrupted reconcile records all or nothing
        with unwritten_if_interrupted(Path(f"{stem(folder, run_id, number)}{s}") for s in SUFFIXES):
            ev = write_reports(report, folder, number)
            with deferred():
                _record(settings, report, (engine, md), ev)
    finally:
        engine.dispose()
    return ev


def _record(
    settings: Settings, report: Reconciliation, staging: tuple[Engine, MetaData], ev: Evidence
) -> None:
    run_id, number, (engine, md) = report.run.run_id, ev.number, staging
    exceptions = sum(len(e.exceptions) for e in report.entities)
    row = Reconciled(
        run_id, number, report.verdict, report.run.reconciled_at, _user(),
        tuple(e.entity for e in report.entities), exceptions,
        str(ev.workbook), ev.workbook_sha256, str(ev.json), ev.json_sha256,
        str(ev.differences), ev.differences_sha256,
    )  # fmt: skip
    try:
        with engine.begin() as conn:
            reconciliations.add(conn, md, row)
    except IntegrityError:
        raise RunStateError(
            f"run {run_id}: reconciliation {number} was recorded meanwhile by another "
            f"reconcile; its files here are {ev.workbook.name} and beside it"
        ) from None
    runs.set_run(engine, md, run_id, VERDICT=report.verdict, WORKBOOK_SHA256=ev.workbook_sha256)
    audit.record_reconciliation(
        settings, run_id, report.verdict, ev.workbook_sha256, number=number,
        reconciled_at=report.run.reconciled_at, exceptions=exceptions,
        files={p.name: s for p, s in _files(ev)},
    )  # fmt: skip


def _files(ev: Evidence) -> list[tuple[Path, str]]:
    return [
        (ev.workbook, ev.workbook_sha256),
        (ev.json, ev.json_sha256),
        (ev.differences, ev.differences_sha256),
    ]


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return None
