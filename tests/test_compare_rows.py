"""Row comparison inside differing buckets: equal rows drop out first, the rest are explained."""

from __future__ import annotations

from collections import Counter, defaultdict

from hypothesis import given
from hypothesis import strategies as st

from reconcile.diff import compare_rows
from reconcile.report import RowDifference
from reconcile.rows import Row

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
def test_differences_name_only_keys_whose_rows_differ(left: list[Row], right: list[Row]) -> None:
    diffs = compare_rows("t", ("v",), ("c",), left, right)
    for key in {r.key for r in left + right}:
        mine = Counter(content(r) for r in left if r.key == key)
        theirs = Counter(content(r) for r in right if r.key == key)
        reported = [d for d in diffs if d.source_key == key]
        if mine == theirs:
            assert not reported, key
        else:
            assert reported, key
        n_left, n_right = sum(mine.values()), sum(theirs.values())
        kinds = Counter(d.kind for d in reported)
        assert kinds["missing"] - kinds["unexpected"] == n_left - n_right


@given(st.lists(rows, max_size=12), st.lists(rows, max_size=12))
def test_unique_keys_give_the_plain_keyed_diff(left: list[Row], right: list[Row]) -> None:
    left = list({r.key: r for r in left}.values())
    right = list({r.key: r for r in right}.values())
    got = compare_rows("t", ("v",), ("c",), left, right)
    want = naive(left, right)
    simplify = lambda ds: sorted((d.source_key, d.kind, d.column) for d in ds)  # noqa: E731
    assert simplify(got) == simplify(want)
