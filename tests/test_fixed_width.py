"""Fixed-width extracts: zoned and packed decoding, layouts and copybooks, and the two readers
(the pipeline's ``migrate/extract/files/fixed.py``, reconciliation's
``reconcile/reading/fixed_records.py``)
agreeing on every value and on which records are unreadable."""

from __future__ import annotations

from decimal import Context, Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.errors import SpecError
from migrate.extract.files.copybook import parse_copybook
from migrate.extract.files.fixed import fixed_frames, layout_columns
from migrate.spec.flatfile import FlatFile
from reconcile.reading.fixed_records import copybook_fields, fixed_records

ASCII_POS, ASCII_NEG = "{ABCDEFGHI", "}JKLMNOPQR"


def zoned(value: int, digits: int, encoding: str) -> bytes:
    """Test-side encoder of a signed zoned decimal (trailing overpunched sign)."""
    text = f"{abs(value):0{digits}d}"
    body, last = text[:-1].encode(encoding), int(text[-1])
    if encoding == "cp037":
        return body + bytes([(0xD0 if value < 0 else 0xC0) + last])
    return body + (ASCII_NEG if value < 0 else ASCII_POS)[last].encode()


def packed(value: int, length: int) -> bytes:
    text = f"{abs(value):0{length * 2 - 1}d}" + ("D" if value < 0 else "C")
    return bytes.fromhex(text)


def flat(encoding: str, fields: list[dict[str, object]], records: str = "lines") -> FlatFile:
    return FlatFile.model_validate(
        {"path": "x.dat", "encoding": encoding, "fixed": {"records": records, "fields": fields}}
    )


def both(
    f: FlatFile, data: bytes, tmp: Path
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Every record as the pipeline reads it and as reconciliation reads it (which holds an
    unreadable field's bytes where the pipeline, rejecting the record, holds nothing)."""
    path = tmp / "x.dat"
    path.write_bytes(data)
    ours = [r for frame in fixed_frames(f, path, 3, tmp) for r in frame.to_dict("records")]
    theirs = [
        {k: _unread(v) for k, v in r.items() if k != "_line"} for r in fixed_records(f, path, tmp)
    ]
    return ours, theirs


def _unread(value: object) -> object:
    unreadable = isinstance(value, str) and value.startswith("<unreadable x'")
    return None if unreadable else value


def rdw(*records: bytes) -> bytes:
    return b"".join((len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in records)


AMOUNTS = [
    {"name": "ID", "start": 1, "length": 4},
    {"name": "Z", "start": 5, "length": 9, "type": "zoned", "scale": 2},
    {"name": "P", "start": 14, "length": 5, "type": "packed", "scale": 2},
]


@settings(max_examples=200, deadline=None)
@given(
    z=st.integers(-(10**9) + 1, 10**9 - 1),
    p=st.integers(-(10**9) + 1, 10**9 - 1),
    encoding=st.sampled_from(["cp037", "ascii", "latin-1"]),
)
def test_zoned_and_packed_round_trip_exactly(
    z: int, p: int, encoding: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("rt")
    record = "A001".encode(encoding) + zoned(z, 9, encoding) + packed(p, 5)
    ours, theirs = both(flat(encoding, AMOUNTS, "rdw"), rdw(record), tmp)
    expected_z = str(Decimal(z).scaleb(-2)) if z else "0.00"
    expected_p = str(Decimal(p).scaleb(-2)) if p else "0.00"
    assert ours == theirs
    assert ours[0]["Z"] == expected_z and ours[0]["P"] == expected_p
    assert ours[0]["_read_reason"] is None


@pytest.mark.parametrize("encoding", ["cp037", "ascii"])
def test_every_bad_overpunch_byte_is_unreadable(encoding: str, tmp_path: Path) -> None:
    if encoding == "cp037":  # zone C or F positive, D negative
        good = {zone + d for zone in (0xC0, 0xD0, 0xF0) for d in range(10)}
    else:
        good = {ord(c) for c in "0123456789" + ASCII_POS + ASCII_NEG}
    layout = [{"name": "Z", "start": 1, "length": 3, "type": "zoned", "scale": 1}]
    body = "12".encode(encoding)
    records = [body + bytes([b]) for b in range(256)]
    data = rdw(*records)
    ours, theirs = both(flat(encoding, layout, "rdw"), data, tmp_path)
    assert ours == theirs
    for b, row in zip(range(256), ours, strict=True):
        if b in good:
            assert row["_read_reason"] is None and row["Z"] is not None, hex(b)
        else:
            assert row["_read_reason"] == "unreadable_record", hex(b)
            assert row["Z"] is None and row["_read_column"] == "Z"
            assert row["_read_value"] == f"x'{(body + bytes([b])).hex().upper()}'"


def test_every_bad_packed_nibble_is_unreadable(tmp_path: Path) -> None:
    """A letter in any digit half-byte, and every sign but C, D and F."""
    layout = [{"name": "P", "start": 1, "length": 3, "type": "packed"}]
    cases: list[tuple[str, bool]] = []
    for position in range(5):
        for nibble in "ABCDEF":
            digits = list("12345")
            digits[position] = nibble
            cases.append(("".join(digits) + "C", False))
    for sign in "0123456789ABCDEF":
        cases.append(("12345" + sign, sign in "CDF"))
    f = FlatFile.model_validate(
        {
            "path": "x",
            "encoding": "cp037",
            "fixed": {"records": "fixed", "record_length": 3, "fields": layout},
        }
    )
    ours, theirs = both(f, b"".join(bytes.fromhex(h) for h, _ in cases), tmp_path)
    assert ours == theirs
    for (hexed, readable), row in zip(cases, ours, strict=True):
        assert (row["_read_reason"] is None) == readable, hexed
        if readable:
            assert row["P"] == ("-12345" if hexed[-1] == "D" else "12345")
        else:
            assert row["P"] is None and row["_read_value"] == f"x'{hexed}'"


def test_a_short_record_is_unreadable_and_keeps_the_fields_before_the_cut(tmp_path: Path) -> None:
    record = "A001".encode("cp037") + zoned(-123, 9, "cp037")  # no packed field
    ours, theirs = both(flat("cp037", AMOUNTS, "rdw"), rdw(record), tmp_path)
    assert ours == theirs
    row = ours[0]
    assert (row["ID"], row["Z"], row["P"]) == ("A001", "-1.23", None)
    assert row["_read_column"] == "P"
    assert row["_read_value"] == "x'' (record of 13 bytes, the layout reads to byte 18)"


def test_a_short_last_block_and_ascii_lines(tmp_path: Path) -> None:
    fields = [
        {"name": "ID", "start": 1, "length": 3},
        {"name": "N", "start": 4, "length": 4, "type": "zoned"},
    ]
    data = b"AB 001J\r\n\r\nCD 0012\nEF 00"
    ours, theirs = both(flat("ascii", fields), data, tmp_path)
    assert ours == theirs
    assert [(r["ID"], r["N"], r["_read_reason"]) for r in ours] == [
        ("AB", "-11", None),
        ("CD", "12", None),
        ("EF", None, "unreadable_record"),
    ]


def test_blank_numbers_are_missing_text_is_right_trimmed(tmp_path: Path) -> None:
    fields = [
        {"name": "T", "start": 1, "length": 5},
        {"name": "Z", "start": 6, "length": 3, "type": "zoned"},
        {"name": "P", "start": 9, "length": 2, "type": "packed"},
    ]
    rec1 = " AB  ".encode("cp037") + b"\x40\x40\x40" + b"\x00\x00"
    rec2 = b"\x00" * 5 + b"\x00" * 3 + b"\x40\x40"
    rec3 = "     ".encode("cp037") + zoned(5, 3, "cp037") + packed(7, 2)
    ours, theirs = both(flat("cp037", fields, "rdw"), rdw(rec1, rec2, rec3), tmp_path)
    assert ours == theirs
    assert [(r["T"], r["Z"], r["P"]) for r in ours] == [
        (" AB", None, None),
        (None, None, None),
        ("", "5", "7"),
    ]


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(st.binary(min_size=0, max_size=14), min_size=1, max_size=8),
    encoding=st.sampled_from(["cp037", "ascii", "latin-1", "utf-8"]),
)
def test_the_two_readers_agree_on_any_bytes(
    records: list[bytes], encoding: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Random records (bad signs, letters in packed fields, undecodable text, short ones):
    the pipeline and reconciliation give the same values and the same marks."""
    tmp = tmp_path_factory.mktemp("any")
    fields = [
        {"name": "T", "start": 1, "length": 3},
        {"name": "Z", "start": 4, "length": 4, "type": "zoned", "scale": 1},
        {"name": "P", "start": 8, "length": 3, "type": "packed", "scale": 3},
        {"name": "U", "start": 11, "length": 2},
    ]
    ours, theirs = both(flat(encoding, fields, "rdw"), rdw(*records), tmp)
    assert ours == theirs


COPYBOOK = """\
      * year-end pay extract (PAYYTD), one record per employee and year
000100 01  PAYYTD-REC.
000200     05  EMP-ID            PIC X(8).
000300     05  FISCAL-YR         PIC 9(4).
000400     05  FILLER            PIC X(2).
000500     05  PAY.
000600         10  ANNUAL-SAL    PIC S9(7)V99 COMP-3.
000700         10  YTD-GROSS     PIC S9(7)V9(2).
000800             88  NO-PAY    VALUE ZERO.
000900     05  DEPT-CD           PIC XXXXXX.
"""


def test_the_copybook_gives_the_layout(tmp_path: Path) -> None:
    expected = [
        ("EMP-ID", 1, 8, "text", 0),
        ("FISCAL-YR", 9, 4, "zoned", 0),
        ("ANNUAL-SAL", 15, 5, "packed", 2),
        ("YTD-GROSS", 20, 9, "zoned", 2),
        ("DEPT-CD", 29, 6, "text", 0),
    ]
    for fields in (parse_copybook(COPYBOOK), copybook_fields(COPYBOOK)):
        assert [(f.name, f.start, f.length, f.type, f.scale) for f in fields] == expected


def test_layout_and_copybook_give_the_same_frames(tmp_path: Path) -> None:
    (tmp_path / "payytd.cpy").write_text(COPYBOOK)
    by_copybook = FlatFile.model_validate(
        {
            "path": "x.dat",
            "encoding": "cp037",
            "fixed": {"records": "rdw", "copybook": "payytd.cpy"},
        }
    )
    fields = [
        {"name": f.name, "start": f.start, "length": f.length, "type": f.type, "scale": f.scale}
        for f in parse_copybook(COPYBOOK)
    ]
    by_layout = flat("cp037", fields, "rdw")
    rec = (
        "E0000001".encode("cp037")
        + "2019".encode("cp037")
        + "  ".encode("cp037")
        + packed(5186200, 5)
        + zoned(-2100, 9, "cp037")
        + "A29045".encode("cp037")
    )
    data = rdw(rec, rec[:20])
    a, ra = both(by_copybook, data, tmp_path)
    b, rb = both(by_layout, data, tmp_path)
    assert a == b == ra == rb
    assert a[0]["ANNUAL-SAL"] == "51862.00" and a[0]["YTD-GROSS"] == "-21.00"
    assert a[1]["_read_column"] == "YTD-GROSS"
    assert layout_columns(by_copybook, tmp_path) == [
        "EMP-ID",
        "FISCAL-YR",
        "ANNUAL-SAL",
        "YTD-GROSS",
        "DEPT-CD",
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("       05  OLD-ID REDEFINES EMP-ID PIC X(8).", "REDEFINES"),
        ("       05  HOURS OCCURS 12 TIMES PIC 9(3).", "OCCURS"),
        ("       05  COUNT PIC S9(4) COMP.", "binary COMP"),
        ("       05  PRICE PIC $$9.99.", "is not supported"),
        ("       05  NAME PIC X(8)", "does not end with a period"),
    ],
)
def test_copybook_errors_name_file_and_line(line: str, message: str, tmp_path: Path) -> None:
    text = "       01  REC.\n       05  EMP-ID PIC X(8).\n" + line + "\n"
    with pytest.raises(SpecError) as err:
        parse_copybook(text, "payytd.cpy")
    assert str(err.value).startswith("payytd.cpy:3: "), str(err.value)
    assert message in str(err.value)


def test_a_layout_needs_fields_or_a_copybook() -> None:
    with pytest.raises(ValueError, match="either `fields` or `copybook`"):
        FlatFile.model_validate({"path": "x", "fixed": {"records": "lines"}})
    with pytest.raises(ValueError, match="needs `record_length`"):
        FlatFile.model_validate(
            {
                "path": "x",
                "fixed": {"records": "fixed", "fields": [{"name": "A", "start": 1, "length": 1}]},
            }
        )


def test_overlapping_fields_and_a_short_record_length_are_refused() -> None:
    fields = [{"name": "A", "start": 1, "length": 4}, {"name": "B", "start": 4, "length": 2}]
    with pytest.raises(ValueError, match="A .bytes 1-4. and B .from byte 4. overlap"):
        FlatFile.model_validate({"path": "x", "fixed": {"fields": fields}})
    fields[1]["start"] = 5
    with pytest.raises(ValueError, match="record_length 5 is shorter than the layout .6 bytes."):
        FlatFile.model_validate(
            {"path": "x", "fixed": {"records": "fixed", "record_length": 5, "fields": fields}}
        )


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(min_size=0, max_size=60),
    encoding=st.sampled_from(["cp037", "ascii"]),
    records=st.sampled_from(["lines", "fixed"]),
)
def test_the_two_readers_cut_records_alike(
    data: bytes, encoding: str, records: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Newline-ended records (x'25' in EBCDIC, CR dropped, empty lines skipped) and fixed
    blocks (a short last one) over random bytes: the same records, values and marks."""
    tmp = tmp_path_factory.mktemp("cut")
    fields = [
        {"name": "T", "start": 1, "length": 2},
        {"name": "Z", "start": 3, "length": 3, "type": "zoned"},
        {"name": "P", "start": 6, "length": 2, "type": "packed"},
    ]
    fixed: dict[str, object] = {"records": records, "fields": fields}
    if records == "fixed":
        fixed["record_length"] = 8
    f = FlatFile.model_validate({"path": "x.dat", "encoding": encoding, "fixed": fixed})
    newline = "\n".encode(encoding)
    ours, theirs = both(f, data + newline + data.replace(newline, b""), tmp)
    assert ours == theirs


def test_reconciliation_does_not_load_the_pipeline_reader() -> None:
    """Invariant 3: reconciliation's reader is its own (no migrate.extract.files.fixed/copybook)."""
    import subprocess
    import sys

    code = (
        "import sys, reconcile.reading.fixed_records, reconcile.proving.unreadable, "
        "reconcile.reading.files; "
        "bad = [m for m in ('migrate.extract.files.fixed', 'migrate.extract.files.copybook', "
        "'migrate.transform.engine') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@settings(max_examples=200, deadline=None)
@given(
    spec=st.integers(1, 38).flatmap(
        lambda digits: st.tuples(
            st.just(digits),
            st.integers(0, digits),
            st.integers(-(10**digits) + 1, 10**digits - 1),
        )
    ),
    kind=st.sampled_from(["zoned", "packed"]),
    encoding=st.sampled_from(["cp037", "ascii"]),
)
def test_any_length_and_scale_round_trips(
    spec: tuple[int, int, int], kind: str, encoding: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Up to 38 digits (past int64: the readers' exact path), any scale: the decimal text is
    the encoded value exactly, ``Decimal``'s own spelling at that scale."""
    digits, scale, value = spec
    if kind == "packed":
        length = digits // 2 + 1
        raw = packed(value, length)
    else:
        length, raw = digits, zoned(value, digits, encoding)
    fields = [{"name": "N", "start": 1, "length": length, "type": kind, "scale": scale}]
    ours, theirs = both(flat(encoding, fields, "rdw"), rdw(raw), tmp_path_factory.mktemp("n"))
    expected = Decimal(value).scaleb(-scale, Context(prec=100))  # exact past 28 digits
    assert ours == theirs
    assert Decimal(str(ours[0]["N"])) == expected
    assert ours[0]["N"] == (f"{expected:f}" if value else ("0." + "0" * scale if scale else "0"))


VARIANT = """\
       01  rec.
           05  emp-id            picture is x(8).                       PAYYTD01
           05                    pic xx.
           05  amt  pic s9(5)v9(2) usage is computational-3 value zero.  PAYYTD02
      *    05  old-amt           pic s9(7) comp-3.
           05  cnt               PIC 9(3)
                                 VALUE 0.
           05  code              PIC X.
               88  code-ok       VALUE 'Y' 'y'.
"""


def test_both_copybook_readers_agree_on_spelling_variants() -> None:
    """Lower case, PICTURE IS, USAGE IS COMPUTATIONAL-3, a nameless FILLER, an entry over
    two lines, an 88 level, a comment, identification text past column 72."""
    ours, theirs = parse_copybook(VARIANT), copybook_fields(VARIANT)
    assert ours == theirs
    assert [(f.name, f.start, f.length, f.type, f.scale) for f in ours] == [
        ("EMP-ID", 1, 8, "text", 0),
        ("AMT", 11, 4, "packed", 2),
        ("CNT", 15, 3, "zoned", 0),
        ("CODE", 18, 1, "text", 0),
    ]
