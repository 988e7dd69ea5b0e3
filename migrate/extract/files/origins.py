"""Where each entity's mapping file lives: a copybook path is relative to its folder.

The readers are given that folder (``base_dir``) by their callers; a caller that only has
the spec (the pipeline's chunk loop, reconciliation's readers, which take ``(spec, path)``)
finds it here, recorded when the project is loaded for a run or a reconciliation. No
reading code lives here, so reconciliation may use it without sharing the pipeline's reader.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migrate.spec.loader import Project


_DIRS: dict[str, Path] = {}


def remember(project: Project) -> None:
    """Record the folder of each entity's mapping file (a later project's entity wins)."""
    for name, loaded in project.entities.items():
        _DIRS[name] = loaded.path.resolve().parent


def remember_entity(entity: str, mapping_file: Path) -> None:
    """Record one entity's mapping file (lineage loads mappings one file at a time)."""
    _DIRS[entity] = mapping_file.resolve().parent


def mapping_dir(entity: str, given: Path | None = None) -> Path:
    """``given`` if the caller knows it, else the recorded folder, else the working folder."""
    if given is not None:
        return given
    return _DIRS.get(entity, Path.cwd())
