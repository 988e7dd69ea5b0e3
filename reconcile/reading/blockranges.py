"""PostgreSQL: one large table read as block ranges at once, every range in one snapshot.

The legacy side's scan parses every amount and takes longer than the staging side's; on two
cores, the core that finished staging would idle for the rest. Read as two ranges of the
table's blocks (TID range scans, PostgreSQL 14 and later), on two connections, the legacy
scan uses it. The ranges must read the table as of one moment (a row updated meanwhile
moves to another block, and would be counted twice or not at all): the first connection
exports its snapshot and the others import it, as ``pg_dump -j`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection, Engine, text

SPLIT_PAGES = 2048  # 16 MB of 8 kB pages: smaller tables are scanned in one statement
Rows = list[tuple[object, ...]]


def block_ranges(engine: Engine, from_sql: str, parts: int) -> list[str]:
    """``parts`` conditions on ``ctid`` that split the table ``from_sql`` (a quoted name)
    by blocks, or one that takes it all (a query, a small table, an older server)."""
    whole = ["1 = 1"]
    if parts < 2 or from_sql.lstrip().startswith("("):
        return whole
    with engine.connect() as conn:
        if (conn.dialect.server_version_info or (0,)) < (14,):
            return whole
        pages = conn.execute(
            text(
                "SELECT pg_relation_size(CAST(:t AS regclass)) / current_setting('block_size')::int"
            ),
            {"t": from_sql},
        ).scalar_one()
    if pages < SPLIT_PAGES:
        return whole
    cuts = [pages * i // parts for i in range(1, parts)]
    starts = ["", *(f"ctid >= '({c},0)'::tid" for c in cuts)]
    ends = [*(f"ctid < '({c},0)'::tid" for c in cuts), ""]  # the last range is open
    return [" AND ".join(x for x in pair if x) for pair in zip(starts, ends, strict=True)]


def in_one_snapshot(
    engine: Engine, statements: list[str], run: Callable[[Connection, str], Rows]
) -> list[Rows]:
    """``run`` each statement at once, each on its own connection, all reading the snapshot
    the first connection exported."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as lead:
        snapshot = lead.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()

        def one(i: int) -> Rows:
            if i == 0:
                return run(lead, statements[0])
            with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                return run(conn, statements[i])

        with ThreadPoolExecutor(len(statements)) as pool:
            return list(pool.map(one, range(len(statements))))
