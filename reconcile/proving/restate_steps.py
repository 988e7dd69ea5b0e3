"""Reconciliation's own statement of every mapping step, one legacy value at a time.

Invariant 3 keeps reconciliation from calling the pipeline's transforms, so each step of the
mapping language (``migrate/spec/steps.py``) is written again here, from its documented
meaning, in plain Python on one value: ``datetime.strptime`` for dates where the pipeline
uses pandas, ``reconcile.reading.money`` for amounts where it uses its vectorised parser, a ``dict``
for crosswalks where it uses an Arrow hash lookup. Where the two disagree about a value the
pipeline staged, the row diff shows it: that is the point of writing it twice.

A value is what a legacy database or file hands over (``str``, ``int``, ``Decimal``,
``float``, ``date``, ``datetime``, ``None``) or what an earlier step made of it. A step
that the pipeline would refuse for a value (a date that does not parse, an unknown code)
raises :class:`Unreadable`: the pipeline rejects such a row, so it is normally not compared
at all; if it was staged anyway, the difference names the reason.

Text semantics follow the pipeline's Arrow strings where Python's differ, and say so:
``collapse_spaces`` collapses ASCII spaces, tabs and line breaks (RE2's ``\\s``, which leaves
a no-break space alone); ``upper``, ``lower`` and ``title`` map one character to one
(Unicode's simple case mapping, as Arrow's ``utf8proc``: ``ß`` to ``ẞ``, never ``SS``). Eight
letters whose capitals are newer than Python's Unicode data (phonetic letters such as
``ƛ``) upper-case differently; a value holding one would show as a difference.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from migrate.lineage.keyed_hash import mask_key
from migrate.spec import steps as S
from reconcile.reading import numbers as N
from reconcile.reading.money import SPACE, InvalidAmount, decimal_text, step_cents

_RE2_SPACE = re.compile(r"[\t\n\f\r ]+")  # RE2's \s: what collapse_spaces collapses
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_NOT_DIGIT = re.compile(r"[^0-9]")
_ABA_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7, 1)


class Unreadable(ValueError):
    """The pipeline refuses this value at this step (its row is rejected, with ``reason``)."""

    def __init__(self, reason: str, value: object) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {value!r}")


@dataclass(frozen=True)
class Context:
    """What a step may read besides its value: the legacy row, and the crosswalks."""

    record: Mapping[str, object]
    crosswalks: Mapping[str, Mapping[str, str]]


def as_text(value: object) -> str | None:
    """A value as text, as the pipeline reads any column as text (``1`` is ``"1"``; a date
    ``"2001-03-07"``; a timestamp ``"2001-03-07 00:00:00"``; NaN is no value)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, str) else str(value)


def is_blank(value: object) -> bool:
    text = as_text(value)
    return text is None or text.strip() == ""


def _upper_char(c: str) -> str:
    """Simple upper case: one character for one (``ß`` to ``ẞ``; an iota subscript kept)."""
    u = c.upper()
    if len(u) == 1:
        return u
    if c == "ß":
        return "ẞ"
    t = c.title()
    return t if len(t) == 1 else c


def _lower_char(c: str) -> str:
    """Simple lower case: ``İ`` is ``i`` (its full mapping adds a combining dot)."""
    low = c.lower()
    if len(low) == 1:
        return low
    return low[0] if all(unicodedata.combining(x) for x in low[1:]) else c


def _upper(text: str) -> str:
    if text.isascii():  # ASCII's full case mapping is its simple one (and far quicker)
        return text.upper()
    return "".join(map(_upper_char, text))


def _lower(text: str) -> str:
    if text.isascii():
        return text.lower()
    return "".join(map(_lower_char, text))


def _title(text: str) -> str:
    """Each run of cased letters starts upper case and goes on lower case."""
    out, inside = [], False
    for c in text:
        out.append(_lower(c) if inside else _upper(c))
        inside = c.isupper() or c.islower() or c.istitle()
    return "".join(out)


def _collapse(text: str) -> str:
    return _RE2_SPACE.sub(" ", text).strip()


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _text_step(fn: Callable[[str], str | None]) -> Callable[[object, S._Args, Context], object]:
    def run(value: object, _args: S._Args, _ctx: Context) -> object:
        text = as_text(value)
        return None if text is None else fn(text)

    return run


def _blank_to_null(text: str) -> str | None:
    return None if text.strip() == "" else text


def _replace(value: object, args: S._Args, _ctx: Context) -> object:
    assert isinstance(args, S.ReplaceArgs)
    text = as_text(value)
    return None if text is None else text.replace(args.old, args.new)


def _zfill(value: object, args: S._Args, _ctx: Context) -> object:
    assert isinstance(args, S.ZfillArgs)
    text = as_text(value)
    return None if text is None else text.zfill(args.width)


def _split(value: object, args: S._Args, _ctx: Context) -> object:
    """Part ``index`` (negative from the end; none when out of range); with ``rest``, the
    text from that part on (split ``index`` times: 0 means every separator)."""
    assert isinstance(args, S.SplitArgs)
    text = as_text(value)
    if text is None:
        return None
    most = args.index if args.rest and args.index > 0 else -1
    parts = text.split(args.sep, most)
    return parts[args.index] if -len(parts) <= args.index < len(parts) else None


def _parse_time(value: object, fmt: str) -> datetime | None:
    if is_blank(value):
        return None
    text = (as_text(value) or "").strip()
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        raise Unreadable("invalid_date", value) from None


def _date(value: object, args: S._Args, _ctx: Context) -> object:
    """The day, at midnight; with ``pivot``, a two-digit year up to ``pivot % 100`` is
    20xx and a later one 19xx."""
    assert isinstance(args, S.DateArgs)
    parsed = _parse_time(value, args.format)
    if parsed is None:
        return None
    year = parsed.year
    if args.pivot is not None and "%y" in args.format:
        yy = year % 100
        year = yy + (1900 if yy > args.pivot % 100 else 2000)
    try:
        return datetime(year, parsed.month, parsed.day)
    except ValueError:  # 29 February of a year the pivot made common
        raise Unreadable("invalid_date", value) from None


def _datetime(value: object, args: S._Args, _ctx: Context) -> object:
    assert isinstance(args, S.DatetimeArgs)
    return _parse_time(value, args.format)


def _money(value: object, args: S._Args, _ctx: Context) -> object:
    """Integer cents by reconciliation's own parser (``reconcile/reading/money.py``)."""
    assert isinstance(args, S.MoneyArgs)
    try:
        return step_cents(value, args)
    except InvalidAmount:
        raise Unreadable("invalid_amount", value) from None


def _integer(value: object, _args: S._Args, _ctx: Context) -> object:
    """An optional sign and ASCII digits, trimmed of the six ASCII spaces, within 64 bits
    (a ``Decimal`` read in fixed notation; a NaN held as a value is refused)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if value is None:
        return None
    text = repr(value) if isinstance(value, float) else decimal_text(value)
    text = text.strip(SPACE)
    if text == "":
        return None
    if not _INTEGER.fullmatch(text) or not -(2**63) <= int(text) < 2**63:
        raise Unreadable("invalid_format", value)
    return int(text)


def _sign_by(value: object, args: S._Args, ctx: Context) -> object:
    """Negated where the indicator column holds one of ``negative`` (trimmed, any case)."""
    assert isinstance(args, S.SignByArgs)
    indicator = as_text(ctx.record.get(args.column))
    wanted = {v.upper() for v in args.negative}
    if value is None or indicator is None or _upper(indicator.strip()) not in wanted:
        return value
    if isinstance(value, (int, Decimal, float)):
        return -value
    raise Unreadable("not a number to negate", value)


def _crosswalk(value: object, args: S._Args, ctx: Context) -> object:
    """The code's translation in the mapping's crosswalk file (exact text, no trimming)."""
    assert isinstance(args, S.CrosswalkArgs)
    if is_blank(value):
        return None
    mapped = ctx.crosswalks[args.name].get(as_text(value) or "")
    if mapped is None:
        raise Unreadable("unmapped_code", value)
    return mapped


def _mask(value: object, args: S._Args, _ctx: Context) -> object:
    assert isinstance(args, S.MaskArgs)
    text = as_text(value)
    if text is None:
        return None
    if args.kind == "full":
        return "***"
    if args.kind == "last4":
        return "***" + _NOT_DIGIT.sub("", text)[-4:]
    return hmac.new(mask_key(), text.encode(), hashlib.sha256).hexdigest()[:32]


def aba_valid(text: str) -> bool:
    digits = text.strip()
    if not re.fullmatch(r"[0-9]{9}", digits):
        return False
    return sum(int(d) * w for d, w in zip(digits, _ABA_WEIGHTS, strict=True)) % 10 == 0


def _check_digit(value: object, _args: S._Args, _ctx: Context) -> object:
    """A check, not a change: the value stays; a wrong ABA check digit is refused."""
    if not is_blank(value) and not aba_valid(as_text(value) or ""):
        raise Unreadable("invalid_format", value)
    return value


def _numeric(
    fn: Callable[[object, S._Args], object],
) -> Callable[[object, S._Args, Context], object]:
    """A number step (``restate_numbers.py``); a value that is no number is refused."""

    def run(value: object, args: S._Args, _ctx: Context) -> object:
        try:
            return fn(value, args)
        except N.NotNumber:
            raise Unreadable(N.REASON, value) from None

    return run


def _format_number(value: object, args: S._Args) -> object:
    assert isinstance(args, S.FormatNumberArgs)
    return N.formatted(value, args)


STEPS: dict[str, Callable[[object, S._Args, Context], object]] = {
    "strip": _text_step(str.strip),
    "upper": _text_step(_upper),
    "lower": _text_step(_lower),
    "title": _text_step(_title),
    "collapse_spaces": _text_step(_collapse),
    "blank_to_null": _text_step(_blank_to_null),
    "ascii_fold": _text_step(_fold),
    "replace": _replace,
    "zfill": _zfill,
    "split": _split,
    "date": _date,
    "datetime": _datetime,
    "money": _money,
    "integer": _integer,
    "sign_by": _sign_by,
    "crosswalk": _crosswalk,
    "mask": _mask,
    "check_digit": _check_digit,
    "abs": _numeric(lambda v, _a: N.flip(v, absolute=True)),
    "negate": _numeric(lambda v, _a: N.flip(v, absolute=False)),
    "format_number": _numeric(_format_number),
}


def holds(
    cond_column: object, equals: object, in_: list[object] | None, blank: bool | None
) -> bool:
    """A condition's test on the text of one legacy value: trimmed, any case (the value's
    case by the simple mapping, the mapping's by Python's ``str.upper``, as the pipeline
    does: a ``ß`` in the mapping never matches one in the data)."""
    text = as_text(cond_column)
    text = None if text is None else _upper(text.strip())
    if blank is not None:
        return (text is None or text == "") == blank
    if in_ is not None:
        return text is not None and text in {str(v).strip().upper() for v in in_}
    return text is not None and text == str(equals).strip().upper()


def to_date(value: object) -> date | None:
    """A value as a staging DATE column takes it: a timestamp's day (UTC), a date, or text
    ``YYYY-MM-DD``."""
    stamp = to_timestamp(value)
    return None if stamp is None else stamp.date()


def to_timestamp(value: object) -> datetime | None:
    """A value as a staging TIMESTAMP column takes it: naive UTC, whole seconds."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.replace(microsecond=0)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if is_blank(value):
        return None
    try:
        return datetime.strptime((as_text(value) or "").strip(), "%Y-%m-%d")
    except ValueError:
        raise Unreadable("invalid_date", value) from None


def to_cents(value: object, is_cents: bool) -> int | None:
    """A value as a staging money column takes it: cents already (after a ``money`` step),
    else an amount in units (fixed-point text, or an integer of whole units)."""
    if value is None:
        return None
    return to_integer(value) if is_cents else _as_cents(value)


def _as_cents(value: object) -> int | None:
    cents = _money(value, S.MoneyArgs(encoding="fixed"), Context({}, {}))
    assert cents is None or isinstance(cents, int)
    return cents


def to_integer(value: object) -> int | None:
    out = _integer(value, S.NoArgs(), Context({}, {}))
    assert out is None or isinstance(out, int)
    return out
