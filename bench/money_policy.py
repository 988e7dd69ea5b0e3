"""What the money step's policy costs, per million values (prints figures; not a test).

The pipeline's ``money`` step on 1,000,000 values: plain fixed text (``123.45``, the path
without a policy), 4-decimal text rounded half even, and float64 read by the float rule;
and reconciliation's own reading of the same values (``reconcile/reading/rounding.py``, one Python
call per value, as a streamed measure reads them). Best of three.

    .venv/bin/python bench/money_policy.py [N]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from migrate.spec.stepargs import MoneyArgs
from migrate.transform.parse import money_step
from reconcile.reading.rounding import Reading, cents_or_none


def best(fn: Callable[[], object], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(n: int) -> None:
    rng = np.random.default_rng(20)
    units = rng.integers(0, 10**7, n)
    plain = pd.Series([f"{u // 100}.{u % 100:02d}" for u in units], dtype="str")
    four = pd.Series(
        [f"{u // 10000}.{u % 10000:04d}" for u in units * 100 + units % 97], dtype="str"
    )
    floats = pd.Series(units / 100.0)
    cases = [
        ("fixed, no policy", plain, MoneyArgs(encoding="fixed"), Reading("decimal")),
        (
            "fixed, scale 4, half_even",
            four,
            MoneyArgs(encoding="fixed", scale=4, rounding="half_even"),
            Reading("decimal", 4, "half_even"),
        ),
        ("float", floats, MoneyArgs(encoding="float"), Reading("float")),
    ]
    print(f"{n:,} values; best of 3")
    for name, s, args, reading in cases:
        pipeline = best(lambda s=s, args=args: money_step(s, args))  # type: ignore[misc]
        values = s.tolist()
        restate = best(lambda r=reading, v=values: [cents_or_none(x, r) for x in v], rounds=1)
        print(
            f"  {name:28s} pipeline {pipeline:6.3f} s ({n / pipeline / 1e6:5.1f} M/s)"
            f"   reconciliation {restate:6.3f} s ({n / restate / 1e6:5.2f} M/s)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
