"""The staging side of an entity for one run: staged rows, rejects and filtered rows.

Staged amounts are summed in SQL in integer cents (``cents_sql``: exact on every dialect).
Staged rows of an entity are those of the run whose ``MIG_ENTITY`` is the entity: each
staged row records the mapping that staged it, so entities sharing a target table and a
source system (one Baltimore mapping per fiscal year) are told apart exactly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Engine, text

from migrate.spec.model import EntitySpec
from migrate.staging.types import cents_sql
from reconcile.reading.amount_sql import ValueSql
from reconcile.reading.relation import Relation
from reconcile.reading.textrule import text_columns, text_sql
from reconcile.report import RejectGroup

SAMPLE = 25


@dataclass(frozen=True)
class Staging:
    """Where the run's staging lives."""

    engine: Engine
    schema: str | None
    run_id: str

    def table(self, name: str) -> str:
        quote = self.engine.dialect.identifier_preparer.quote
        return f"{quote(self.schema)}.{quote(name)}" if self.schema else quote(name)

    def query(self, sql: str, **params: object) -> list[tuple[object, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), {"run": self.run_id, **params})]


def target_columns(spec: EntitySpec) -> tuple[str, ...]:
    """Every staging column a grain reads (nested lists flattened), in order."""
    cols: list[str] = []
    for g in spec.reconcile.grains:
        for t in g.target:
            for c in [t] if isinstance(t, str) else t:
                if c not in cols:
                    cols.append(c)
    return tuple(cols)


def staged_relation(st: Staging, spec: EntitySpec) -> Relation:
    dialect = st.engine.dialect.name
    quote = st.engine.dialect.identifier_preparer.quote
    # a staged amount is exact or NULL, never invalid ("present" only serves that flag)
    values = tuple(
        ValueSql(cents_sql(quote(m.target_column), dialect), "0") for m in spec.reconcile.measures
    )
    texts = tuple(text_sql(quote(c.target), c.steps, dialect) for c in text_columns(spec)[0])
    return Relation(
        st.engine,
        st.table(spec.target.table),
        quote("MIG_SOURCE_KEY"),
        values,
        tuple(quote(c) for c in target_columns(spec)),
        where_sql=f"{quote('MIG_RUN_ID')} = :run AND {quote('MIG_ENTITY')} = :entity",
        params={"run": st.run_id, "entity": spec.entity},
        texts=texts,
        key_columns=(quote("MIG_SOURCE_KEY"),),
    )


@dataclass(frozen=True)
class Outcomes:
    """Rejected and filtered source keys of an entity (one entry per source row)."""

    rejected: tuple[str, ...]
    filtered: tuple[tuple[str, str], ...]  # (rule, source key)
    groups: tuple[RejectGroup, ...]
    reasons: tuple[str, ...] = ()  # the reason of each rejected key, same order

    @property
    def filtered_by_rule(self) -> dict[str, int]:
        return dict(sorted(Counter(rule for rule, _ in self.filtered).items()))


def outcomes(st: Staging, entity: str) -> Outcomes:
    q = st.engine.dialect.identifier_preparer.quote
    rejects = st.query(
        f"SELECT {q('SOURCE_KEY')}, {q('COLUMN_NAME')}, {q('REASON_CODE')}, "
        f"{q('OFFENDING_VALUE')} FROM {st.table('MIG_REJECTS')} "
        f"WHERE {q('RUN_ID')} = :run AND {q('ENTITY')} = :entity "
        f"ORDER BY {q('REASON_CODE')}, {q('SOURCE_KEY')}",
        entity=entity,
    )
    filtered = st.query(
        f"SELECT {q('RULE')}, {q('SOURCE_KEY')} FROM {st.table('MIG_FILTERED')} "
        f"WHERE {q('RUN_ID')} = :run AND {q('ENTITY')} = :entity",
        entity=entity,
    )
    return Outcomes(
        tuple(str(r[0]) for r in rejects),
        tuple((str(r[0]), str(r[1])) for r in filtered),
        _groups(entity, rejects),
        tuple(str(r[2]) for r in rejects),
    )


def _groups(entity: str, rejects: list[tuple[object, ...]]) -> tuple[RejectGroup, ...]:
    by_reason: dict[str, list[tuple[object, ...]]] = {}
    for r in rejects:
        by_reason.setdefault(str(r[2]), []).append(r)
    return tuple(
        RejectGroup(
            entity,
            reason,
            len(rows),
            tuple(
                (
                    str(r[0]),
                    None if r[1] is None else str(r[1]),
                    None if r[3] is None else str(r[3]),
                )
                for r in rows[:SAMPLE]
            ),
        )
        for reason, rows in sorted(by_reason.items())
    )
