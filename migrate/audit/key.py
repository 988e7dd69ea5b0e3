"""The audit log's key: where it comes from, and the two MACs made with it.

A hash chain alone proves nothing against someone who can rewrite the whole file: they
recompute every hash. A keyed MAC (HMAC-SHA256) on each entry, and on each checkpoint of
the chain's head, can only be made by whoever holds the key, so the key never goes into
the log or beside it. It comes from ``MIGRATE_AUDIT_KEY`` (the secret itself), or from
``MIGRATE_AUDIT_KEY_FILE`` (a file holding it, never in the log's own folder). Each MAC is
domain-separated (its own prefix), as RFC 6962 separates leaf and node hashes, so an
entry's MAC can never be presented as a checkpoint's. ``key_id`` (from the key, never
revealing it) tells "another key" apart from "forged", like a signed note's key hint.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from migrate.errors import ConfigError

ENV_KEY = "MIGRATE_AUDIT_KEY"
ENV_KEY_FILE = "MIGRATE_AUDIT_KEY_FILE"
MIN_LENGTH = 16
_ENTRY = b"erp-migrate/audit-entry/1\n"
_CHECKPOINT = b"erp-migrate/audit-checkpoint/1\n"
_KEY_ID = b"erp-migrate/audit-key-id/1\n"


@dataclass(frozen=True)
class AuditKey:
    """The secret (never printed) and its public id."""

    secret: bytes
    key_id: str

    def __repr__(self) -> str:
        return f"AuditKey(key_id={self.key_id!r})"


def make_key(secret: bytes) -> AuditKey:
    if len(secret) < MIN_LENGTH:
        raise ConfigError(
            f"the audit key is {len(secret)} bytes; use at least {MIN_LENGTH} "
            "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return AuditKey(secret, hashlib.sha256(_KEY_ID + secret).hexdigest()[:16])


def load(log: Path | None = None) -> AuditKey | None:
    """The key from the environment, or None when neither variable is set. A key file in
    the log's folder is refused: whoever can rewrite the log could then re-MAC it."""
    value = os.environ.get(ENV_KEY, "")
    if value:
        return make_key(value.strip().encode("utf-8"))
    named = os.environ.get(ENV_KEY_FILE, "")
    if not named:
        return None
    path = Path(named).expanduser()
    if log is not None and path.resolve().parent == log.resolve().parent:
        raise ConfigError(
            f"{ENV_KEY_FILE} {path} is in the audit log's folder; keep the key where the "
            "log is not (a secret store, or a folder only the migration account can read)"
        )
    try:
        return make_key(path.read_bytes().strip())
    except OSError as exc:
        raise ConfigError(f"{ENV_KEY_FILE}: cannot read {path}: {exc.strerror or exc}") from None


def entry_mac(key: AuditKey, entry_hash: str) -> str:
    """The MAC of one entry: over its hash, which covers its seq, content and link."""
    return hmac.new(key.secret, _ENTRY + entry_hash.encode("ascii"), hashlib.sha256).hexdigest()


def checkpoint_mac(key: AuditKey, entries: int, head: str) -> str:
    """The MAC of a checkpoint: the log held ``entries`` entries, the last hashing ``head``."""
    body = f"{entries}\n{head}\n".encode("ascii")
    return hmac.new(key.secret, _CHECKPOINT + body, hashlib.sha256).hexdigest()


def same(a: str | None, b: str) -> bool:
    """Constant-time comparison of a stored MAC with the one computed."""
    return a is not None and hmac.compare_digest(str(a), b)
