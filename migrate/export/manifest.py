"""The export's manifest: what each file holds, beside the files and in the audit log.

``export_manifest.json`` lists, per file, its SHA-256 and size, and per CSV in it (the file
itself, or each member of an FBDI ZIP) the table, the rows, the total of each money column,
the fields in order and the SHA-256 of its bytes; with the run id, the format and the layout
files (path and SHA-256) the files follow. The manifest's own SHA-256 goes into the audit
log (``export_written``), so a file changed and its manifest rewritten to match is still
caught: the log's hash chain holds the manifest that was written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from migrate.audit import log as audit
from migrate.config import Settings

MANIFEST_NAME = "export_manifest.json"
VERSION = 1


@dataclass(frozen=True)
class ExportResult:
    """Where the manifest is, its SHA-256 and what it says."""

    path: Path
    sha256: str
    manifest: dict[str, Any]


def write_manifest(folder: Path, manifest: dict[str, Any]) -> ExportResult:
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    path = folder / MANIFEST_NAME
    path.write_text(text, encoding="utf-8")
    return ExportResult(path, hashlib.sha256(text.encode("utf-8")).hexdigest(), manifest)


def new_manifest(run_id: str, fmt: str, mode: str, staging: str) -> dict[str, Any]:
    return {
        "manifest_version": VERSION,
        "run_id": run_id,
        "format": fmt,
        "staging": staging,
        "staging_mode": mode,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": [],
        "layouts": {},
    }


def record(settings: Settings, result: ExportResult) -> None:
    """One ``export_written`` entry: the run, the folder, the manifest's and files' hashes."""
    m = result.manifest
    audit.append(
        settings,
        "export_written",
        {
            "run_id": m["run_id"],
            "format": m["format"],
            "folder": str(result.path.parent.resolve()),
            "manifest_sha256": result.sha256,
            "files": {f["file"]: f["sha256"] for f in m["files"]},
            "rows": {d["table"]: d["rows"] for f in m["files"] for d in f["datasets"]},
        },
    )
