"""A run left marked ``running`` by a killed cutover: a new cutover on its staging is
refused in one line naming the command that finishes it, unless the run is still being
written (its writer holds the lock, and the lock's refusal names the writer).

The whole kill is in ``tests/test_cutover_kill.py`` (slow); this is the decision alone, on a
SQLite staging, in a second.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from flows.stopped import marked_running, refuse_stopped_run
from migrate.db import writable_engine
from migrate.errors import RunStateError
from migrate.runs import records as runs
from migrate.staging.create import ensure_staging


def staged_run(tmp_path: Path, status: str) -> tuple[str, Engine]:
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    md = ensure_staging(url, None)
    engine = writable_engine(url)
    runs.start_run(engine, md, "full", {}, {}, "01killed")
    if status != "running":
        runs.set_run(engine, md, "01killed", STATUS=status)
    return url, engine


def test_a_run_nobody_writes_is_refused_in_one_line(tmp_path: Path) -> None:
    url, engine = staged_run(tmp_path, "running")
    with pytest.raises(RunStateError) as refused:
        refuse_stopped_run(url, None, "02new")
    assert str(refused.value) == (
        "run 01killed (full) stopped before it finished and nothing runs it now (its process "
        "is gone); finish it with: migrate cutover --resume 01killed (or roll it back: "
        "migrate rollback 01killed)"
    )
    engine.dispose()


def test_a_run_still_being_written_is_named_by_the_lock(tmp_path: Path) -> None:
    url, engine = staged_run(tmp_path, "running")
    with open(f"{tmp_path / 'staging.db'}.migrate-lock", "a+", encoding="utf-8") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # its writer, alive
        with pytest.raises(RunStateError, match="is in use by") as refused:
            refuse_stopped_run(url, None, "02new")
    assert "stopped before it finished" not in str(refused.value)
    engine.dispose()


@pytest.mark.parametrize("status", ["complete", "failed", "rolled_back"])
def test_an_ended_run_or_no_staging_lets_the_cutover_start(tmp_path: Path, status: str) -> None:
    assert marked_running(f"sqlite:///{tmp_path / 'none.db'}", None) == []
    assert not (tmp_path / "none.db").exists()  # never created by looking
    url, engine = staged_run(tmp_path, status)
    refuse_stopped_run(url, None, "02new")  # nothing raised
    engine.dispose()


def test_the_flow_refuses_too(tmp_path: Path) -> None:
    """A deployment run (no ``migrate cutover`` in front) of a full run on a staging whose
    full run was killed: refused before anything of the new run is written."""
    pytest.importorskip("prefect")
    from flows.cutover import cutover

    url, engine = staged_run(tmp_path, "running")
    with pytest.raises(RunStateError, match="finish it with: migrate cutover --resume 01kill"):
        cutover.fn(mode="full", workdir=str(tmp_path), signoff="skip", run_id="02new")
    assert marked_running(url, None) == [("01killed", "full")]  # no second run row
    engine.dispose()
