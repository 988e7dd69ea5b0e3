"""The report of an export's proof, and what the audit log says of it.

:class:`ExportReport` holds the findings and the verdict of ``migrate export verify``
(:mod:`reconcile.exported`). The audit log answers two questions here: was this manifest the
one an export recorded, in a log whose hash chain holds (:func:`recorded`), and what did the
run's own reconciliation (legacy against staging) say, which the files' PASS does not
(:func:`reconciled`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from migrate.audit import log as audit
from migrate.config import Settings

FAIL, UNVERIFIED, EXCEPTION = "FAIL", "NOT VERIFIED", "EXCEPTION"
ORDER = ("FAIL", "NOT VERIFIED", "EXCEPTIONS", "PASS")


@dataclass
class ExportReport:
    """Findings (level, text) and the lines that say what agreed."""

    folder: Path
    run_id: str | None = None
    agreed: list[str] = field(default_factory=list)
    findings: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown even with --quiet; no verdict

    def add(self, level: str, message: str) -> None:
        self.findings.append((level, message))

    @property
    def verdict(self) -> str:
        levels = {level for level, _ in self.findings}
        if FAIL in levels:
            return "FAIL"
        if UNVERIFIED in levels:
            return "NOT VERIFIED"
        return "EXCEPTIONS" if EXCEPTION in levels else "PASS"

    def lines(self) -> list[str]:
        shown = [
            *self.agreed,
            *(f"note: {text}" for text in self.notes),
            *(f"{level}: {text}" for level, text in self.findings),
        ]
        return [*shown, f"verdict: {self.verdict} ({self.folder}, run {self.run_id or '?'})"]


def recorded(settings: Settings, sha: str, report: ExportReport) -> None:
    """The manifest must be one the audit log recorded when it was written, in a log whose
    hash chain holds (a line edited to a new manifest's hash records nothing)."""
    log = audit.log_path(settings)
    written = [e for _, e in audit.read_entries(log) if e.get("kind") == "export_written"]
    if any(e.get("payload", {}).get("manifest_sha256") == sha for e in written):
        chain = audit.verify_chain(log)
        if not chain.ok:  # an entry edited in place: its record proves nothing
            report.add(
                UNVERIFIED,
                f"{log}: the hash chain is broken ({chain.problems[0]}"
                + (f", and {len(chain.problems) - 1} more" if len(chain.problems) > 1 else "")
                + "), so its record of this manifest cannot be trusted",
            )
            return
        report.agreed.append(f"manifest sha256 {sha[:12]}: as recorded in {log}")
        return
    same = [
        e for e in written if e.get("payload", {}).get("folder") == str(report.folder.resolve())
    ]
    if same:
        report.add(
            FAIL,
            f"manifest changed since the export (sha256 {sha[:12]}, audit log "
            f"seq {same[-1].get('seq')} recorded "
            f"{str(same[-1]['payload'].get('manifest_sha256'))[:12]})",
        )
    else:
        report.add(
            UNVERIFIED,
            f"no export_written entry of {log} records this manifest (sha256 {sha[:12]})",
        )


def reconciled(settings: Settings, report: ExportReport) -> None:
    """What the audit log says of the run's own reconciliation (legacy against staging):
    export verify proves the files against staging only, so a PASS here says nothing of a
    run whose reconciliation failed, and the line says so where the verdict is read."""
    verdicts = [
        e.get("payload", {})
        for _, e in audit.read_entries(audit.log_path(settings))
        if e.get("kind") == "reconciliation_verdict"
        and e.get("payload", {}).get("run_id") == report.run_id
    ]
    if not verdicts:
        report.notes.append(
            f"run {report.run_id} has no reconciliation recorded: these files are proven "
            "against staging only; reconcile the run (migrate reconcile) before loading them"
        )
        return
    last = verdicts[-1]
    n = last.get("reconciliation")
    which = f"reconciliation {n}" if n is not None else "its last reconciliation"
    verdict = str(last.get("verdict"))
    tail = "" if verdict == "PASS" else " (staging against the legacy: see its workbook)"
    report.notes.append(f"run {report.run_id}: {which} says {verdict}{tail}")


__all__ = ["EXCEPTION", "FAIL", "ORDER", "UNVERIFIED", "ExportReport", "reconciled", "recorded"]
