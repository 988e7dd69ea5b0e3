"""Proof of an export: the files read back on their own, against staging and the manifest.

``migrate export verify FOLDER`` (:func:`verify_export`). Nothing of ``migrate.export`` is
used (invariant 3): each file is hashed and compared with the manifest, the manifest's own
SHA-256 with the ``export_written`` entry of the audit log, and every CSV is read with
Python's ``csv`` (an FBDI one through its layout file alone) to count rows, non-empty
values per column, money totals and digests of every value
(:mod:`reconcile.reading.exported_values`),
compared with what staging holds for the run (:mod:`reconcile.reading.exported_staging`) and with
what the manifest claims.

Verdict: FAIL when a file is missing or changed, or a count, total or value differs; NOT VERIFIED
when something cannot be read (a ZIP, a member, a layout, staging's table) or the manifest
is not the one recorded, with the reason: never PASS; EXCEPTIONS when staging holds values
in a column the file has no field for (the format leaves it out: each named, to accept);
PASS otherwise.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from migrate.audit import log as audit
from migrate.config import Settings
from migrate.db import readonly_engine
from migrate.errors import RunStateError
from migrate.staging.catalog import staging_table
from reconcile.reading.exported_files import (
    NoLayout,
    Unreadable,
    layout_columns,
    layout_hints,
    sha256_of,
    tally,
)
from reconcile.reading.exported_staging import (
    StagedTally,
    money_columns,
    staged_tables,
    staged_tally,
)
from reconcile.reading.exported_values import (
    Digests,
    declared_formats,
    layout_formats,
    staged_digests,
)
from reconcile.reports.exported_audit import (
    EXCEPTION,
    FAIL,
    UNVERIFIED,
    ExportReport,
    reconciled,
    recorded,
)
from reconcile.run import locate_run

MANIFEST = "export_manifest.json"


def verify_export(
    settings: Settings, folder: Path, record: bool = True, layouts: Path | None = None
) -> ExportReport:
    """Check every file the manifest lists; record the verdict in the audit log.

    ``layouts``: where the FBDI layout files are now (default: where the manifest says the
    export read them); each must hash as the manifest says. An export written from the
    shipped pack read no layout file: without ``layouts`` its FBDI files are NOT VERIFIED
    (the proof reads the vendor's layout, never the pack the exporter followed)."""
    report = ExportReport(folder)
    manifest, manifest_sha = _manifest(folder, report)
    if manifest is None:
        return report
    report.run_id = str(manifest.get("run_id"))
    if layouts is not None:
        for name, known in manifest.get("layouts", {}).items():
            if isinstance(known, dict):
                known.update(path=str(layouts / name), given=True)
    recorded(settings, manifest_sha, report)
    reconciled(settings, report)
    _check(settings, folder, manifest, report)
    if record:
        audit.append(
            settings,
            "export_verified",
            {
                "run_id": report.run_id,
                "folder": str(folder.resolve()),
                "manifest_sha256": manifest_sha,
                "verdict": report.verdict,
                "findings": len(report.findings),
            },
        )
    return report


def _check(
    settings: Settings, folder: Path, manifest: dict[str, Any], report: ExportReport
) -> None:
    """Every file the manifest lists against staging; then what the folder holds besides."""
    try:
        url, schema, _ = locate_run(settings, str(report.run_id))
    except RunStateError as exc:  # rolled back: staging holds none of these rows any more
        report.add(FAIL if "rolled back" in str(exc) else UNVERIFIED, str(exc))
        return
    engine = readonly_engine(url)
    try:
        side = Side(engine, schema, str(report.run_id))
        for entry in manifest.get("files", []):
            _file(folder, entry, manifest, report, side)
        carried = {str(d.get("table")) for e in manifest.get("files", []) for d in e.get(
            "datasets", [])}  # fmt: skip
        if behind := {t: n for t, n in staged_tables(engine, schema, str(report.run_id)).items()
                      if t not in carried}:  # fmt: skip
            report.notes.append(
                f"the run also staged {len(behind)} table(s) no file here carries: "
                + ", ".join(f"{t} ({n:,} rows)" for t, n in sorted(behind.items()))
                + "; this verdict says nothing of them"
            )
    finally:
        engine.dispose()
    listed = {e.get("file") for e in manifest.get("files", [])} | {MANIFEST}
    for extra in sorted(p.name for p in folder.iterdir() if p.name not in listed):
        report.add(EXCEPTION, f"{extra}: in the folder but not in the manifest (not verified)")


def _manifest(folder: Path, report: ExportReport) -> tuple[dict[str, Any] | None, str]:
    path = folder / MANIFEST
    if not folder.is_dir():
        report.add(UNVERIFIED, f"{folder}: no such folder")
        return None, ""
    if not path.is_file():
        report.add(UNVERIFIED, f"{path}: missing; without it nothing says what was exported")
        return None, ""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.add(UNVERIFIED, f"{path}: cannot be read ({exc})")
        return None, ""
    if not isinstance(manifest, dict) or "run_id" not in manifest:
        report.add(UNVERIFIED, f"{path}: not an export manifest (no run_id)")
        return None, ""
    return manifest, sha256_of(path)


@dataclass(frozen=True)
class Side:
    """Staging, as the proof reads it: the run's tally of a table, and its value digests."""

    engine: Engine
    schema: str | None
    run_id: str

    def tally(self, table: str) -> StagedTally:
        return staged_tally(self.engine, self.schema, table, self.run_id)

    def digests(self, table: str, compared: list[str], formats: dict[str, str]) -> Digests:
        return staged_digests(self.engine, self.schema, table, self.run_id, compared, formats)


Staged = Side


def _file(
    folder: Path,
    entry: dict[str, Any],
    manifest: dict[str, Any],
    report: ExportReport,
    staged_of: Staged,
) -> None:
    name = str(entry.get("file"))
    path = folder / name
    if not path.is_file():
        report.add(FAIL, f"{name}: missing (the manifest lists it)")
        return
    sha = sha256_of(path)
    if sha != entry.get("sha256"):
        report.add(
            FAIL,
            f"{name}: changed since the export (sha256 {sha[:12]}, the "
            f"manifest says {str(entry.get('sha256'))[:12]})",
        )
    datasets = list(entry.get("datasets", []))
    if not name.lower().endswith(".zip"):
        reported = sha if sha != entry.get("sha256") else None  # a plain CSV: its own bytes
        for d in datasets:
            with path.open("rb") as stream:
                _dataset(name, d, stream, manifest, report, staged_of, reported)
        return
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
            wanted = [str(d.get("name")) for d in datasets]
            for extra in sorted(set(members) - set(wanted)):
                report.add(FAIL, f"{name}: member {extra} is not in the manifest")
            for d in datasets:
                label = f"{name}/{d.get('name')}"
                if d.get("name") not in members:
                    report.add(FAIL, f"{label}: missing from the ZIP")
                    continue
                with zf.open(str(d.get("name"))) as stream:
                    _dataset(label, d, stream, manifest, report, staged_of)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        report.add(UNVERIFIED, f"{name}: cannot be read as a ZIP ({exc})")


def _columns(
    d: dict[str, Any], manifest: dict[str, Any]
) -> tuple[list[str | None] | None, dict[str, str]]:
    """The field names from the layout file (FBDI), or None: the CSV's own header; and the
    date and timestamp formats of the fields (the layout's hints, or ISO / declared)."""
    layout = d.get("layout")
    if layout is None:
        return None, declared_formats(str(d.get("table")))
    known = manifest.get("layouts", {}).get(layout)
    if not isinstance(known, dict) or not known.get("sha256"):
        raise Unreadable(f"the manifest names layout {layout} but not which (no sha256)")
    sha = str(known["sha256"])
    if not known.get("path"):  # written from the pack: the vendor's file is not at hand
        made = f" ({known['pack_file']})" if known.get("pack_file") else ""
        raise NoLayout(
            f"no vendor layout to read it with: the export followed the shipped pack{made}, "
            f"made from {layout} (sha256 {sha[:12]}); pass --layouts FOLDER holding that file"
        )
    path = Path(str(known["path"]))
    if not path.is_file():
        raise Unreadable(f"layout {path} is missing")
    found = sha256_of(path)
    if found != sha:
        if known.get("given"):
            raise NoLayout(
                f"layout {path} is not the layout the export followed (sha256 {found[:12]}, "
                f"the manifest says {sha[:12]})"
            )
        raise Unreadable(f"layout {path} changed since the export")
    return layout_columns(path), layout_formats(layout_hints(path))


def _dataset(
    label: str,
    d: dict[str, Any],
    stream: Any,
    manifest: dict[str, Any],
    report: ExportReport,
    staged_of: Staged,
    reported: str | None = None,
) -> None:
    """One CSV against staging and the manifest (``reported``: the file's SHA-256 already
    reported changed, when the CSV is the whole file)."""
    table = str(d.get("table"))
    try:
        columns, formats = _columns(d, manifest)
        names, got = tally(stream, columns, money_columns(table), lambda n: _compared(table, n))
    except NoLayout as exc:
        report.add(UNVERIFIED, f"{label}: {exc}")
        return
    except Unreadable as exc:
        report.add(UNVERIFIED, f"{label}: cannot be read ({exc})")
        return
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        report.add(UNVERIFIED, f"{label}: cannot be read from the ZIP ({exc})")
        return
    try:
        staged: StagedTally = staged_of.tally(table)
        digests = staged_of.digests(table, sorted(_compared(table, names)), formats)
    except LookupError as exc:
        report.add(UNVERIFIED, f"{label}: {exc}")
        return
    before = len(report.findings)
    if got.sha256 != d.get("sha256") and got.sha256 != reported:
        report.add(
            FAIL,
            f"{label}: its bytes changed since the export (sha256 "
            f"{got.sha256[:12]}, the manifest says {str(d.get('sha256'))[:12]})",
        )
    _compare(label, "rows", got.rows, staged.rows, d.get("rows"), report)
    present = [n for n in names if n]
    for name in present:
        if name not in staged.filled:
            if got.filled.get(name):
                report.add(
                    FAIL,
                    f"{label}: {name} holds {got.filled[name]:,} value(s); "
                    f"staging's {table} has no such column",
                )
            continue
        _compare(label, f"{name} values", got.filled[name], staged.filled[name], None, report)
    _compare_values(label, got.digests, digests, staged, report)
    claimed = d.get("totals", {})
    for column, total in sorted(got.totals.items()):
        _compare(
            label,
            f"{column} total",
            total,
            staged.totals.get(column),
            None if column not in claimed else _decimal(claimed[column]),
            report,
        )
    declared = d.get("left_out") or {}
    for column in sorted(set(staged.filled) - set(present) - staged.lineage):
        if staged.filled[column]:
            money = staged.totals.get(column)
            also = f", total {money:,}" if money is not None else ""
            said = column in declared  # the exporter said so: the format has no field
            report.add(
                EXCEPTION if said else FAIL,
                f"{label}: {table}.{column}: {staged.filled[column]:,} "
                f"staged value(s){also}, no field in the file ("
                + ("not exported)" if said else "lost: not declared left out in the manifest)"),
            )
    if all(level == EXCEPTION for level, _ in report.findings[before:]):
        sums = "; ".join(f"{c} {v:,}" for c, v in sorted(got.totals.items()))
        report.agreed.append(
            f"{label} {table}: {got.rows:,} rows"
            + (f"; {sums}" if sums else "")
            + " = staging = manifest"
        )


def _compare(
    label: str, what: str, got: Any, staged: Any, claimed: Any, report: ExportReport
) -> None:
    if got != staged:
        report.add(FAIL, f"{label}: {what} {got} in the file, {staged} in staging")
    if claimed is not None and got != claimed:
        report.add(FAIL, f"{label}: {what} {got} in the file, {claimed} in the manifest")


def _decimal(value: Any) -> Any:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return value


def _compared(table: str, names: list[str | None]) -> set[str]:
    """The file's columns staging has: those whose values are compared."""
    t = staging_table(table)
    return {n for n in names if n and t is not None and n in t.c}


def _compare_values(
    label: str, got: Digests, staged: Digests, tally: StagedTally, report: ExportReport
) -> None:
    """Same counts are not same values: the digests of each column and of whole rows."""
    names = set(got.columns) | set(staged.columns)
    differ = sorted(c for c in names if got.columns.get(c, 0) != staged.columns.get(c, 0))
    if differ:
        report.add(FAIL, f"{label}: the values of {', '.join(differ)} are not staging's")
    elif got.rows != staged.rows:
        report.add(
            FAIL,
            f"{label}: every column holds staging's values, but not in the same rows "
            "(values moved between rows)",
        )
