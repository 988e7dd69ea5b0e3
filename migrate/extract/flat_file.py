"""A flat-file source in chunks: its path from env or workdir; kept apart from database reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from migrate.errors import SchemaMismatch
from migrate.extract.chunks import Chunk, regroup
from migrate.spec.model import EntitySpec


def resolve_path(spec: EntitySpec, workdir: Path) -> Path:
    """A flat file's path: ``env`` variable if set, else ``path``; relative to the workdir."""
    import os

    assert spec.source.file is not None
    raw = os.environ.get(spec.source.file.env or "", "") or spec.source.file.path
    path = Path(os.path.expandvars(raw))
    # absolute, '..' folded, but a symbolic link not followed: the confinement check sees
    # the path the mapping names, and refuses a link out of its folder
    return path if path.is_absolute() else Path(os.path.abspath(workdir / path))


def read_file(
    spec: EntitySpec,
    path: Path,
    chunk_size: int,
    skip_batches: int = 0,
    first_batch: int = 1,
    base_dir: Path | None = None,
) -> Iterator[Chunk]:
    """Stream a flat-file extract as text columns (:mod:`migrate.extract.files`); ``_line`` is the
    1-based record number. ``base_dir``: the mapping file's folder (a copybook's path is
    relative to it), recorded in :mod:`migrate.extract.files.origins` when not given."""
    from migrate.extract.files.confinement import unset_variables
    from migrate.extract.files.dispatch import file_columns, read_frames
    from migrate.extract.files.origins import mapping_dir
    from migrate.extract.named_columns import refuse_missing

    f = spec.source.file
    assert f is not None
    if not path.exists():
        hint = unset_variables(f.path)
        raise SchemaMismatch(
            f"{spec.entity}: flat file not found: {path}" + (f";{hint}" if hint else "")
        )
    base = mapping_dir(spec.entity, base_dir)
    try:
        refuse_missing(spec, path.name, file_columns(f, path, base))
        frames = read_frames(f, path, chunk_size, base)
        for chunk in regroup(frames, spec, first_batch):
            if chunk.batch_id - first_batch >= skip_batches:
                yield chunk
    except SchemaMismatch as exc:
        if str(exc).startswith(f"{spec.entity}:"):
            raise
        raise SchemaMismatch(f"{spec.entity}: {exc}") from None
