"""Which staging tables this process knows: the shipped pack and the user's declared targets.

The shipped tables are always there; a migration engineer's own target definitions
(``targets/`` beside the mappings, see :mod:`migrate.targets`) are declared once per process
with :func:`declare_targets` (or set for one project with :func:`use_targets`), by whoever
loads the project (:func:`migrate.spec.loader.load_project`). Every reader of staging's
shape asks :func:`staging_table` instead of holding a table set built at import time, so a
table declared after import is seen everywhere. ``targets = "path"`` in ``migrate.toml``
names the folder instead of the discovery beside the mappings (:func:`configure_targets`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData, Table

_directories: list[Path] = []
_built: dict[tuple[Path, ...], MetaData] = {}
_configured: list[Path] = []


def declare_targets(directory: Path) -> None:
    """Stage into the target definitions under ``directory`` too (idempotent)."""
    resolved = directory.resolve()
    if resolved not in _directories:
        _directories.append(resolved)


def use_targets(directories: tuple[Path, ...]) -> None:
    """Stage into exactly these directories' definitions (a project loaded replaces the last;
    the files are read afresh, so an edited definition is seen)."""
    _directories.clear()
    _built.clear()
    for directory in directories:
        declare_targets(directory)


def forget_targets() -> None:
    """Back to the shipped tables alone (tests, and a process that loads another project)."""
    _directories.clear()


def declared_directories() -> tuple[Path, ...]:
    """The directories of user target definitions declared so far, in order."""
    return tuple(_directories)


def configure_targets(directory: Path | None) -> None:
    """The folder ``migrate.toml`` names (``targets = "path"``); None: discover it."""
    _configured.clear()
    if directory is not None:
        _configured.append(directory.resolve())


def configured_targets() -> Path | None:
    """The folder the configuration names, if it names one."""
    return _configured[0] if _configured else None


def staging_metadata() -> MetaData:
    """The staging tables (no schema), built once per set of declared directories."""
    from migrate.staging.tables import build_metadata

    key = declared_directories()
    if key not in _built:
        _built[key] = build_metadata()
    return _built[key]


def staging_table(name: str) -> Table | None:
    """The staging table called ``name``, or None when neither pack nor user declares it."""
    return staging_metadata().tables.get(name)
