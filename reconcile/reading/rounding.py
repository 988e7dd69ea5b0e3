"""Reconciliation's own statement of the money step's policy: a source scale rounded to
cents, and floats read to exact amounts (never the pipeline's code, invariant 3).

The float rule, as reconciliation states it: a finite float is the amount its **shortest
decimal form** (Python's ``repr``, the fewest digits that read back as the same float) says,
when that form has at most ``scale`` decimals and the amount is below ``2**52 / 10**scale``
in magnitude (there two amounts of that scale are never the same float, so the amount is
unambiguous). The pipeline states it as "the float nearest to ``c / 10**scale`` is this
float" with numpy (``migrate/transform/rounding.py``); the two are equivalent: a decimal of
at most ``scale`` decimals reads back as the float exactly when the shortest form, which has
no more digits, has at most ``scale`` decimals too.

Rounding is ``Decimal.quantize`` to the cent with the declared mode (the pipeline's is
integer arithmetic on scaled units).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

from migrate.spec.model import EntitySpec, Measure
from migrate.spec.stepargs import MoneyArgs
from reconcile.reading.money import CENT, EXACT, InvalidAmount, parse_cents, parse_exact

MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "truncate": ROUND_DOWN}
MODE_WORDS = {
    "half_up": "half up (a tie away from zero)",
    "half_even": "half even (a tie to the even cent)",
    "truncate": "truncated (toward zero)",
}


@dataclass(frozen=True)
class Reading:
    """How reconciliation reads one measure's legacy values: the measure's encoding, and
    the scale and rounding of the money step that fills its target column."""

    encoding: str  # cents | integer | decimal | money_text | float
    scale: int = 2
    rounding: str | None = None

    @property
    def plain(self) -> bool:
        """Read as before this policy existed (and pushed down into SQL where it can be)."""
        return self.encoding != "float" and self.rounding is None

    @property
    def unit(self) -> Decimal:
        return Decimal(1).scaleb(-self.scale)

    def bound_per_row(self) -> Decimal:
        """The most one row's rounding can change it: half a cent for the half modes; for
        truncate a cent less one unit of the source scale (0.0099 at scale 4)."""
        if self.rounding == "truncate":
            return CENT - self.unit
        return CENT / 2

    def words(self) -> str:
        if self.rounding is None:
            return ""
        return f"rounded {MODE_WORDS[self.rounding]} from {self.scale} decimals"


def money_args(spec: EntitySpec, column: str) -> MoneyArgs | None:
    """The last money step of the field that fills ``column`` (None without one)."""
    rule = spec.fields.get(column)
    steps = [s.args for s in rule.steps if s.name == "money"] if rule is not None else []
    last = steps[-1] if steps else None
    return last if isinstance(last, MoneyArgs) else None


def reading_of(spec: EntitySpec, m: Measure) -> Reading:
    """A measure's reading: its own encoding; the scale and rounding are the mapping's money
    step on the measure's target column (declared once, so the two cannot drift apart)."""
    args = money_args(spec, m.target_column)
    if args is None:
        return Reading(m.source_encoding)
    return Reading(m.source_encoding, args.decimals, args.rounding)


def float_amount(value: float) -> Decimal:
    """A float's shortest decimal form, exactly (``0.30000000000000004``, ``1.98``)."""
    if not math.isfinite(value):
        raise InvalidAmount(f"float {value!r} is not a number")
    return Decimal(repr(value))


def read_exact(value: object, r: Reading) -> Decimal | None:
    """The legacy amount at its own precision (a float: its shortest decimal form);
    ``None`` when blank; :class:`InvalidAmount` when it is not an amount at any scale."""
    if r.encoding == "float":
        if isinstance(value, float):
            if value != value:  # the driver's NaN, apart from its NULL (None): not a blank
                raise InvalidAmount("NaN is not an amount")
            return float_amount(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        return parse_exact(value, "decimal")
    return parse_exact(value, r.encoding)


def read_cents(value: object, r: Reading) -> int | None:
    """The cents the money step must stage for one legacy value, or ``None`` when blank;
    :class:`InvalidAmount` where the step rejects the value (finer than the scale; a float
    that is not one amount of the scale; not an amount)."""
    if r.plain:
        return parse_cents(value, r.encoding)
    amount = read_exact(value, r)
    if amount is None:
        return None
    with localcontext() as ctx:
        ctx.prec = EXACT.prec  # room for any amount's digits: quantize never rounds beyond its mode
        scaled = amount.scaleb(r.scale)
        if scaled != scaled.to_integral_value():
            raise InvalidAmount(f"{amount} has more than {r.scale} decimals")
        if abs(amount) >= 10 ** (18 - r.scale):  # as the pipeline's int64 units of the scale
            raise InvalidAmount(f"{amount}: more than {18 - r.scale} digits before the point")
        if isinstance(value, float) and abs(scaled) >= 2**52:
            raise InvalidAmount(f"float {value!r}: too large to tell amounts of the scale apart")
        cents = amount.quantize(CENT, rounding=MODES[r.rounding] if r.rounding else None)
        if cents != amount and r.rounding is None:
            raise InvalidAmount(f"{amount} is finer than a cent")
        whole = int(cents.scaleb(2))
    if abs(whole) >= 2**63:
        raise InvalidAmount(f"{amount}: beyond 64-bit cents")
    return whole


def cents_or_none(value: object, r: Reading) -> int | None:
    """:func:`read_cents`, with a refused value as ``None``."""
    try:
        return read_cents(value, r)
    except InvalidAmount:
        return None
