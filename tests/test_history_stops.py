"""A run that stood stopped and was resumed is timed by its working time, not the pause.

``migrate rehearsals`` forecasts the cutover window from each entity's seconds; a rehearsal
killed on purpose (the drill) and resumed an hour later must not forecast an extra hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from migrate.config import load_settings
from migrate.db import writable_engine
from migrate.history import STOP_SECONDS, entity_timings, working_seconds
from migrate.runner import run_migration
from migrate.staging.tables import build_metadata
from tests.test_pipeline import make_estate

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
T0 = datetime(2026, 12, 1, 9, 0, 0)


def _chunks(*pairs: tuple[float, float]) -> list[tuple[float, datetime]]:
    """(own seconds, commit time in seconds after T0) per chunk."""
    return [(secs, T0 + timedelta(seconds=at)) for secs, at in pairs]


def test_an_uninterrupted_run_is_timed_first_start_to_last_commit() -> None:
    # serial: each chunk starts a little after the one before committed (reading, bookkeeping)
    serial = _chunks((2.0, 2.0), (2.0, 4.5), (2.0, 7.0), (2.0, 9.5))
    assert working_seconds(serial) == 9.5
    # overlapped: a chunk is prepared while the one before is written (own seconds > gap)
    overlapped = _chunks((3.0, 3.0), (3.0, 4.5), (3.0, 6.0))
    assert working_seconds(overlapped) == 6.0


def test_a_stop_between_two_chunks_counts_only_the_resumed_chunk() -> None:
    hour = 3600.0
    resumed = _chunks((2.0, 2.0), (2.0, 4.5), (2.5, 4.5 + hour), (2.0, 7.0 + hour))
    assert working_seconds(resumed) == 2.0 + 2.5 + 2.5 + 2.5


def test_a_long_wait_within_the_limit_is_working_time() -> None:
    # a slow legacy query before one chunk (under the limit) is part of the run's time
    wait = STOP_SECONDS - 1
    slow = _chunks((2.0, 2.0), (2.0, 4.0 + wait), (2.0, 6.0 + wait))
    assert working_seconds(slow) == 6.0 + wait
    # entities whose chunks take long get a limit of ten chunks
    long_chunks = _chunks((30.0, 30.0), (30.0, 60.0 + 250), (30.0, 90.0 + 250))
    assert working_seconds(long_chunks) == 90.0 + 250


def test_no_chunks_no_time() -> None:
    assert working_seconds([]) == 0.0


def test_recorded_timings_leave_out_a_stop(tmp_path: Path) -> None:
    """The chunks of a real run, their later commits moved an hour on (as if the run had
    been killed and resumed): the entity's seconds stay what they were."""
    make_estate(tmp_path, scale=300, seed=3)
    settings = load_settings(tmp_path)
    run = run_migration(settings, MAPPINGS, "full", ["ap_invoice_lines"], chunk_size=100)
    engine = writable_engine(settings.url("staging"))
    md = build_metadata(None)
    [before] = entity_timings(engine, md, run.run_id)
    assert before.batches >= 4

    p = md.tables["MIG_PROGRESS"]
    with engine.begin() as conn:
        batches = sorted(
            b for (b,) in conn.execute(select(p.c.BATCH_ID).where(p.c.RUN_ID == run.run_id))
        )
        later = batches[len(batches) // 2 :]
        for batch in later:
            done = conn.execute(
                select(p.c.DONE_AT).where(p.c.RUN_ID == run.run_id, p.c.BATCH_ID == batch)
            ).scalar_one()
            conn.execute(
                update(p)
                .where(p.c.RUN_ID == run.run_id, p.c.BATCH_ID == batch)
                .values(DONE_AT=done + timedelta(hours=1))
            )
    [after] = entity_timings(engine, md, run.run_id)
    engine.dispose()
    assert (after.rows, after.batches) == (before.rows, before.batches)
    assert after.seconds < before.seconds + 1.0  # not an hour more
    assert after.seconds > 0
