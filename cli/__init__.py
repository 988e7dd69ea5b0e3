"""The ``migrate`` command line, on top of every stage: nothing below imports it.

``main``          the entry point: settings, logging, one-line errors, exit codes
``parser``        every command and option; ``commands`` their handlers
``export``, ``targets``, ``lineage``  the commands of those stages (``lineage`` also ``audit``)
``demo``, ``doctor``, ``completion``  ``migrate demo``, ``migrate doctor``, shell completion
``guard``         what each command needs before it starts
``migrate cutover`` is :mod:`flows.cli`, the one place Prefect is imported.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cli.parser import build_parser

__all__ = [
    "build_parser",
]

# each public name and the module it lives in: imported when first asked for, so that
# importing one module of the package never imports the others
_HOMES = {
    "build_parser": "parser",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
