"""Reconciliation's own reading of a fixed-width extract (never ``migrate.extract.files``).

The pipeline decodes whole chunks with numpy tables; this reads one record and one byte at a
time with plain integer arithmetic on half-bytes, and finds the copybook's positions with its
own short reading of the copybook, so a wrong position, sign or digit in either is a
difference, not a shared mistake. Both follow the rules of docs/how-to/mainframe-extract.md:

- zoned: every byte but the last a plain digit (EBCDIC ``F0``-``F9``, ASCII ``0``-``9``); the
  last carries the sign (EBCDIC zone ``C``/``F`` +, ``D`` -; ASCII ``{A-I`` +0..9, ``}J-R``
  -0..9, a plain digit +);
- packed: two digits a byte, the last half-byte the sign (``C``/``F`` +, ``D`` -);
- a number of spaces or low-values only is missing; text is decoded and right-trimmed of
  spaces and low-values, low-values alone are missing;
- the value is the exact decimal text at the field's scale (``-0.00`` is ``0.00``).

A record the layout cannot read (a bad sign or digit, text that cannot be decoded, a record
that ends before the last field) is yielded with each unreadable field holding its raw
bytes (``<unreadable x'F0C5'>``) and ``_read_reason`` ``unreadable_record`` (with
``_read_column``, ``_read_value``): the pipeline rejects such a record, so reconciliation
expects its key among the rejected; an amount it cannot read is never a blank or 0, so its
measure is unverified (as for the delimited reader's unreadable records).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal

from migrate.extract.files.confinement import named_file
from migrate.spec.flatfile import FlatFile
from migrate.spec.layout import FixedField

LINE = "_line"
READ_REASON, READ_COLUMN, READ_VALUE = "_read_reason", "_read_column", "_read_value"
UNREADABLE = "unreadable_record"
COPYBOOK = ("fixed", "copybook")

_ASCII_POSITIVE = "{ABCDEFGHI"
_ASCII_NEGATIVE = "}JKLMNOPQR"


class FixedReadError(ValueError):
    """The file or its copybook cannot be read at all (not one bad record)."""


def fixed_records(f: FlatFile, path: Path, base_dir: Path) -> Iterator[dict[str, object]]:
    """One dict per record: each field's value (``None`` when blank; ``<unreadable x'..'>``
    with its raw bytes when it cannot be read, so that it is never taken for a blank),
    ``_line`` (1-based record number) and the ``_read_*`` marks."""
    assert f.fixed is not None
    fields = _fields(f, base_dir)
    ebcdic = " ".encode(f.encoding) == b"\x40"
    limit = max([fd.start - 1 + fd.length for fd in fields] + [f.fixed.record_length or 0])
    padding = {0, " ".encode(f.encoding)[0]}
    with path.open("rb") as fh:
        for number, record in enumerate(_split(fh, f), 1):
            out = _record(record, number, fields, f.encoding, ebcdic)
            yield _past_layout(out, record, limit, padding)


def _past_layout(
    out: dict[str, object], record: bytes, limit: int, padding: set[int]
) -> dict[str, object]:
    """A record longer than the layout with more than padding past it may hide another
    record: it is marked unreadable (reconciliation expects its key among the rejected)."""
    extra = record[limit:]
    if extra and set(extra) - padding and out[READ_REASON] is None:
        shown = (
            f"record of {len(record)} bytes, the layout ends at byte {limit}: "
            f"x'{extra[:16].hex().upper()}...' past it"
        )
        out.update({READ_REASON: UNREADABLE, READ_COLUMN: None, READ_VALUE: shown})
    return out


def _record(
    record: bytes, number: int, fields: list[FixedField], encoding: str, ebcdic: bool
) -> dict[str, object]:
    out: dict[str, object] = {LINE: number, READ_REASON: None, READ_COLUMN: None, READ_VALUE: None}
    for field in fields:
        lo, hi = field.start - 1, field.start - 1 + field.length
        raw = record[lo:hi]
        ok, value = (False, None) if len(record) < hi else _value(raw, field, encoding, ebcdic)
        if ok:
            out[field.name] = value
            continue
        shown = f"x'{raw[:32].hex().upper()}{'...' if len(raw) > 32 else ''}'"
        if len(record) < hi:
            shown += f" (record of {len(record)} bytes, the layout reads to byte {hi})"
        # the raw bytes, never None: an amount reconciliation cannot read is unverified, not 0
        out[field.name] = f"<unreadable {shown}>"
        if out[READ_REASON] is None:
            out.update({READ_REASON: UNREADABLE, READ_COLUMN: field.name, READ_VALUE: shown})
    return out


def _value(raw: bytes, field: FixedField, encoding: str, ebcdic: bool) -> tuple[bool, str | None]:
    """(readable, value) of one field's bytes."""
    if field.type == "text":
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            return False, None
        if set(raw) == {0}:
            return True, None
        kept = text.rstrip(" \x00")
        return ("\x00" not in kept), (kept if "\x00" not in kept else None)
    space = " ".encode(encoding)[0]
    if all(b == 0 for b in raw) or all(b == space for b in raw):
        return True, None
    number = _packed(raw) if field.type == "packed" else _zoned(raw, ebcdic)
    if number is None:
        return False, None
    negative, magnitude = number
    return True, _as_text(negative and magnitude != 0, magnitude, field.scale)


def _zoned(raw: bytes, ebcdic: bool) -> tuple[bool, int] | None:
    magnitude = 0
    for b in raw[:-1]:
        digit = b - 0xF0 if ebcdic else b - 0x30
        if not 0 <= digit <= 9:
            return None
        magnitude = magnitude * 10 + digit
    last = raw[-1]
    if ebcdic:
        zone, digit = last >> 4, last & 0x0F
        if digit > 9 or zone not in (0xC, 0xD, 0xF):
            return None
        return zone == 0xD, magnitude * 10 + digit
    char = chr(last)
    if char.isascii() and char.isdigit():
        return False, magnitude * 10 + int(char)
    if char in _ASCII_POSITIVE:
        return False, magnitude * 10 + _ASCII_POSITIVE.index(char)
    if char in _ASCII_NEGATIVE:
        return True, magnitude * 10 + _ASCII_NEGATIVE.index(char)
    return None


def _packed(raw: bytes) -> tuple[bool, int] | None:
    hexed = raw.hex().upper()
    body, sign = hexed[:-1], hexed[-1]
    if not body.isdigit() and body != "":
        return None
    if sign not in "CDF":
        return None
    return sign == "D", int(body or "0")


def _as_text(negative: bool, magnitude: int, scale: int) -> str:
    digits = str(magnitude)
    if scale:
        digits = digits.rjust(scale + 1, "0")
        digits = f"{digits[:-scale]}.{digits[-scale:]}"
    return ("-" if negative else "") + digits


BLOCK = 1 << 20  # bytes read at a time: memory does not grow with the file


def _split(fh: BinaryIO, f: FlatFile) -> Iterator[bytes]:
    """The file's records as the layout's ``records`` says (lines, fixed blocks or RDW)."""
    assert f.fixed is not None
    how = f.fixed.records
    if how == "fixed":
        size = f.fixed.record_length or 0
        while block := fh.read(size * max(1, BLOCK // size)):
            for at in range(0, len(block), size):
                yield block[at : at + size]
    elif how == "rdw":
        yield from _variable(fh)
    else:
        newline, cr = "\n".encode(f.encoding), "\r".encode(f.encoding)
        rest = b""
        while block := fh.read(BLOCK):
            *lines, rest = (rest + block).split(newline)
            for line in lines:
                if line := line.removesuffix(cr):
                    yield line
        if rest := rest.removesuffix(cr):
            yield rest


def _variable(fh: BinaryIO) -> Iterator[bytes]:
    """Records behind record descriptor words, one record read at a time."""
    number = 0
    while head := fh.read(4):
        number += 1
        size = int.from_bytes(head[:2], "big")
        if len(head) < 4 or head[2:] != b"\x00\x00" or size < 4:
            raise FixedReadError(f"{fh.name}: record {number}: bad record descriptor word")
        yield fh.read(size - 4)


def _fields(f: FlatFile, base_dir: Path) -> list[FixedField]:
    assert f.fixed is not None
    if f.fixed.fields is not None:
        return list(f.fixed.fields)
    # the copybook's path comes checked from the confinement (a mapping may not name any file)
    return copybook_fields(named_file(f, COPYBOOK, base_dir).read_text())


_ENTRY = re.compile(r"(\d+)\s+([A-Z0-9][A-Z0-9-]*)(.*)", re.S)
_REPEAT = re.compile(r"([9XV])(?:\((\d+)\))?")


def copybook_fields(text: str) -> list[FixedField]:
    """The copybook's elementary items with their positions (reconciliation's own reading;
    the pipeline's, with its errors at ``file:line``, is ``migrate/extract/files/copybook.py``)."""
    code = []
    for line in text.splitlines():
        if len(line) > 6 and line[6] in "*/" and not line[:6].strip(" 0123456789"):
            continue
        if line.strip().startswith("*"):
            continue
        if line[:6].isdigit():
            line = line[6:]
        code.append(line[:72] if len(line) > 72 else line)
    out: list[FixedField] = []
    at = 1
    for entry in re.split(r"\.(?:\s|$)", " ".join(code).upper()):
        m = _ENTRY.match(entry.strip())
        if m is None or m.group(1) == "88":
            continue
        name, rest = m.group(2), m.group(3).split()
        if name in ("PIC", "PICTURE"):
            name, rest = "FILLER", [name, *rest]
        if any(w in ("REDEFINES", "OCCURS") for w in rest):
            raise FixedReadError(f"{name}: REDEFINES and OCCURS are not read")
        if "PIC" not in rest and "PICTURE" not in rest:
            continue
        idx = rest.index("PIC") if "PIC" in rest else rest.index("PICTURE")
        pic = rest[idx + 1] if rest[idx + 1] != "IS" else rest[idx + 2]
        length, kind, scale = _picture(pic, rest)
        if name != "FILLER":
            out.append(FixedField(name=name, start=at, length=length, type=kind, scale=scale))
        at += length
    return out


def _picture(pic: str, words: list[str]) -> tuple[int, Literal["text", "zoned", "packed"], int]:
    nines = before = 0
    seen_v = False
    chars = 0
    for symbol, count in _REPEAT.findall(pic.lstrip("S")):
        n = int(count) if count else 1
        if symbol == "V":
            seen_v = True
        elif symbol == "X":
            chars += n
        else:
            nines += n
            before += 0 if seen_v else n
    if chars:
        return chars, "text", 0
    if any(w in ("COMP-3", "COMPUTATIONAL-3", "PACKED-DECIMAL") for w in words):
        return nines // 2 + 1, "packed", nines - before
    return nines, "zoned", nines - before
