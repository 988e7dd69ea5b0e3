"""Run ids grow with time (issue 21), and the old random ones stay readable.

A new run id is a UUIDv7 written as 32 hex digits: its first 12 digits are the start in
milliseconds, so ids sort by start as text and a BRIN index on ``MIG_RUN_ID`` stays narrow.
A staging holding runs with the older ids (12 random hex digits) is resumed, reconciled,
traced and rolled back by those ids exactly as before, beside runs with new ids.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from fixtures.estate.build import build_estate
from migrate.config import load_settings
from migrate.errors import TerminalError
from migrate.lineage.trace import trace
from migrate.runs import pipeline
from migrate.runs import records as runs
from migrate.runs.runner import run_migration

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
OLD = "3f2a9c0d1e4b"  # what uuid4().hex[:12] gave before


def test_new_ids_are_uuid7_in_hex_and_sort_by_start() -> None:
    made = [runs.new_run_id() for _ in range(3000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    for run_id in made[:20]:
        assert re.fullmatch(r"[0-9a-f]{32}", run_id) and len(run_id) <= 36  # MIG_RUN_ID
        assert uuid.UUID(run_id).version == 7
        assert uuid.UUID(run_id).variant == uuid.RFC_4122
    later = runs.new_run_id(at_ms=int(made[-1][:12], 16) + 60_000)
    assert later > made[-1]
    start = runs.run_id_time(later)
    assert start is not None and runs.run_id_time(made[-1]) is not None
    assert (start - runs.run_id_time(made[-1])).total_seconds() == pytest.approx(60, abs=0.01)  # type: ignore[operator]
    assert runs.run_id_time(OLD) is None


def test_ids_keep_their_order_within_a_millisecond_and_when_the_clock_steps_back() -> None:
    now = int(runs.new_run_id()[:12], 16) + 10  # after any id made so far
    same = [runs.new_run_id(at_ms=now) for _ in range(5000)]  # past the 4096 counter values
    back = runs.new_run_id(at_ms=now - 5_000)
    assert same == sorted(same) and len(set(same)) == 5000
    assert back > same[-1]


def _estate(folder: Path) -> None:
    s = load_settings(folder)
    build_estate(
        {k: s.url(k) for k in ("finance", "hr", "procurement")},
        folder / "extracts",
        scale=200,
        seed=5,
    )


def test_a_run_with_an_old_id_is_resumed_reconciled_traced_and_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _estate(tmp_path)
    settings = load_settings(tmp_path)
    real = pipeline.process_chunk

    def fail(ctx: Any, spec: Any, *a: Any, **k: Any) -> Any:
        if a[2].batch_id == 2:
            raise TerminalError("staging disk full (injected)")
        return real(ctx, spec, *a, **k)

    monkeypatch.setattr(pipeline, "process_chunk", fail)
    with pytest.raises(TerminalError):  # a run an earlier version started, stopped
        run_migration(settings, MAPPINGS, "full", ["suppliers_finance"], 10, run_id=OLD)
    monkeypatch.setattr(pipeline, "process_chunk", real)
    db = tmp_path / "staging.db"

    def one(sql: str) -> object:
        with sqlite3.connect(db) as conn:
            return conn.execute(sql).fetchone()[0]

    assert one(f"SELECT STATUS FROM MIG_RUNS WHERE RUN_ID = '{OLD}'") == "failed"
    work = ["--workdir", str(tmp_path)]
    assert main(["--quiet", *work, "resume", OLD]) == 0
    assert one(f"SELECT STATUS FROM MIG_RUNS WHERE RUN_ID = '{OLD}'") == "complete"
    assert one(f"SELECT COUNT(*) FROM SUPPLIERS WHERE MIG_RUN_ID = '{OLD}'") == 38

    new = run_migration(settings, MAPPINGS, "full", ["workers"]).run_id
    assert len(new) == 32
    capsys.readouterr()
    main([*work, "reconcile", OLD, "--entity", "suppliers_finance"])
    out = capsys.readouterr()
    assert OLD in out.out + out.err and "unknown run" not in out.out + out.err
    assert one(f"SELECT COUNT(*) FROM MIG_RECONCILIATIONS WHERE RUN_ID = '{OLD}'") == 1

    erp = one(f"SELECT SUPPLIER_ID FROM SUPPLIERS WHERE MIG_RUN_ID = '{OLD}' LIMIT 1")
    traced = trace(settings, "SUPPLIERS", str(erp))
    assert [s.run_id for s in traced.staged] == [OLD]

    assert main([*work, "runs"]) == 0
    listed = capsys.readouterr().out
    assert listed.index(new) < listed.index(OLD)  # newest first, whatever the id's form

    assert main([*work, "rollback", OLD, "--yes"]) == 0
    assert f"rolled back run {OLD}" in capsys.readouterr().out
    assert one(f"SELECT STATUS FROM MIG_RUNS WHERE RUN_ID = '{OLD}'") == "rolled_back"
    assert one(f"SELECT STATUS FROM MIG_RUNS WHERE RUN_ID = '{new}'") == "complete"
    assert one("SELECT COUNT(*) FROM SUPPLIERS") == 0 and one("SELECT COUNT(*) FROM WORKERS") > 0
