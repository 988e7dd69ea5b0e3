"""The audit trail auditors read.

``log``           append-only JSON lines, each entry carrying the hash of the one before it
``key``           the optional HMAC key, and the two MACs made with it
``anchors``       checkpoints of the chain's head, kept in staging and in every reconciliation
``verify``        ``migrate audit verify`` beyond the chain: MACs and checkpoints
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate.audit.key import AuditKey
    from migrate.audit.log import (
        AuditLogError,
        VerifyResult,
        append,
        log_path,
        read_entries,
        record_reconciliation,
        record_signoff,
    )

__all__ = [
    "AuditKey",
    "AuditLogError",
    "VerifyResult",
    "append",
    "log_path",
    "read_entries",
    "record_reconciliation",
    "record_signoff",
]

# each public name and the module it lives in: imported when first asked for, so that
# importing one module of the package never imports the others
_HOMES = {
    "AuditKey": "key",
    "AuditLogError": "log",
    "VerifyResult": "log",
    "append": "log",
    "log_path": "log",
    "read_entries": "log",
    "record_reconciliation": "log",
    "record_signoff": "log",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
