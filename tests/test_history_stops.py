"""A run that stood stopped and was resumed is timed by its working time, not the pause.

``migrate rehearsals`` forecasts the cutover window from each entity's seconds; a rehearsal
killed on purpose (the drill) and resumed an hour later must not forecast an extra hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import pytest
from sqlalchemy import select, update

from migrate.audit import log as audit
from migrate.config import load_settings
from migrate.db import writable_engine
from migrate.runs import hooks
from migrate.runs.history import attempt_starts, entity_timings, working_seconds
from migrate.runs.runner import run_migration
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


def test_the_time_before_a_resume_is_left_out() -> None:
    hour = 3600.0
    resumed = _chunks((2.0, 2.0), (2.0, 4.5), (2.5, 4.5 + hour), (2.0, 7.0 + hour))
    restart = T0 + timedelta(seconds=hour + 1.0)  # the resume read for a second, then 2.5 s
    assert working_seconds(resumed, [T0, restart]) == 4.5 + 3.5 + 2.5


def test_slow_reads_are_working_time() -> None:
    """A legacy query that takes 95 s per chunk is no stop: without a resume in between,
    every second between two commits counts."""
    slow = _chunks(*((3.0, 98.0 * n) for n in range(1, 21)))
    assert working_seconds(slow, [T0]) == 3.0 + 19 * 98.0


def test_no_chunks_no_time() -> None:
    assert working_seconds([]) == 0.0


def test_recorded_timings_leave_out_a_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunks of a real run, their later commits moved an hour on and a resume
    recorded in the audit log as ``migrate resume`` records it: the entity's seconds stay
    what they were (and without the resume on record, the hour counts)."""
    make_estate(tmp_path, scale=300, seed=3)
    settings = load_settings(tmp_path)
    run = run_migration(settings, MAPPINGS, "full", ["ap_invoice_lines"], chunk_size=100)
    engine = writable_engine(settings.url("staging"))
    md = build_metadata(None)
    [before] = entity_timings(engine, md, run.run_id, attempt_starts(settings, run.run_id))
    assert before.batches >= 4

    p = md.tables["MIG_PROGRESS"]
    with engine.begin() as conn:
        batches = sorted(
            b for (b,) in conn.execute(select(p.c.BATCH_ID).where(p.c.RUN_ID == run.run_id))
        )
        later = batches[len(batches) // 2 :]
        first_later = None
        for batch in later:
            done = conn.execute(
                select(p.c.DONE_AT).where(p.c.RUN_ID == run.run_id, p.c.BATCH_ID == batch)
            ).scalar_one()
            first_later = first_later or done
            conn.execute(
                update(p)
                .where(p.c.RUN_ID == run.run_id, p.c.BATCH_ID == batch)
                .values(DONE_AT=done + timedelta(hours=1))
            )
    [paused] = entity_timings(engine, md, run.run_id, attempt_starts(settings, run.run_id))
    assert paused.seconds > before.seconds + 3000  # no resume on record: the hour counts
    resume_at = first_later + timedelta(hours=1) - timedelta(milliseconds=1)

    class AtResume(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> AtResume:  # type: ignore[override]
            return cls.fromisoformat(resume_at.replace(tzinfo=UTC).isoformat())

    monkeypatch.setattr(audit, "datetime", AtResume)  # the resume's entry, an hour on
    hooks.on_run_started(settings, hooks.RunEvent(run.run_id, "full", "sqlite://", None))
    monkeypatch.undo()
    starts = attempt_starts(settings, run.run_id)
    assert len(starts) == 2 and starts[-1] == resume_at
    [after] = entity_timings(engine, md, run.run_id, starts)
    engine.dispose()
    assert (after.rows, after.batches) == (before.rows, before.batches)
    assert after.seconds < before.seconds + 1.0  # not an hour more
    assert after.seconds > 0
