"""Sign-off: finance's decision on a reconciliation, recorded where auditors find it.

``reconciliations`` each reconciliation of a run and the sign-offs that judged it
``decision``        one sign-off decision, and what it writes
``approval``        the rules an approval must meet before it approves a run
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate.signoff.approval import RunScope
    from migrate.signoff.decision import SignOffRecord, record_decision
    from migrate.signoff.reconciliations import Reconciled, SignOff, add_signoff, signoffs

__all__ = [
    "Reconciled",
    "RunScope",
    "SignOff",
    "SignOffRecord",
    "add_signoff",
    "record_decision",
    "signoffs",
]

# each public name and the module it lives in: imported when first asked for, so that
# importing one module of the package never imports the others
_HOMES = {
    "Reconciled": "reconciliations",
    "RunScope": "approval",
    "SignOff": "reconciliations",
    "SignOffRecord": "decision",
    "add_signoff": "reconciliations",
    "record_decision": "decision",
    "signoffs": "reconciliations",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
