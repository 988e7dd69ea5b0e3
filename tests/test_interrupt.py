"""Ctrl-C stops a reconciliation within a second or two, even inside a long query.

Each case runs in a child process that sends itself SIGINT once the slow part has begun (a
SIGINT in the test process would stop pytest). The slow parts never end by themselves (a
SQLite recursion without a limit, ``pg_sleep(600)``, ``SLEEP(600)``), so a child that ends
within the timeout was interrupted: no timing is asserted. Before ``reconcile/interrupt.py``
the SQLite statement ran on (Python runs a signal handler only between bytecodes of the main
thread) and a statement in a worker thread was never told.

End to end, ``migrate reconcile`` interrupted inside a statement or while writing its
workbook prints one line, exits 130 and leaves no file and no record; one interrupted while
the written files are being recorded records them whole.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from migrate.config import load_settings
from migrate.runs.runner import run_migration
from tests.test_pipeline import make_estate

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings"
FOREVER = {
    "sqlite": "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) "
    "SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(600)",
    "mysql": "SELECT SLEEP(600)",
}
# the child: SIGINT to itself once ``started()`` is called, then whatever the case runs
PRELUDE = """
import os, signal, sys, threading
signal.signal(signal.SIGINT, signal.default_int_handler)
def started():
    print("started", flush=True)
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
"""


def _child(code: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    script = PRELUDE + textwrap.dedent(code)
    try:
        return subprocess.run(
            [sys.executable, "-c", script],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"not interrupted: still running after {timeout} s\n{exc.stdout!r}")


STATEMENT = """
from concurrent.futures import ThreadPoolExecutor
from sqlalchemy import create_engine, text
from reconcile.interrupt import interruptible, watch
from reconcile.reading.sqltext import install_functions

engine = create_engine({url!r})
install_functions(engine)
watch(engine)

def slow():
    with engine.connect() as conn:
        started()
        return conn.execute(text({sql!r})).all()

try:
    with interruptible():
        if {worker!r}:
            with ThreadPoolExecutor(2) as pool:  # as diff.both asks both sides at once
                pool.submit(slow).result()
        else:
            slow()
    print("finished")
except KeyboardInterrupt:
    print("KeyboardInterrupt")
engine.dispose()
"""


def _statement_stops(url: str, sql: str, worker: bool, cwd: Path) -> None:
    done = _child(STATEMENT.format(url=url, sql=sql, worker=worker), cwd)
    assert done.stdout.split() == ["started", "KeyboardInterrupt"], done.stdout + done.stderr


@pytest.mark.parametrize("worker", [False, True], ids=["main thread", "worker thread"])
def test_a_sqlite_statement_stops_on_ctrl_c(tmp_path: Path, worker: bool) -> None:
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    _statement_stops(url, FOREVER["sqlite"], worker, tmp_path)


def test_ctrl_c_inside_our_sqlite_function_is_still_ctrl_c(tmp_path: Path) -> None:
    """The handler may fire inside ``mig_cents``, called per row: SQLite reports that as a
    failed function, which must not pass for an ordinary error."""
    sql = FOREVER["sqlite"].replace("count(*)", "sum(mig_cents(CAST(i AS TEXT) || '.25', 0))")
    _statement_stops(f"sqlite:///{tmp_path / 'staging.db'}", sql, False, tmp_path)


@pytest.mark.db
@pytest.mark.parametrize("worker", [False, True], ids=["main thread", "worker thread"])
def test_a_postgresql_statement_is_cancelled_on_ctrl_c(
    pg_url: str, tmp_path: Path, worker: bool
) -> None:
    _statement_stops(pg_url, FOREVER["postgresql"], worker, tmp_path)


@pytest.mark.db
@pytest.mark.parametrize("worker", [False, True], ids=["main thread", "worker thread"])
def test_a_mariadb_statement_is_killed_on_ctrl_c(
    mysql_url: str, tmp_path: Path, worker: bool
) -> None:
    _statement_stops(mysql_url, FOREVER["mysql"], worker, tmp_path)


# ---- end to end: `migrate reconcile` of a small estate, its slow part made to order ----

RECONCILE = """
import time
import reconcile.proving.entity, reconcile.reports.history
from cli.main import main
{patch}
sys.exit(main(["--workdir", ".", "--mappings", {mappings!r}, "reconcile"]))
"""
SLOW_RULE = """
def slow_rules(st, spec):
    started()
    st.query({sql!r})
reconcile.proving.entity.check_rules = slow_rules
"""
SLOW_WORKBOOK = """
def slow_workbook(report, path, **kwargs):
    path.write_bytes(b"PK half a workbook")
    started()
    time.sleep(600)
reconcile.reports.history.write_workbook = slow_workbook
"""
LATE = """
set_run = reconcile.reports.history.runs.set_run
def late(*args, **kwargs):  # Ctrl-C once the record has begun: it must end whole
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.5)
    return set_run(*args, **kwargs)
reconcile.reports.history.runs.set_run = late
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("interrupt")
    make_estate(folder, scale=200, seed=3)
    run_migration(load_settings(folder), MAPPINGS, "full")
    return folder


def _reconcile(folder: Path, patch: str) -> subprocess.CompletedProcess[str]:
    return _child(RECONCILE.format(patch=patch, mappings=str(MAPPINGS)), folder)


def _recorded(folder: Path) -> tuple[list[str], int, list[str]]:
    """(reconciliation files, rows of MIG_RECONCILIATIONS, audit events of a reconcile)."""
    files = sorted(p.name for p in (folder / "artifacts").glob("reconciliation_*"))
    with sqlite3.connect(folder / "staging.db") as conn:
        try:
            rows = conn.execute('SELECT COUNT(*) FROM "MIG_RECONCILIATIONS"').fetchone()[0]
        except sqlite3.OperationalError:  # made by the first reconcile that records
            rows = 0
    log = folder / "artifacts" / "audit.log"
    lines = log.read_text().splitlines() if log.exists() else []
    kinds = ("reconciliation_verdict", "workbook_hash")
    events = [e for e in (json.loads(line).get("kind") for line in lines) if e in kinds]
    return files, rows, events


@pytest.mark.parametrize(
    "patch",
    [SLOW_RULE.format(sql=FOREVER["sqlite"]), SLOW_WORKBOOK],
    ids=["inside a statement", "while writing the workbook"],
)
def test_reconcile_interrupted_says_one_line_exits_130_and_records_nothing(
    migrated: Path, patch: str
) -> None:
    before = _recorded(migrated)
    done = _reconcile(migrated, patch)
    assert done.returncode == 130, done.stdout + done.stderr
    assert done.stderr == "interrupted\n"
    assert "started" in done.stdout and "verdict" not in done.stdout
    assert _recorded(migrated) == before


def test_ctrl_c_while_the_files_are_recorded_records_them_whole(migrated: Path) -> None:
    files, rows, events = _recorded(migrated)
    done = _reconcile(migrated, LATE)
    assert done.returncode in (0, 1, 3), done.stdout + done.stderr
    assert "verdict:" in done.stdout and done.stderr == ""
    after = _recorded(migrated)
    assert len(after[0]) == len(files) + 3  # workbook, JSON, differences CSV
    assert after[1] == rows + 1
    assert after[2] == [*events, "reconciliation_verdict", "workbook_hash"]
