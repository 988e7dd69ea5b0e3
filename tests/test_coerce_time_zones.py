"""Timestamps with a time zone reach staging as UTC, and date rules can check them.

Staging DATE and TIMESTAMP columns have no time zone. A PostgreSQL ``timestamptz`` source
arrives tz-aware (in the extract session's zone); coercion converts it to UTC and drops the
zone, so the staged value does not depend on the session and ``min``/``max`` rules compare
like with like (they used to stop the run: a tz-aware value cannot be compared with a naive
bound).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Date, DateTime, MetaData, Table

from migrate.transform.failures import Failures
from migrate.validate.coerce import coerce
from migrate.validate.schema import validate

TABLE = Table("T", MetaData(), Column("AT", DateTime), Column("DAY", Date))
ZONES = ("UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham")


def _coerced(values: list[str], zone: str) -> pd.DataFrame:
    stamps = (
        pd.to_datetime(pd.Series(values), format="ISO8601")
        .dt.tz_localize("UTC")
        .dt.tz_convert(zone)
    )
    frame = pd.DataFrame({"AT": stamps, "DAY": stamps})
    failures = Failures(frame.index)
    out = coerce(frame, TABLE, failures)
    assert not bool(failures.any_mask().any())
    return out


def test_the_same_instant_stages_the_same_in_any_session_zone() -> None:
    values = ["2024-03-10 06:30", "2024-12-31 23:59:59", "2025-01-01 00:00"]
    outs = [_coerced(values, zone) for zone in ZONES]
    for out in outs:
        assert out["AT"].dt.tz is None
        assert out["AT"].tolist() == [pd.Timestamp(v) for v in values]
        assert out["DAY"].tolist() == [pd.Timestamp(v).normalize() for v in values]


@given(st.datetimes(min_value=pd.Timestamp("1990-01-01"), max_value=pd.Timestamp("2040-01-01")))
def test_utc_wall_clock_is_kept_to_the_microsecond(when: object) -> None:
    value = str(pd.Timestamp(when))  # type: ignore[arg-type]
    assert _coerced([value], "Asia/Kolkata")["AT"].iloc[0] == pd.Timestamp(value)


def test_a_date_rule_checks_a_zoned_source_after_coercion() -> None:
    out = _coerced(["2019-12-31 23:30", "2020-01-01 00:30"], "America/New_York")
    schema = pa.DataFrameSchema(
        {"AT": pa.Column(checks=[pa.Check.ge(pd.Timestamp("2020-01-01"), error="out_of_range")])},
        name="demo",
    )
    failures = Failures(out.index)
    validate(schema, out[["AT"]], out[["AT"]], failures)
    assert failures.any_mask().tolist() == [True, False]
