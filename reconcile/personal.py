"""Personal columns compared by keyed hash, so a report proves them equal without showing them.

For each mapping field marked ``personal`` (``ssn``, ``bank_account``, ``routing``,
``birth_date``) whose source is one plain column (``from: <column>``; other origins are
skipped), the legacy value and the staged value of every source key present on both sides
(and not rejected) are normalised by reconciliation's own rule, then compared as
:func:`~migrate.lineage.keyed_hash.keyed_hash` digests (HMAC-SHA256, key ``MIGRATE_MASK_KEY``).

The rule, stated once:

- ``ssn``, ``bank_account``, ``routing``: the digits of the value (``123-45-6789`` and
  ``123456789`` are equal); no digits at all counts as no value (NULL).
- ``birth_date``: legacy text ``MM/DD/YYYY`` parsed with ``datetime.strptime`` to ISO
  ``YYYY-MM-DD`` (text that does not parse counts as NULL); the staged date as ISO.
- NULL equals NULL; NULL never equals a value.

A mismatch is a ``changed`` :class:`~reconcile.report.RowDifference` naming the key and the
target column, whose values are ``hmac:`` plus the first 12 hex digits of each digest (or
None for NULL): never the value itself.

Memory is bounded: the legacy rows are streamed (the same readers as the amounts, so keys are
``a|b`` strings exactly as the pipeline records them) in batches of :data:`BATCH` keys, and
each batch's staged rows are fetched with ``IN`` lists of :data:`IN_BATCH` keys. (The HR
tables are small enough to fit one batch; the batching keeps large tables bounded too.)
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, bindparam, text

from migrate.lineage.keyed_hash import keyed_hash
from migrate.spec.model import EntitySpec
from reconcile.report import RowDifference
from reconcile.rows import Row
from reconcile.sources import _file_rows, _table_rows, file_path
from reconcile.staging_side import Staging

BATCH = 50_000
IN_BATCH = 500
SHOWN = 12  # hex digits of a digest shown in the report
DIGIT_KINDS = ("ssn", "bank_account", "routing")

PersonalField = tuple[str, str, str]  # (target column, source column, kind)


def personal_fields(spec: EntitySpec) -> list[PersonalField]:
    """Fields marked ``personal`` whose source is one plain column."""
    return [
        (target, f.from_, f.personal)
        for target, f in spec.fields.items()
        if f.personal is not None and isinstance(f.from_, str)
    ]


def _digits(value: object) -> str | None:
    digits = "".join(c for c in str(value) if c.isdigit())
    return digits or None


def source_text(value: object, kind: str) -> str | None:
    """The legacy value as hashed, by the rule in the module docstring."""
    if value is None:
        return None
    if kind in DIGIT_KINDS:
        return _digits(value)
    if kind == "birth_date":
        try:
            return datetime.strptime(str(value).strip(), "%m/%d/%Y").date().isoformat()
        except ValueError:
            return None
    return str(value).strip() or None


def staged_text(value: object, kind: str) -> str | None:
    """The staged value as hashed (dates come back as date objects, or ISO text on SQLite)."""
    if value is None:
        return None
    if kind in DIGIT_KINDS:
        return _digits(value)
    if isinstance(value, date):
        return value.isoformat()[:10]
    if kind == "birth_date":
        try:
            return date.fromisoformat(str(value).strip()[:10]).isoformat()
        except ValueError:
            return None
    return str(value).strip() or None


def _shown(digest: str | None) -> str | None:
    return None if digest is None else "hmac:" + digest[:SHOWN]


def personal_differences(
    spec: EntitySpec,
    st: Staging,
    rejected: Collection[str],
    legacy: Engine | None,
    workdir: Path | None,
) -> list[RowDifference]:
    """Keyed-hash mismatches of the entity's personal columns, sorted by key and column."""
    fields = personal_fields(spec)
    if not fields:
        return []
    rows = _legacy_rows(spec, tuple(src for _, src, _ in fields), legacy, workdir)
    if rows is None:
        return []
    skip = set(rejected)
    out: list[RowDifference] = []
    chunk: dict[str, tuple[object, ...]] = {}
    for row in rows:
        if row.key not in skip:
            chunk[row.key] = row.extras
        if len(chunk) >= BATCH:
            out += _compare(spec, st, fields, chunk)
            chunk = {}
    if chunk:
        out += _compare(spec, st, fields, chunk)
    return sorted(out, key=lambda d: (d.source_key, d.column or ""))


def _legacy_rows(
    spec: EntitySpec, columns: tuple[str, ...], legacy: Engine | None, workdir: Path | None
) -> Iterator[Row] | None:
    """Legacy rows whose extras are ``columns`` (None when the source cannot be read here)."""
    if spec.source.file is not None:
        return None if workdir is None else _file_rows(spec, file_path(spec, workdir), columns)
    return None if legacy is None else _table_rows(spec, legacy, columns)


def _compare(
    spec: EntitySpec, st: Staging, fields: list[PersonalField], chunk: dict[str, tuple[object, ...]]
) -> list[RowDifference]:
    q = st.engine.dialect.identifier_preparer.quote
    sql = text(
        f"SELECT {q('MIG_SOURCE_KEY')}, {', '.join(q(t) for t, _, _ in fields)} "
        f"FROM {st.table(spec.target.table)} "
        f"WHERE {q('MIG_RUN_ID')} = :run AND {q('MIG_ENTITY')} = :entity "
        f"AND {q('MIG_SOURCE_KEY')} IN :keys"
    ).bindparams(bindparam("keys", expanding=True))
    keys = list(chunk)
    out: list[RowDifference] = []
    with st.engine.connect() as conn:
        for i in range(0, len(keys), IN_BATCH):
            params = {
                "run": st.run_id,
                "entity": spec.entity,
                "keys": keys[i : i + IN_BATCH],
            }
            for key, *staged in conn.execute(sql, params):
                source = chunk[str(key)]
                for (target, _, kind), src, stg in zip(fields, source, staged, strict=True):
                    a = keyed_hash(source_text(src, kind), kind)
                    b = keyed_hash(staged_text(stg, kind), kind)
                    if a != b:
                        out.append(
                            RowDifference(
                                spec.entity, str(key), "changed", target, _shown(a), _shown(b)
                            )
                        )
    return out
