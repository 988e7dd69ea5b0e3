"""Key-range partitions at the extract: ``partition_bounds`` cuts a source into contiguous
ranges of its first group column, and ``read_database(partition=...)`` reads one range.

Together the partitions read every row exactly once (a NULL group value included), never
split a group, and a column with few values gives fewer partitions. Checked on SQLite, and
on PostgreSQL (the Arrow/ADBC path) and MariaDB when their servers are up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine

from migrate.db import readonly_engine
from migrate.extract.database import partition_bounds, read_database
from migrate.spec.model import EntitySpec
from tests.conftest import (
    drop_mysql_database,
    drop_pg_database,
    make_mysql_database,
    make_pg_database,
)

# Journals of 1 to 9 lines; journal 7 is huge (a quarter of all rows) and one line has no
# journal at all, so tiles collapse and NULL must still land somewhere.
ROWS = [
    {"JNL": j, "LINE": n, "NOTE": f"j{j}-{n}"}
    for j in range(1, 60)
    for n in range(1, (120 if j == 7 else j % 9 + 2))
] + [{"JNL": None, "LINE": 1, "NOTE": "orphan line"}]


def _spec(jnl: str = "JNL", line: str = "LINE", **source: object) -> EntitySpec:
    return EntitySpec.model_validate(
        {
            "entity": "journal_lines",
            "domain": "finance",
            "source": {"system": "finance", "key": [line], "group_by": [jnl], **source},
            "target": {"table": "GL_INTERFACE", "key": ["LINE"]},
            "fields": {"NOTE": {"from": "NOTE"}},
        }
    )


def _seed(url: str) -> None:
    md = MetaData()
    table = Table(
        "JRNL",
        md,
        Column("JNL", Integer, nullable=True),
        Column("LINE", Integer, nullable=False),
        Column("NOTE", String(40)),
    )
    engine = create_engine(url)
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), ROWS)
    engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.db),
        pytest.param("mariadb", marks=pytest.mark.db),
    ]
)
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A read-only engine on a seeded JRNL table in each dialect."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'legacy.db'}", None
    elif request.param == "postgresql":
        admin = request.getfixturevalue("pg_server")
        url = make_pg_database(admin)
        drop = (drop_pg_database, admin)
    else:
        admin = request.getfixturevalue("mysql_server")
        url = make_mysql_database(admin)
        drop = (drop_mysql_database, admin)
    try:
        _seed(url)
        engine = readonly_engine(url)
        yield engine
        engine.dispose()
    finally:
        if drop is not None:
            drop[0](drop[1], url)


def _read(
    spec: EntitySpec, engine: Engine, part: tuple[object, object] | None
) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for chunk in read_database(spec, engine, chunk_size=25, partition=part):
        frame = chunk.rows.rename(columns=str.upper)
        rows += [
            (None if pd.isna(j) else int(j), int(n), str(t))  # a NULL JNL -> None
            for j, n, t in zip(frame["JNL"], frame["LINE"], frame["NOTE"], strict=True)
        ]
    return rows


def _everything() -> Counter[tuple[object, ...]]:
    return Counter((r["JNL"], r["LINE"], r["NOTE"]) for r in ROWS)


@pytest.mark.parametrize("n", [1, 2, 4, 7, 500])
def test_partitions_cover_the_table_once_without_splitting_groups(source: Engine, n: int) -> None:
    spec = _spec(table="JRNL")
    bounds = partition_bounds(spec, source, n)
    assert 1 <= len(bounds) <= n
    assert bounds[0][0] is None and bounds[-1][1] is None
    assert all(hi == lo for (_, hi), (lo, _) in zip(bounds, bounds[1:], strict=False))
    parts = [_read(spec, source, b) for b in bounds]
    union = Counter(r for part in parts for r in part)
    assert union == _everything()  # nothing lost, nothing read twice
    owners: dict[object, set[int]] = {}
    for i, part in enumerate(parts):
        for jnl, _line, _note in part:
            owners.setdefault(jnl, set()).add(i)
    assert all(len(o) == 1 for o in owners.values())  # no journal in two partitions
    if n >= 4:
        assert len(bounds) > 1  # a real split, not one range


def test_few_distinct_values_give_fewer_partitions(source: Engine) -> None:
    """59 journals (plus NULL) can be cut into at most 59 ranges, never 500."""
    bounds = partition_bounds(_spec(table="JRNL"), source, 500)
    assert 1 < len(bounds) <= 59
    cuts = [lo for lo, _ in bounds[1:]]
    assert cuts == sorted(set(cuts))  # distinct and increasing


def test_query_source_reads_a_partition(source: Engine) -> None:
    """A query's columns are named unquoted, as the key and ordering of a query source are."""
    q = '"' if source.dialect.name != "mysql" else "`"
    sql = f"SELECT {q}JNL{q} AS jnl, {q}LINE{q} AS line, {q}NOTE{q} AS note FROM {q}JRNL{q}"
    spec = _spec("jnl", "line", query=sql)
    bounds = partition_bounds(spec, source, 3)
    union = Counter(r for b in bounds for r in _read(spec, source, b))
    assert union == _everything()
    middle = _read(spec, source, (10, 20))
    assert {j for j, _, _ in middle} == set(range(10, 20))


@pytest.mark.parametrize("kind", ["date", "numeric"])
def test_bounds_of_date_and_numeric_keys_survive_the_plan(
    source: Engine, kind: str, tmp_path: Path
) -> None:
    """Bounds are stored as JSON (a date or a decimal becomes text); read back they are
    compared in the column's own type (PostgreSQL refuses ``date >= varchar``)."""
    import datetime
    import json
    from decimal import Decimal

    from sqlalchemy import Date, Numeric

    from migrate.db import writable_engine

    url = source.url.render_as_string(hide_password=False)
    if source.dialect.name == "sqlite":  # the read-only engine's URI names the same file
        url = f"sqlite:///{tmp_path / 'legacy.db'}"
    col_type = Date() if kind == "date" else Numeric(12, 0)
    start = datetime.date(2020, 1, 1)
    values = [start + datetime.timedelta(days=i) if kind == "date" else Decimal(1000 + i)
              for i in range(40)]  # fmt: skip
    md = MetaData()
    table = Table("KEYED", md, Column("K", col_type, nullable=False), Column("V", Integer))
    writer = writable_engine(url)
    md.create_all(writer)
    with writer.begin() as conn:
        conn.execute(table.insert(), [{"K": k, "V": i} for i, k in enumerate(values)])
    writer.dispose()
    spec = _spec(jnl="K", line="V", table="KEYED")
    bounds = [
        tuple(json.loads(json.dumps(b, default=str))) for b in partition_bounds(spec, source, 3)
    ]
    seen = [int(v) for b in bounds for c in read_database(spec, source, 7, partition=b)
            for v in c.rows["V"]]  # fmt: skip
    assert len(bounds) == 3 and sorted(seen) == list(range(40))
