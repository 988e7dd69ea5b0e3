"""The audit log: hash chain, tamper detection (edit, delete, insert, reorder), no secrets."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.lineage import add_parsers
from migrate.audit import log as audit
from migrate.config import Settings, load_settings
from migrate.db import writable_engine
from migrate.runs import hooks
from migrate.runs import records as runs
from migrate.runs.locate import staging_target
from migrate.staging.create import ensure_staging


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


# ``audit verify`` with no entries to verify (issue 19, item 3): a missing, empty or mistyped
# log never reads "chain intact"; a log that staging's runs say should exist is a failure.


Verify = Callable[..., tuple[int, str, str]]


@pytest.fixture
def verify_cli(capsys: pytest.CaptureFixture[str]) -> Verify:
    """``migrate --workdir W audit verify ARGS...`` as a user runs it: (exit code, out, err)."""
    from cli.main import main

    def run(workdir: Path, *extra: str) -> tuple[int, str, str]:
        code = main(["--workdir", str(workdir), "audit", "verify", *extra])
        got = capsys.readouterr()
        return code, got.out, got.err

    return run


def _stage_run(settings: Settings, mode: str = "full") -> None:
    """A staging (the real one, or the rehearsal's) whose MIG_RUNS holds one run."""
    url, schema = staging_target(settings, mode)
    md = ensure_staging(url, schema)
    engine = writable_engine(url)
    try:
        runs.start_run(engine, md, mode, {}, {})
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", ["audit.lgo", "no/such/folder/audit.log"])
def test_verify_a_named_log_that_does_not_exist_is_an_error(
    verify_cli: Verify, tmp_path: Path, name: str
) -> None:
    missing = tmp_path / name
    code, out, err = verify_cli(tmp_path, "--log", str(missing))
    assert code == 2
    assert out == ""
    assert err == f"error: audit log not found: {missing}\n"


@pytest.mark.parametrize("what", ["folder", "binary"])
def test_verify_a_named_path_that_is_no_log_is_a_one_line_error(
    verify_cli: Verify, tmp_path: Path, what: str
) -> None:
    path = tmp_path / "wrong"
    if what == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"SQLite format 3\x00\xff\xfe\x00")
    says = "is a folder, not a file" if what == "folder" else "is not UTF-8 text"
    code, out, err = verify_cli(tmp_path, "--log", str(path))
    assert code == 2
    assert err.startswith("error: ") and says in err and err.count("\n") == 1
    assert "chain intact" not in out


@pytest.mark.parametrize("text", ["", "\n", "  \n\n\t\n"])
def test_verify_a_named_empty_log_fails(verify_cli: Verify, tmp_path: Path, text: str) -> None:
    """Even with no runs here: a copied log that holds nothing is no proof of anything."""
    path = tmp_path / "copy_of_audit.log"
    path.write_text(text, encoding="utf-8")
    code, out, _ = verify_cli(tmp_path, "--log", str(path))
    assert code == 1
    assert out == f"FAILED: audit log {path} holds no entries\n"
    _stage_run(load_settings(tmp_path))
    code, out, _ = verify_cli(tmp_path, "--log", str(path))
    assert code == 1
    assert out == f"FAILED: audit log {path} holds no entries, but staging holds 1 run(s)\n"


@pytest.mark.parametrize("mode", ["full", "rehearsal"])
def test_verify_default_log_missing_while_staging_has_a_run_fails(
    verify_cli: Verify, settings: Settings, mode: str
) -> None:
    _stage_run(settings, mode)
    code, out, _ = verify_cli(settings.workdir)
    assert code == 1
    expected = audit.log_path(settings)
    where = " (1 in the rehearsal staging)" if mode == "rehearsal" else ""
    assert out == f"FAILED: no audit log at {expected}, but staging holds 1 run(s){where}\n"


def test_verify_default_log_empty_while_staging_has_runs_fails(
    verify_cli: Verify, settings: Settings
) -> None:
    _stage_run(settings)
    _stage_run(settings)
    audit.log_path(settings).write_text("\n\n", encoding="utf-8")
    code, out, _ = verify_cli(settings.workdir)
    assert code == 1
    expected = audit.log_path(settings)
    assert out == f"FAILED: audit log {expected} is empty, but staging holds 2 run(s)\n"


@pytest.mark.parametrize(
    "staging",
    ["none", "no tables", "not a database", "no runs"],
)
@pytest.mark.parametrize("log_text", [None, "", " \n"])
def test_verify_no_log_and_no_runs_says_so(
    verify_cli: Verify, settings: Settings, staging: str, log_text: str | None
) -> None:
    db = settings.workdir / "staging.db"
    if staging == "no tables":
        db.touch()  # an empty file is an empty SQLite database
    elif staging == "not a database":
        db.write_text("this is not SQLite\n", encoding="utf-8")
    elif staging == "no runs":
        ensure_staging(settings.url("staging"))
    path = audit.log_path(settings)
    if log_text is not None:
        path.write_text(log_text, encoding="utf-8")
    code, out, err = verify_cli(settings.workdir)
    assert (code, err) == (0, "")
    state = "does not exist" if log_text is None else "is empty"
    assert out == f"no audit log yet (no runs recorded): {path} {state}\n"
    assert "chain intact" not in out
    assert db.exists() == (staging != "none")  # looking for runs creates no staging
    assert not (settings.workdir / "staging_rehearsal.db").exists()


def test_recorded_runs_counts_both_stagings(settings: Settings) -> None:
    assert audit.recorded_runs(settings) == {"full": 0, "rehearsal": 0}
    _stage_run(settings)
    _stage_run(settings, "rehearsal")
    _stage_run(settings, "rehearsal")
    assert audit.recorded_runs(settings) == {"full": 1, "rehearsal": 2}
    # a settings object without a staging connection: nothing to count, no error
    bare = Settings(urls={}, workdir=settings.workdir)
    assert audit.recorded_runs(bare) == {"full": 0, "rehearsal": 0}


# The key (issue 22, item 12): from the environment or a file outside the log's folder.


def test_a_keyed_entry_carries_its_mac_and_the_chain_still_verifies(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from migrate.audit import key as audit_key

    monkeypatch.setenv("MIGRATE_AUDIT_KEY", "s" * 32)
    entry = audit.append(settings, "counts", {"run_id": "r1"})
    key = audit_key.load()
    assert key is not None and "s" * 32 not in repr(key)
    assert entry["key_id"] == key.key_id
    assert entry["mac"] == audit_key.entry_mac(key, entry["hash"])
    assert audit.verify(audit.log_path(settings)).ok
    assert "s" * 32 not in audit.log_path(settings).read_text(encoding="utf-8")


def test_a_short_key_or_a_key_file_beside_the_log_is_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from migrate.errors import ConfigError

    monkeypatch.setenv("MIGRATE_AUDIT_KEY", "short")
    with pytest.raises(ConfigError, match="the audit key is 5 bytes; use at least 16"):
        audit.append(settings, "counts", {"run_id": "r1"})
    monkeypatch.delenv("MIGRATE_AUDIT_KEY")
    beside = settings.artifacts / "audit.key"
    beside.write_text("k" * 32, encoding="utf-8")
    monkeypatch.setenv("MIGRATE_AUDIT_KEY_FILE", str(beside))
    with pytest.raises(ConfigError, match="is in the audit log's folder"):
        audit.append(settings, "counts", {"run_id": "r1"})
    assert not audit.log_path(settings).exists()  # nothing written without a usable key
    elsewhere = settings.workdir / "secret" / "audit.key"
    elsewhere.parent.mkdir()
    elsewhere.write_text("k" * 32 + "\n", encoding="utf-8")
    monkeypatch.setenv("MIGRATE_AUDIT_KEY_FILE", str(elsewhere))
    assert "mac" in audit.append(settings, "counts", {"run_id": "r1"})
