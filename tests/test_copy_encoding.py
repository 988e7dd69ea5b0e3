"""COPY into a PostgreSQL staging whose encoding is not UTF-8 keeps non-ASCII text.

The COPY payload comes from Arrow's CSV writer as UTF-8 bytes; without saying so the server
read them in the connection's encoding and stored 'é' as 'Ã©' (and a key-map entry could then
never be found again)."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, text

from migrate.load.bulk import insert_frame

pytestmark = pytest.mark.db


def test_non_ascii_text_survives_copy_into_a_latin1_staging(latin1_url: str) -> None:
    table = Table("T", MetaData(), Column("K", String(20)), Column("V", String(20)))
    engine = create_engine(latin1_url)
    try:
        table.create(engine)
        values = ["é", "Müller", 'naïve, "quoted"', "plain"]
        frame = pd.DataFrame({"K": [str(i) for i in range(4)], "V": values}, dtype="str")
        with engine.begin() as conn:
            insert_frame(conn, table, frame)
        with engine.connect() as conn:
            got = [r[0] for r in conn.execute(text('SELECT "V" FROM "T" ORDER BY "K"'))]
        assert got == values
    finally:
        engine.dispose()
