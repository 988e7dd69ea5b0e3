"""Staged rows sharing a unique combination with a chunk: one array query on PostgreSQL
finds exactly what the portable batched ``IN`` finds (the unique-history check behind
``duplicate_invoice_number``, and the already-staged check of a resumed chunk)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import BigInteger, Column, MetaData, String, Table, create_engine

from migrate.load.staged_checks import existing

STAGED = [
    ("INV-1", 1), ("INV-1", 2), ("inv-1", 1), ("A,B", 3), ('say "x"', 4), ("{1,2}", 5),
    ("back\\slash", 6), ("é ü", 7), ("", 8), ("INV-9", 9),
]  # fmt: skip
CHUNK = [
    ("INV-1", 1), ("INV-1", 3), ("A,B", 3), ('say "x"', 4), ("{1,2}", 5), ("back\\slash", 6),
    ("é ü", 7), ("", 8), ("NEW", 1),
]  # fmt: skip


def _found(url: str) -> set[tuple[str, ...]]:
    table = Table(
        "T", MetaData(), Column("INVOICE_NUM", String(50)), Column("VENDOR_ID", BigInteger)
    )
    engine = create_engine(url)
    try:
        table.create(engine)
        with engine.begin() as conn:
            conn.execute(table.insert(), [{"INVOICE_NUM": n, "VENDOR_ID": v} for n, v in STAGED])
        values = pd.DataFrame(CHUNK, columns=["INVOICE_NUM", "VENDOR_ID"]).astype(
            {"INVOICE_NUM": "str", "VENDOR_ID": "Int64"}
        )
        with engine.connect() as conn:
            return existing(conn, table, ["INVOICE_NUM", "VENDOR_ID"], values)
    finally:
        table.drop(engine, checkfirst=True)
        engine.dispose()


def test_portable_path(tmp_path: Path) -> None:
    want = {("INV-1", "1"), ("A,B", "3"), ('say "x"', "4"), ("{1,2}", "5")}
    want |= {("back\\slash", "6"), ("é ü", "7"), ("", "8")}
    assert _found(f"sqlite:///{tmp_path / 's.db'}") == want


@pytest.mark.db
def test_postgresql_array_query_finds_the_same(tmp_path: Path, pg_url: str) -> None:
    assert _found(pg_url) == _found(f"sqlite:///{tmp_path / 's.db'}")
