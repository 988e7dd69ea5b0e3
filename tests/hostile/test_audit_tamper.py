"""Twelve ways to tamper with the audit log, each detected (issue 22, item 12).

Before: ``audit verify`` caught an edit, a deletion, an insertion, a reorder and a replay,
but not a truncated tail, an appended entry, an edited-and-re-hashed last entry or a fully
recomputed chain. Now the chain is anchored: with ``MIGRATE_AUDIT_KEY`` every entry carries
an HMAC, and each run's outcome checkpoints the head (entry count + head hash + MAC) in
staging's ``MIG_AUDIT_ANCHORS``. With the key all twelve are detected; without it, eleven:
an entry appended after the newest checkpoint is then undetectable (nothing outside the log
says where it ended), which ``audit verify`` says in its notes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migrate.audit import log as audit
from migrate.config import Settings, load_settings
from migrate.db import writable_engine
from migrate.runs import records as runs
from migrate.runs.locate import staging_target
from migrate.staging.create import ensure_staging

KEY = "k" * 32
Entries = list[dict[str, Any]]


def _rehash(entries: Entries, start: int = 0) -> Entries:
    """Recompute seq, links and hashes from ``start`` on, as someone without the key can."""
    for i in range(start, len(entries)):
        e = {k: v for k, v in entries[i].items() if k not in ("mac", "key_id")}
        e["seq"] = i + 1
        e["prev_hash"] = entries[i - 1]["hash"] if i else audit.GENESIS
        e["hash"] = audit.entry_hash(e)
        entries[i] = e
    return entries


def _edit(entries: Entries, i: int) -> None:
    entries[i]["payload"]["n"] = 999_999


def _forged(after: dict[str, Any]) -> dict[str, Any]:
    e = {
        "seq": after["seq"] + 1,
        "time": after["time"],
        "kind": "signoff_recorded",
        "payload": {"run_id": "r2", "approver": "mallory", "decision": "approve"},
        "prev_hash": after["hash"],
    }
    e["hash"] = audit.entry_hash(e)
    return e


def edited(e: Entries) -> Entries:
    _edit(e, 2)
    return e


def edited_rehashed(e: Entries) -> Entries:
    _edit(e, 2)
    e[2]["hash"] = audit.entry_hash(e[2])
    return e


def deleted(e: Entries) -> Entries:
    return e[:2] + e[3:]


def deleted_first(e: Entries) -> Entries:
    return e[1:]


def inserted(e: Entries) -> Entries:
    return [*e[:2], _forged(e[1]), *e[2:]]


def reordered(e: Entries) -> Entries:
    return [*e[:2], e[3], e[2], *e[4:]]


def replayed(e: Entries) -> Entries:
    return [*e, dict(e[1])]


def truncated(e: Entries) -> Entries:
    return e[:-2]


def appended(e: Entries) -> Entries:
    return [*e, _forged(e[-1])]


def last_rehashed(e: Entries) -> Entries:
    _edit(e, len(e) - 1)
    return _rehash(e, len(e) - 1)


def recomputed(e: Entries) -> Entries:
    _edit(e, 2)
    return _rehash(e)


def deleted_recomputed(e: Entries) -> Entries:
    return _rehash(e[:2] + e[3:])


CASES: dict[str, tuple[Callable[[Entries], Entries], bool]] = {
    # name: (tamper, detected without the key)
    "edit": (edited, True),
    "edit and re-hash": (edited_rehashed, True),
    "delete": (deleted, True),
    "delete the first": (deleted_first, True),
    "insert": (inserted, True),
    "reorder": (reordered, True),
    "replay": (replayed, True),
    "truncate the tail": (truncated, True),
    "append": (appended, False),
    "edit and re-hash the last": (last_rehashed, True),
    "recompute the whole chain": (recomputed, True),
    "delete and recompute": (deleted_recomputed, True),
}


def _stage(settings: Settings, run_id: str) -> None:
    url, schema = staging_target(settings, "full")
    md = ensure_staging(url, schema)
    engine = writable_engine(url)
    try:
        runs.start_run(engine, md, "full", {}, {}, run_id=run_id)
    finally:
        engine.dispose()


def _log_two_runs(settings: Settings) -> Path:
    """Two runs as the runner logs them (start, mappings, counts, rejects); the last entry
    of each is checkpointed in staging."""
    for run_id in ("r1", "r2"):
        _stage(settings, run_id)
        for n, kind in enumerate(("run_started", "mapping_versions", "counts")):
            audit.append(settings, kind, {"run_id": run_id, "n": n})
        audit.append(settings, "rejects_by_reason", {"run_id": run_id, "n": 3})
    return audit.log_path(settings)


@pytest.fixture(scope="module", params=[True, False], ids=["with key", "without key"])
def written(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, Path, bool]:
    keyed: bool = request.param
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MIGRATE_AUDIT_KEY_FILE", raising=False)
        if keyed:
            mp.setenv("MIGRATE_AUDIT_KEY", KEY)
        else:
            mp.delenv("MIGRATE_AUDIT_KEY", raising=False)
        settings = load_settings(tmp_path_factory.mktemp("audit"))
        return settings, _log_two_runs(settings), keyed


def _verify(
    settings: Settings, path: Path, keyed: bool, mp: pytest.MonkeyPatch
) -> audit.VerifyResult:
    mp.delenv("MIGRATE_AUDIT_KEY_FILE", raising=False)
    if keyed:
        mp.setenv("MIGRATE_AUDIT_KEY", KEY)
    else:
        mp.delenv("MIGRATE_AUDIT_KEY", raising=False)
    return audit.verify(path, settings)


def test_the_untouched_log_verifies(
    written: tuple[Settings, Path, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, path, keyed = written
    result = _verify(settings, path, keyed, monkeypatch)
    assert result.ok, result.problems
    assert result.entries == 8
    assert "2 checkpoint(s) checked" in result.notes
    entries = [e for _, e in audit.read_entries(path)]
    assert all(("mac" in e) == keyed for e in entries)
    if not keyed:
        assert any("entry MACs not checked" in n for n in result.notes)


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_detected(
    written: tuple[Settings, Path, bool],
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, original, keyed = written
    tamper, without_key = CASES[case]
    entries = [json.loads(line) for line in original.read_text(encoding="utf-8").splitlines()]
    tampered = tamper(entries)
    path = tmp_path / "audit.log"
    path.write_text("".join(audit.canonical(e) + "\n" for e in tampered), encoding="utf-8")
    result = _verify(settings, path, keyed, monkeypatch)
    if keyed or without_key:
        assert not result.ok, f"{case}: not detected"
        assert all(str(p) for p in result.problems)
    else:
        assert result.ok, f"{case}: now detected without the key; update the docs"


def test_a_truncated_tail_names_the_checkpoint(
    written: tuple[Settings, Path, bool], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, original, keyed = written
    path = tmp_path / "audit.log"
    path.write_text("".join(original.read_text(encoding="utf-8").splitlines(True)[:6]))
    messages = [p.message for p in _verify(settings, path, keyed, monkeypatch).problems]
    assert messages == [
        "checkpoint in staging MIG_AUDIT_ANCHORS (run r2, rejects_by_reason) says the log "
        "held 8 entries, it holds 6: entries were cut off the end, or the log was replaced"
    ]


def test_a_forged_checkpoint_is_named_with_the_key(
    written: tuple[Settings, Path, bool], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever truncates the log and rewrites staging's checkpoint to match is caught by the
    checkpoint's MAC (with the key), and by nothing without it."""
    settings, original, keyed = written
    copy = load_settings(tmp_path)
    shutil.copy(settings.workdir / "staging.db", tmp_path / "staging.db")
    path = audit.log_path(copy)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = original.read_text(encoding="utf-8").splitlines(True)[:6]
    path.write_text("".join(lines), encoding="utf-8")
    head = json.loads(lines[-1])["hash"]
    engine = writable_engine(copy.url("staging"))
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE MIG_AUDIT_ANCHORS SET ENTRIES = 6, HEAD = ? WHERE ENTRIES = 8", (head,)
        )
        conn.exec_driver_sql("DELETE FROM MIG_RUNS WHERE RUN_ID = 'r2'")
    engine.dispose()
    result = _verify(copy, path, keyed, monkeypatch)
    if keyed:
        assert [p.message for p in result.problems] == [
            "checkpoint in staging MIG_AUDIT_ANCHORS (run r2, rejects_by_reason): MAC does "
            "not match, the checkpoint was forged"
        ]
    else:
        assert result.ok
