"""Export: a completed run's staged rows as the ERP's own import files, with a manifest.

The last stage of the data flow (staging → ERP import files). ``--format fbdi`` writes
Oracle Fusion FBDI ZIPs from the shipped target pack, or the vendor's column layouts
(:mod:`.fbdi`); ``--format csv`` a
CSV with a header per staging table, in its declared column order (:mod:`.csvout`). Every
value is written exactly or the export fails naming it (:mod:`.values`), as does a journal
that does not balance (:mod:`.balance`); the manifest
(:mod:`.manifest`) gives rows, money totals and SHA-256 per file, and is recorded in the
audit log. The files are proven against staging by ``reconcile.exported``, which reads them
with its own code.
"""

from __future__ import annotations

from migrate.export.fbdi import FbdiObject, fbdi_objects
from migrate.export.manifest import MANIFEST_NAME, ExportResult
from migrate.export.rows import Problem
from migrate.export.run import ExportFailed, export_run
from migrate.export.values import ColumnFormat, Unexpressible, render

__all__ = [
    "MANIFEST_NAME",
    "ColumnFormat",
    "ExportFailed",
    "ExportResult",
    "FbdiObject",
    "Problem",
    "Unexpressible",
    "export_run",
    "fbdi_objects",
    "render",
]
