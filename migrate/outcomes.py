"""Where a chunk's rows that are not loaded go: one reject row per rejected source row (its
first failure, and every failure in the message, personal values masked), one filtered row
per row a named rule or a supplier merge set aside."""

from __future__ import annotations

import pandas as pd

from migrate.extract import Chunk
from migrate.lineage.masking import mask_value
from migrate.spec.model import EntitySpec
from migrate.transform.engine import TransformOutput, key_string
from migrate.transform.failures import REASONS


def reject_rows(
    out: TransformOutput, bad: pd.Series, chunk: Chunk, run_id: str, spec: EntitySpec
) -> list[dict[str, object]]:
    cases = out.failures.to_frame()
    if cases.empty:
        return []
    cases = cases.sort_values(["row", "order"], kind="stable")
    cases["text"] = (
        cases["column"] + ": " + cases["reason"] + " (" + cases["reason"].map(_reason_text) + ")"
    )
    messages = cases.groupby("row", sort=True)["text"].agg("; ".join)
    first = cases.drop_duplicates("row").set_index("row").loc[messages.index]
    return [
        {
            "RUN_ID": run_id,
            "BATCH_ID": chunk.batch_id,
            "ENTITY": spec.entity,
            "SOURCE_SYSTEM": spec.source.system,
            "SOURCE_KEY": out.source_keys.loc[row],
            "COLUMN_NAME": column,
            "REASON_CODE": reason,
            "OFFENDING_VALUE": _mask_value(spec, str(column), value),
            "MESSAGE": message,
        }
        for row, column, reason, value, message in zip(
            messages.index,
            first["column"],
            first["reason"],
            first["value"],
            messages,
            strict=True,
        )
    ]


def _reason_text(code: str) -> str:
    return REASONS.get(code, code)


def _mask_value(spec: EntitySpec, column: str, value: object) -> object:
    """Offending values of personal-data columns are masked before they reach a table."""
    rule = spec.fields.get(column)
    return mask_value(rule.personal, value) if rule is not None and rule.personal else value


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
