"""Legacy text made safe for a cell, visibly: the one escaping function of the workbook.

A legacy value may hold anything: a NUL (``000000100.00\\x00``), other control characters,
bytes kept as lone surrogates by a ``surrogateescape`` reader, ``=`` at the start. A
worksheet cannot hold most control characters (XML forbids them, openpyxl raises
``IllegalCharacterError``), UTF-8 cannot hold a lone surrogate, a cell holds at most 32,767
characters, and Excel reads ``_x0041_`` in a cell's text as the character it encodes. So
every text cell goes through :func:`cell_text`, and each character that is not printable
(tab and newline excepted) is shown as Python writes it (``\\x00``, ``\\r``, ``\\udcff``,
``\\ufffe``), the notation ``migrate`` itself prints, never dropped and never replaced by a
look-alike. A value is never turned into a formula: :func:`reconcile.reports.workbook_style.put`
writes text as text, and only the workbook's own formulas go through ``put_formula``.
"""

from __future__ import annotations

import re

MAX_CELL = 32_767  # Excel's limit on the characters of one cell
SHOWN_OF_LONG = 32_000
_OOXML_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")  # Excel would decode _xHHHH_


def _visible(ch: str) -> str:
    if ch.isprintable() or ch in "\t\n":
        return ch
    return repr(ch)[1:-1]  # '\x00', '\r', '\udcff', '\u200b': the notation of the CLI


def cell_text(value: str) -> str:
    """``value`` as a cell shows it: every character that is not printable escaped as
    ``\\xNN``/``\\uNNNN`` (``\\r`` for a carriage return), an underscore that would start an
    Excel escape (``_x0041_``) shown as ``\\x5f``, and text beyond a cell's limit cut with a
    note saying how long it was. Plain text comes back unchanged."""
    if value.isprintable() and "_x" not in value and len(value) <= MAX_CELL:
        return value  # the common case, without building a new string
    text = "".join(_visible(ch) for ch in value)
    text = _OOXML_ESCAPE.sub(r"\\x5f", text)
    if len(text) > MAX_CELL:
        text = f"{text[:SHOWN_OF_LONG]} ... ({len(text):,} characters; the first 32,000 shown)"
    return text


ESCAPE_LEGEND = (
    "A character that cannot be shown as it is (a control character such as NUL, a byte "
    "that is not text, an invisible format character) is written as Python writes it: "
    "\\x00 for NUL, \\r for a carriage return, \\udcff for an undecodable byte ff. The "
    "legacy value holds that character; nothing was dropped or replaced."
)

__all__ = ["ESCAPE_LEGEND", "MAX_CELL", "cell_text"]
