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
from dataclasses import dataclass, replace
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
from migrate.targets.pack import PACKS

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
    written: list[Path] = []
    try:
        manifest = new_manifest(run_id, fmt, run.mode, redact(run.url))
        job = Job(run, out, tables, manifest, written, say or (lambda _line: None), personal or {})
        if fmt == "fbdi":
            _fbdi(job, layouts)
        else:
            _csv(job, lineage)
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


@dataclass(frozen=True)
class Job:
    """One export under way: the run, the folder, what was asked, and what it has written
    (``written``: every path made, removed again if the export fails)."""

    run: StagedRun
    out: Path
    tables: list[str] | None
    manifest: dict[str, Any]
    written: list[Path]
    tell: Say
    masks: dict[str, dict[str, str]]  # table -> {column: kind}, "*" for every table

    def personal(self, table: str) -> dict[str, str]:
        return self.masks.get(table, self.masks.get("*", {}))


def _fbdi(job: Job, folders: Path | None) -> None:
    """One ZIP per import object; its fields from the pack, or from ``folders``' layouts."""
    run, manifest = job.run, job.manifest
    objects = fbdi.objects_for(job.tables)
    layouts = {  # every layout readable before any file is written
        table: fbdi.load_layout(folders, table) if folders else fbdi.pack_layout(table)
        for obj in objects
        for table in obj.tables
    }
    manifest["layout_source"] = "files" if folders else "pack"
    for obj in objects:
        counts = {t: run.count(t) for t in obj.tables}
        if not any(counts.values()):
            job.tell(
                f"{obj.zip_name}: no rows of run {run.run_id} in {', '.join(obj.tables)}; "
                "not written"
            )
            continue
        entries = []
        path = job.out / obj.zip_name
        part = path.with_name(path.name + ".part")
        job.written.append(part)
        with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
            for table, member in obj.members:
                layout = layouts[table]
                _record_layout(manifest, layout)
                staged = run.table(table)
                columns = data_columns(staged)
                ds = fbdi.fbdi_dataset(staged, layout, member, columns)
                ds = replace(ds, personal=job.personal(table))
                job.tell(f"{obj.zip_name} {member}: {counts[table]:,} rows ...")
                info = zipfile.ZipInfo(member, date_time=FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with zf.open(info, "w") as sink:
                    done = write_dataset(ds, run.rows(table, columns), sink, _progress(job.tell))
                _check(done)
                entries.append(_entry(ds, done, layout.file))
        job.written.append(path)
        part.replace(path)
        manifest["files"].append(_file(path, entries))
        job.tell(f"wrote {path} ({sum(e['rows'] for e in entries):,} rows)")
    if not job.tables:
        held = {t for o in fbdi.fbdi_objects() for t in o.tables}
        others = [t for t in run.tables_with_rows() if t not in held]
        if others:
            job.tell(f"not in FBDI (no layout; --format csv exports them): {', '.join(others)}")
    _require_files(manifest, run)


def _record_layout(manifest: dict[str, Any], layout: fbdi.Layout) -> None:
    """The manifest names the vendor layout each file follows, with its SHA-256, and where
    it was read: the layout file's path, or (``path`` null) the pack file made from it."""
    known: dict[str, Any] = {"path": None, "sha256": layout.sha256}
    if layout.path is not None:
        known["path"] = str(layout.path.resolve())
    if layout.pack_file is not None:
        relative = layout.pack_file.relative_to(PACKS).as_posix()
        known["pack_file"] = relative
        manifest.setdefault("pack", {})[relative] = {
            "path": str(layout.pack_file),
            "sha256": hashlib.sha256(layout.pack_file.read_bytes()).hexdigest(),
        }
    manifest["layouts"][layout.file] = known


def _require_files(manifest: dict[str, Any], run: StagedRun) -> None:
    if not manifest["files"]:
        with_rows = ", ".join(run.tables_with_rows()) or "none"
        raise ConfigError(
            f"run {run.run_id} staged no rows an FBDI import object holds (its tables with "
            f"rows: {with_rows}); --format csv exports any table"
        )


def _csv(job: Job, lineage: bool) -> None:
    """One CSV with a header per table holding rows of the run (or per ``--table``)."""
    run = job.run
    names = [run.known(t) for t in job.tables] if job.tables else run.tables_with_rows()
    for name in names:
        staged = run.table(name)
        columns = data_columns(staged, lineage)
        ds = replace(csv_dataset(staged, columns), personal=job.personal(name))
        path = job.out / ds.name
        part = path.with_name(path.name + ".part")
        job.written.append(part)
        job.tell(f"{ds.name}: {run.count(name):,} rows ...")
        with part.open("wb") as sink:
            done = write_dataset(ds, run.rows(name, columns), sink, _progress(job.tell))
        _check(done)
        job.written.append(path)
        part.replace(path)
        job.manifest["files"].append(_file(path, [_entry(ds, done, None)]))
        job.tell(f"wrote {path} ({done.rows:,} rows)")


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
