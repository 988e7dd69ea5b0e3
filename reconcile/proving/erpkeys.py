"""ERP keys as the pipeline recorded them in staging's ``MIG_KEY_MAP``, looked up in batches.

A column filled by ``lookup`` (a reference to a key another entity issued) or by
``issues_keys`` (the key this entity issues) holds an ERP key that no legacy row contains:
the pipeline numbered it and recorded the pair (DOMAIN, SOURCE_SYSTEM, LEGACY_KEY) ->
ERP_KEY. Reconciliation restates such a column by restating the legacy key from the legacy
row itself and looking it up in that record (a record, like ``MIG_REJECTS``, not the
pipeline's code: see "Independence" in docs/concepts/reconciliation.md); the staged value
must be the key found.

Lookups go in ``IN`` lists through the key map's unique index (DOMAIN, SOURCE_SYSTEM,
LEGACY_KEY), a batch of legacy rows at a time, so memory holds one batch's keys, never the
map. A legacy key matches only a LEGACY_KEY of exactly its text, as the pipeline's lookup
matches it (a server whose collation calls ``'a'`` and ``'A'`` equal may return the other
spelling, which then does not match here either).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import bindparam, text

from reconcile.proving.restate import column_kind, target_column
from reconcile.reading.staging_side import Staging

KEY_MAP = "MIG_KEY_MAP"
_BATCH = {"sqlite": 900}  # SQLite's bound-parameter limit, with room to spare
_DEFAULT_BATCH = 5_000


def _batches(values: Iterable[str], size: int) -> Iterator[list[str]]:
    wanted = sorted(set(values))
    for start in range(0, len(wanted), size):
        yield wanted[start : start + size]


def erp_keys(st: Staging, domain: str, system: str, legacy: Iterable[str]) -> dict[str, int]:
    """The ERP key recorded for each of these legacy keys (a key with none is absent)."""
    q = st.engine.dialect.identifier_preparer.quote
    stmt = text(
        f"SELECT {q('LEGACY_KEY')}, {q('ERP_KEY')} FROM {st.table(KEY_MAP)} "
        f"WHERE {q('DOMAIN')} = :domain AND {q('SOURCE_SYSTEM')} = :system "
        f"AND {q('LEGACY_KEY')} IN :keys"
    ).bindparams(bindparam("keys", expanding=True))
    found: dict[str, int] = {}
    size = _BATCH.get(st.engine.dialect.name, _DEFAULT_BATCH)
    with st.engine.connect() as conn:
        for part in _batches((k for k in legacy if k), size):
            rows = conn.execute(stmt, {"domain": domain, "system": system, "keys": part})
            found.update({str(k): int(v) for k, v in rows})
    return found


def staged_keys(st: Staging, table: str, column: str, keys: Iterable[int]) -> set[int]:
    """Which of these ERP keys some staged row of ``table`` holds in ``column`` (any entity,
    any run: a merge reuses a key staged by whichever record holds it). A text column must
    hold the key's exact digits, as the ERP would match it."""
    q = st.engine.dialect.identifier_preparer.quote
    stmt = text(
        f"SELECT DISTINCT {q(column)} FROM {st.table(table)} WHERE {q(column)} IN :keys"
    ).bindparams(bindparam("keys", expanding=True))
    target = target_column(table, column)
    textual = target is not None and column_kind(target) == "text"
    found: set[int] = set()
    size = _BATCH.get(st.engine.dialect.name, _DEFAULT_BATCH)
    with st.engine.connect() as conn:
        for part in _batches((str(k) for k in keys), size):
            values: list[object] = list(part) if textual else [int(k) for k in part]
            held = {str(v) for (v,) in conn.execute(stmt, {"keys": values})}
            found.update(int(k) for k in part if k in held)
    return found
