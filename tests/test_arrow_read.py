"""The Arrow side's read (``reconcile/reading/arrowread.py``): what the batches cannot carry goes to
SQL, and what they can is read whole: storage classes mixed or changing between batches,
BLOB and REAL values, grain columns NULL through the first batch, the key trimmed and joined
by Arrow (and not in a UTF-16 file), odd keys and amounts of every storage class. Each
answer is held equal to the SQL side's (helpers from ``test_arrow_side.py``)."""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from migrate.db import readonly_engine
from reconcile.reading import arrowread
from tests.test_arrow_side import (
    AMOUNTS,
    SPACE,
    arrow_sides,
    as_set,
    assert_same_answers,
    estate,
)


def test_a_column_of_mixed_types_is_read_through_sql(caplog: pytest.LogCaptureFixture) -> None:
    """SQLite lets a column without a declared type hold integers and text; an Arrow column
    cannot: that question falls back to SQL, with the same answers (here the grain is the
    untyped ``DR``: integers first, then text)."""
    rows = [(str(i), 1, "5.00", 100 + i, "D", "A1") for i in range(3)] + [
        ("9", 1, "1", "x", "C", None)
    ]
    with (
        estate(rows, []) as (legacy, staging),
        caplog.at_level(logging.INFO, "reconcile.reading.arrowside"),
    ):
        (source, arrow), _ = arrow_sides(legacy, staging, grain="DR")
        assert_same_answers(source, arrow)
        assert "through SQL instead" in caplog.text
        assert {e for e, *_ in arrow.scan().profile} == {(100,), (101,), (102,), ("x",)}


@pytest.mark.parametrize(("first", "later"), [("x", 5), (1.5, 7), ("ab", b"ab"), (5, "x")])
def test_a_storage_class_changing_between_batches_is_read_through_sql(
    monkeypatch: pytest.MonkeyPatch, first: object, later: object
) -> None:
    """The driver types a column from its first batch and converts later values (a 7 after
    REALs comes back as 7.0, a 5 after text as '5'): the classes are checked over the
    whole read, not batch by batch (found by review)."""
    monkeypatch.setattr(arrowread, "BATCH_ROWS", 4)
    rows = [(str(i), 1, "1.00", first, "D", "A1") for i in range(4)]
    rows.append(("9", 1, "1.00", later, "D", "A1"))
    with estate(rows, []) as (legacy, staging):
        (source, arrow), _ = arrow_sides(legacy, staging, grain="DR")
        assert_same_answers(source, arrow)
        assert arrow.fell_back


@pytest.mark.parametrize("later", ["A7", 7, 2.5, b"\x01", None])
def test_a_grain_column_null_in_the_first_batch_stays_arrow(
    monkeypatch: pytest.MonkeyPatch, later: object
) -> None:
    """A grain column NULL on every row of the first batch (one added to the table late):
    the driver would type it as an integer and stop at the text that follows; read with a
    stand-in of its class and the NULLs put back, the side stays on Arrow, same answers,
    NULLs in later batches included. A staged grain column too."""
    monkeypatch.setattr(arrowread, "BATCH_ROWS", 4)
    rows = [(str(i), 1, "1.00", 5, "D", None) for i in range(6)]
    rows += [("8", 1, "2.00", 5, "D", later), ("9", 1, "3.00", 5, "D", None)]
    staged = [(f"{i}|1", 100, 5, None, "R1") for i in range(5)]
    staged += [("8|1", 200, 5, "A7", "R1"), ("9|1", 300, 5, None, "R1")]
    with estate(rows, staged) as (legacy, staging):
        for side, arrow in arrow_sides(legacy, staging):
            assert_same_answers(side, arrow)
            assert not arrow.fell_back
            assert None in {extras[0] for extras, *_ in arrow.scan().profile}


@pytest.mark.parametrize(
    ("amount", "key"),
    [(b"", "1"), (b" ", "1"), (b"\x80", "1"), (3.5, "1"), ("1.00", 0.1 + 0.2), ("1.00", 1e20)],
)
def test_blob_and_real_values(amount: object, key: object) -> None:
    """A BLOB amount, even empty or not UTF-8, is not an amount (as ``mig_cents`` says); a
    REAL key part is read through SQL (its text differs between SQLite versions: the
    driver's own SQLite prints 0.1 + 0.2 as 0.30000000000000004, Python's as 0.3)."""
    rows = [("1", key, amount, 5, "D", "A1"), ("2", 1, "1.00", 5, "D", "A1")]
    with estate(rows, []) as (legacy, staging):
        (source, arrow), _ = arrow_sides(legacy, staging)
        assert_same_answers(source, arrow)
        assert arrow.fell_back == isinstance(key, float)


def test_a_legacy_key_is_trimmed_and_joined_by_arrow() -> None:
    """A legacy key (every part trimmed, ``|``-joined: ``key_expr``) is read as its plain
    parts and built with Arrow's kernels; its text and hash are SQL's, padding, NULL and
    non-ASCII space-like characters included. A staged key is read as SQL spells it."""
    rows = [
        (" 7\t", 2, "1.00", 5, "D", "A1"),
        (None, 3, "2.00", 5, "D", "A1"),
        ("\u00a0x\u00a0", None, "3.00", 5, "D", "A1"),  # NO-BREAK SPACE is not trimmed
        ("\x0b\x0c\r\n8 ", 1, "4.00", 5, "D", "A1"),
    ]
    with estate(rows, [("7|2", 100, 5, "A1", "R1")]) as (legacy, staging):
        (source, arrow), (_, arrow_staged) = arrow_sides(legacy, staging)
        assert arrow._reader.key_parts == ('"ID"', '"LINE"')
        assert arrow_staged._reader.key_parts is None
        keys = ["7|2", "|3", "\u00a0x\u00a0|", "8|1"]
        got = sorted(r.key for r in arrow.rows_for_keys(keys))
        assert got == sorted(keys)
        assert_same_answers(source, arrow)
        assert not arrow.fell_back


@contextmanager
def utf16_estate(rows: list[tuple[object, ...]]) -> Iterator[tuple[Engine, Engine]]:
    """The ``LEGACY`` table of :func:`estate` in a UTF-16le database file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "legacy.db"
        con = sqlite3.connect(path)
        con.execute("PRAGMA encoding = 'UTF-16le'")
        con.execute(
            'CREATE TABLE "LEGACY" ("ID" TEXT, "LINE" INTEGER, "AMT", "DR", "SIDE" TEXT, '
            '"ACCT" TEXT)'
        )
        con.executemany('INSERT INTO "LEGACY" VALUES (?, ?, ?, ?, ?, ?)', rows)
        con.commit()
        con.close()
        with estate([], []) as (_, staging):
            yield readonly_engine(f"sqlite:///{path}"), staging


def test_a_utf16_database_keeps_the_key_sql_builds() -> None:
    """In a UTF-16 file SQL's ``||`` turns a lone surrogate (here a BLOB read as text) into
    U+FFFD; read part by part its bytes are not UTF-8 and would hash otherwise (found by a
    review): there the key is read as SQL builds it, and answers are SQL's."""
    rows = [(b"\x00\xd8", 1, "1.00", 5, "D", "A1"), (" 2 ", 1, "2.00", 5, "D", "A1")]
    with utf16_estate(rows) as (legacy, staging):
        (source, arrow), _ = arrow_sides(legacy, staging)
        assert arrow._reader.key_parts is None
        assert arrow.scan().buckets == source.scan().buckets
        assert as_set(arrow.rows_for_keys(["\ufffd|1"])) == as_set(
            source.rows_for_keys(["\ufffd|1"])
        )
        every = ((19, frozenset(range(8192))),)
        assert as_set(arrow.bucket_rows(every)) == as_set(source.bucket_rows(every))


_odd_text = st.text(
    alphabet=st.sampled_from([*SPACE, "\u00a0", "\u2003", "\u3000", "\x85", "|", "a", "1", "\x00"]),
    max_size=6,
)
_key_part = st.one_of(
    st.none(),
    _odd_text,
    st.integers(-5, 12),
    st.sampled_from([b" 7 ", b"", b"a|b", b"\x00x", "1", " 2 "]),
)
_amount = st.one_of(
    st.sampled_from(AMOUNTS),
    st.binary(max_size=3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**6), 10**6),
    _odd_text,
)
_odd_row = st.tuples(
    _key_part,
    _key_part,
    _amount,
    _amount,
    st.sampled_from(["D", " d ", "C", None, 1.5, b"D", 3, "\u00a0D"]),
    st.sampled_from(["A1", "B2", None]),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(_odd_row, max_size=25), st.sampled_from([1, 2, 3, 65_536]))
def test_odd_keys_and_amounts_answer_as_sql(rows: list[tuple[object, ...]], batch: int) -> None:
    """Key parts of every storage class with spaces SQLite's trim keeps or drops, BLOB and
    REAL amounts and sign values, tiny batches (a review's generator): SQL's answers."""
    old = arrowread.BATCH_ROWS
    arrowread.BATCH_ROWS = batch
    try:
        with estate(rows, []) as (legacy, staging):
            (source, arrow), _ = arrow_sides(legacy, staging)
            assert_same_answers(source, arrow)
            keys = sorted({r.key for r in source.bucket_rows(((19, frozenset(range(8192))),))})
            keys += ["|", "nope"]
            assert as_set(arrow.rows_for_keys(keys)) == as_set(source.rows_for_keys(keys))
            arrow.close()
            source.close()
    finally:
        arrowread.BATCH_ROWS = old
