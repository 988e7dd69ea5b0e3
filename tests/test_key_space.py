"""Key text loses the same surrounding whitespace in the pipeline and in reconciliation.

A legacy key part is recorded without surrounding ASCII whitespace (a space, a tab, a line
break): the pipeline strips it in Python, reconciliation in each database's SQL. A key
ending in a tab is then one key to both, and a reference to it without the tab finds it; a
reference of only whitespace means "none", as a blank one does.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from migrate.spec.model import EntitySpec
from migrate.transform.engine import KEY_SPACE, key_string, transform
from reconcile.reading import sqltext
from reconcile.reading.sources import key_string as reconcile_key_string

SAMPLES = ["V1", " V1\t", "\tV1 \n", "\x0bV 1\x0c", "\t", "", "  ", "V1\u00a0", "A\tB"]


def test_pipeline_and_reconciliation_strip_the_same_characters() -> None:
    assert sqltext.KEY_SPACE == KEY_SPACE
    frame = pd.DataFrame({"K": SAMPLES}, dtype="str")
    assert key_string(frame, ["K"]).tolist() == [reconcile_key_string([v]) for v in SAMPLES]


@pytest.mark.db
@pytest.mark.parametrize("server", ["sqlite", "pg_server", "mysql_server"])
def test_each_database_trims_a_key_as_the_pipeline_does(
    server: str, request: pytest.FixtureRequest
) -> None:
    url = "sqlite://" if server == "sqlite" else str(request.getfixturevalue(server))
    engine = create_engine(url)
    samples = [*SAMPLES, "INV0", "tab", "bf0", "x\\"]  # letters a backslash-escaped set would hold
    modes = ["", "NO_BACKSLASH_ESCAPES"] if server == "mysql_server" else [None]
    try:
        with engine.connect() as conn:
            for mode in modes:
                if mode is not None:
                    conn.execute(text(f"SET SESSION sql_mode = '{mode}'"))
                for value in samples:
                    sql = f"SELECT {sqltext.key_trim(':v', engine.dialect.name)}"
                    got = conn.execute(text(sql), {"v": value}).scalar()
                    assert got == value.strip(KEY_SPACE), (mode, value)
    finally:
        engine.dispose()


SPEC = EntitySpec.model_validate(
    {
        "entity": "invoices",
        "domain": "finance",
        "source": {"system": "finance", "table": "INV", "key": ["ID"]},
        "target": {"table": "INVOICES", "key": ["INVOICE_ID"]},
        "fields": {
            "INVOICE_ID": {"from": "ID"},
            "VENDOR_ID": {"lookup": {"domain": "supplier", "from": ["VND"]}},
        },
    }
)


def test_a_reference_of_whitespace_means_none_and_a_tab_does_not_orphan_it() -> None:
    asked: list[str] = []

    def resolve(
        domain: str, system: str, legacy: pd.Series
    ) -> tuple[pd.Series, pd.Series, pd.Series]:
        asked.extend(legacy.dropna().tolist())
        keys = legacy.map({"V1": 1}).astype("Int64")
        return keys, legacy.notna() & keys.isna(), pd.Series(False, index=legacy.index)

    chunk = pd.DataFrame({"ID": ["1", "2", "3", "4"], "VND": ["V1", "", "\t", "V1\t"]})
    out = transform(SPEC, chunk, {}, resolve)
    assert out.frame["VENDOR_ID"].tolist() == [1, pd.NA, pd.NA, 1]
    assert out.failures.to_frame().empty
    assert asked == ["V1", "V1"]
