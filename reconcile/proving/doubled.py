"""Keys both staged and rejected or filtered: the staged copies of a duplicated legacy key.

The restated diff (``restated.py``) leaves out every legacy row whose key was rejected or
filtered: a rejected row is not staged, so it has nothing to be compared with. But a legacy
key can repeat (the estate plants such duplicates; a legacy table without a primary key
has them): one copy is staged and another rejected as ``duplicate_key``, both under the same
source key. Left out by key, the staged copy's columns went unchecked.

So the keys that are both excluded and staged in the run (looked up in staging in ``IN``
lists over the excluded keys: as many as the run rejected and filtered, usually few) are
kept apart: while the restated diff streams each side, the rows of those keys are set aside
here (their restated values, as compared), not put in the bucket diff, where a key staged
once but present twice in the legacy would make its bucket differ and cost another pass over
both sides. Then each staged copy must equal one of its key's legacy copies, as a multiset
(a legacy copy matches one staged copy at most); a staged copy that equals none is a
``changed`` difference against the first legacy copy left, column by column. Which legacy
copy was the one staged is not known here (the pipeline keeps one and rejects the others);
any of them will do, so a staged row changed into another copy of its own key goes unseen.

Memory: the set-aside rows only, as many as the keys both rejected and staged.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from sqlalchemy import bindparam, text

from migrate.spec.model import EntitySpec
from reconcile.reading.staging_side import Staging
from reconcile.report import RowDifference

Texts = tuple[str | None, ...]
_BATCH = {"sqlite": 900}
_DEFAULT_BATCH = 5_000


def staged_among(st: Staging, spec: EntitySpec, keys: Collection[str]) -> frozenset[str]:
    """Which of these source keys the run staged for the entity."""
    q = st.engine.dialect.identifier_preparer.quote
    stmt = text(
        f"SELECT DISTINCT {q('MIG_SOURCE_KEY')} FROM {st.table(spec.target.table)} "
        f"WHERE {q('MIG_RUN_ID')} = :run AND {q('MIG_ENTITY')} = :entity "
        f"AND {q('MIG_SOURCE_KEY')} IN :keys"
    ).bindparams(bindparam("keys", expanding=True))
    wanted = sorted(set(keys))
    size = _BATCH.get(st.engine.dialect.name, _DEFAULT_BATCH)
    found: set[str] = set()
    with st.engine.connect() as conn:
        for start in range(0, len(wanted), size):
            params = {"run": st.run_id, "entity": spec.entity, "keys": wanted[start : start + size]}
            found.update(str(k) for (k,) in conn.execute(stmt, params))
    return frozenset(found)


@dataclass
class Side:
    """One side's set-aside rows, kept from its first complete pass only (a side may be
    streamed again for the buckets that differ)."""

    rows: dict[str, list[Texts]] = field(default_factory=dict)
    complete: bool = False

    def collect(self) -> dict[str, list[Texts]] | None:
        """A fresh place for this pass's rows (None once a pass has completed)."""
        return None if self.complete else {}

    def commit(self, rows: dict[str, list[Texts]] | None) -> None:
        if rows is not None and not self.complete:
            self.rows, self.complete = rows, True


@dataclass
class Doubled:
    keys: frozenset[str]
    source: Side = field(default_factory=Side)
    staged: Side = field(default_factory=Side)

    def differences(self, entity: str, names: tuple[str, ...]) -> Iterator[RowDifference]:
        """Each staged copy that equals none of its key's legacy copies."""
        for key in sorted(self.staged.rows):
            left = list(self.source.rows.get(key, []))
            for copy in self.staged.rows[key]:
                if copy in left:
                    left.remove(copy)
                    continue
                if not left:
                    continue  # no legacy copy to compare: the main row diff's to report
                for name, a, b in zip(names, left[0], copy, strict=True):
                    if a != b:
                        yield RowDifference(entity, key, "changed", name, a, b)
