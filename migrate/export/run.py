"""``export_run``: a completed run's staged rows as FBDI ZIPs or generic CSVs, and a manifest.

Files are written under a temporary name and renamed once whole; a value the format cannot
carry fails the whole export (every such value listed, up to a limit, by file, row, key and
column) and no file of it is left behind. The folder must be new or empty, so files of two
exports never mix.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from migrate.config import Settings, redact
from migrate.errors import ConfigError, TerminalError
from migrate.export import fbdi
from migrate.export.csvout import csv_dataset
from migrate.export.manifest import (
    MANIFEST_NAME,
    ExportResult,
    new_manifest,
    record,
    write_manifest,
)
from migrate.export.rows import Dataset, Problem, Written, write_dataset
from migrate.export.staged import StagedRun, data_columns, find_run

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # ZIP members' time: two exports of one run, same bytes
Say = Callable[[str], None]


class ExportFailed(TerminalError):
    """Values the format cannot carry; nothing was written."""

    def __init__(self, problems: list[Problem], count: int) -> None:
        self.problems = problems
        self.count = count
        super().__init__(f"{count} value(s) the format cannot carry; no file written")


def export_run(
    settings: Settings,
    run_id: str,
    out: Path,
    fmt: str = "fbdi",
    tables: list[str] | None = None,
    layouts: Path | None = None,
    lineage: bool = False,
    say: Say | None = None,
    personal: dict[str, dict[str, str]] | None = None,
) -> ExportResult:
    """Write the files and the manifest; record the manifest in the audit log.

    ``personal``: table -> {column: kind} (``migrate.lineage.masking.target_personal``), so
    a value named in a failure is masked as everywhere outside staging."""
    if fmt not in ("fbdi", "csv"):
        raise ConfigError(f"--format {fmt}: one of fbdi, csv")
    if lineage and fmt == "fbdi":
        raise ConfigError("--lineage: an FBDI layout has no field for them (--format csv)")
    run = find_run(settings, run_id)
    try:
        created = _fresh(out)
    except BaseException:
        run.close()
        raise
    tell = say or (lambda _line: None)
    masks = personal or {}
    written: list[Path] = []
    try:
        manifest = new_manifest(run_id, fmt, run.mode, redact(run.url))
        if fmt == "fbdi":
            _fbdi(run, out, tables, layouts or fbdi.DEFAULT_LAYOUTS, manifest, written, tell, masks)
        else:
            _csv(run, out, tables, lineage, manifest, written, tell, masks)
        manifest["lineage_columns"] = lineage and fmt == "csv"
        written.append(out / MANIFEST_NAME)
        result = write_manifest(out, manifest)
        record(settings, result)  # an export the audit log does not hold is not kept
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if created and not any(out.iterdir()):
            out.rmdir()
        raise
    finally:
        run.close()
    return result


def _fresh(out: Path) -> bool:
    """Make ``out`` (True when it was made here); an existing one must be an empty folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out}: not an empty folder (export into a new one)")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    return created


def _fbdi(
    run: StagedRun,
    out: Path,
    tables: list[str] | None,
    folder: Path,
    manifest: dict[str, Any],
    written: list[Path],
    tell: Say,
    masks: dict[str, dict[str, str]],
) -> None:
    objects = fbdi.objects_for(tables)
    for obj in objects:
        for table in obj.tables:  # every layout readable before any file is written
            fbdi.load_layout(folder, table)
    for obj in objects:
        counts = {t: run.count(t) for t in obj.tables}
        if not any(counts.values()):
            tell(
                f"{obj.zip_name}: no rows of run {run.run_id} in {', '.join(obj.tables)}; "
                "not written"
            )
            continue
        entries = []
        path = out / obj.zip_name
        part = path.with_name(path.name + ".part")
        written.append(part)
        with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
            for table, member in obj.members:
                layout = fbdi.load_layout(folder, table)
                manifest["layouts"][layout.path.name] = {
                    "path": str(layout.path.resolve()),
                    "sha256": layout.sha256,
                }
                staged = run.table(table)
                columns = data_columns(staged)
                ds = fbdi.fbdi_dataset(staged, layout, member, columns)
                ds = replace(ds, personal=masks.get(table, masks.get("*", {})))
                tell(f"{obj.zip_name} {member}: {counts[table]:,} rows ...")
                info = zipfile.ZipInfo(member, date_time=FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with zf.open(info, "w") as sink:
                    done = write_dataset(ds, run.rows(table, columns), sink, _progress(tell))
                _check(done)
                entries.append(_entry(ds, done, layout.path.name))
        written.append(path)
        part.replace(path)
        manifest["files"].append(_file(path, entries))
        tell(f"wrote {path} ({sum(e['rows'] for e in entries):,} rows)")
    if tables:
        _require_files(manifest, run)
        return
    held = {t for o in fbdi.FBDI_OBJECTS for t in o.tables}
    others = [t for t in run.tables_with_rows() if t not in held]
    if others:
        tell(f"not in FBDI (no layout; --format csv exports them): {', '.join(others)}")
    _require_files(manifest, run)


def _require_files(manifest: dict[str, Any], run: StagedRun) -> None:
    if not manifest["files"]:
        with_rows = ", ".join(run.tables_with_rows()) or "none"
        raise ConfigError(
            f"run {run.run_id} staged no rows an FBDI import object holds (its tables with "
            f"rows: {with_rows}); --format csv exports any table"
        )


def _csv(
    run: StagedRun,
    out: Path,
    tables: list[str] | None,
    lineage: bool,
    manifest: dict[str, Any],
    written: list[Path],
    tell: Say,
    masks: dict[str, dict[str, str]],
) -> None:
    names = [run.known(t) for t in tables] if tables else run.tables_with_rows()
    for name in names:
        staged = run.table(name)
        columns = data_columns(staged, lineage)
        ds = replace(csv_dataset(staged, columns), personal=masks.get(name, masks.get("*", {})))
        path = out / ds.name
        part = path.with_name(path.name + ".part")
        written.append(part)
        tell(f"{ds.name}: {run.count(name):,} rows ...")
        with part.open("wb") as sink:
            done = write_dataset(ds, run.rows(name, columns), sink, _progress(tell))
        _check(done)
        written.append(path)
        part.replace(path)
        manifest["files"].append(_file(path, [_entry(ds, done, None)]))
        tell(f"wrote {path} ({done.rows:,} rows)")


def _progress(tell: Say) -> Callable[[str, int], None]:
    return lambda name, rows: tell(f"  {name}: {rows:,} rows written")


def _check(done: Written) -> None:
    if done.problem_count:
        raise ExportFailed(done.problems, done.problem_count)


def _entry(ds: Dataset, done: Written, layout: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": ds.name,
        "table": ds.table,
        "rows": done.rows,
        "sha256": done.sha256,
        "bytes": done.bytes,
        "header": ds.header is not None,
        "width": len(ds.fields),
        "fields": [[i, f.name] for i, f in enumerate(ds.fields, start=1) if f is not None],
        "totals": {c: format(v, "f") for c, v in done.totals.items()},
        "left_out": done.left_out,
    }
    if layout is not None:
        entry["layout"] = layout
    return entry


def _file(path: Path, datasets: list[dict[str, Any]]) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {
        "file": path.name,
        "sha256": digest.hexdigest(),
        "bytes": path.stat().st_size,
        "datasets": datasets,
    }
