"""A SQLite side read as Arrow batches answers exactly what its SQL side answers.

``reconcile/reading/arrowside.py`` replaces, on SQLite files, the per-row Python callbacks of the
SQL
side (CRC-32 key hash, exact cents parser) and SQLite's sorting ``GROUP BY``s with numpy over
Arrow batches. The laws: each vectorised piece equals its scalar twin for any input, and for
any estate (odd amount texts, REAL and integer amounts, padded keys, duplicate keys, NULL grain
values, a sign column) every question the bucket diff asks gets the same answer from both.
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from migrate.db import readonly_engine
from migrate.spec.model import EntitySpec
from reconcile.proving.entity import paired
from reconcile.reading.arrowcalc import BAD, NONE, VALID, BucketSums, cents, crc32, row_checksums
from reconcile.reading.arrowread import read_only_uri
from reconcile.reading.arrowside import ArrowSide, vectorised
from reconcile.reading.hashing import CRC32, MD5, row_checksum
from reconcile.reading.money import cents_or_flag
from reconcile.reading.relation import Relation
from reconcile.reading.rows import BucketStats, Profile, Row, RowSource, add_stats, row_stats
from reconcile.reading.sources import plan_source
from reconcile.reading.sqltext import install_functions
from reconcile.reading.staging_side import Staging, staged_relation

SPACE = " \t\n\r\x0b\x0c"
amount_text = st.text(alphabet=st.sampled_from("0123456789.-+$,( )e١" + SPACE), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=60))
def test_crc32_is_zlibs(values: list[str | None]) -> None:
    got = crc32(pa.array(values, pa.string()))
    want = [zlib.crc32((v or "").encode("utf-8")) for v in values]
    assert got.tolist() == want


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), amount_text, st.from_regex(r"-?[0-9]{1,19}(\.[0-9]{0,3})?")),
        max_size=40,
    ),
    st.sampled_from(["decimal", "cents", "integer"]),
)
def test_cents_are_the_scalar_parsers(values: list[str | None], encoding: str) -> None:
    value, tag = cents(pa.array(values, pa.string()), np.zeros(len(values), bool), encoding)
    for v, c, t in zip(values, value.tolist(), tag.tolist(), strict=True):
        want = cents_or_flag(v, encoding)
        if isinstance(want, int):
            assert (t, c) == (VALID, want), v
        else:
            assert (t, c) == (NONE if want is None else BAD, 0), v


def test_real_or_blob_amounts_are_not_amounts() -> None:
    value, tag = cents(pa.array(["1.5", "2", None]), np.array([True, True, False]), "decimal")
    assert tag.tolist() == [BAD, BAD, NONE] and value.tolist() == [0, 0, 0]


tagged_rows = st.lists(
    st.tuples(
        st.integers(0, 2**32 - 1),
        st.lists(
            st.tuples(st.sampled_from([0, 1, 2]), st.integers(-(2**62), 2**62)),
            min_size=2,
            max_size=2,
        ),
    ),
    max_size=50,
)


@settings(max_examples=200, deadline=None)
@given(tagged_rows, st.sampled_from([0, 3, 4, 12, 19, 28]))
def test_checksums_and_bucket_sums_are_the_scalar_ones(
    rows: list[tuple[int, list[tuple[int, int]]]], shift: int
) -> None:
    rows = [(h, [(t, c if t == 0 else 0) for t, c in vals]) for h, vals in rows]
    h = np.array([r[0] for r in rows], dtype=np.int64)
    tagged = [
        (
            np.array([r[1][i][0] for r in rows], np.int64),
            np.array([r[1][i][1] for r in rows], np.int64),
        )
        for i in range(2)
    ]
    rh = row_checksums(h, tagged)
    assert rh.tolist() == [row_checksum(hh, vals, None) for hh, vals in rows]
    want: BucketStats = {}
    for hh, r in zip(h.tolist(), rh.tolist(), strict=True):
        add_stats(want, hh >> shift, row_stats(hh, r, shift))
    sums = BucketSums(shift)
    half = len(rows) // 2
    sums.add(h[:half], rh[:half])
    sums.add(h[half:], rh[half:])
    assert sums.result() == want


SPEC = {
    "entity": "lines",
    "domain": "finance",
    "source": {"system": "finance", "table": "LEGACY", "key": ["ID", "LINE"]},
    "target": {"table": "STAGED", "key": ["MIG_SOURCE_KEY"]},
    "fields": {"AMOUNT": {"from": "AMT"}, "DEBIT": {"from": "DR"}},
    "reconcile": {
        "measures": [
            {
                "name": "amount",
                "source_column": "AMT",
                "source_encoding": "decimal",
                "target_column": "AMOUNT",
            },
            {
                "name": "debit",
                "source_column": "DR",
                "source_encoding": "cents",
                "target_column": "DEBIT",
                "sign_column": "SIDE",
                "sign_values": ["D"],
            },
        ],
        "grains": [
            {
                "name": "account",
                "source": ["ACCT"],
                "target": ["ACCOUNT"],
                "measures": ["amount", "debit"],
            }
        ],
    },
}
AMOUNTS = [
    "12.50",
    " -3.10 ",
    "7",
    "1.234",
    "1.230",
    "abc",
    "",
    None,
    "+5",
    "١٢.٥٠",
    "0.10\t",
    12,
    3.5,
    "1e3",
    "99999999999999999.99",
    ".5",
    "5.",
    "-",
]
legacy_row = st.tuples(
    st.sampled_from(["1", " 2 ", "3", "10", "A x", "\t7"]),  # ID (text, padded)
    st.integers(1, 3),  # LINE (integer)
    st.sampled_from(AMOUNTS),
    st.sampled_from(["100", "-25", "x", None, 40]),  # DR
    st.sampled_from(["D", " d ", "C", None]),  # SIDE
    st.sampled_from(["A1", "B2", None]),  # ACCT
)
staged_row = st.tuples(
    st.sampled_from(["1|1", "2|1", "3|2", "10|3", "A x|1", "9|9"]),
    st.sampled_from([1250, -310, 700, None, 0]),
    st.sampled_from([100, None, -25]),
    st.sampled_from(["A1", "B2", None]),
    st.sampled_from(["R1", "R0"]),
)


@contextmanager
def estate(
    legacy_rows: list[tuple[object, ...]],
    staged_rows: list[tuple[object, ...]],
    *legacy_sql: str,
) -> Iterator[tuple[Engine, Engine]]:
    with tempfile.TemporaryDirectory() as folder:
        legacy = create_engine(f"sqlite:///{Path(folder) / 'legacy.db'}")
        staging = create_engine(f"sqlite:///{Path(folder) / 'staging.db'}")
        with legacy.begin() as c:
            c.execute(
                text(
                    'CREATE TABLE "LEGACY" ("ID" TEXT, "LINE" INTEGER, "AMT", "DR", '
                    '"SIDE" TEXT, "ACCT" TEXT)'
                )
            )
            if legacy_rows:
                c.execute(
                    text('INSERT INTO "LEGACY" VALUES (:a, :b, :c, :d, :e, :f)'),
                    [dict(zip("abcdef", r, strict=True)) for r in legacy_rows],
                )
            for sql in legacy_sql:
                c.execute(text(sql))
        with staging.begin() as c:
            c.execute(
                text(
                    'CREATE TABLE "STAGED" ("MIG_SOURCE_KEY" TEXT, "AMOUNT" BIGINT, '
                    '"DEBIT" BIGINT, "ACCOUNT" TEXT, "MIG_RUN_ID" TEXT, "MIG_SOURCE_SYSTEM" TEXT, '
                    '"MIG_ENTITY" TEXT)'
                )
            )
            if staged_rows:
                c.execute(
                    text("INSERT INTO \"STAGED\" VALUES (:a, :b, :c, :d, :e, 'finance', 'lines')"),
                    [dict(zip("abcde", r, strict=True)) for r in staged_rows],
                )
        legacy.dispose()
        staging.dispose()  # the functions are registered on connections made from here on
        try:
            yield readonly_engine(str(legacy.url)), staging
        finally:
            staging.dispose()


def sides(
    legacy: Engine, staging: Engine, shift: int = 19, grain: str = "ACCT"
) -> tuple[RowSource, RowSource]:
    spec = EntitySpec.model_validate(SPEC)
    spec.reconcile.grains[0].pieces[0] = grain  # the declared list (source: the columns read)
    install_functions(legacy)
    install_functions(staging)
    source = plan_source(spec, legacy, Path(".")).side
    staged = staged_relation(Staging(staging, None, "R1"), spec)
    return source.using(CRC32, shift), staged.using(CRC32, shift)


def arrow_sides(
    legacy: Engine, staging: Engine, grain: str = "ACCT"
) -> list[tuple[Relation, ArrowSide]]:
    """Each SQL side of :func:`sides` (legacy, then staged) beside its Arrow reading (which
    it must be)."""
    out = []
    for side in sides(legacy, staging, grain=grain):
        assert isinstance(side, Relation)
        arrow = vectorised(side)
        assert isinstance(arrow, ArrowSide)
        out.append((side, arrow))
    return out


def profile_of(
    p: Profile,
) -> dict[tuple[object, ...], tuple[int, tuple[int, ...], tuple[int, ...]]]:
    out: dict[tuple[object, ...], tuple[int, tuple[int, ...], tuple[int, ...]]] = {}
    for extras, n, sums, bad in p:
        m, s, b = out.get(extras, (0, (0,) * len(sums), (0,) * len(bad)))
        out[extras] = (
            m + n,
            tuple(map(sum, zip(s, sums, strict=True))),
            tuple(map(sum, zip(b, bad, strict=True))),
        )
    return out


def as_set(rows: list[Row]) -> list[tuple[object, ...]]:
    return sorted(((r.key, r.values, r.extras, r.h, r.rh) for r in rows), key=repr)


def assert_same_answers(sql: Relation, arrow: ArrowSide) -> None:
    a, b = sql.scan(), arrow.scan()
    assert profile_of(b.profile) == profile_of(a.profile)
    assert b.buckets == a.buckets
    assert arrow.totals() == sql.totals()
    assert arrow.bucket_stats(9, (19, frozenset(list(a.buckets)[:3]))) == sql.bucket_stats(
        9, (19, frozenset(list(a.buckets)[:3]))
    )
    picks = ((19, frozenset(list(a.buckets)[::2])), (13, frozenset({5, 70})))
    assert as_set(arrow.bucket_rows(picks)) == as_set(sql.bucket_rows(picks))
    keys = ["1|1", "2|1", "A x|1", "nope", "7|2"]
    assert as_set(arrow.rows_for_keys(keys)) == as_set(sql.rows_for_keys(keys))


@settings(max_examples=60, deadline=None)
@given(st.lists(legacy_row, max_size=40), st.lists(staged_row, max_size=30))
def test_arrow_side_answers_as_the_sql_side(
    legacy_rows: list[tuple[object, ...]], staged_rows: list[tuple[object, ...]]
) -> None:
    with estate(legacy_rows, staged_rows) as (legacy, staging):
        for side, arrow in arrow_sides(legacy, staging):
            assert_same_answers(side, arrow)
            arrow.close()
            side.close()


def test_an_amount_beyond_64_bits_is_summed_by_sql() -> None:
    """A batch whose sum could leave 64 bits (here INT64_MIN, whose absolute value numpy
    cannot hold) is summed by SQL, which refuses it as SQLite's SUM does."""
    staged = [("1|1", -(2**63), 0, "A1", "R1"), ("2|1", -1, 0, "A1", "R1")]
    with estate([], staged) as (legacy, staging):
        _, side = sides(legacy, staging)
        arrow = vectorised(side)
        assert isinstance(arrow, ArrowSide)
        with pytest.raises(Exception, match="integer overflow"):
            arrow.totals()
        assert arrow.fell_back


def test_large_side_is_read_in_batches_and_by_row_id() -> None:
    """More rows than one batch; the picked rows come back by row id (a second read of
    everything would cost as much as the scan)."""
    rows = [(str(i), 1, f"{i}.{i % 100:02d}", i, "D", f"A{i % 7}") for i in range(70_000)]
    staged = [(f"{i}|1", i * 100 + i % 100, i, f"A{i % 7}", "R1") for i in range(70_000)]
    with estate(rows, staged) as (legacy, staging):
        for side in sides(legacy, staging):
            assert isinstance(side, Relation)
            arrow = vectorised(side)
            assert isinstance(arrow, ArrowSide)
            assert arrow.scan().buckets == side.scan().buckets
            picks = ((19, frozenset(range(0, 8192, 97))),)
            assert as_set(arrow.bucket_rows(picks)) == as_set(side.bucket_rows(picks))


def test_a_view_is_read_whole_for_picked_rows() -> None:
    """A view has no row ids: the scan keeps no hashes, and picked rows come from reading
    the view again (same answers)."""
    rows = [(str(i), 1, f"{i}.05", i, "D", f"A{i % 3}") for i in range(300)]
    view = 'CREATE VIEW "LEGACY_VIEW" AS SELECT * FROM "LEGACY"'
    with estate(rows, [], view) as (legacy, _):
        spec = EntitySpec.model_validate(
            {**SPEC, "source": {**SPEC["source"], "table": "LEGACY_VIEW"}}
        )
        install_functions(legacy)
        side = plan_source(spec, legacy, Path(".")).side.using(CRC32, 19)
        assert isinstance(side, Relation)
        arrow = vectorised(side)
        assert isinstance(arrow, ArrowSide)
        assert_same_answers(side, arrow)
        assert arrow.__dict__.get("_kept") is None


def test_which_sides_are_read_as_arrow(tmp_path: Path) -> None:
    """Files only (not in-memory databases), CRC-32 pairs only (an MD5 pair hashes in SQL),
    and never a side with compared text columns (their rule runs in Python)."""
    with estate([], []) as (legacy, staging):
        source, staged = sides(legacy, staging)
        assert isinstance(vectorised(source), ArrowSide)
        assert isinstance(vectorised(staged), ArrowSide)
        assert "mode=ro" in vectorised(staged).uri  # type: ignore[attr-defined]
        assert isinstance(source, Relation)
        assert vectorised(source.using(MD5, 19)) is not None
        assert not isinstance(vectorised(source.using(MD5, 19)), ArrowSide)
        memory = Relation(create_engine("sqlite://"), '"T"', '"K"', ())
        assert not isinstance(vectorised(memory.using(CRC32, 19)), ArrowSide)
        for url in (
            "sqlite:///file:mem1?mode=memory&cache=shared&uri=true",
            "sqlite:///file:x.db?vfs=unix-dotfile&uri=true",
        ):
            assert read_only_uri(make_url(url)) is None, url
        assert read_only_uri(make_url("sqlite:///file:/d/x.db?mode=ro&uri=true")) == (
            "file:/d/x.db?mode=ro"
        )
        texts = Relation(staging, '"T"', '"K"', (), texts=("t",)).using(CRC32, 19)
        assert not isinstance(vectorised(texts), ArrowSide)
        assert all(isinstance(s, ArrowSide) for s in paired(source, staged))
