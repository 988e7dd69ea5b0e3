"""A COBOL copybook read as a fixed-width layout: the subset 1990s extracts are described in.

Why our own parser: the PyPI ``copybook`` package (MIT) was last released in September 2022,
reads positions for text lines rather than bytes (no COMP-3 lengths), and reports a grammar
error without the copybook's line; the other packages are a few months old or convert whole
files their own way. The subset is small, and every error here names ``copybook:line``.

Read: fixed-format lines (a sequence number in columns 1-6 dropped, ``*`` or ``/`` in column
7 a comment, text past column 72 dropped) or free-form ones; entries ended by a period;
level numbers 01-49 (groups have no PIC, they only nest); 88 condition names ignored;
``PIC``/``PICTURE`` ``X(n)``/``XXX`` (text), ``9(n)``, ``S9(n)V9(m)``, ``S9(5)V99`` as
``DISPLAY`` (zoned, sign overpunched on the last digit) or ``COMP-3``/``PACKED-DECIMAL``
(packed); ``FILLER`` (takes its bytes, gives no column); ``VALUE`` clauses ignored.
Refused, with the reason: ``REDEFINES``, ``OCCURS``, ``RENAMES`` (66), binary ``COMP``/
``COMP-4``/``COMP-5``/``BINARY``, floating ``COMP-1``/``COMP-2``, ``SIGN ... SEPARATE`` or
``LEADING``, edited pictures (``Z``, ``.``, ``,``, ``$``...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn

from migrate.errors import Location, SpecError
from migrate.spec.layout import FixedField

_PIC = re.compile(r"^(S)?((?:9(?:\(\d+\))?)*)(?:V((?:9(?:\(\d+\))?)+))?$")
_TEXT_PIC = re.compile(r"^(?:X(?:\(\d+\))?)+$")
_PACKED = {"COMP-3", "COMPUTATIONAL-3", "PACKED-DECIMAL"}
_REFUSED_USAGE = {
    "COMP": "binary COMP",
    "COMPUTATIONAL": "binary COMP",
    "COMP-4": "binary COMP-4",
    "COMPUTATIONAL-4": "binary COMP-4",
    "COMP-5": "binary COMP-5",
    "COMPUTATIONAL-5": "binary COMP-5",
    "BINARY": "BINARY",
    "COMP-1": "floating-point COMP-1",
    "COMP-2": "floating-point COMP-2",
    "COMPUTATIONAL-1": "floating-point COMP-1",
    "COMPUTATIONAL-2": "floating-point COMP-2",
}
_REFUSED_CLAUSE = {
    "REDEFINES": "REDEFINES (two layouts over the same bytes) is not supported: declare the "
    "layout you mean in YAML `fields`",
    "OCCURS": "OCCURS is not supported: declare the repeated fields in YAML `fields`",
    "SEPARATE": "SIGN ... SEPARATE is not supported (only the trailing overpunched sign)",
    "LEADING": "SIGN LEADING is not supported (only the trailing overpunched sign)",
}


@dataclass(frozen=True)
class _Entry:
    line: int
    words: list[str]


def read_copybook(path: Path) -> list[FixedField]:
    """The copybook's elementary fields in record order, their byte positions computed."""
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(Location(str(path), None, ""), f"cannot read copybook: {exc}") from None
    return parse_copybook(text, str(path))


def parse_copybook(text: str, name: str = "<copybook>") -> list[FixedField]:
    """Parse copybook ``text``; errors start with ``name:line:``."""
    fields: list[FixedField] = []
    position = 1
    seen: dict[str, int] = {}
    for entry in _entries(text, name):
        field = _field(entry, name, position)
        if field is None:
            continue
        length, item = field
        position += length
        if item is None:  # FILLER
            continue
        if item.name in seen:
            _fail(name, entry.line, f"{item.name} declared twice (first at line {seen[item.name]})")
        seen[item.name] = entry.line
        fields.append(item)
    if not fields:
        raise SpecError(Location(name, None, ""), "the copybook declares no field")
    return fields


def _fail(name: str, line: int, message: str) -> NoReturn:
    raise SpecError(Location(name, line, ""), message)


def _code(line: str) -> str:
    """The code area of one copybook line ('' for a comment)."""
    if len(line) >= 7 and line[6] in "*/" and (line[:6].isdigit() or not line[:6].strip()):
        return ""
    if line.lstrip().startswith("*"):
        return ""
    if len(line) >= 6 and line[:6].isdigit():
        line = "      " + line[6:]
    return line[:72] if len(line) > 72 else line


def _entries(text: str, name: str) -> list[_Entry]:
    """Words grouped into period-ended entries, each with the line it starts on."""
    out: list[_Entry] = []
    words: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        for word in _code(raw).split():
            if not words:
                start = number
            ended = word.endswith(".")
            word = word.rstrip(".") if ended else word
            if word:
                words.append(word.upper())
            if ended:
                out.append(_Entry(start, words))
                words = []
    if words:
        _fail(name, start, f"entry {' '.join(words[:2])} does not end with a period")
    return out


def _field(entry: _Entry, name: str, position: int) -> tuple[int, FixedField | None] | None:
    """(bytes taken, field or None for FILLER); None for a group or an 88 level."""
    words, line = entry.words, entry.line
    if not words[0].isdigit():
        _fail(name, line, f"expected a level number, found {words[0]!r}")
    level = int(words[0])
    if level == 88:
        return None
    if level == 66:
        _fail(name, line, "RENAMES (level 66) is not supported")
    if not 1 <= level <= 49:
        _fail(name, line, f"level {level} is not a data level (01-49, 88)")
    if len(words) < 2:
        _fail(name, line, "a level number without a name")
    label = words[1]
    clauses = words[2:] if label not in ("PIC", "PICTURE") else words[1:]
    if label in ("PIC", "PICTURE"):
        label = "FILLER"
    clauses = clauses[: clauses.index("VALUE")] if "VALUE" in clauses else clauses
    for word in clauses:
        if word in _REFUSED_CLAUSE:
            _fail(name, line, f"{label}: {_REFUSED_CLAUSE[word]}")
        if word in _REFUSED_USAGE:
            _fail(
                name,
                line,
                f"{label}: {_REFUSED_USAGE[word]} is not supported (text, zoned "
                "DISPLAY and COMP-3 only)",
            )
    pic = _picture(clauses)
    if pic is None:
        return None  # a group: its elementary items give the positions
    kind, length, scale = _usage(pic, clauses, label, name, line)
    item = (
        None
        if label == "FILLER"
        else FixedField(name=label, start=position, length=length, type=kind, scale=scale)
    )
    return length, item


def _picture(clauses: list[str]) -> str | None:
    for i, word in enumerate(clauses):
        if word in ("PIC", "PICTURE"):
            rest = clauses[i + 1 :]
            if rest and rest[0] == "IS":
                rest = rest[1:]
            return rest[0] if rest else ""
    return None


def _count(pic: str, symbol: str) -> int:
    """How many ``symbol`` positions ``9(5)99`` (or ``X(3)X``) stands for."""
    total = 0
    for m in re.finditer(rf"{symbol}(?:\((\d+)\))?", pic):
        total += int(m.group(1)) if m.group(1) else 1
    return total


def _usage(
    pic: str, clauses: list[str], label: str, name: str, line: int
) -> tuple[Literal["text", "zoned", "packed"], int, int]:
    """(type, bytes, scale) of one elementary item."""
    packed = any(w in _PACKED for w in clauses)
    if _TEXT_PIC.match(pic):
        if packed:
            _fail(name, line, f"{label}: PIC {pic} cannot be COMP-3")
        return "text", _count(pic, "X"), 0
    m = _PIC.match(pic)
    if not pic or m is None or not (m.group(2) or m.group(3)):
        _fail(
            name,
            line,
            f"{label}: PIC {pic or '(missing)'} is not supported (X(n), 9(n), S9(n)V9(m) only)",
        )
    digits = _count(m.group(2) or "", "9") + _count(m.group(3) or "", "9")
    scale = _count(m.group(3) or "", "9")
    if digits > 38:
        _fail(name, line, f"{label}: {digits} digits is more than 38")
    if packed:
        return "packed", digits // 2 + 1, scale
    return "zoned", digits, scale
