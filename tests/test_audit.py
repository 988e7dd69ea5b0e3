"""The audit log: hash chain, tamper detection (edit, delete, insert, reorder), no secrets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from migrate import audit, hooks
from migrate.config import Settings, load_settings
from migrate.lineage.cli import add_parsers


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(tmp_path)


@pytest.fixture
def log(settings: Settings) -> Path:
    for i in range(6):
        audit.append(settings, "counts", {"run_id": "r1", "n": i})
    return audit.log_path(settings)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _problems(path: Path) -> list[tuple[int, int | None, str]]:
    result = audit.verify(path)
    assert not result.ok
    return [(p.line, p.seq, p.message) for p in result.problems]


def test_intact_log_verifies(log: Path) -> None:
    result = audit.verify(log)
    assert result.ok and result.entries == 6
    entries = [json.loads(x) for x in _lines(log)]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))
    assert result.head == entries[-1]["hash"]


def test_edited_entry_is_named(log: Path) -> None:
    lines = _lines(log)
    lines[2] = lines[2].replace('"n":2', '"n":200')
    _write(log, lines)
    assert _problems(log) == [(3, 3, "content edited: its hash does not match")]


def test_edited_and_rehashed_entry_is_named(log: Path) -> None:
    lines = _lines(log)
    entry = json.loads(lines[2])
    entry["payload"]["n"] = 200
    entry["hash"] = audit.entry_hash(entry)
    lines[2] = audit.canonical(entry)
    _write(log, lines)
    assert _problems(log) == [
        (3, 3, "edited and re-hashed, or replaced: the next entry's link does not match it")
    ]


def test_deleted_entry_is_named(log: Path) -> None:
    lines = _lines(log)
    del lines[2]
    _write(log, lines)
    assert _problems(log) == [(3, 4, "entry seq 3 is missing before it: deleted")]


def test_deleted_first_entry_is_named(log: Path) -> None:
    _write(log, _lines(log)[1:])
    assert _problems(log) == [(1, 2, "entry seq 1 is missing before it: deleted")]


def test_inserted_entry_is_named(log: Path) -> None:
    lines = _lines(log)
    before = json.loads(lines[1])
    forged = {
        "seq": 3,
        "time": before["time"],
        "kind": "signoff_recorded",
        "payload": {"run_id": "r1", "approver": "mallory", "decision": "approved"},
        "prev_hash": before["hash"],
    }
    forged["hash"] = audit.entry_hash(forged)
    lines.insert(2, audit.canonical(forged))
    _write(log, lines)
    found = _problems(log)
    assert found == [(3, 3, "no later entry links to it: inserted")]


def test_reordered_entries_are_named(log: Path) -> None:
    lines = _lines(log)
    lines[2], lines[3] = lines[3], lines[2]
    _write(log, lines)
    found = _problems(log)
    assert {(line, seq) for line, seq, _ in found} == {(3, 4), (4, 3)}
    assert all("reordered" in msg for _, _, msg in found)


def test_garbage_line_is_named(log: Path) -> None:
    lines = _lines(log)
    lines[1] = lines[1][:-5]
    _write(log, lines)
    assert (2, None, "not a valid audit entry (edited?)") in _problems(log)


@pytest.mark.parametrize(
    "payload",
    [
        {"staging": "postgresql://migrator:s3cret@db.city.gov/staging"},
        {"nested": [{"url": "mysql+pymysql://root:hunter2@127.0.0.1/x"}]},
        {"password": "hunter2"},
        {"db_password": "hunter2"},
        {"api_key": "abc"},
    ],
)
def test_secrets_are_refused(settings: Settings, payload: dict[str, object]) -> None:
    with pytest.raises(audit.AuditSecretError):
        audit.append(settings, "run_started", payload)
    assert not audit.log_path(settings).exists()


def test_redacted_urls_are_accepted(settings: Settings) -> None:
    audit.append(settings, "run_started", {"staging": "postgresql://migrator:***@db/staging"})
    assert audit.verify(audit.log_path(settings)).ok


def test_unknown_kind_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="unknown audit entry kind"):
        audit.append(settings, "whatever", {})


def test_reconciliation_and_signoff_entries(settings: Settings) -> None:
    audit.record_reconciliation(settings, "r9", "PASS", "a" * 64)
    audit.record_signoff(settings, "r9", "controller@city.gov", "approved", "totals agree")
    kinds = [e["kind"] for _, e in audit.read_entries(audit.log_path(settings))]
    assert kinds == ["reconciliation_verdict", "workbook_hash", "signoff_recorded"]


def test_hooks_write_every_kind_without_secrets(tmp_path: Path) -> None:
    settings = Settings(
        urls={"staging": "postgresql://migrator:s3cret@db/staging", "hr": "sqlite:///hr.db"},
        workdir=tmp_path,
        extra={"mappings": str(tmp_path / "no-mappings")},
    )
    (tmp_path / "no-mappings").mkdir()
    event = hooks.RunEvent(
        "r1",
        "full",
        "postgresql://migrator:s3cret@db/staging",
        None,
        {"mappings/hr/workers.yaml": "b" * 64},
        [
            {
                "entity": "workers",
                "rows_in": 5,
                "loaded": 4,
                "rejected": 1,
                "filtered": 0,
                "reasons": {"invalid_format": 1},
            }
        ],  # fmt: skip
        error="could not connect to postgresql://migrator:s3cret@db/staging",
    )
    hooks.on_run_started(settings, event)
    hooks.on_run_failed(settings, event)
    hooks.on_rollback(settings, event, {"WORKERS": 4})
    text = audit.log_path(settings).read_text(encoding="utf-8")
    assert "s3cret" not in text
    assert "s3cret" not in (settings.artifacts / "openlineage.jsonl").read_text(encoding="utf-8")
    kinds = [e["kind"] for _, e in audit.read_entries(audit.log_path(settings))]
    assert kinds == ["run_started", "mapping_versions", "counts", "rejects_by_reason", "rollback"]
    assert audit.verify(audit.log_path(settings)).ok


def _cli(argv: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    code: int = args.handler(args, settings)
    return code


def test_cli_verify_and_signoff(
    settings: Settings, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the command refuses a run it cannot find (tests/test_signoff.py); the entry it writes:
    audit.record_signoff(settings, "r1", "cfo", "approve")
    assert _cli(["audit", "verify"], settings) == 0
    assert "OK: 7 entries" in capsys.readouterr().out
    lines = _lines(log)
    del lines[4]
    _write(log, lines)
    assert _cli(["audit", "verify"], settings) == 1
    out = capsys.readouterr().out
    assert "line 5 (seq 6): entry seq 5 is missing before it: deleted" in out
    assert "FAILED: 1 problem(s)" in out
