"""The lineage hash of each source row (``MIG_SOURCE_HASH``), without per-value Python.

The value is, as it always was, pandas' ``hash_pandas_object(rows.astype("str"),
index=False)`` written as 16 lowercase hex digits. It is computed here in three vectorised
steps that give the same numbers (``tests/test_load_speed_lineage.py`` holds them equal):

* integer columns become text through Arrow (``astype("str")`` formats each one in Python);
* a timestamp (or duration) is written as pandas writes it alone: for a whole column pandas
  picks one format, so the text of a row depended on the other rows of its chunk (only
  chunks mixing midnights with times of day, or differently fine fractions, differ from
  the whole-column text);
* each column is hashed uncategorised: the categorised default factorises first, about
  three times slower on mostly distinct values, and differs only in hashing a null as
  ``2**64 - 1``, which is set here;
* the values reach pandas' SipHash as ``bytes`` cut from Arrow's UTF-8 buffer: for a
  ``str`` it hashes exactly those bytes after encoding it, so the numbers are the same,
  at about 40% of the time (no ``str`` made and encoded per value);
* the columns are combined with pandas' formula (CPython's tuple hash), and the hex digits
  come from a 256-entry byte table.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migrate.transform import parse
from migrate.transform.failures import READ_COLUMNS

_NULL_HASH = np.uint64(np.iinfo(np.uint64).max)
_HEX = np.array([f"{b:02x}".encode() for b in range(256)], dtype="S2")


def _as_str(s: pd.Series) -> pd.Series:
    """``s.astype("str")``: integers through Arrow (same text), timestamps and durations
    each as if alone (:func:`_alone`), everything else as is."""
    if parse.is_integer(s):
        return parse.as_text(s)
    if pd.api.types.is_datetime64_any_dtype(s.dtype) or pd.api.types.is_timedelta64_dtype(s.dtype):
        return _alone(s)
    return s.astype("str")


def _alone(s: pd.Series) -> pd.Series:
    """Timestamps (or durations) as ``astype("str")`` writes each one alone.

    For a whole column pandas picks one format: the time of day only if some value has one,
    as many decimals of a second as the finest value needs. So a row's text, and its hash,
    would depend on the other rows of its chunk. Rows are grouped by what decides the format
    (a midnight or whole day; decimals none, 3, 6 or 9) and each group written on its own.
    """
    if s.empty:
        return s.astype("str")
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        whole = (s == s.dt.floor("D")).fillna(False)
        fraction = (s.dt.microseconds * 1000 + s.dt.nanoseconds).fillna(0)
    else:
        naive = getattr(s.dt, "tz", None) is None
        whole = (s == s.dt.normalize()).fillna(False) if naive else pd.Series(False, s.index)
        fraction = (s.dt.microsecond * 1000 + s.dt.nanosecond).fillna(0)
    f = fraction.to_numpy(dtype="int64")
    decimals = np.select([f == 0, f % 1_000_000 == 0, f % 1000 == 0], [0, 3, 6], 9)
    shape = np.where(whole.to_numpy(dtype=bool), -1, decimals)
    groups = np.unique(shape)
    if len(groups) == 1:
        return s.astype("str")
    out = pd.Series(pd.NA, index=s.index, dtype="str")
    for group in groups:
        rows = shape == group
        out[rows] = s[rows].astype("str")
    return out


def _column_hash(s: pd.Series) -> npt.NDArray[np.uint64]:
    text = pa.array(_as_str(s), from_pandas=True)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    null = text.is_null().to_numpy(zero_copy_only=False)
    raw = pa.large_binary() if pa.types.is_large_string(text.type) else pa.binary()
    # each value's UTF-8 bytes as a bytes object: what pandas hashes for a str after
    # encoding it, without making (and encoding) a str per value
    values = pc.fill_null(text, "").cast(raw).to_numpy(zero_copy_only=False)
    hashed = pd.util.hash_array(values, categorize=False)
    hashed[null] = _NULL_HASH
    return hashed


def row_hashes(rows: pd.DataFrame) -> npt.NDArray[np.uint64]:
    """``hash_pandas_object(rows.astype("str"), index=False).to_numpy()``."""
    if not len(rows.columns):
        return np.array([], dtype=np.uint64)
    n = len(rows.columns)
    mult = np.uint64(1000003)
    out = np.full(len(rows), 0x345678, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, name in enumerate(rows.columns):
            inverse = n - i
            out ^= _column_hash(rows[name])
            out *= mult
            mult += np.uint64(82520 + inverse + inverse)
        out += np.uint64(97531)
    return out


def hex16(hashes: npt.NDArray[np.uint64], index: pd.Index) -> pd.Series:
    """Each hash as ``f"{h:016x}"``: its big-endian bytes through a hex table."""
    digits = _HEX[hashes.astype(">u8").view(np.uint8)]  # (rows * 8) two-char cells
    data = pa.py_buffer(np.ascontiguousarray(digits).tobytes())
    offsets = pa.py_buffer(np.arange(0, 16 * len(hashes) + 1, 16, dtype=np.int32).tobytes())
    text = pa.Array.from_buffers(pa.string(), len(hashes), [None, offsets, data])
    return pd.Series(text, index=index, dtype="str")


def source_hashes(rows: pd.DataFrame) -> pd.Series:
    """The ``MIG_SOURCE_HASH`` of each row, indexed like ``rows`` (a reader's unreadable marks
    are not legacy data: a chunk holding an unreadable record hashes its good rows alike)."""
    marks = [c for c in READ_COLUMNS if c in rows.columns]
    if marks:
        rows = rows.drop(columns=marks)
    return hex16(row_hashes(rows), rows.index)
