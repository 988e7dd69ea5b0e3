"""One source row, several target rows: an entity's variants (``variants:`` in a mapping).

Each variant is computed over the same source rows as if it were an entity of its own
(the shared fields and the variant's, :meth:`EntitySpec.variant_spec`), coerced and
validated; the variants' rows are then stacked, a source row's lines next to each other
(expanded label ``position * N + j`` for the j-th of N variants), so the row-set checks
(``balanced`` by payment) see a payment's debit and offset lines together.

A source row is staged with all its variants or not at all: any failure of one variant
marks the others ``variant_incomplete`` (:func:`spread`), and the rejects are built from
the failures folded back onto the source rows (:func:`per_source`): one reject per source
row, its columns named ``variant.FIELD``. A staged row's ``MIG_SOURCE_KEY`` is the legacy
key, :data:`SEP`, the variant name: unique per staged row, as the staging side of
reconciliation, lineage and rollback expect, and split back by :func:`split_key` (a variant
name never holds :data:`SEP`, so the last one is the separator whatever the legacy key holds).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Table

from migrate.lineage.masking import mask_value
from migrate.spec.model import EntitySpec
from migrate.transform.engine import Resolver, TransformOutput, transform
from migrate.transform.failures import Failures
from migrate.validate.coerce import coerce
from migrate.validate.schema import compile_schema, validate

SEP = "@"
INCOMPLETE = "variant_incomplete"


def variant_key(legacy: str, variant: str) -> str:
    """The ``MIG_SOURCE_KEY`` of a variant's staged row."""
    return f"{legacy}{SEP}{variant}"


def split_key(staged_key: str) -> tuple[str, str]:
    """(legacy key, variant) of a variant's staged ``MIG_SOURCE_KEY``."""
    legacy, _, variant = staged_key.rpartition(SEP)
    return legacy, variant


@dataclass
class Expanded:
    """A chunk's variants stacked: ``frame``/``failures``/``out`` on the expanded labels,
    ``origin`` (the source row of each) and ``variant``; ``source`` is the transform's
    output on the source rows (filtered rows, legacy keys) for rejects and filtered rows."""

    frame: pd.DataFrame
    failures: Failures
    out: TransformOutput
    origin: pd.Series
    variant: pd.Series
    source: TransformOutput


def expand(
    spec: EntitySpec,
    rows: pd.DataFrame,
    crosswalks: dict[str, dict[str, str]],
    resolve: Resolver,
    table: Table,
    where: str = "",
    meanwhile: Callable[[], object] | None = None,
) -> Expanded:
    """Every variant transformed, coerced and validated, then stacked."""
    assert spec.variants is not None
    names = list(spec.variants)
    n = len(names)
    columns = spec.filled_columns()
    frames: list[pd.DataFrame] = []
    items: list[tuple[pd.Series, str, str, pd.Series]] = []
    first: TransformOutput | None = None
    pos = pd.Series(dtype="int64")
    for j, name in enumerate(names):
        one = spec.variant_spec(name)
        out = transform(one, rows, crosswalks, resolve, f"{where} variants.{name}", meanwhile)
        meanwhile = None  # the caller's work once
        frame = coerce(out.frame, table, out.failures, one.cents_fields())
        validate(compile_schema(one, table), frame, out.frame, out.failures)
        if first is None:
            first = out
            pos = pd.Series(range(len(out.frame)), index=out.frame.index, dtype="int64")
        labels = pos.to_numpy() * n + j
        frames.append(frame.set_axis(labels))
        personal = {c: f.personal for c, f in one.fields.items() if f.personal}
        for mask, column, reason, values in out.failures.items:
            items.append(_moved(mask, column, reason, values, pos, n, j, name, personal))
    assert first is not None
    stacked = pd.concat(_aligned(frames, columns)).sort_index()
    index = stacked.index
    origin = pd.Series(
        pd.Series(pos.index, dtype="object").to_numpy()[index.to_numpy() // n], index=index
    )
    variant = pd.Series([names[i % n] for i in index], index=index, dtype="object")
    failures = Failures(index)
    for mask, column, reason, values in items:
        failures.add(mask.reindex(index, fill_value=False), column, reason, values)
    legacy = first.source_keys.loc[origin.to_numpy()].to_numpy()
    keys = pd.Series([variant_key(k, v) for k, v in zip(legacy, variant, strict=True)], index=index)
    out = TransformOutput(stacked, failures, {}, keys)
    return Expanded(stacked, failures, out, origin, variant, first)


def _aligned(frames: list[pd.DataFrame], columns: list[str]) -> list[pd.DataFrame]:
    """Every variant's frame with every column: one a variant does not fill is blank *of
    the type the others give it* (a float NaN column stacked with Int64 cents would make
    them Float64: inexact beyond 2^53 cents)."""
    kinds: dict[str, Any] = {}
    for frame in frames:
        for c in frame.columns:
            kinds.setdefault(c, frame[c].dtype)
    out = []
    for frame in frames:
        blank = {c: pd.Series(index=frame.index, dtype=kinds[c]) for c in columns if c not in frame}
        out.append(frame.assign(**blank)[columns])
    return out


def _moved(
    mask: pd.Series,
    column: str,
    reason: str,
    values: pd.Series,
    pos: pd.Series,
    n: int,
    j: int,
    name: str,
    personal: Mapping[str, str],
) -> tuple[pd.Series, str, str, pd.Series]:
    """One variant's failure on the expanded labels, its column named ``variant.FIELD``
    (a personal field's values masked here: the reject's own masking knows plain names)."""
    mask = mask.fillna(False).astype(bool)
    labels = pos.loc[mask.index].to_numpy() * n + j
    moved = pd.Series(mask.to_numpy(), index=labels)
    vals = values.reindex(mask.index) if len(values) else pd.Series(None, index=mask.index)
    if column in personal:
        vals = vals.astype("object").map(lambda v: mask_value(personal[column], v))
    return moved, f"{name}.{column}", reason, pd.Series(vals.to_numpy(), index=labels)


def spread(ex: Expanded) -> None:
    """A source row with a failing variant: its other variants fail ``variant_incomplete``."""
    bad = ex.failures.any_mask()
    if not bool(bad.any()):
        return
    source_bad = bad.groupby(ex.origin.to_numpy()).any()
    whole = pd.Series(ex.origin.map(source_bad).to_numpy(), index=ex.origin.index)
    ex.failures.add(whole.fillna(False).astype(bool) & ~bad, "variants", INCOMPLETE, ex.variant)


def per_source(ex: Expanded) -> tuple[TransformOutput, pd.Series]:
    """The failures folded onto the source rows (in the order found, so a reject's first
    reason is its first variant's first failure), and the rejected source rows."""
    index = ex.source.frame.index
    folded = Failures(index)
    for mask, column, reason, values in ex.failures.items:
        hit = mask[mask]
        rows = ex.origin.loc[hit.index]
        once = ~pd.Index(rows.to_numpy()).duplicated()
        at = pd.Index(rows.to_numpy()[once])
        flags = pd.Series(index.isin(at), index=index)
        vals = values.reindex(hit.index[once]) if len(values) else pd.Series(None, index=at)
        folded.add(flags, column, reason, pd.Series(vals.to_numpy(), index=at))
    out = TransformOutput(ex.source.frame, folded, ex.source.filtered, ex.source.source_keys)
    return out, folded.any_mask()
