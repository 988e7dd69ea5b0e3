"""The sign-off workbook: what finance reads, checks and signs before cutover.

Sheets: Summary, one control-totals sheet per entity, Exceptions, Differences, Rules,
Legend, Run, Sign-off: what a controller must look at first comes first (failing entities,
then exceptions, most money first). The layout of each lives in ``workbook_summary``,
``workbook_grains``, ``workbook_exceptions``, ``workbook_sheets``, ``workbook_legend`` and
``workbook_signoff``; the look, page setup and protection in ``workbook_style``, and every
text cell passes ``workbook_text.cell_text``. This module orders the
sheets and writes the file so the same report always gives the same bytes (the document
properties and every zip entry carry ``reconciled_at``, never the clock), because its
SHA-256 is what ties a signed copy back to its reconciliation.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.writer.excel import ExcelWriter

from reconcile.proving.differences import DifferencesFile
from reconcile.report import Reconciliation
from reconcile.reports.report_json import figures_sha256
from reconcile.reports.workbook_exceptions import write_exceptions
from reconcile.reports.workbook_grains import write_grains
from reconcile.reports.workbook_legend import write_legend
from reconcile.reports.workbook_order import severity_order
from reconcile.reports.workbook_sheets import write_differences, write_rules, write_run
from reconcile.reports.workbook_signoff import Fingerprints, write_signoff
from reconcile.reports.workbook_style import parse_time, protect, sheet_title
from reconcile.reports.workbook_summary import Refs, write_summary

FIXED_SHEETS = ("Summary", "Exceptions", "Differences", "Rules", "Legend", "Run", "Sign-off")
_ZIP_EPOCH = datetime(1980, 1, 1)


def write_workbook(
    report: Reconciliation,
    path: Path,
    prepared_by: str | None = None,
    differences: DifferencesFile | None = None,
) -> str:
    """Write the sign-off workbook to ``path``, a new file (one already there, perhaps a
    signed copy, is never replaced); returns its SHA-256 (hex) to record with the run.
    ``differences`` names the CSV of all row differences issued with it."""
    data = workbook_bytes(report, prepared_by, differences)
    with path.open("xb") as fh:
        fh.write(data)
    return hashlib.sha256(data).hexdigest()


def workbook_bytes(
    report: Reconciliation,
    prepared_by: str | None = None,
    differences: DifferencesFile | None = None,
) -> bytes:
    """The workbook as bytes, identical for an identical report."""
    wb = build_workbook(report, prepared_by, differences)
    stamp = parse_time(report.run.reconciled_at) or _ZIP_EPOCH
    return _stable_zip(_save(wb, stamp), max(stamp, _ZIP_EPOCH))


def build_workbook(
    report: Reconciliation,
    prepared_by: str | None = None,
    differences: DifferencesFile | None = None,
) -> Workbook:
    """All sheets, in reading order, filled and protected."""
    wb = Workbook()
    summary = wb.active
    assert summary is not None  # a new Workbook always has one sheet
    summary.title = "Summary"
    taken = {name.casefold() for name in FIXED_SHEETS}
    grain_status: dict[str, str] = {}
    grain_sheet: dict[str, str] = {}
    for e in severity_order(report):
        if e.grains:
            ws = wb.create_sheet(sheet_title(f"{e.entity} totals", taken))
            grain_status[e.entity] = write_grains(ws, e)
            grain_sheet[e.entity] = ws.title
    write_exceptions(wb.create_sheet("Exceptions"), report)
    listed = write_differences(wb.create_sheet("Differences"), report, differences)
    rule_entities, rule_status = write_rules(wb.create_sheet("Rules"), report)
    write_legend(wb.create_sheet("Legend"), report)
    write_run(wb.create_sheet("Run"), report, prepared_by)
    prints = Fingerprints(figures_sha256(report), differences)
    accept = write_signoff(wb.create_sheet("Sign-off"), report, prepared_by, prints)
    refs = Refs(grain_status, grain_sheet, listed, rule_entities, rule_status, accept)
    write_summary(summary, report, refs)
    for ws in wb.worksheets:
        protect(ws)
    wb.security = WorkbookProtection(lockStructure=True)
    if report.run.audit_anchor:  # the audit log's head, checked by audit verify
        from openpyxl.packaging.custom import StringProperty

        from migrate.audit.anchors import WORKBOOK_PROPERTY, checkpoint_text

        text = checkpoint_text(report.run.audit_anchor)
        wb.custom_doc_props.append(StringProperty(name=WORKBOOK_PROPERTY, value=text))
    return wb


def _save(wb: Workbook, stamp: datetime) -> bytes:
    """Serialise without openpyxl's save_workbook, which stamps 'modified' with the clock."""
    props = wb.properties
    props.created = stamp
    props.modified = stamp
    props.creator = "erp-migrate reconcile"
    props.lastModifiedBy = "erp-migrate reconcile"
    props.title = "Reconciliation sign-off"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
    return buffer.getvalue()


def _stable_zip(data: bytes, stamp: datetime) -> bytes:
    """Rewrite the archive with a fixed timestamp on every entry (zip stores the clock too)."""
    when = stamp.timetuple()[:6]
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=when)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()
