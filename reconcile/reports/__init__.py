"""What reconciliation writes: the evidence finance signs and auditors keep.

``workbook`` and ``workbook_*``  the sign-off workbook, a module per sheet
``report_json``   the same content as JSON, for machines
``history``       numbered reports that are never replaced, and their record
``exported_audit`` the report of an export's proof
The frozen results they are built from are :mod:`reconcile.report`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconcile.reports.history import write_reports
    from reconcile.reports.report_json import from_json, to_json, write_json
    from reconcile.reports.workbook import build_workbook, write_workbook
    from reconcile.reports.workbook_text import cell_text

__all__ = [
    "build_workbook",
    "cell_text",
    "from_json",
    "to_json",
    "write_json",
    "write_reports",
    "write_workbook",
]

# each public name and the module it lives in: imported when first asked for, so that
# importing one module of the package never imports the others
_HOMES = {
    "build_workbook": "workbook",
    "cell_text": "workbook_text",
    "from_json": "report_json",
    "to_json": "report_json",
    "write_json": "report_json",
    "write_reports": "history",
    "write_workbook": "workbook",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
