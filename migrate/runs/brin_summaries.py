"""The BRIN summaries of a rolled-back run's block ranges, dropped: PostgreSQL catalog work."""

from __future__ import annotations

from sqlalchemy import Connection, Table


def brin_ranges(conn: Connection, table: Table, run_id: str) -> list[tuple[str, int]]:
    """PostgreSQL: (BRIN index, first block) of each block range of ``table`` holding the
    run's rows, for the BRIN indexes on ``MIG_RUN_ID``; nothing elsewhere."""
    if conn.dialect.name != "postgresql" or "MIG_RUN_ID" not in table.c:
        return []
    name = conn.dialect.identifier_preparer.format_table(table)
    indexes = conn.exec_driver_sql(
        "SELECT x.indexrelid::regclass::text, COALESCE((SELECT o.option_value::int FROM "
        "pg_options_to_table(i.reloptions) o WHERE o.option_name = 'pages_per_range'), 128) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am a ON a.oid = "
        "i.relam JOIN pg_attribute c ON c.attrelid = x.indrelid AND c.attnum = x.indkey[0] "
        "WHERE x.indrelid = %(t)s::regclass AND a.amname = 'brin' AND c.attname = 'MIG_RUN_ID'",
        {"t": name},
    ).all()
    if not indexes:
        return []
    lo, hi = conn.exec_driver_sql(
        "SELECT min((ctid::text::point)[0])::bigint, max((ctid::text::point)[0])::bigint "
        f'FROM {name} WHERE "MIG_RUN_ID" = %(r)s',
        {"r": run_id},
    ).one()
    if lo is None:
        return []
    return [(idx, b) for idx, per in indexes for b in range(lo // per * per, hi + 1, per)]


def forget_ranges(conn: Connection, ranges: list[tuple[str, int]]) -> None:
    """Drop the summaries of the block ranges a rolled-back run held: they still span its
    id, and rows a later run puts into the freed space would widen them to every run id
    in between for good (measured: queries by run id then read twice their blocks).
    Unsummarized ranges are read by every query until the next VACUUM summarizes them
    again from the rows that are left."""
    for index, block in ranges:
        conn.exec_driver_sql(
            "SELECT brin_desummarize_range(%(i)s::regclass, %(b)s)", {"i": index, "b": block}
        )
