"""Row comparison inside differing buckets: equal rows drop out first, the rest are explained."""

from __future__ import annotations

from collections import Counter, defaultdict

from hypothesis import given
from hypothesis import strategies as st

from reconcile.proving.diff import compare_rows
from reconcile.reading.rows import Row
from reconcile.report import RowDifference

keys = st.sampled_from(["1", "2", "3", "4", "5"])
values = st.one_of(st.none(), st.sampled_from(["X"]), st.integers(-3, 3))
rows = st.builds(
    lambda k, v, t: Row(k, (v,), (), (t,)),
    keys,
    values,
    st.one_of(st.none(), st.sampled_from(["a", "b"])),
)


def naive(source: list[Row], staged: list[Row]) -> list[RowDifference]:
    """Pair rows key by key in order, no pre-filtering (the plain reading of a keyed diff)."""
    by_src: dict[str, list[Row]] = defaultdict(list)
    by_stg: dict[str, list[Row]] = defaultdict(list)
    for r in source:
        by_src[r.key].append(r)
    for r in staged:
        by_stg[r.key].append(r)
    out: list[RowDifference] = []
    for key in sorted(set(by_src) | set(by_stg)):
        a, b = by_src.get(key, []), by_stg.get(key, [])
        for x, y in zip(a, b, strict=False):
            if x.values != y.values:
                out.append(
                    RowDifference("t", key, "changed", "v", str(x.values[0]), str(y.values[0]))
                )
            if x.texts != y.texts:
                out.append(RowDifference("t", key, "changed", "c", x.texts[0], y.texts[0]))
        out += [RowDifference("t", key, "missing") for _ in a[len(b) :]]
        out += [RowDifference("t", key, "unexpected") for _ in b[len(a) :]]
    return out


def content(r: Row) -> tuple[object, ...]:
    return (r.key, r.values, r.texts)


@given(st.lists(rows, max_size=12), st.lists(rows, max_size=12))
def test_duplicate_keys_explain_exactly_the_rows_one_side_has_more(
    left: list[Row], right: list[Row]
) -> None:
    """Per key: the rows one side has more than the other (multiset difference) are all
    explained: paired as changed rows as far as both sides have extra rows (each pair
    reporting one or both compared columns), the rest missing or unexpected; a key holding
    the same rows on both sides, in any order, reports nothing."""
    diffs = compare_rows("t", ("v",), ("c",), left, right)
    for key in {r.key for r in left + right}:
        mine = Counter(content(r) for r in left if r.key == key)
        theirs = Counter(content(r) for r in right if r.key == key)
        only_mine, only_theirs = sum((mine - theirs).values()), sum((theirs - mine).values())
        pairs = min(only_mine, only_theirs)
        kinds = Counter(d.kind for d in diffs if d.source_key == key)
        assert kinds["missing"] == only_mine - pairs, key
        assert kinds["unexpected"] == only_theirs - pairs, key
        assert pairs <= kinds["changed"] <= 2 * pairs, key


def test_same_rows_in_another_order_report_nothing() -> None:
    a, b = Row("1", (5,), (), ("a",)), Row("1", (6,), (), ("b",))
    assert compare_rows("t", ("v",), ("c",), [a, b], [b, a]) == []


def test_pairs_of_one_key_do_not_depend_on_the_order_rows_arrive() -> None:
    left = [Row("1", (1,), (), (None,)), Row("1", (2,), (), (None,))]
    right = [Row("1", (3,), (), (None,)), Row("1", (4,), (), (None,))]
    first = compare_rows("t", ("v",), ("c",), left, right)
    assert first == compare_rows("t", ("v",), ("c",), left[::-1], right[::-1])
    assert len(first) == 2


@given(st.lists(rows, max_size=12), st.lists(rows, max_size=12))
def test_unique_keys_give_the_plain_keyed_diff(left: list[Row], right: list[Row]) -> None:
    left = list({r.key: r for r in left}.values())
    right = list({r.key: r for r in right}.values())
    got = compare_rows("t", ("v",), ("c",), left, right)
    want = naive(left, right)
    simplify = lambda ds: sorted((d.source_key, d.kind, d.column) for d in ds)  # noqa: E731
    assert simplify(got) == simplify(want)
