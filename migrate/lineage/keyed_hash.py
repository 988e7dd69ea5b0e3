"""Keyed hashes of personal values, so two sides can be proven equal without showing them.

Reconciliation of masked columns (SSN, bank account, routing number, birth date) compares
HMAC-SHA256 digests computed on each side with one secret key: equal digests mean equal
values, and the digests in a workbook reveal nothing to a reader without the key (a plain
SHA-256 of a 9-digit SSN could be reversed by trying all 10^9 values).

The key comes from ``MIGRATE_MASK_KEY``; the development default below is public and only
fit for the demo estate. The ``mask: hash`` step uses the same key, so a staged hash can be
compared with :func:`keyed_hash` of the legacy value (first 32 hex digits).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from datetime import date

ENV_KEY = "MIGRATE_MASK_KEY"
DEV_DEFAULT_KEY = "migrate-default-mask-key"
_NOT_DIGIT = re.compile(r"\D")


def mask_key() -> bytes:
    return os.environ.get(ENV_KEY, DEV_DEFAULT_KEY).encode("utf-8")


def using_dev_key() -> bool:
    """True when no real key is configured (reports should say so)."""
    return not os.environ.get(ENV_KEY)


def normalise(value: object, kind: str | None = None) -> str:
    """The text that is hashed: trimmed; digits only for SSNs, accounts and routing numbers."""
    text = value.isoformat()[:10] if isinstance(value, date) else str(value).strip()
    if kind in ("ssn", "bank_account", "routing"):
        return _NOT_DIGIT.sub("", text)
    return text


def keyed_hash(value: object, kind: str | None = None, key: bytes | None = None) -> str | None:
    """HMAC-SHA256 (hex) of the normalised value; None stays None so NULLs compare as NULLs."""
    if value is None:
        return None
    message = normalise(value, kind).encode("utf-8")
    return hmac.new(key or mask_key(), message, hashlib.sha256).hexdigest()
