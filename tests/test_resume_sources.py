"""Exactly once for every source kind, and whole-run counts after a resume (issue 22, items
1 and 4).

A run is stopped after a few committed chunks (the progress callback raises, as a crash
would between two chunks), then resumed. Before: a ``query:`` source was read again from
its first row on resume (rows staged and then rejected as ``duplicate_key``), and the
summary, the audit log's ``counts`` entry and the progress end line held the resumed part's
counts only. Files (delimited and fixed-width) resume by skipping the committed chunks.
"""

from __future__ import annotations

import json
import re
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from migrate.audit import log as audit
from migrate.config import load_settings
from migrate.runs.runner import RunSummary, resume_run, run_migration

ROWS = 230
CHUNK = 20
STOP_AFTER = 4  # chunks committed before the crash

FIELDS = """target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  FISCAL_YEAR: {const: 2024}
  RECORD_KEY: {from: ID}
  FULL_NAME: {from: NAME}
  LAST_NAME: {from: NAME}
  JOB_TITLE: {from: NAME}
  DEPARTMENT_CODE: {from: NAME}
  ANNUAL_SALARY: {from: GROSS, steps: [{money: fixed}]}
"""


def _rows() -> list[tuple[int, str, str]]:
    """Every 7th amount is not a number, so rejects are part of what must match."""
    return [(i, f"N{i:04d}", "abc" if i % 7 == 0 else f"{i}.50") for i in range(1, ROWS + 1)]


class Crash(Exception):
    """Stands for a process that died between two chunks."""


def _stopper(after: int) -> Any:
    seen = {"n": 0}

    def progress(entity: str, done: int, loaded: int, rejected: int) -> None:
        seen["n"] += 1
        if seen["n"] >= after:
            raise Crash(f"stopped after {after} chunks")

    return progress


def _project(workdir: Path, legacy_url: str, source: str) -> Path:
    (workdir / "migrate.toml").write_text(f'[connections]\nfinance = "{legacy_url}"\n')
    folder = workdir / "mappings" / "hr"
    folder.mkdir(parents=True, exist_ok=True)
    head = f"entity: pay\ndomain: hr\nsource:\n  system: finance\n{source}"
    (folder / "pay.yaml").write_text(head + FIELDS, encoding="utf-8")
    return workdir / "mappings"


def _staged(workdir: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(workdir / "staging.db") as conn:
        return {
            "staged": sorted(
                conn.execute('SELECT "RECORD_KEY", "ANNUAL_SALARY" FROM "WORKER_ANNUAL_PAY"')
            ),
            "rejects": sorted(
                conn.execute('SELECT "SOURCE_KEY", "REASON_CODE" FROM "MIG_REJECTS"')
            ),
        }


def _audit_totals(workdir: Path, run_id: str) -> dict[str, int]:
    path = audit.log_path(load_settings(workdir))
    entries = [e for _, e in audit.read_entries(path)]
    counts = [
        e["payload"] for e in entries if e["kind"] == "counts" and e["payload"]["run_id"] == run_id
    ]
    return dict(counts[-1]["totals"])


def _stop_and_resume(workdir: Path, mappings: Path) -> RunSummary:
    settings = load_settings(workdir)
    with pytest.raises(Exception, match="stopped after"):
        run_migration(settings, mappings, "full", chunk_size=CHUNK, progress=_stopper(STOP_AFTER))
    with sqlite3.connect(workdir / "staging.db") as conn:
        (run_id,) = conn.execute('SELECT "RUN_ID" FROM "MIG_RUNS"').fetchone()
        done = conn.execute('SELECT COUNT(*) FROM "MIG_PROGRESS"').fetchone()[0]
    assert done == STOP_AFTER
    return resume_run(settings, mappings, run_id, chunk_size=CHUNK)


def _check_exactly_once(tmp_path: Path, legacy_url: str, source: str) -> None:
    interrupted, whole = tmp_path / "interrupted", tmp_path / "whole"
    for w in (interrupted, whole):
        w.mkdir()
    resumed = _stop_and_resume(interrupted, _project(interrupted, legacy_url, source))
    mappings = _project(whole, legacy_url, source)
    reference = run_migration(load_settings(whole), mappings, "full", chunk_size=CHUNK)
    got, want = _staged(interrupted), _staged(whole)

    def dups(side: dict[str, list[tuple[object, ...]]]) -> int:
        return sum(1 for r in side["rejects"] if r[1] == "duplicate_key")

    assert dups(got) == dups(want)  # none read twice (a source's own duplicates aside)
    assert len(got["staged"]) + len(got["rejects"]) == ROWS  # no gaps, no duplicates
    assert got == want
    # item 4: every artifact counts the whole run, not the resumed part
    assert (
        resumed.totals
        == reference.totals
        == {
            "rows_in": ROWS,
            "loaded": len(want["staged"]),
            "rejected": len(want["rejects"]),
            "filtered": 0,
        }
    )
    assert resumed.entities[0].reasons == reference.entities[0].reasons
    assert resumed.entities[0].batches == reference.entities[0].batches
    assert _audit_totals(interrupted, resumed.run_id) == resumed.totals
    assert _lineage_rows(interrupted) == len(want["staged"])


def _lineage_rows(workdir: Path) -> int:
    """The entity's output row count in the last COMPLETE OpenLineage event."""
    lines = (workdir / "artifacts" / "openlineage.jsonl").read_text().splitlines()
    counts = [
        o["outputFacets"]["outputStatistics"]["rowCount"]
        for e in map(json.loads, lines)
        if e["eventType"] == "COMPLETE" and e["job"]["name"] == "pay"
        for o in e.get("outputs", [])
    ]
    return int(counts[-1])


def _sqlite_legacy(tmp_path: Path) -> str:
    db = tmp_path / "legacy.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE PAY (ID INTEGER, NAME TEXT, GROSS TEXT)")
        conn.executemany("INSERT INTO PAY VALUES (?, ?, ?)", _rows())
    return f"sqlite:///{db}"


QUERY = "  query: SELECT ID, NAME, GROSS FROM PAY WHERE ID > 0\n  key: [ID]\n"


def test_query_source_resumes_exactly_once_on_sqlite(tmp_path: Path) -> None:
    _check_exactly_once(tmp_path, _sqlite_legacy(tmp_path), QUERY)


def test_table_source_resumes_exactly_once(tmp_path: Path) -> None:
    _check_exactly_once(tmp_path, _sqlite_legacy(tmp_path), "  table: PAY\n  key: [ID]\n")


def test_delimited_file_resumes_exactly_once(tmp_path: Path) -> None:
    extract = tmp_path / "pay.csv"
    lines = ["ID,NAME,GROSS", *(f"{i},{n},{g}" for i, n, g in _rows())]
    extract.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = f"  file:\n    path: {extract}\n  key: [ID]\n"
    _check_exactly_once(tmp_path, _sqlite_legacy(tmp_path), source)


def test_fixed_width_file_resumes_exactly_once(tmp_path: Path) -> None:
    extract = tmp_path / "pay.dat"
    extract.write_text("".join(f"{i:05d}{n:<6}{g:>8}\n" for i, n, g in _rows()), "ascii")
    layout = (
        "    fixed:\n      fields:\n"
        "        - {name: ID, start: 1, length: 5}\n"
        "        - {name: NAME, start: 6, length: 6}\n"
        "        - {name: GROSS, start: 12, length: 8}\n"
    )
    source = f"  file:\n    path: {extract}\n{layout}  key: [ID]\n"
    _check_exactly_once(tmp_path, _sqlite_legacy(tmp_path), source)


@pytest.mark.db
def test_query_source_resumes_exactly_once_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text('CREATE TABLE "PAY" ("ID" integer, "NAME" text, "GROSS" text)'))
        conn.execute(
            text('INSERT INTO "PAY" VALUES (:i, :n, :g)'),
            [{"i": i, "n": n, "g": g} for i, n, g in _rows()],
        )
    engine.dispose()
    source = '  query: SELECT "ID", "NAME", "GROSS" FROM "PAY"\n  key: [ID]\n'
    _check_exactly_once(tmp_path, pg_url, source)


@pytest.mark.db
def test_query_source_resumes_exactly_once_on_mariadb(tmp_path: Path, mysql_url: str) -> None:
    engine = create_engine(mysql_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE PAY (ID integer, NAME varchar(20), GROSS varchar(20))"))
        conn.execute(
            text("INSERT INTO PAY VALUES (:i, :n, :g)"),
            [{"i": i, "n": n, "g": g} for i, n, g in _rows()],
        )
    engine.dispose()
    _check_exactly_once(tmp_path, mysql_url, QUERY)


def test_query_source_resumes_after_a_text_and_date_group(tmp_path: Path) -> None:
    """A composite group key of text and date: the predicate compares like with like."""
    db = tmp_path / "legacy.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE PAY (ID INTEGER, NAME TEXT, GROSS TEXT, D TEXT)")
        conn.executemany(
            "INSERT INTO PAY VALUES (?, ?, ?, ?)",
            [(i, n, g, f"2024-01-{i % 28 + 1:02d}") for i, n, g in _rows()],
        )
    source = "  query: SELECT ID, NAME, GROSS, D FROM PAY\n  key: [D, ID]\n"
    _check_exactly_once(tmp_path, f"sqlite:///{db}", source)


def test_the_query_example_of_the_how_to_resumes_exactly_once(tmp_path: Path) -> None:
    """docs/how-to/run-a-migration.md's query source, stopped and resumed."""
    doc = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "run-a-migration.md"
    block = re.search(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert block is not None
    example = textwrap.dedent(block.group(1))
    lines = example.splitlines()
    assert lines[:2] == ["source:", "  system: finance"]
    _check_exactly_once(tmp_path, _sqlite_legacy(tmp_path), "\n".join(lines[2:]) + "\n")


@pytest.mark.slow
def test_query_source_killed_with_sigkill_resumes_exactly_once(tmp_path: Path) -> None:
    """The issue's case as a real process: 30,000 rows from a query, chunks of 300, kill -9
    mid-run, ``migrate resume``: staged and rejected as an uninterrupted run, no
    ``duplicate_key``, and the summary counts every row once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    rows = 30_000
    db = tmp_path / "legacy.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE PAY (ID INTEGER, NAME TEXT, GROSS TEXT)")
        conn.executemany(
            "INSERT INTO PAY VALUES (?, ?, ?)",
            [(i, f"N{i}", "x" if i % 97 == 0 else f"{i}.25") for i in range(1, rows + 1)],
        )
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    for w in (killed, whole):
        w.mkdir()
        _project(w, f"sqlite:///{db}", QUERY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATE_")}

    def cli(workdir: Path, *args: str) -> list[str]:
        base = [sys.executable, "-m", "cli.main", "--workdir", str(workdir)]
        return [*base, "--mappings", str(workdir / "mappings"), "--quiet", *args]

    proc = subprocess.Popen(cli(killed, "run", "--chunk-size", "300"), env=env)
    staging = killed / "staging.db"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
        try:
            with sqlite3.connect(staging) as conn:
                if conn.execute('SELECT COUNT(*) FROM "MIG_PROGRESS"').fetchone()[0] >= 20:
                    break
        except sqlite3.Error:
            continue
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(staging) as conn:
        (run_id,) = conn.execute('SELECT "RUN_ID" FROM "MIG_RUNS"').fetchone()
    done = subprocess.run(
        cli(killed, "resume", run_id, "--chunk-size", "300"), env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    ref = subprocess.run(
        cli(whole, "run", "--chunk-size", "300"), env=env, capture_output=True, text=True
    )
    assert ref.returncode == 0, ref.stderr
    got, want = _staged(killed), _staged(whole)
    assert len(got["staged"]) + len(got["rejects"]) == rows
    assert got == want
    with sqlite3.connect(staging) as conn:
        assert conn.execute('SELECT SUM("ROWS_IN") FROM "MIG_PROGRESS"').fetchone()[0] == rows
    assert _audit_totals(killed, run_id)["rows_in"] == rows


def _null_keys(i: int) -> bool:
    """Rows whose key holds a NULL: a block longer than two chunks, and some scattered."""
    return i <= 100 or i % 11 == 0


@pytest.mark.parametrize("kind", ["table", "query"])
def test_a_null_key_at_a_chunk_boundary_resumes_exactly_once_on_sqlite(
    tmp_path: Path, kind: str
) -> None:
    """Before: a chunk ending on a NULL key was resumed after ``(ID) > (NULL)``, which
    holds for no row: every later row was silently missing and the run "complete"."""
    db = tmp_path / "legacy.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE PAY (ID INTEGER, NAME TEXT, GROSS TEXT)")
        conn.executemany(
            "INSERT INTO PAY VALUES (?, ?, ?)",
            [(None if _null_keys(i) else i, n, g) for i, n, g in _rows()],
        )
    source = (
        "  table: PAY\n  key: [ID]\n" if kind == "table" else QUERY.replace(" WHERE ID > 0", "")
    )
    _check_exactly_once(tmp_path, f"sqlite:///{db}", source)


@pytest.mark.db
@pytest.mark.parametrize("kind", ["table", "query"])
def test_null_keys_resume_exactly_once_on_postgresql(
    tmp_path: Path, pg_url: str, kind: str
) -> None:
    """PostgreSQL orders NULLs last, within each column of a composite key too. (A key
    with a NULL is unique here: which of several equal ones is the ``duplicate_key`` and
    which ``required_missing`` depends on where chunks end, resumed or not.)"""
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text('CREATE TABLE "PAY" ("ID" integer, "D" text, "NAME" text, "GROSS" text)'))
        conn.execute(
            text('INSERT INTO "PAY" VALUES (:i, :d, :n, :g)'),
            [
                {"i": None if i % 13 == 0 else i, "n": n, "g": g}
                | {"d": None if _null_keys(i) else f"E{i}" if i % 13 == 0 else f"D{i % 4}"}
                for i, n, g in _rows()
            ],
        )
    engine.dispose()
    if kind == "table":
        source = "  table: PAY\n  key: [D, ID]\n"
    else:
        source = '  query: SELECT "ID", "D", "NAME", "GROSS" FROM "PAY"\n  key: [D, ID]\n'
    _check_exactly_once(tmp_path, pg_url, source)
