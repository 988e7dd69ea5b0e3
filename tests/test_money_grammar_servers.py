"""The amount grammar in each backend's SQL (``reconcile/reading/sqltext.py``: what reconciliation
pushes down to sum a measure) against reconciliation's Python statement of it
(``reconcile.reading.money.cents_or_flag``, SQLite's registered ``mig_cents``), on generated
strings: SQLite's own spelling, PostgreSQL and MariaDB. A value the SQL read differently
would make a measure's total differ from the row-by-row restatement (and from the pipeline,
``tests/test_money_grammar_agreement.py``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from reconcile.reading.money import cents_or_flag
from reconcile.reading.sqltext import as_text, family
from reconcile.reading.sqltext import parse_cents as sql_parse
from tests.test_money_grammar_agreement import TEXTS

ENCODINGS = ("decimal", "cents", "integer")
EDGES = [
    "+5.00",
    "-5.00",
    "9999999999999999.99",
    "10000000000000000",
    "10000000000000000.00",
    "999999999999999999",
    "1000000000000000000",
    "0000000000000000000000012.50",
    "1.230",
    "1.235",
    "١٢٣",
    "$5",
    " \t7.5\n",
    "-.5",
    "5.",
    ".",
    "-",
    "+-5",
]


def _sql_reads(url: str, encoding: str, values: list[str]) -> list[object]:
    engine = create_engine(url)
    dialect = engine.dialect.name
    cast = "CAST(:v AS CHAR)" if family(dialect) == "mysql" else "CAST(:v AS TEXT)"
    blank, valid, cents = sql_parse("v", encoding, dialect)
    sql = f"SELECT {blank}, {valid}, CASE WHEN {valid} THEN {cents} END FROM (SELECT {cast} AS v) s"
    out: list[object] = []
    try:
        with engine.connect() as conn:
            for v in values:
                b, ok, c = conn.execute(text(sql), {"v": v}).one()
                out.append(None if b else (int(c) if ok else "X"))
    finally:
        engine.dispose()
    assert as_text("v", dialect)
    return out


def _check(url: str, values: list[str], storable: bool = True) -> None:
    if not storable:  # PostgreSQL text holds no NUL
        values = [v for v in values if "\x00" not in v]
    for encoding in ENCODINGS:
        assert _sql_reads(url, encoding, values) == [cents_or_flag(v, encoding) for v in values]


def test_sqlite_spelling_agrees_on_the_edges(tmp_path: pytest.TempPathFactory) -> None:
    _check(f"sqlite:///{tmp_path}/s.db", EDGES)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(TEXTS, min_size=1, max_size=15))
def test_sqlite_spelling_agrees(tmp_path: pytest.TempPathFactory, values: list[str]) -> None:
    _check(f"sqlite:///{tmp_path}/s.db", values)


@pytest.mark.db
@pytest.mark.parametrize("server", ["pg_url", "mysql_url"])
def test_servers_agree(server: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(server)
    pg = url.startswith("postgresql")
    _check(url, EDGES, storable=not pg)
    generated = st.lists(TEXTS, min_size=1, max_size=15)

    @settings(max_examples=20, deadline=None)
    @given(values=generated)
    def each(values: list[str]) -> None:
        _check(url, values, storable=not pg)

    each()
