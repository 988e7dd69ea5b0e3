"""Supplier merge matching (same tax id, or name and address): text rules, apart from issuing."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

_SUFFIXES = re.compile(r"\b(INC|INCORPORATED|LLC|L L C|CO|CORP|CORPORATION|COMPANY|LTD|THE)\b")
_ABBREV = {
    "STREET": "ST",
    "AVENUE": "AVE",
    "ROAD": "RD",
    "BOULEVARD": "BLVD",
    "DRIVE": "DR",
    "SUITE": "STE",
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
}


def normalise_name(s: pd.Series) -> pd.Series:
    text = s.astype("str").str.upper().str.replace(r"[^\w\s]", " ", regex=True)
    text = text.str.replace(_SUFFIXES, " ", regex=True)
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def normalise_address(s: pd.Series) -> pd.Series:
    text = s.astype("str").str.upper().str.replace(r"[^\w\s]", " ", regex=True)
    for word, abbr in _ABBREV.items():
        text = text.str.replace(rf"\b{word}\b", abbr, regex=True)
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def normalise_tax_id(s: pd.Series) -> pd.Series:
    digits = s.astype("str").str.replace(r"\D", "", regex=True)
    return digits.where(digits.str.len() > 0)


def merge_matches(
    candidates: pd.DataFrame,
    staged: pd.DataFrame,
    key_col: str,
    cols: dict[str, str],
    merge_on: Sequence[str],
) -> pd.Series:
    """For each candidate row, the ERP key of a staged row it merges into (or NA)."""
    result = pd.Series(pd.NA, index=candidates.index, dtype="Int64")
    if staged.empty:
        return result
    if "tax_id" in merge_on and "tax_id" in cols:
        staged_tax = normalise_tax_id(staged[cols["tax_id"]])
        by_tax = dict(
            zip(staged_tax.dropna(), staged.loc[staged_tax.notna(), key_col], strict=True)
        )
        tax = normalise_tax_id(candidates[cols["tax_id"]])
        result = result.fillna(tax.map(by_tax).astype("Int64"))
    if "name_address" in merge_on and {"name", "address"} <= set(cols):

        def na_key(frame: pd.DataFrame) -> pd.Series:
            return (
                normalise_name(frame[cols["name"]])
                + "@"
                + normalise_address(frame[cols["address"]])
            )

        by_na = dict(zip(na_key(staged), staged[key_col], strict=True))
        result = result.fillna(na_key(candidates).map(by_na).astype("Int64"))
    return result
