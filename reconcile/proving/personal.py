"""Personal columns compared by keyed hash, so a report proves them equal without showing them.

A mapping field marked ``personal`` (``ssn``, ``bank_account``, ``routing``,
``birth_date``) is checked whether or not ``reconcile.compare`` names it. Its value is
restated from the legacy row like any other column (``restate.py``: origin, every step,
``when``, ``default``, then the staging column's type, so a birth date read from a ``DATE``
column or from text in any declared format is the same ISO date), and each side's value is
compared as :func:`~migrate.lineage.keyed_hash.keyed_hash` digest (HMAC-SHA256, key
``MIGRATE_MASK_KEY``), where ``ssn``, ``bank_account`` and ``routing`` keep their digits
only (``123-45-6789`` equals ``123456789``; no digits at all is no value) and NULL equals
only NULL. A field whose rule cannot be restated (one using a step reconciliation has no
statement for) is reported as not verified, never compared.

A mismatch is a ``changed`` :class:`~reconcile.report.RowDifference` naming the key and the
target column whose values are ``hmac:`` plus the first :data:`SHOWN` hex digits of each
digest (or None for NULL, or the reason a value was refused, never the value itself).
"""

from __future__ import annotations

import re

from migrate.lineage.keyed_hash import keyed_hash

SHOWN = 12  # hex digits of a digest shown in the report
REFUSED = "(refused"  # a restated value the pipeline would refuse: compared and shown as such
UNREADABLE = "(unreadable"  # a staged value that is not of its column's type
DIGIT_KINDS = ("ssn", "bank_account", "routing")
_DIGIT = re.compile(r"\d")


def digest(value: str | None, kind: str) -> str | None:
    """A personal value as compared: its keyed hash (a refusal keeps its reason)."""
    if value is None or value.startswith((REFUSED, UNREADABLE)):
        return value
    if kind in DIGIT_KINDS and not _DIGIT.search(value):
        return None  # no digits at all: no value
    return keyed_hash(value, kind)


def shown(compared: str | None) -> str | None:
    """What the report shows of a compared personal value: never the value."""
    if compared is None or compared.startswith((REFUSED, UNREADABLE)):
        return compared
    return "hmac:" + compared[:SHOWN]
