"""Key-range partitions on SQLite: together they stage exactly what one pass stages, in any
order; a resumed run redoes only unfinished partitions; a run's plan is fixed once stored."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from migrate.config import load_settings
from migrate.errors import TerminalError
from migrate.runs import partitions, pipeline, runner
from migrate.runs import records as runs
from migrate.runs.runner import open_context, resume_run, run_migration
from migrate.spec.loader import Project, load_project
from tests.test_pipeline import make_estate

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
SPLIT = ("ap_invoice_lines", "gl_journals")
# MESSAGE lists every reason of a reject; the target-key uniqueness check counts rows of the
# same chunk, so which secondary reasons it lists depends on where chunks are cut (the first
# reason, column and value do not).
LINEAGE_RUN_COLUMNS = {"MIG_RUN_ID", "MIG_BATCH_ID", "RUN_ID", "BATCH_ID", "MESSAGE"}


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("estate")
    make_estate(folder, scale=400, seed=5)
    return folder


def copy_estate(estate: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for db in estate.glob("legacy_*.db"):
        shutil.copy(db, folder / db.name)
    shutil.copytree(estate / "extracts", folder / "extracts")
    return folder


def staged(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every staging table except the run bookkeeping, without run and batch ids."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    skip = {"MIG_RUNS", "MIG_PROGRESS", "MIG_PARTITIONS", "MIG_AUDIT_ANCHORS"}  # anchors: the log's
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(set(names) - skip):
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            keep = ", ".join(f'"{c}"' for c in cols if c not in LINEAGE_RUN_COLUMNS)
            out[table] = sorted(conn.execute(f'SELECT {keep} FROM "{table}"'), key=repr)
    return out


def run_partitioned(
    work: Path, project: Project, n: int, reverse: bool = True, run_id: str | None = None
) -> str:
    """A full run with every splittable entity cut into ``n`` partitions, run last-first."""
    ctx = open_context(load_settings(work), project, "", "full", 37)
    ctx = dataclasses.replace(
        ctx, run_id=run_id or runs.start_run(ctx.staging, ctx.md, "full", {}, {})
    )
    run_id = ctx.run_id
    runner.record_keys_and_references(ctx, project)  # as a run's start does (flows/steps.py)
    try:
        for name in project.order:
            spec = project.spec(name)
            source = ctx.sources.get(spec.source.system) if spec.source.file is None else None
            parts = partitions.plan(ctx.staging, ctx.md, source, spec, run_id, n)
            for part in sorted(parts, key=lambda p: p.number, reverse=reverse):
                if not part.done:
                    pipeline.run_entity(ctx, name, partition=part)
    finally:
        ctx.staging.dispose()
    return run_id


def test_partitions_stage_what_one_pass_stages(estate: Path, tmp_path: Path) -> None:
    project = load_project(MAPPINGS)
    whole = copy_estate(estate, tmp_path / "whole")
    run_migration(load_settings(whole), MAPPINGS, "full", chunk_size=37)
    split = copy_estate(estate, tmp_path / "split")
    run_id = run_partitioned(split, project, 3)
    assert staged(split / "staging.db") == staged(whole / "staging.db")
    with sqlite3.connect(split / "staging.db") as conn:
        plan = conn.execute(
            "SELECT ENTITY, COUNT(*), COUNT(DONE_AT), SUM(ROWS_IN) FROM MIG_PARTITIONS "
            "WHERE RUN_ID = ? GROUP BY ENTITY",
            (run_id,),
        ).fetchall()
        batches = conn.execute(
            "SELECT DISTINCT MIG_BATCH_ID / ? FROM AP_INVOICE_LINES_INTERFACE",
            (partitions.BATCH_STRIDE,),
        ).fetchall()
    by_entity = {e: (n, done, rows) for e, n, done, rows in plan}
    for name in SPLIT:
        assert by_entity[name][0] == 3 and by_entity[name][1] == 3, name
    assert by_entity["workers"][0] == 1  # issues ERP keys: one partition
    assert sorted(b for (b,) in batches) == [0, 1, 2]  # batch ids name their partition
    assert all(n == done for n, done, _ in by_entity.values())


def test_resume_redoes_only_unfinished_partitions(
    estate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = load_project(MAPPINGS)
    whole = copy_estate(estate, tmp_path / "whole")
    run_migration(load_settings(whole), MAPPINGS, "full", chunk_size=37)
    work = copy_estate(estate, tmp_path / "split")
    real = pipeline.process_chunk
    second = partitions.BATCH_STRIDE + 2  # partition 2's second chunk

    def fail(ctx: Any, spec: Any, table: Any, schema: Any, chunk: Any, *a: Any, **k: Any) -> Any:
        if spec.entity == "ap_invoice_lines" and chunk.batch_id == second:
            raise TerminalError("staging disk full (injected)")
        return real(ctx, spec, table, schema, chunk, *a, **k)

    monkeypatch.setattr(pipeline, "process_chunk", fail)
    with pytest.raises(TerminalError):
        run_partitioned(work, project, 3, reverse=False)
    monkeypatch.setattr(pipeline, "process_chunk", real)
    db = work / "staging.db"
    run_id = sqlite3.connect(db).execute("SELECT RUN_ID FROM MIG_RUNS").fetchone()[0]
    query = "SELECT BATCH_ID, DONE_AT FROM MIG_PROGRESS WHERE ENTITY = 'ap_invoice_lines'"
    with sqlite3.connect(db) as conn:
        before = conn.execute(query + " ORDER BY BATCH_ID").fetchall()
        done = conn.execute(
            "SELECT PARTITION_NO FROM MIG_PARTITIONS WHERE ENTITY = 'ap_invoice_lines' "
            "AND DONE_AT IS NOT NULL"
        ).fetchall()
    assert done == [(0,)]
    assert [b for b, _ in before if b > partitions.BATCH_STRIDE] == [partitions.BATCH_STRIDE + 1]

    run_partitioned(work, project, 3, reverse=False, run_id=run_id)
    with sqlite3.connect(db) as conn:
        after = conn.execute(query + " ORDER BY BATCH_ID").fetchall()
    assert [r for r in after if r in before] == before  # committed chunks kept as they were
    assert [r for r in after if r[0] < partitions.BATCH_STRIDE] == [
        r for r in before if r[0] < partitions.BATCH_STRIDE
    ]  # the finished partition was not redone
    assert staged(db) == staged(whole / "staging.db")
    with sqlite3.connect(db) as conn:  # a resumed partition counts its earlier chunks too
        recorded = conn.execute(
            "SELECT PARTITION_NO, ROWS_IN FROM MIG_PARTITIONS WHERE ENTITY = 'ap_invoice_lines' "
            "ORDER BY 1"
        ).fetchall()
        progress = conn.execute(
            f"SELECT (BATCH_ID - 1) / {partitions.BATCH_STRIDE}, SUM(ROWS_IN) FROM MIG_PROGRESS "
            "WHERE ENTITY = 'ap_invoice_lines' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert recorded == progress and len(recorded) == 3


def test_a_stored_plan_is_reused(estate: Path, tmp_path: Path) -> None:
    project = load_project(MAPPINGS)
    work = copy_estate(estate, tmp_path / "plan")
    settings = load_settings(work)
    ctx = open_context(settings, project, "x", "full", 37)
    run_id = runs.start_run(ctx.staging, ctx.md, "full", {}, {})
    spec = project.spec("gl_journals")
    source = ctx.sources[spec.source.system]
    first = partitions.plan(ctx.staging, ctx.md, source, spec, run_id, 3)
    again = partitions.plan(ctx.staging, ctx.md, source, spec, run_id, 5)
    assert again == first and len(first) == 3
    assert first[0].lo is None and first[-1].hi is None
    assert all(a.hi == b.lo for a, b in zip(first, first[1:], strict=False))


@pytest.mark.parametrize(
    ("entity", "why"),
    [
        ("workers", "issues ERP keys"),
        ("suppliers_procurement", "issues ERP keys"),
        ("ap_invoice_lines", None),
        ("gl_journals", None),
    ],
)
def test_which_entities_split(entity: str, why: str | None) -> None:
    reason = partitions.why_not_partitioned(load_project(MAPPINGS).spec(entity))
    assert (reason is None) if why is None else (why in str(reason))


def test_migrate_resume_finishes_the_unfinished_partitions(
    estate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cutover's partitioned run resumed with plain ``migrate resume``: same result."""
    project = load_project(MAPPINGS)
    whole = copy_estate(estate, tmp_path / "whole")
    run_migration(load_settings(whole), MAPPINGS, "full", chunk_size=37)
    work = copy_estate(estate, tmp_path / "split")
    real = pipeline.process_chunk

    def fail(ctx: Any, spec: Any, table: Any, schema: Any, chunk: Any, *a: Any, **k: Any) -> Any:
        if spec.entity == "ap_invoice_lines" and chunk.batch_id == 2:  # partition 1 of 3
            raise TerminalError("staging disk full (injected)")
        return real(ctx, spec, table, schema, chunk, *a, **k)

    monkeypatch.setattr(pipeline, "process_chunk", fail)
    with pytest.raises(TerminalError):
        run_partitioned(work, project, 3)  # last partition first: 3 and 2 finish, 1 fails
    monkeypatch.setattr(pipeline, "process_chunk", real)
    db = work / "staging.db"
    run_id = sqlite3.connect(db).execute("SELECT RUN_ID FROM MIG_RUNS").fetchone()[0]
    resume_run(load_settings(work), MAPPINGS, run_id, chunk_size=37)
    assert staged(db) == staged(whole / "staging.db")
    with sqlite3.connect(db) as conn:
        undone = conn.execute("SELECT COUNT(*) FROM MIG_PARTITIONS WHERE DONE_AT IS NULL")
        assert undone.fetchone() == (0,)


def test_a_run_started_whole_is_not_cut_into_ranges_later(estate: Path, tmp_path: Path) -> None:
    project = load_project(MAPPINGS)
    work = copy_estate(estate, tmp_path / "mixed")
    ctx = open_context(load_settings(work), project, "", "full", 37)
    ctx = dataclasses.replace(ctx, run_id=runs.start_run(ctx.staging, ctx.md, "full", {}, {}))
    spec = project.spec("gl_journals")
    chunks = pipeline.chunks_for(ctx, spec, runs.Resume(1, None))
    first = next(iter(chunks))
    table = pipeline._table(ctx.md, spec.target.table)
    schema = pipeline.compile_schema(spec, table)
    pipeline.process_chunk(ctx, spec, table, schema, first, pipeline.EntityResult(spec.entity))
    parts = partitions.plan(ctx.staging, ctx.md, ctx.sources["finance"], spec, ctx.run_id, 3)
    assert [(p.lo, p.hi) for p in parts] == [(None, None)]


def test_a_partition_with_too_many_chunks_stops_clearly(
    estate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partitions, "BATCH_STRIDE", 3)
    monkeypatch.setattr(pipeline, "BATCH_STRIDE", 3)
    with pytest.raises(TerminalError, match="more than 3 chunks"):
        run_partitioned(copy_estate(estate, tmp_path / "stride"), load_project(MAPPINGS), 2)
