"""One writer per staging (issue 22, item 3).

Before: two ``migrate run`` at once into one staging both said "complete" (one rejected
every row as a duplicate), and ``migrate resume`` of a run still running was not refused.
Now the second writer is refused in one line naming the holder, and a lock left by a
killed process is free at once (it was the process's own, released with it).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from migrate.errors import RunStateError
from migrate.runs.lock import run_lock
from tests.test_pipeline import MAPPINGS, make_estate

HOLD = """
import sys, time
from migrate.runs.lock import run_lock
with run_lock(sys.argv[1], sys.argv[2] or None, "holder00001"):
    print("held", flush=True)
    time.sleep(60)
"""


def _holder(url: str, schema: str | None = None) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, url, schema or ""],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _refused(url: str, schema: str | None = None) -> str:
    with pytest.raises(RunStateError) as refused, run_lock(url, schema, "second00001"):
        pass
    return str(refused.value)


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_sqlite_staging_has_one_writer_and_a_killed_holder_frees_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    proc = _holder(url)
    try:
        message = _refused(url)
        assert "staging staging.db is in use by run holder00001" in message
        assert f"pid {proc.pid}" in message and "started 20" in message
        assert "\n" not in message
    finally:
        _kill(proc)
    with run_lock(url, None, "after00001"):  # kill -9 left nothing to clean up
        pass


@pytest.mark.db
def test_postgresql_staging_has_one_writer_per_schema(staging_pg: str) -> None:
    proc = _holder(staging_pg)
    try:
        message = _refused(staging_pg)
        assert "staging schema public is in use by run holder00001" in message
        assert f"pid={proc.pid}" in message and "started 20" in message
        with run_lock(staging_pg, "rehearsal", "rehearse0001"):  # another staging, free
            pass
    finally:
        _kill(proc)
    with run_lock(staging_pg, None, "after00001"):  # the session ended with the process
        pass


@pytest.mark.db
def test_mariadb_staging_has_one_writer(mysql_url: str) -> None:
    proc = _holder(mysql_url)
    try:
        assert "is in use by another run (server connection" in _refused(mysql_url)
    finally:
        _kill(proc)
    with run_lock(mysql_url, None, "after00001"):
        pass


def _cli(workdir: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "cli.main",
        "--workdir",
        str(workdir),
        "--mappings",
        str(MAPPINGS),
        *args,
    ]


def _env(staging: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATE_")}
    if staging:
        env["MIGRATE_STAGING_URL"] = staging
    return env


def _two_runs(tmp_path: Path, staging: str | None, progress_sql: Any) -> None:
    """A real ``migrate run``; a second run and a resume of it are refused while it runs;
    killed with -9, it is resumed at once and completes."""
    make_estate(tmp_path, scale=3000, seed=5)
    env = _env(staging)
    first = subprocess.Popen(
        _cli(tmp_path, "run", "--chunk-size", "20"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert first.stdout is not None
    run_id = first.stdout.readline().split()[1]
    deadline = time.time() + 120
    while time.time() < deadline and first.poll() is None and progress_sql() < 5:
        time.sleep(0.2)
    assert first.poll() is None, "the first run finished before the second could start"
    try:
        second = subprocess.run(
            _cli(tmp_path, "--quiet", "run"), env=env, capture_output=True, text=True
        )
        resume = subprocess.run(
            _cli(tmp_path, "--quiet", "resume", run_id), env=env, capture_output=True, text=True
        )
    finally:
        _kill(first)  # type: ignore[arg-type]
    for refused in (second, resume):
        assert refused.returncode == 2, refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and f"is in use by run {run_id}" in lines[0]
        assert str(first.pid) in lines[0]
    done = subprocess.run(
        _cli(tmp_path, "--quiet", "resume", run_id), env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_two_real_runs_into_one_sqlite_staging(tmp_path: Path) -> None:
    db = tmp_path / "staging.db"

    def progress() -> int:
        try:
            with sqlite3.connect(db) as conn:
                return int(conn.execute('SELECT COUNT(*) FROM "MIG_PROGRESS"').fetchone()[0])
        except sqlite3.Error:
            return 0

    _two_runs(tmp_path, None, progress)
    with sqlite3.connect(db) as conn:
        assert conn.execute('SELECT "RUN_ID", "STATUS" FROM "MIG_RUNS"').fetchall()[0][1] == (
            "complete"
        )
        assert conn.execute('SELECT COUNT(*) FROM "MIG_RUNS"').fetchone()[0] == 1


@pytest.mark.slow
@pytest.mark.db
def test_two_real_runs_into_one_postgresql_staging(tmp_path: Path, staging_pg: str) -> None:
    engine = create_engine(staging_pg)

    def progress() -> int:
        try:
            with engine.connect() as conn:
                return int(conn.execute(text('SELECT COUNT(*) FROM "MIG_PROGRESS"')).scalar() or 0)
        except Exception:
            return 0

    try:
        _two_runs(tmp_path, staging_pg, progress)
        with engine.connect() as conn:
            rows = conn.execute(text('SELECT "STATUS" FROM "MIG_RUNS"')).all()
        assert [r[0] for r in rows] == ["complete"]
    finally:
        engine.dispose()


def test_the_lock_is_reentrant_in_its_process_only(tmp_path: Path) -> None:
    """A rehearsal's run rolls back earlier rehearsals under its own lock (a rollback may
    take the lock too); another process is still refused while the outer block holds it."""
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    with run_lock(url, None, "outer000001"):
        with run_lock(url, None, "inner000001"):
            pass
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from migrate.runs.lock import run_lock\nwith run_lock({url!r}, None, 'x'): pass",
            ],
            capture_output=True,
            text=True,
        )
        assert "is in use by run outer000001" in probe.stderr
    with run_lock(url, None, "again000001"):
        pass
