"""The audit log: append-only JSON lines, each entry carrying the hash of the one before it.

Auditors must trust, months after cutover, that nobody edited the record of what ran and who
signed off. Each entry is ``{seq, time, kind, payload, prev_hash, hash}`` where ``hash`` is
SHA-256 over the canonical JSON of the entry without ``hash`` (so it covers ``prev_hash``):
editing, deleting, inserting or reordering an entry breaks the chain, and :func:`verify`
says which entry. A chain cannot show its own end being cut off, nor a rewrite that
recomputes every hash, so it is anchored twice (issue 22, item 12): with a key in the
environment every entry carries an HMAC (``mac``, ``key_id``: :mod:`migrate.audit.key`), and
the head is checkpointed where the log is not, in staging and in each reconciliation's files
(:mod:`migrate.audit.anchors`); ``verify`` with ``settings`` checks them all
(:mod:`migrate.audit.verify`).

A log with no entries proves nothing, so it is never reported as an intact chain: a log named
on the command line must exist and hold entries, and the default log may be missing or empty
only while no staging records a run (:func:`recorded_runs`, :func:`no_entries`).

No secret enters the log: URLs are redacted by the callers and any payload string that still
looks like a password-bearing URL, or a key named like a password, is refused.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, table
from sqlalchemy.exc import SQLAlchemyError

from migrate.config import Settings
from migrate.db import readonly_engine
from migrate.errors import ConfigError, MigrationError, TerminalError

KINDS: tuple[str, ...] = (
    "run_started",
    "mapping_versions",
    "counts",
    "rejects_by_reason",
    "reconciliation_verdict",
    "workbook_hash",
    "signoff_recorded",
    "rollback",
    "export_written",
    "export_verified",
)
GENESIS = "0" * 64
LOG_NAME = "audit.log"
_URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.\-]*://[^/\s:@]*:(?!\*\*\*@)[^@\s/]+@", re.I)
_URL_PASSWORD_PART = re.compile(r"([a-z][a-z0-9+.\-]*://[^/\s:@]*:)[^@\s/]+@", re.I)
_SECRET_KEY = re.compile(
    r"(?:.*[_\-.])?(password|passwd|pwd|secret|token|api[_\-]?key|credentials?)", re.I
)


class AuditSecretError(TerminalError):
    """A payload would have put a secret into the audit log; nothing was written."""


class AuditLogError(TerminalError):
    """The file given as the audit log cannot be read as one (a folder, not UTF-8 text)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the log, located by line (1-based) and the entry's seq."""

    line: int
    seq: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" (seq {self.seq})" if self.seq is not None else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class VerifyResult:
    entries: int
    head: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was and was not checked

    @property
    def ok(self) -> bool:
        return not self.problems


def log_path(settings: Settings) -> Path:
    return settings.artifacts / LOG_NAME


def canonical(obj: Any) -> str:
    """The one byte-exact JSON text an entry is hashed over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


UNHASHED = ("hash", "mac", "key_id")  # the MAC is made over the hash, so not part of it


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k not in UNHASHED}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def scrub(text: str) -> str:
    """Free text (an error message) with the password of any URL in it replaced by ``***``."""
    return _URL_PASSWORD_PART.sub(r"\1***@", text)


def check_no_secrets(value: Any, path: str = "payload") -> None:
    """Refuse password-bearing URLs and password-like keys anywhere in a payload."""
    if isinstance(value, str):
        if _URL_WITH_PASSWORD.search(value):
            raise AuditSecretError(f"{path}: looks like a URL with a password; redact it first")
    elif isinstance(value, dict):
        for k, v in value.items():
            if _SECRET_KEY.fullmatch(str(k)) and v not in (None, "", "***"):
                raise AuditSecretError(f"{path}.{k}: secrets never go into the audit log")
            check_no_secrets(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_no_secrets(v, f"{path}[{i}]")


def append(settings: Settings, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Add one entry after the current head; the file lock keeps concurrent writers in line.
    The last entry of a run's outcome, a rollback or a reconciliation is checkpointed in the
    staging holding the run."""
    from migrate.audit import anchors as audit_anchors

    entry = append_to(log_path(settings), kind, payload)
    audit_anchors.after_append(settings, kind, payload, entry)
    return entry


def append_to(path: Path, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Append to the log at ``path``; with a key in the environment the entry carries its MAC."""
    from migrate.audit import key as audit_key

    if kind not in KINDS:
        raise ValueError(f"unknown audit entry kind {kind!r} (one of {', '.join(KINDS)})")
    check_no_secrets(payload)
    json.dumps(payload)  # fail before locking if the payload is not JSON
    key = audit_key.load(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0)
            last = _last_entry(fh.read())
            entry: dict[str, Any] = {
                "seq": (int(last["seq"]) + 1) if last else 1,
                "time": datetime.now(UTC).isoformat(timespec="microseconds"),
                "kind": kind,
                "payload": payload,
                "prev_hash": str(last["hash"]) if last else GENESIS,
            }
            entry["hash"] = entry_hash(entry)
            if key is not None:
                entry["key_id"], entry["mac"] = key.key_id, audit_key.entry_mac(key, entry["hash"])
            fh.seek(0, 2)
            fh.write(canonical(entry) + "\n")
            fh.flush()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return entry


def _last_entry(text: str) -> dict[str, Any] | None:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    try:
        last: dict[str, Any] = json.loads(lines[-1])
        return last
    except json.JSONDecodeError as exc:
        raise TerminalError(f"audit log's last line is not JSON ({exc}); run audit verify") from exc


def record_reconciliation(
    settings: Settings,
    run_id: str,
    verdict: str,
    workbook_sha256: str,
    *,
    number: int | None = None,
    reconciled_at: str | None = None,
    exceptions: int | None = None,
    files: dict[str, str] | None = None,
) -> None:
    """Called by the reconcile step once its files are written: which reconciliation of the
    run (``number``), its verdict, the exceptions it asks finance to accept, and the SHA-256
    of each file (workbook, JSON, differences CSV)."""
    which = {"reconciliation": number} if number is not None else {}
    verdict_payload: dict[str, Any] = {"run_id": run_id, **which, "verdict": verdict}
    if reconciled_at is not None:
        verdict_payload["reconciled_at"] = reconciled_at
    if exceptions is not None:
        verdict_payload["exceptions"] = exceptions
    append(settings, "reconciliation_verdict", verdict_payload)
    hash_payload: dict[str, Any] = {"run_id": run_id, **which, "sha256": workbook_sha256}
    if files:
        hash_payload["files"] = files
    append(settings, "workbook_hash", hash_payload)


def record_signoff(
    settings: Settings,
    run_id: str,
    approver: str,
    decision: str,
    comment: str = "",
    *,
    judged: dict[str, Any] | None = None,
) -> None:
    """Called by the sign-off step: who approved or rejected which run, and why; ``judged``
    names the reconciliation decided on (number, workbook SHA-256, its verdict, the outcome,
    the exceptions accepted)."""
    payload = {"run_id": run_id, "approver": approver, "decision": decision, "comment": comment}
    append(settings, "signoff_recorded", {**payload, **(judged or {})})


def read_entries(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, entry) for every parseable line; used by trace and the auditor's tools."""
    if not path.exists():
        return
    for n, line in enumerate(_read(path).splitlines(), start=1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            yield n, obj


@dataclass
class _Line:
    line: int
    seq: int | None
    prev: str | None
    stored: str | None
    actual: str | None


def require_log(path: Path) -> None:
    """A log named by the user must be there: a mistyped path is not an empty log."""
    if not path.exists():
        raise ConfigError(f"audit log not found: {path}")


def recorded_runs(settings: Settings) -> dict[str, int]:
    """Runs in ``MIG_RUNS`` of the real staging ("full") and of the rehearsal's, read only; a
    staging that is not configured, cannot be opened or has no ``MIG_RUNS`` counts 0."""
    from migrate.runs.locate import staging_target

    counts: dict[str, int] = {}
    for mode in ("full", "rehearsal"):
        try:
            counts[mode] = _count_runs(*staging_target(settings, mode))
        except MigrationError:  # no staging connection configured
            counts[mode] = 0
    return counts


def _count_runs(url: str, schema: str | None) -> int:
    engine = readonly_engine(url)  # a SQLite file that is not there is not created
    try:
        with engine.connect() as conn:
            stmt = select(func.count()).select_from(table("MIG_RUNS", schema=schema))
            return int(conn.execute(stmt).scalar_one())
    except (SQLAlchemyError, ImportError, OSError):  # cannot be opened, or no MIG_RUNS
        return 0
    finally:
        engine.dispose()


def no_entries(path: Path, runs: dict[str, int], named: bool) -> tuple[bool, str]:
    """(failed, message) for a log without entries: a named log must hold some; the default
    one may be missing or empty only while no staging records a run."""
    held = _runs_text(runs)
    if named:
        tail = f", but staging holds {held}" if held else ""
        return True, f"audit log {path} holds no entries{tail}"
    if held:
        where = f"audit log {path} is empty" if path.exists() else f"no audit log at {path}"
        return True, f"{where}, but staging holds {held}"
    state = "is empty" if path.exists() else "does not exist"
    return False, f"no audit log yet (no runs recorded): {path} {state}"


def _runs_text(runs: dict[str, int]) -> str:
    """'3 run(s) (1 in the rehearsal staging)', or '' when there are none."""
    total, rehearsal = sum(runs.values()), runs.get("rehearsal", 0)
    if not total:
        return ""
    return f"{total} run(s)" + (f" ({rehearsal} in the rehearsal staging)" if rehearsal else "")


def verify(path: Path, settings: Settings | None = None) -> VerifyResult:
    """Recompute every hash and link; name each edited, deleted, inserted or moved entry. A
    missing file gives 0 entries: whether that is allowed is :func:`no_entries`' question.
    With ``settings`` also every MAC (key from the environment) and every checkpoint in
    staging and in the reconciliation files beside the log."""
    chain = verify_chain(path)
    if settings is None or not chain.entries:
        return chain
    from migrate.audit.verify import anchored

    return anchored(path, settings, chain)


def verify_chain(path: Path) -> VerifyResult:
    """The chain alone: hashes and links."""
    if not path.exists():
        return VerifyResult(0, GENESIS, [])
    lines = _parse(path)
    by_hash = {ln.stored: i for i, ln in enumerate(lines) if ln.stored}
    linked = {ln.prev for ln in lines}
    seqs = {ln.seq for ln in lines}
    problems: dict[int, Problem] = {}
    top = 0
    for i, ln in enumerate(lines):
        message = _problem(lines, i, by_hash, linked, seqs, top, problems)
        if message.startswith("^") and i:  # the fault lies with the entry before
            prev = lines[i - 1]
            problems.setdefault(i - 1, Problem(prev.line, prev.seq, message[1:]))
        elif message:
            problems[i] = Problem(ln.line, ln.seq, message)
        top = max(top, ln.seq or 0)
    head = (lines[-1].stored or GENESIS) if lines else GENESIS
    return VerifyResult(len(lines), head, [problems[k] for k in sorted(problems)])


def _read(path: Path) -> str:
    """The log's text, or a one-line :class:`AuditLogError` for a path that holds no log."""
    try:
        return path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise AuditLogError(f"audit log {path} is a folder, not a file") from None
    except UnicodeDecodeError:
        raise AuditLogError(f"audit log {path} is not UTF-8 text: not an audit log") from None
    except OSError as exc:
        raise AuditLogError(f"cannot read audit log {path}: {exc.strerror or exc}") from None


def _parse(path: Path) -> list[_Line]:
    out: list[_Line] = []
    for n, text in enumerate(_read(path).splitlines(), start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
            seq = int(obj["seq"])
            out.append(_Line(n, seq, str(obj["prev_hash"]), str(obj["hash"]), entry_hash(obj)))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            out.append(_Line(n, None, None, None, None))
    return out


def _problem(
    lines: list[_Line],
    i: int,
    by_hash: dict[str, int],
    linked: set[str | None],
    seqs: set[int | None],
    top: int,
    flagged: dict[int, Problem],
) -> str:
    """What is wrong with line ``i`` ('' when it is in place), most telling reason first."""
    ln = lines[i]
    if ln.actual is None or ln.seq is None:
        return "not a valid audit entry (edited?)"
    if ln.actual != ln.stored:
        return "content edited: its hash does not match"
    nxt = lines[i + 1].prev if i < len(lines) - 1 else None
    if nxt is not None and ln.stored not in linked and (nxt == GENESIS or nxt in by_hash):
        return "no later entry links to it: inserted"
    pred = -1 if ln.prev == GENESIS else by_hash.get(ln.prev or "")
    if pred is None:
        if ln.seq - 1 not in seqs and ln.seq > 1:
            return f"entry seq {ln.seq - 1} is missing before it: deleted"
        return "^edited and re-hashed, or replaced: the next entry's link does not match it"
    if pred > i or ln.seq < top:
        return "out of order: entries were reordered"
    if pred != i - 1 and not any(k in flagged for k in range(pred + 1, i)):
        return "does not follow the entry before it: entries were moved"
    return ""
