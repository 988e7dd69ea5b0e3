"""Fixed-width records (ASCII or EBCDIC) read by a YAML layout or a COBOL copybook.

Each chunk of records becomes a ``uint8`` matrix (one row a record, padded), and every field
is decoded for the whole chunk at once with numpy: a zoned or packed number becomes its exact
decimal text at the field's scale (``-1234.56``; ``0.00`` for a negative zero), which the
mapping's ``money: fixed`` or ``integer`` step parses; a text field is decoded in the file's
encoding and loses its trailing spaces and low-values (``x'00'``). A number of spaces or
low-values only is missing (``None``), and so is text of low-values only; text of spaces
is ``''``.

A record the layout cannot read is never guessed at: a bad overpunched sign, a packed
half-byte that is not a digit (or a sign that is not C, D or F), a text field that cannot be
decoded or holds low-values amid text, or a record that ends before the layout's last field.
Its unreadable fields are ``None`` and it carries the ``_read_*`` columns
(:mod:`migrate.transform.failures`): reason ``unreadable_record``, the first unreadable field
and its raw bytes in hex (``x'F1F2C'``), so the transform rejects it before any field is
computed. ``reconcile/reading/fixed_records.py`` reads the same files with its own code.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pandas as pd

from migrate.errors import SchemaMismatch
from migrate.extract.files.confinement import named_file
from migrate.extract.files.copybook import read_copybook
from migrate.spec.flatfile import FlatFile
from migrate.spec.layout import FixedField, FixedWidth
from migrate.transform.failures import READ_COLUMN, READ_REASON, READ_VALUE

UNREADABLE = "unreadable_record"
BLOCK = 1 << 22  # bytes read at a time
Matrix = npt.NDArray[np.uint8]
COPYBOOK = ("fixed", "copybook")  # where a layout's copybook sits below ``source.file``


def layout(f: FlatFile, base_dir: Path) -> list[FixedField]:
    """The declared fields, from the YAML layout or the copybook (relative to ``base_dir``,
    the mapping's folder, and checked before it is opened: a mapping may not name any file)."""
    fixed = _fixed(f)
    if fixed.fields is not None:
        return list(fixed.fields)
    return read_copybook(named_file(f, COPYBOOK, base_dir))


def layout_columns(f: FlatFile, base_dir: Path) -> list[str]:
    """The field names a mapping may read (``mappings check`` compares ``from:`` with them)."""
    return [field.name for field in layout(f, base_dir)]


def fixed_frames(
    f: FlatFile, path: Path, chunk_size: int, base_dir: Path
) -> Iterator[pd.DataFrame]:
    """Frames of ``chunk_size`` records: one text column per field (``None`` when missing)
    and the ``_read_*`` columns (``None`` on a readable record)."""
    fields = layout(f, base_dir)
    fixed = _fixed(f)
    width = max(field.end for field in fields)
    if fixed.record_length is not None and fixed.record_length < width:
        raise SchemaMismatch(
            f"{path.name}: record_length {fixed.record_length} is shorter than the layout "
            f"({width} bytes)"
        )
    codec = _Codec.of(f.encoding)
    limit = max(width, fixed.record_length or 0)
    with path.open("rb") as fh:
        for records in _chunks(_records(fh, fixed, codec, path), chunk_size):
            yield _marked_long(_frame(records, fields, width, codec), records, limit, codec)


def _marked_long(
    frame: pd.DataFrame, records: list[bytes], limit: int, codec: _Codec
) -> pd.DataFrame:
    """A record longer than its layout (or ``record_length``) whose extra bytes are not
    padding (spaces, low-values) may hold another record (a lost line end, an RDW that
    lies): it is unreadable, never read to the layout's width and the rest dropped."""
    pad = {0, codec.space[0]}
    for i in [i for i, record in enumerate(records) if len(record) > limit]:
        record = records[i]
        if frame.at[i, READ_REASON] is not None:
            continue  # the first unreadable field is named
        if not set(record[limit:]) <= pad:
            frame.loc[i, READ_REASON] = UNREADABLE
            frame.loc[i, READ_COLUMN] = None
            frame.loc[i, READ_VALUE] = (
                f"record of {len(record)} bytes, the layout ends at byte {limit}: "
                f"x'{record[limit : limit + 16].hex().upper()}...' past it"
            )
    return frame


def _fixed(f: FlatFile) -> FixedWidth:
    if f.fixed is None:
        raise SchemaMismatch(f"{f.path}: not a fixed-width file (no `fixed` layout)")
    return f.fixed


class _Codec:
    """What the file's encoding means for bytes: its newline, CR and space, and whether
    zoned digits are EBCDIC (zone F, sign C/D) or ASCII ('0'-'9', '{A-I' and '}J-R')."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        try:
            self.newline = "\n".encode(encoding)
            self.cr = "\r".encode(encoding)
            self.space = " ".encode(encoding)
        except (LookupError, UnicodeError) as exc:
            raise SchemaMismatch(f"encoding {encoding!r}: {exc}") from None
        self.ebcdic = self.space == b"\x40"
        self.single_byte = len(self.space) == 1 and _single_byte(encoding)

    @staticmethod
    @cache
    def of(encoding: str) -> _Codec:
        return _Codec(encoding)


def _single_byte(encoding: str) -> bool:
    """Whether each byte the codec decodes is one character (positions then agree)."""
    text = bytes(range(256)).decode(encoding, errors="replace")
    return len(text) == 256


def _records(fh: BinaryIO, fixed: FixedWidth, codec: _Codec, path: Path) -> Iterator[bytes]:
    if fixed.records == "fixed":
        assert fixed.record_length is not None
        yield from _blocks(fh, fixed.record_length)
    elif fixed.records == "rdw":
        yield from _rdw(fh, path)
    else:
        yield from _lines(fh, codec)


def _blocks(fh: BinaryIO, size: int) -> Iterator[bytes]:
    step = max(1, BLOCK // size) * size
    while data := fh.read(step):
        for at in range(0, len(data), size):
            yield data[at : at + size]  # the last one may be short: it is rejected


def _rdw(fh: BinaryIO, path: Path) -> Iterator[bytes]:
    """Variable-length records, each behind ``LLxx``: a big-endian length that counts the
    four bytes themselves, then two zero bytes. A bad word ends the reading: the records
    after it cannot be found. The file is read in blocks, the records cut from them."""
    number, data, at = 0, b"", 0
    while True:
        if len(data) - at < 4 or len(data) - at < int.from_bytes(data[at : at + 2], "big"):
            more = fh.read(BLOCK)
            if not more:
                break
            data, at = data[at:] + more, 0
            continue
        number += 1
        size = int.from_bytes(data[at : at + 2], "big")
        if data[at + 2 : at + 4] != b"\0\0" or size < 4:
            raise _bad_rdw(path, number, data[at : at + 4])
        yield data[at + 4 : at + size]
        at += size
    rest = data[at:]
    if rest:  # a last record cut short: its word, then fewer bytes than it announces
        number += 1
        if len(rest) < 4 or rest[2:4] != b"\0\0" or int.from_bytes(rest[:2], "big") < 4:
            raise _bad_rdw(path, number, rest[:4])
        yield rest[4:]


def _bad_rdw(path: Path, number: int, head: bytes) -> SchemaMismatch:
    return SchemaMismatch(
        f"{path.name}: record {number}: bad record descriptor word x'{head.hex().upper()}' "
        "(RECFM=VB with the RDW kept expected)"
    )


def _lines(fh: BinaryIO, codec: _Codec) -> Iterator[bytes]:
    """Records ended by the encoding's newline; a CR before it is dropped; empty lines are
    not records."""
    nl, cr, carry = codec.newline, codec.cr, b""
    while data := fh.read(BLOCK):
        parts = (carry + data).split(nl)
        carry = parts.pop()
        for part in parts:
            if part.endswith(cr):
                part = part[: -len(cr)]
            if part:
                yield part
    if carry.endswith(cr):
        carry = carry[: -len(cr)]
    if carry:
        yield carry


def _chunks(records: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    held: list[bytes] = []
    for record in records:
        held.append(record)
        if len(held) >= size:
            yield held
            held = []
    if held:
        yield held


def _frame(
    records: list[bytes], fields: list[FixedField], width: int, codec: _Codec
) -> pd.DataFrame:
    n = len(records)
    lengths = np.fromiter((len(r) for r in records), dtype=np.int64, count=n)
    padded = b"".join(r[:width].ljust(width, b"\0") for r in records)
    matrix: Matrix = np.frombuffer(padded, dtype=np.uint8).reshape(n, width)
    columns: dict[str, object] = {}
    marked = np.zeros(n, dtype=bool)
    reason = np.full(n, None, dtype=object)
    column = np.full(n, None, dtype=object)
    value = np.full(n, None, dtype=object)
    for field in fields:
        raw = matrix[:, field.start - 1 : field.end]
        values, bad = _decode(field, raw, codec)
        short = lengths < field.end
        bad |= short
        values[bad] = None
        first = bad & ~marked
        if first.any():
            rows = np.flatnonzero(first)
            reason[rows] = UNREADABLE
            column[rows] = field.name
            value[rows] = [_shown(records[i], field, short[i]) for i in rows]
            marked |= first
        columns[field.name] = values
    columns.update({READ_REASON: reason, READ_COLUMN: column, READ_VALUE: value})
    return pd.DataFrame(columns, dtype=object)


def _shown(record: bytes, field: FixedField, short: bool) -> str:
    """A field's raw bytes as hex (cut after 32 bytes); a short record says its length."""
    raw = record[field.start - 1 : field.end]
    text = f"x'{raw[:32].hex().upper()}{'...' if len(raw) > 32 else ''}'"
    if short:
        text += f" (record of {len(record)} bytes, the layout reads to byte {field.end})"
    return text


def _decode(
    field: FixedField, raw: Matrix, codec: _Codec
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """(values, unreadable) of one field for every record of the chunk."""
    if field.type == "text":
        return _text(raw, codec)
    blank = np.all(raw == 0, axis=1) | np.all(raw == codec.space[0], axis=1)
    if field.type == "packed":
        digits, negative, bad = _packed(raw)
    else:
        digits, negative, bad = _zoned(raw, codec.ebcdic)
    bad &= ~blank
    text = _decimal_text(digits, negative, field.scale)
    text[bad | blank] = None
    return text, bad


def _text(raw: Matrix, codec: _Codec) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    n, width = raw.shape
    low = np.all(raw == 0, axis=1)
    data = np.ascontiguousarray(raw).tobytes()
    try:
        whole = data.decode(codec.encoding) if codec.single_byte else None
    except UnicodeDecodeError:
        whole = None
    if whole is None or len(whole) != n * width:  # a byte the codec refuses, or multi-byte
        return _text_by_record(data, n, width, codec.encoding, low)
    # one fixed-width unicode array for the chunk (numpy drops trailing NULs itself)
    cells = np.frombuffer(whole.encode("utf-32-le"), dtype=f"<U{width}")
    kept = np.strings.rstrip(cells, " \x00")
    bad = _inner_low_values(raw, codec.space[0]) & ~low
    out = kept.astype(object)
    out[bad | low] = None
    return out, bad


def _inner_low_values(raw: Matrix, space: int) -> npt.NDArray[np.bool_]:
    """Rows with a low-value byte before their last byte that is neither a space nor a
    low-value (in a single-byte code page, x'00' is the NUL character)."""
    n, width = raw.shape
    meaningful = (raw != 0) & (raw != space)
    last = width - 1 - np.argmax(meaningful[:, ::-1], axis=1)
    last[~meaningful.any(axis=1)] = -1
    before = np.arange(width)[None, :] < last[:, None]
    return np.asarray(np.any((raw == 0) & before, axis=1))


def _text_by_record(
    data: bytes, n: int, width: int, encoding: str, low: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    out = np.full(n, None, dtype=object)
    bad = np.zeros(n, dtype=bool)
    for i in range(n):
        if low[i]:
            continue
        text = _one(data[i * width : (i + 1) * width], encoding)
        kept = None if text is None else text.rstrip(" \x00")
        if kept is None or "\x00" in kept:
            bad[i] = True
        else:
            out[i] = kept
    return out, bad


def _one(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


@cache
def _zoned_tables(
    ebcdic: bool,
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """256-entry tables: digit of a leading byte, digit and sign (+1, -1; 0 bad) of the
    last byte; -1 where the byte is no digit."""
    body = np.full(256, -1, dtype=np.int8)
    last = np.full(256, -1, dtype=np.int8)
    sign = np.zeros(256, dtype=np.int8)
    for d in range(10):
        if ebcdic:
            body[0xF0 + d] = d
            for zone, s in ((0xF0, 1), (0xC0, 1), (0xD0, -1)):
                last[zone + d], sign[zone + d] = d, s
        else:
            body[0x30 + d] = d
            positive = ord("{") if d == 0 else ord("A") + d - 1
            negative = ord("}") if d == 0 else ord("J") + d - 1
            for byte, s in ((0x30 + d, 1), (positive, 1), (negative, -1)):
                last[byte], sign[byte] = d, s
    return body, last, sign


def _zoned(
    raw: Matrix, ebcdic: bool
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    body, last, sign = _zoned_tables(ebcdic)
    digits = np.empty(raw.shape, dtype=np.int8)
    digits[:, :-1] = body[raw[:, :-1]]
    digits[:, -1] = last[raw[:, -1]]
    signs = sign[raw[:, -1]]
    bad = np.any(digits < 0, axis=1) | (signs == 0)
    return digits, signs < 0, bad


def _packed(
    raw: Matrix,
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    n, width = raw.shape
    nibbles = np.empty((n, width * 2), dtype=np.int8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    digits, sign = nibbles[:, :-1], nibbles[:, -1]
    bad = np.any(digits > 9, axis=1) | ~np.isin(sign, (0x0C, 0x0D, 0x0F))
    return digits, sign == 0x0D, bad


def _decimal_text(
    digits: npt.NDArray[np.int8], negative: npt.NDArray[np.bool_], scale: int
) -> npt.NDArray[np.object_]:
    """Each row's digits as exact decimal text at ``scale`` (``-12.30``, ``0.05``, ``7``)."""
    n, count = digits.shape
    clean = np.where(digits < 0, 0, np.minimum(digits, 9)).astype(np.int64)
    if count <= 18:
        powers = 10 ** np.arange(count - 1, -1, -1, dtype=np.int64)
        numbers: list[int] = (clean * powers).sum(axis=1).tolist()
    else:  # beyond int64: Python's integers, exact at any length
        numbers = [int("".join(map(str, row))) for row in clean.tolist()]
    signs = ["-" if neg and v else "" for neg, v in zip(negative.tolist(), numbers, strict=True)]
    if not scale:
        text = [f"{s}{v}" for s, v in zip(signs, numbers, strict=True)]
    else:
        unit = 10**scale
        text = [f"{s}{v // unit}.{v % unit:0{scale}d}" for s, v in zip(signs, numbers, strict=True)]
    out = np.empty(n, dtype=object)
    out[:] = text
    return out
