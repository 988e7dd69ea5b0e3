"""An entity's chunks from its file or database: apart, the pipeline only asks for the next one."""

from __future__ import annotations

from collections.abc import Iterator

from migrate.extract.chunks import Chunk
from migrate.extract.database import read_database
from migrate.extract.flat_file import read_file, resolve_path
from migrate.runs import records as runs
from migrate.runs.partitions import WHOLE, Partition
from migrate.runs.pipeline_types import Context
from migrate.spec.model import EntitySpec


def chunks_for(
    ctx: Context,
    spec: EntitySpec,
    resume: runs.Resume,
    delta_after: object | None = None,
    partition: Partition = WHOLE,
) -> Iterator[Chunk]:
    if spec.source.file is not None:
        path = resolve_path(spec, ctx.workdir)
        folder = ctx.project.entities[spec.entity].path.parent  # a copybook is beside it
        yield from read_file(
            spec, path, ctx.chunk_size, skip_batches=resume.batches_done, base_dir=folder
        )
        return
    engine = ctx.sources[spec.source.system]
    yield from read_database(
        spec,
        engine,
        ctx.chunk_size,
        resume.last_key,
        resume.next_batch,
        delta_after,
        partition=partition.bounds,
    )
