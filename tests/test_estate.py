"""The seeded legacy estate: deterministic, and every manifest defect is really in the data.

Fast: a tiny estate (scale 300) on SQLite in a temporary folder.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from fixtures.estate import codes, context
from fixtures.estate.build import build_estate, default_urls
from fixtures.estate.defects import KEYS
from fixtures.estate.generate import generate_frames
from fixtures.estate.load import content_digest
from fixtures.estate.manifest import Defect, EstateManifest
from fixtures.estate.schema import SYSTEMS
from migrate.spec.flatfile import FlatFile
from reconcile.reading.fixed_records import fixed_records

SCALE = 300
REPO = Path(__file__).resolve().parents[1]
Rows = list[dict[str, Any]]


def _build(folder: Path, seed: int = 42, scale: int = SCALE) -> EstateManifest:
    folder.mkdir(parents=True, exist_ok=True)
    return build_estate(
        default_urls(folder), folder / "extracts", scale, seed, manifest_path=folder / "m.json"
    )


def _digests(folder: Path) -> dict[str, dict[str, tuple[int, str]]]:
    return {s: content_digest(default_urls(folder)[s], s) for s in SYSTEMS}


def _read_tables(folder: Path) -> dict[str, Rows]:
    """Every table (database and flat files) as lists of dicts of the stored values."""
    out: dict[str, Rows] = {}
    for system in SYSTEMS:
        conn = sqlite3.connect(folder / f"legacy_{system}.db")
        conn.row_factory = sqlite3.Row
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in names:
            out[name] = [dict(r) for r in conn.execute(f'SELECT * FROM "{name}"')]
        conn.close()
    with (folder / "extracts" / "hr_positions.csv").open(encoding="latin-1", newline="") as fh:
        out["positions"] = list(csv.DictReader(fh, delimiter=";"))
    with (folder / "extracts" / "proc_receipts.csv").open(encoding="utf-8-sig", newline="") as fh:
        out["Receipts"] = [
            {**r, "ReceiptID": int(r["ReceiptID"]), "LineNo": int(r["LineNo"])}
            for r in csv.DictReader(fh)
        ]
    # the mainframe extract (EBCDIC, RDW records), read by reconciliation's own reader
    payytd = FlatFile.model_validate(
        {
            "path": "hr_payytd.dat",
            "encoding": "cp037",
            "fixed": {"copybook": "hr_payytd.cpy", "records": "rdw"},
        }
    )
    extracts = folder / "extracts"
    out["PAYYTD"] = list(fixed_records(payytd, extracts / "hr_payytd.dat", extracts))
    return out


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EstateManifest]:
    folder = tmp_path_factory.mktemp("estate")
    return folder, _build(folder)


@pytest.fixture(scope="module")
def tables(estate: tuple[Path, EstateManifest]) -> dict[str, Rows]:
    return _read_tables(estate[0])


def _by_key(tables: dict[str, Rows], table: str) -> dict[tuple[Any, ...], Rows]:
    index: dict[tuple[Any, ...], Rows] = defaultdict(list)
    for row in tables[table]:
        index[tuple(row[k] for k in KEYS[table])].append(row)
    return index


# --- parsers for the legacy conventions -------------------------------------------------


def _date_ok(value: str) -> bool:
    for fmt in ("%Y%m%d", "%m/%d/%y", "%m/%d/%Y", "%Y-%m-%d", "%m/%d/%Y %I:%M:%S %p"):
        try:
            datetime.strptime(value, fmt)
            return True
        except ValueError:
            continue
    return False


def _money(value: object) -> Decimal | None:
    """Any of the estate's money spellings, or None when unparseable."""
    if isinstance(value, int):
        return Decimal(value)
    text = str(value).strip()
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()").replace("$", "").replace(",", "")
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return -amount if negative else amount


def _aba_ok(routing: str) -> bool:
    if not re.fullmatch(r"\d{9}", routing):
        return False
    d = [int(c) for c in routing]
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0


def _crosswalk(name: str) -> set[str]:
    with (REPO / "mappings" / "crosswalks" / name).open(encoding="utf-8") as fh:
        return {row["legacy_code"] for row in csv.DictReader(fh)}


CROSSWALK_OF = {
    "ACCT_STR": "accounts.csv",
    "AcctCode": "accounts.csv",
    "agency_id": "departments.csv",
    "Dept": "departments.csv",
    "job_cd": "job_codes.csv",
    "pay_type": "pay_types.csv",
}


# --- determinism --------------------------------------------------------------------------


def test_same_seed_is_byte_identical(estate: tuple[Path, EstateManifest], tmp_path: Path) -> None:
    folder, manifest = estate
    again = _build(tmp_path / "again")
    assert (tmp_path / "again" / "m.json").read_bytes() == (folder / "m.json").read_bytes()
    assert again == manifest
    assert _digests(tmp_path / "again") == _digests(folder)
    for name in ("hr_positions.csv", "proc_receipts.csv"):
        assert (tmp_path / "again" / "extracts" / name).read_bytes() == (
            folder / "extracts" / name
        ).read_bytes()


def test_different_seed_differs(estate: tuple[Path, EstateManifest], tmp_path: Path) -> None:
    folder, manifest = estate
    other = _build(tmp_path / "other", seed=7)
    assert other.defects != manifest.defects
    mine, theirs = _digests(folder), _digests(tmp_path / "other")
    assert mine["finance"]["GLJRNL"][1] != theirs["finance"]["GLJRNL"][1]
    assert mine["hr"]["emp_master"][1] != theirs["hr"]["emp_master"][1]


def test_manifest_round_trips(estate: tuple[Path, EstateManifest]) -> None:
    folder, manifest = estate
    assert EstateManifest.from_json(folder / "m.json") == manifest


def test_scale_knob_sets_invoice_lines(estate: tuple[Path, EstateManifest]) -> None:
    _, manifest = estate
    dups = sum(1 for d in manifest.defects if d.table == "APINVLIN" and d.defect == "duplicate_row")
    assert manifest.row_counts["finance"]["APINVLIN"] == SCALE + dups
    assert manifest.row_counts["hr"]["pay_history"] >= 12 * 59


def test_too_small_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        build_estate(default_urls(tmp_path), tmp_path / "x", scale=10)


# --- every defect kind, really present ----------------------------------------------------

EXPECTED_KINDS = {
    ("GLJRNL", "duplicate_key"), ("GLJRNL", "invalid_date"), ("GLJRNL", "required_missing"),
    ("GLJRNL", "negative_amount"), ("GLJRNL", "unbalanced_journal"), ("GLJRNL", "unmapped_code"),
    ("GLJRNL", "journal_incomplete"), ("APINVHDR", "orphan_reference"),
    ("APINVHDR", "duplicate_invoice_number"), ("APINVHDR", "invalid_amount"),
    ("APINVHDR", "duplicate_key"), ("APINVLIN", "parent_rejected"), ("APPMT", "orphan_reference"),
    ("VNDMSTR", "invalid_format"), ("emp_master", "invalid_date"), ("emp_master", "unmapped_code"),
    ("pay_rates", "negative_amount"), ("pay_history", "unmapped_code"),
    ("direct_deposit", "invalid_format"), ("positions", "unmapped_code"),
    ("POLines", "negative_amount"), ("Receipts", "orphan_reference"),
    ("Requisitions", "unmapped_code"), ("Receipts", None), ("positions", None),
}  # fmt: skip


def test_every_kind_is_planted(estate: tuple[Path, EstateManifest]) -> None:
    _, manifest = estate
    present = {(d.table, d.expected_reason) for d in manifest.defects}
    assert present >= EXPECTED_KINDS
    defects = {d.defect for d in manifest.defects}
    assert {"trailing_blanks", "mixed_case", "non_ascii", "bom", "latin1_encoding"} <= defects


def _rejecting_keys(manifest: EstateManifest) -> dict[str, set[tuple[Any, ...]]]:
    out: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
    for d in manifest.defects:
        if d.expected_reason and d.key:
            out[d.table].add(tuple(d.key.values()))
    return out


def _check_value(d: Defect, row: dict[str, Any], tables: dict[str, Rows]) -> None:
    value = row[d.column] if d.column else None
    checks: dict[str, Callable[[], bool]] = {
        "impossible_date": lambda: not _date_ok(str(value)),
        "blank_required": lambda: str(value).strip() == "",
        "negative_amount": lambda: (_money(value) or 0) < 0,
        "unparseable_money": lambda: _money(value) is None,
        "unparseable_number": lambda: _money(value) is None,
        "unmapped_code": lambda: value not in _crosswalk(CROSSWALK_OF[str(d.column)]),
        "short_tax_id": lambda: len(str(value).replace("-", "")) == 8,
        "short_routing_number": lambda: len(str(value)) == 8,
        "bad_routing_checksum": lambda: len(str(value)) == 9 and not _aba_ok(str(value)),
        "trailing_blanks": lambda: str(value).endswith(" ") and str(value).strip() != "",
        "mixed_case": lambda: str(value) in (str(value).lower(), str(value).upper()),
        "non_ascii": lambda: not str(value).isascii(),
        "bad_overpunch": lambda: _unreadable(row, d.column, value),
        "bad_packed_digit": lambda: _unreadable(row, d.column, value),
        "short_record": lambda: _unreadable(row, d.column, value),
    }
    if d.defect in checks:
        assert checks[d.defect](), (d, value)


def _parent_absent(d: Defect, row: dict[str, Any], tables: dict[str, Rows]) -> bool:
    parents = {
        ("APINVHDR", "VND_NO"): ("VNDMSTR", "VND_NO"),
        ("APINVLIN", "INV_ID"): ("APINVHDR", "INV_ID"),
        ("APPMT", "INV_ID"): ("APINVHDR", "INV_ID"),
        ("PurchaseOrders", "VendorID"): ("Vendors", "VendorID"),
        ("PurchaseOrders", "ReqID"): ("Requisitions", "ReqID"),
        ("POLines", "PONumber"): ("PurchaseOrders", "PONumber"),
    }
    if d.table == "Receipts":
        lines = {(r["PONumber"], r["LineNo"]) for r in tables["POLines"]}
        return (row["PONumber"], row["LineNo"]) not in lines
    if d.table in ("pay_rates", "pay_history", "direct_deposit"):
        parent, col = "emp_master", "emp_id"
    else:
        parent, col = parents[(d.table, str(d.column))]
    return row[d.column] not in {r[col] for r in tables[parent]}


def test_every_defect_is_really_in_the_data(
    estate: tuple[Path, EstateManifest], tables: dict[str, Rows]
) -> None:
    folder, manifest = estate
    index = {t: _by_key(tables, t) for t in KEYS}
    rejecting = _rejecting_keys(manifest)
    for d in manifest.defects:
        if not d.key:
            _check_file(folder, d)
            continue
        rows = index[d.table][tuple(d.key.values())]
        assert rows, d
        if d.defect == "duplicate_row":
            assert len(rows) == 2 and rows[0] == rows[1], d
            continue
        assert len(rows) == 1, d
        _check_value(d, rows[0], tables)
        if d.defect == "orphan_reference":
            assert _parent_absent(d, rows[0], tables), d
        if d.defect == "unbalanced_journal":
            assert not _balanced(index, rows[0]["JRNL_NO"]), d
        if d.defect == "duplicate_invoice_number":
            hdr = rows[0]
            twins = [
                r
                for r in tables["APINVHDR"]
                if (r["VND_NO"], r["INV_NO"]) == (hdr["VND_NO"], hdr["INV_NO"])
            ]
            assert len({r["INV_ID"] for r in twins}) == 2 and hdr["INV_ID"] == max(
                r["INV_ID"] for r in twins
            )
        if d.defect == "sibling_of_rejected_line":
            journal = rows[0]["JRNL_NO"]
            assert any(k[0] == journal and k != tuple(d.key.values()) for k in rejecting["GLJRNL"])
        if d.defect == "child_of_rejected_parent":
            assert _parent_rejected(d, rows[0], rejecting), d


def _parent_rejected(d: Defect, row: dict[str, Any], rejecting: dict[str, set[Any]]) -> bool:
    if d.table in ("APINVLIN", "APPMT"):
        return (row["INV_ID"],) in rejecting["APINVHDR"]
    if d.table == "POLines":
        return (row["PONumber"],) in rejecting["PurchaseOrders"]
    if d.table == "Receipts":
        return (row["PONumber"], row["LineNo"]) in rejecting["POLines"]
    return (row["emp_id"],) in rejecting["emp_master"]


def _balanced(index: dict[str, dict[tuple[Any, ...], Rows]], journal: str) -> bool:
    total = 0
    for key, rows in index["GLJRNL"].items():
        if key[0] == journal:
            row = rows[0]
            total += row["AMT_CENTS"] * (1 if row["DR_CR_IND"].upper() == "D" else -1)
    return total == 0


def _check_file(folder: Path, d: Defect) -> None:
    name = "proc_receipts.csv" if d.table == "Receipts" else "hr_positions.csv"
    data = (folder / "extracts" / name).read_bytes()
    if d.defect == "bom":
        assert data.startswith(b"\xef\xbb\xbf")
    else:
        assert d.defect == "latin1_encoding"
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        assert b"\r\n" in data and b";" in data


# --- clean rows are clean -----------------------------------------------------------------


def test_clean_journals_balance(
    estate: tuple[Path, EstateManifest], tables: dict[str, Rows]
) -> None:
    _, manifest = estate
    flagged = {k[0] for k in _rejecting_keys(manifest)["GLJRNL"]}
    net: Counter[str] = Counter()
    for row in {tuple(r.values()): r for r in tables["GLJRNL"]}.values():
        sign = 1 if row["DR_CR_IND"].upper() == "D" else -1
        net[row["JRNL_NO"]] += sign * row["AMT_CENTS"]
    unbalanced = {j for j, total in net.items() if total}
    assert unbalanced and unbalanced <= flagged


def test_clean_references_resolve(
    estate: tuple[Path, EstateManifest], tables: dict[str, Rows]
) -> None:
    _, manifest = estate
    listed = {(d.table, tuple(d.key.values())) for d in manifest.defects if d.key}
    vendors = {r["VND_NO"] for r in tables["VNDMSTR"]}
    invoices = {r["INV_ID"] for r in tables["APINVHDR"]}
    employees = {r["emp_id"] for r in tables["emp_master"]}
    pos = {r["PONumber"] for r in tables["PurchaseOrders"]}
    checks = [
        ("APINVHDR", lambda r: r["VND_NO"] in vendors),
        ("APINVLIN", lambda r: r["INV_ID"] in invoices),
        ("APPMT", lambda r: r["INV_ID"] in invoices),
        ("pay_history", lambda r: r["emp_id"] in employees),
        ("direct_deposit", lambda r: r["emp_id"] in employees),
        ("POLines", lambda r: r["PONumber"] in pos),
    ]
    for table, ok in checks:
        for row in tables[table]:
            key = (table, tuple(row[k] for k in KEYS[table]))
            assert ok(row) or key in listed, key


def test_clean_amounts_are_exact(
    estate: tuple[Path, EstateManifest], tables: dict[str, Rows]
) -> None:
    _, manifest = estate
    listed = {(d.table, tuple(d.key.values())) for d in manifest.defects if d.key}
    lines: Counter[int] = Counter()
    for row in {tuple(r.values()): r for r in tables["APINVLIN"]}.values():
        lines[row["INV_ID"]] += row["LIN_AMT_CENTS"] if row["LIN_AMT_CENTS"] > 0 else 0
        assert (
            row["LIN_AMT_CENTS"] == row["QTY"] * _money(row["UNIT_PRC"]) * 100
            or ("APINVLIN", (row["INV_ID"], row["LIN_NO"])) in listed
        )
    bad = {k[0] for t, k in listed if t == "APINVLIN"}
    for hdr in tables["APINVHDR"]:
        if ("APINVHDR", (hdr["INV_ID"],)) not in listed and hdr["INV_ID"] not in bad:
            assert _money(hdr["INV_AMT"]) == lines[hdr["INV_ID"]] / Decimal(100)
    po_total: Counter[str] = Counter()
    for row in {tuple(r.values()): r for r in tables["POLines"]}.values():
        assert Decimal(row["LineAmount"]) == Decimal(row["Qty"]) * Decimal(row["UnitPrice"])
        po_total[row["PONumber"]] += Decimal(row["LineAmount"])
    bad = {k[0] for t, k in listed if t == "POLines"}
    for po in tables["PurchaseOrders"]:
        if po["PONumber"] not in bad:
            assert Decimal(po["TotalAmount"]) == po_total[po["PONumber"]]


def test_clean_formats_are_valid(
    estate: tuple[Path, EstateManifest], tables: dict[str, Rows]
) -> None:
    _, manifest = estate
    listed = {(d.table, tuple(d.key.values())) for d in manifest.defects if d.key}
    for row in tables["direct_deposit"]:
        assert (
            _aba_ok(row["routing_no"]) or ("direct_deposit", (row["emp_id"], row["seq"])) in listed
        )
    for row in tables["emp_master"]:
        if ("emp_master", (row["emp_id"],)) not in listed:
            assert _date_ok(row["hire_dt"]) and _date_ok(row["birth_dt"])
            assert re.fullmatch(r"\d{3}-\d{2}-\d{4}", row["ssn"])
            assert re.fullmatch(r"[A-Za-z'-]+,[A-Za-z]+( [A-Z])?", row["emp_name"])
    years = {int(r["hire_dt"][-2:]) for r in tables["emp_master"] if _date_ok(r["hire_dt"])}
    assert any(y >= 55 for y in years) and any(y <= 19 for y in years)  # a pivot is needed
    for row in tables["pay_rates"]:
        if ("pay_rates", (row["emp_id"], row["eff_dt"])) not in listed:
            assert (_money(row["rate_amt"]) or 0) > 0 and row["rate_amt"].endswith(" ")
    assert re.fullmatch(r"FY\d{2}P\d{2}", tables["GLJRNL"][0]["FISC_PER"])
    assert re.fullmatch(r"\d{9}\.\d{2}", tables["APINVHDR"][0]["INV_AMT"])


def test_expected_merges(estate: tuple[Path, EstateManifest], tables: dict[str, Rows]) -> None:
    _, manifest = estate

    def norm(text: str) -> str:
        return " ".join(re.sub(r"[^A-Z0-9 ]", "", text.upper()).split())

    fin = {r["VND_NO"]: r for r in tables["VNDMSTR"]}
    proc = {r["VendorID"]: r for r in tables["Vendors"]}
    by = Counter(m.by for m in manifest.expected_merges)
    assert by["tax_id"] and by["name_address"]
    assert len(manifest.expected_merges) == len(proc) // 2
    for m in manifest.expected_merges:
        f, p = fin[m.VND_NO], proc[m.VendorID]
        assert norm(f["VND_NAME"]) == norm(p["VendorName"]) and f["VND_NAME"] != p["VendorName"]
        if m.by == "tax_id":
            assert p["TaxID"].replace("-", "") == f["TAX_ID"] and "-" in p["TaxID"]
        else:
            assert p["TaxID"] == "" and norm(f["ADDR1"]) == norm(p["Address"])
    merged = {(m.VND_NO, m.VendorID) for m in manifest.expected_merges}
    fin_tax = {r["TAX_ID"]: k for k, r in fin.items()}
    for vid, p in proc.items():
        k = fin_tax.get(p["TaxID"].replace("-", ""))
        assert k is None or (k, vid) in merged


def test_crosswalk_files_match_codes(tmp_path: Path) -> None:
    for path in codes.write_crosswalks(tmp_path):
        assert path.read_bytes() == (REPO / "mappings" / "crosswalks" / path.name).read_bytes()
    accounts = _crosswalk("accounts.csv")
    assert "1001-045-6120" in accounts and not set(codes.UNMAPPED_ACCOUNTS) & accounts
    assert codes.erp_account("1001-045-6120") == "101.0450.612000"


def test_many_chunks_stay_consistent(monkeypatch: pytest.MonkeyPatch) -> None:
    """With tiny chunks, ids stay unique across chunk boundaries and kinds spread out."""
    monkeypatch.setattr(context, "CHUNK_PARENTS", 40)
    frames, manifest = generate_frames(2000, 3)
    unique = {
        "procurement.Receipts": "ReceiptID",
        "finance.APPMT": "PMT_ID",
        "hr.pay_history": "chk_id",
        "finance.APINVHDR": "INV_NO",
    }
    for name, col in unique.items():
        values = frames[name][col].tolist()
        dup = sum(
            1
            for d in manifest.defects
            if f"{d.system}.{d.table}" == name
            and d.defect in ("duplicate_row", "duplicate_invoice_number")
        )
        assert len(values) - len(set(values)) <= dup, name
    assert manifest.row_counts["finance"]["APINVLIN"] >= 2000


def _unreadable(row: dict[str, Any], column: str | None, value: object) -> bool:
    """The record is marked unreadable at this field, which holds its raw bytes."""
    return row["_read_column"] == column and str(value).startswith("<unreadable x'")
