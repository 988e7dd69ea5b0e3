"""The lineage hash of each source row (``MIG_SOURCE_HASH``), without per-value Python.

The value is, as it always was, pandas' ``hash_pandas_object(rows.astype("str"),
index=False)`` written as 16 lowercase hex digits. It is computed here in three vectorised
steps that give the same numbers (``tests/test_load_speed_lineage.py`` holds them equal):

* integer columns become text through Arrow (``astype("str")`` formats each one in Python);
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

_NULL_HASH = np.uint64(np.iinfo(np.uint64).max)
_HEX = np.array([f"{b:02x}".encode() for b in range(256)], dtype="S2")


def _as_str(s: pd.Series) -> pd.Series:
    """``s.astype("str")``: integers through Arrow (same text), everything else as is."""
    return parse.as_text(s) if parse.is_integer(s) else s.astype("str")


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
    """The ``MIG_SOURCE_HASH`` of each row, indexed like ``rows``."""
    return hex16(row_hashes(rows), rows.index)
