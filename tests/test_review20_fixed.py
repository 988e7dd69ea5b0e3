"""Review of issue 20 (fixed-width): both readers ignored the bytes of a record past the
layout's last field, so a record that holds another record (a newline lost, an RDW whose
length is too large) was read as one record and the one inside it lost on both sides: the
counts and totals agreed, and the verdict was PASS. Now such a record (more than padding
past the layout) is unreadable on both sides."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from migrate.config import Settings
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import PASS
from reconcile.run import reconcile_run

DOC = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "mainframe-extract.md"
R1 = b"C00000011998SMITH,JOHN          CLERK II        A01   00520000{00481234J"
R2 = b"C00000021998JONES,MARY A        ACCOUNTANT      A02   00645012B00645012B"
R3 = b"C00000031998BROWN,ALI           ANALYST         A02   00599900{00012345{"


def _project(tmp: Path, data: bytes, records: str = "lines") -> Path:
    mapping = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)[0]
    if records != "lines":
        mapping = mapping.replace("records: lines", f"records: {records}")
    (tmp / "mappings" / "hr").mkdir(parents=True)
    (tmp / "mappings" / "hr" / "county_pay.yaml").write_text(mapping)
    (tmp / "county_pay.txt").write_bytes(data)
    return tmp / "mappings"


def _verdict(tmp: Path, mappings: Path) -> str:
    """``migrate run`` then ``migrate reconcile``, through the functions the CLI calls."""
    s = Settings(urls={"staging": f"sqlite:///{tmp / 'staging.db'}"}, workdir=tmp)
    run = run_migration(s, mappings, "full")
    return reconcile_run(s, load_project(mappings), run.run_id).verdict


def _staged_keys(tmp: Path) -> list[str]:
    with sqlite3.connect(tmp / "staging.db") as conn:
        rows = conn.execute('SELECT "RECORD_KEY" FROM "WORKER_ANNUAL_PAY" ORDER BY 1')
        return [r[0] for r in rows]


def _rdw(*records: bytes) -> bytes:
    return b"".join((len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in records)


def test_a_lost_newline_is_not_a_pass(tmp_path: Path) -> None:
    mappings = _project(tmp_path, R1 + R2 + b"\n" + R3 + b"\n")  # the newline after R1 lost
    verdict = _verdict(tmp_path, mappings)
    # before: C0000001 and C0000003 staged, C0000002 nowhere, PASS; now the long record is
    # unreadable (rejected), and its amounts unknown
    assert _staged_keys(tmp_path) == ["C0000003"]
    assert verdict != PASS


def test_an_rdw_longer_than_its_record_is_not_a_pass(tmp_path: Path) -> None:
    data = bytearray(_rdw(R1, R2, R3))
    first = len(R1) + 4
    data[0:2] = (first + len(R2) + 4).to_bytes(2, "big")  # R1's RDW covers R2 too
    mappings = _project(tmp_path, bytes(data), records="rdw")
    verdict = _verdict(tmp_path, mappings)
    assert _staged_keys(tmp_path) == ["C0000003"]  # before: C0000001 too, and PASS
    assert verdict != PASS


def test_ebcdic_nl_line_ends_are_not_one_record(tmp_path: Path) -> None:
    from reconcile.reading.fixed_records import fixed_records
    from tests.test_fixed_width import flat, zoned

    layout = [
        {"name": "ID", "start": 1, "length": 4},
        {"name": "Z", "start": 5, "length": 5, "type": "zoned", "scale": 2},
    ]
    records = [b"A001", b"A002", b"A003"]
    data = b"".join(
        r.decode("ascii").encode("cp037") + zoned(v, 5, "cp037") + b"\x15"
        for r, v in zip(records, (12345, -500, 7), strict=True)
    )
    (tmp_path / "x.dat").write_bytes(data)
    read = list(fixed_records(flat("cp037", layout), tmp_path / "x.dat", tmp_path))
    # HEAD: one record, A001 123.45, unmarked; A002 and A003 are nowhere
    assert len(read) == 3 or any(r["_read_reason"] for r in read)
