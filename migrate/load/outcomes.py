"""Where a chunk's rows go: loaded rows get their lineage columns; one reject row per
rejected source row (its first failure, and every failure in the message, personal values
masked), one filtered row per row a named rule or a supplier merge set aside."""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

import pandas as pd

from migrate.extract.chunks import Chunk
from migrate.lineage.masking import mask_value
from migrate.spec.model import EntitySpec
from migrate.staging.tables import LINEAGE_COLUMNS
from migrate.transform.engine import TransformOutput, key_string
from migrate.transform.failures import REASONS


def with_lineage(
    accepted: pd.DataFrame,
    chunk: Chunk,
    out: TransformOutput,
    run_id: str,
    spec: EntitySpec,
    hashes: pd.Series,
) -> pd.DataFrame:
    """The accepted rows with the lineage columns: run, batch, source system and key, and
    the hash of the source row (``hashes``: :func:`migrate.transform.rowhash.source_hashes`
    of every row of the chunk; a row's hash is its own values' alone)."""
    staged = accepted.copy()
    values = {
        "MIG_RUN_ID": run_id,
        "MIG_BATCH_ID": chunk.batch_id,
        "MIG_ENTITY": spec.entity,
        "MIG_SOURCE_SYSTEM": spec.source.system,
        "MIG_SOURCE_KEY": out.source_keys.loc[accepted.index],
        "MIG_SOURCE_HASH": hashes.loc[accepted.index],
    }
    for name in LINEAGE_COLUMNS:
        staged[name] = values[name]  # type: ignore[call-overload]
    staged["MIG_BATCH_ID"] = staged["MIG_BATCH_ID"].astype("Int64")
    return staged


def reject_rows(
    out: TransformOutput, bad: pd.Series, chunk: Chunk, run_id: str, spec: EntitySpec
) -> list[dict[str, object]]:
    cases = out.failures.to_frame()
    if cases.empty:
        return []
    cases = cases.sort_values(["row", "order"], kind="stable")
    text = cases["column"] + ": " + cases["reason"] + " (" + cases["reason"].map(_reason_text) + ")"
    # rows in order, each with its first failure; the message joins all of a row's failures
    # (built per row only for the few rows with more than one)
    first = cases[~cases["row"].duplicated()]
    messages = pd.Series(text[first.index].to_numpy(), index=first["row"].to_numpy())
    several = cases["row"].duplicated(keep=False)
    if bool(several.any()):
        pairs = zip(cases.loc[several, "row"].tolist(), text[several].tolist(), strict=True)
        joined = {
            row: "; ".join(t for _, t in group) for row, group in groupby(pairs, key=itemgetter(0))
        }
        messages.loc[list(joined)] = list(joined.values())
    personal = {n: r.personal for n, r in spec.fields.items() if r.personal}
    return [
        {
            "RUN_ID": run_id,
            "BATCH_ID": chunk.batch_id,
            "ENTITY": spec.entity,
            "SOURCE_SYSTEM": spec.source.system,
            "SOURCE_KEY": key,
            "COLUMN_NAME": column,
            "REASON_CODE": reason,
            "OFFENDING_VALUE": (
                mask_value(personal[column], value) if column in personal else value
            ),
            "MESSAGE": message,
        }
        for key, column, reason, value, message in zip(
            out.source_keys.loc[first["row"]].tolist(),
            first["column"].tolist(),
            first["reason"].tolist(),
            first["value"].tolist(),
            messages.tolist(),
            strict=True,
        )
    ]


def _reason_text(code: str) -> str:
    return REASONS.get(code, code)


def filtered_rows(
    out: TransformOutput, merged: pd.Index, chunk: Chunk, run_id: str, spec: EntitySpec
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    keys_all = key_string(chunk.rows, spec.source.key)
    for rule, index in out.filtered.items():
        rows.extend(
            {
                "RUN_ID": run_id,
                "BATCH_ID": chunk.batch_id,
                "ENTITY": spec.entity,
                "RULE": rule,
                "SOURCE_KEY": keys_all.loc[i],
            }
            for i in index
        )
    rows.extend(
        {
            "RUN_ID": run_id,
            "BATCH_ID": chunk.batch_id,
            "ENTITY": spec.entity,
            "RULE": "merged_into_existing_record",
            "SOURCE_KEY": keys_all.loc[i],
        }
        for i in merged
    )
    return rows
