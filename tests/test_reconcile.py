"""Reconciliation on a tiny SQLite estate: PASS when clean, FAIL with the row when tampered.

The row diff is checked against datacompy on the same data, the grain totals against plain
SQL written here, and the SQL amount parser against the Python one.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import datacompy
import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, text

from fixtures.estate.build import build_estate, default_urls
from migrate.config import Settings
from migrate.runs.runner import run_migration
from migrate.spec.loader import Project, load_project
from reconcile.proving import diff as diff_module
from reconcile.reading.amount_sql import ValueSql
from reconcile.reading.hashing import CRC32, checksum_sql, row_checksum
from reconcile.reading.money import InvalidAmount, cents_or_flag, parse_cents
from reconcile.reading.relation import Relation
from reconcile.reading.sqltext import install_functions
from reconcile.reading.sqltext import parse_cents as sql_parse
from reconcile.report import EntityReconciliation, Reconciliation
from reconcile.reports.report_json import from_json, to_json
from reconcile.run import reconcile_command, reconcile_run
from tests.support.verdicts import assert_only_planted_problems

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
SCALE = 300

# Strings both parsers (SQL in the database, Python Decimal) must read identically.
PARSER_CASES: list[tuple[str, list[str | None]]] = [
    (
        "decimal",
        [
            "000035275.46",
            "-00207584.00",
            "O00034126.81",
            "5.",
            ".5",
            "+3",
            "1.234",
            "1.230",
            "  12.5 ",
            "",
            None,
            "1.2.3",
            "-",
            "12-",
            "\t12.50\r\n",  # tab-wrapped, CRLF-ended: the pipeline strips them
            "\x0b7 ",
            " \t ",  # blank
            "\xa012.50",  # a non-breaking space is not trimmed: not an amount
            "- 12",
            "\u0661\u0662.\u0665\u0660",  # Arabic-Indic digits: not an amount on any backend
        ],
    ),
    ("cents", ["123", "-5", "+7", " 42 ", "\t42\r", "1.5", "abc", "", None, "\u0661\u0662"]),
]


@dataclass(frozen=True)
class Estate:
    settings: Settings
    run_id: str
    project: Project


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Estate:
    folder = tmp_path_factory.mktemp("estate")
    urls = {**default_urls(folder), "staging": f"sqlite:///{folder / 'staging.db'}"}
    build_estate(urls, folder / "extracts", scale=SCALE, seed=7)
    settings = Settings(urls=urls, workdir=folder)
    summary = run_migration(settings, MAPPINGS, "full")
    return Estate(settings, summary.run_id, load_project(MAPPINGS))


def tampered(estate: Estate, tmp_path: Path, *statements: str) -> Estate:
    """A copy of the run's staging with some SQL applied (the legacy side is untouched)."""
    db = tmp_path / "staging.db"
    shutil.copy(estate.settings.workdir / "staging.db", db)
    with sqlite3.connect(db) as conn:
        for sql in statements:
            conn.execute(sql)
    urls = {**estate.settings.urls, "staging": f"sqlite:///{db}"}
    return replace(estate, settings=replace(estate.settings, urls=urls))


def by_name(report: Reconciliation, name: str) -> EntityReconciliation:
    return next(e for e in report.entities if e.entity == name)


def test_clean_run_proves_identity_grains_and_rows(estate: Estate) -> None:
    report = reconcile_run(estate.settings, estate.project, estate.run_id)
    assert {e.entity for e in report.entities} == set(estate.project.order)
    assert_only_planted_problems(report)
    gl = by_name(report, "gl_journals")
    assert {m.measure for m in gl.measures} == {"debits", "credits"}
    assert "WHERE UPPER(TRIM(DR_CR_IND)) IN ('D')" in gl.measures[0].source_rule
    assert "ACCT_STR via crosswalk accounts.csv" in gl.measures[0].source_rule
    assert by_name(report, "suppliers_procurement").filtered_by_rule == {
        "merged_into_existing_record": by_name(report, "suppliers_procurement").filtered_rows
    }


def test_clean_run_verdict_names_only_the_planted_problems(estate: Estate) -> None:
    """The estate's planted defects: rejected rows are exceptions to accept; an amount no
    one can read fails its measure as unverified; nothing else fails."""
    report = reconcile_run(estate.settings, estate.project, estate.run_id)
    assert report.verdict == "FAIL"
    for e in report.entities:
        unreadable = any(m.unreadable for m in e.measures)
        assert all("cannot read" in f for f in e.failures), e.failures
        assert e.status == ("FAIL" if unreadable else "EXCEPTIONS" if e.rejected_rows else "PASS")
        assert sum(g.count for g in e.rejects) == e.rejected_rows


def test_one_cent_change_fails_and_shows_the_row(
    estate: Estate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tampered(
        estate,
        tmp_path,
        "UPDATE AP_INVOICE_LINES_INTERFACE SET AMOUNT = AMOUNT + 1 "
        "WHERE rowid = (SELECT MIN(rowid) FROM AP_INVOICE_LINES_INTERFACE)",
    )
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        key, cents = conn.execute(
            "SELECT MIG_SOURCE_KEY, AMOUNT FROM AP_INVOICE_LINES_INTERFACE ORDER BY rowid LIMIT 1"
        ).fetchone()
    report = reconcile_run(bad.settings, bad.project, bad.run_id)
    assert report.verdict == "FAIL"
    lines = by_name(report, "ap_invoice_lines")
    assert lines.status == "FAIL"
    assert lines.measures[0].difference == Decimal("-0.01")
    [d] = lines.differences
    assert (d.source_key, d.kind, d.column) == (key, "changed", "AMOUNT")
    assert Decimal(d.staged_value or "") == Decimal(cents) / 100
    assert Decimal(d.source_value or "") == Decimal(cents - 1) / 100
    assert [g.difference for g in lines.grains if g.status == "FAIL"] == [Decimal("-0.01")]
    assert reconcile_command(bad.settings, MAPPINGS, bad.run_id, str(tmp_path / "out")) == 1
    out = capsys.readouterr().out
    assert "amount line_amount: difference -0.01 (tolerance 0)" in out
    assert f"changed row {key}: AMOUNT" in out
    assert str(cents) not in out and str(Decimal(cents) / 100) not in out  # values: workbook only


def test_deleted_row_fails_identity_and_is_missing(estate: Estate, tmp_path: Path) -> None:
    bad = tampered(
        estate,
        tmp_path,
        "DELETE FROM GL_INTERFACE WHERE REFERENCE21 = (SELECT MIN(REFERENCE21) FROM GL_INTERFACE)",
    )
    report = reconcile_run(bad.settings, bad.project, bad.run_id)
    gl = by_name(report, "gl_journals")
    assert gl.count_difference == 1
    assert any(m.status == "FAIL" for m in gl.measures)
    [d] = gl.differences
    assert d.kind == "missing"
    assert any(r.status == "FAIL" for r in gl.rules if r.rule.startswith("journals balance"))


def test_row_diff_agrees_with_datacompy(estate: Estate, tmp_path: Path) -> None:
    table = "AP_INVOICE_LINES_INTERFACE"
    bad = tampered(
        estate,
        tmp_path,
        f"UPDATE {table} SET AMOUNT = AMOUNT + 1 WHERE rowid IN (SELECT rowid FROM {table} "
        "ORDER BY rowid LIMIT 3)",
        f"DELETE FROM {table} WHERE rowid = (SELECT MAX(rowid) FROM {table})",
        f"UPDATE {table} SET MIG_SOURCE_KEY = 'NO|SUCH' WHERE rowid = "
        f"(SELECT rowid FROM {table} ORDER BY rowid LIMIT 1 OFFSET 10)",
    )
    report = reconcile_run(bad.settings, bad.project, bad.run_id)
    mine = {(d.kind, d.source_key) for d in by_name(report, "ap_invoice_lines").differences}

    legacy = create_engine(estate.settings.url("finance"))
    src = pd.read_sql("SELECT INV_ID, LIN_NO, LIN_AMT_CENTS FROM APINVLIN", legacy)
    src["key"] = src.INV_ID.astype(str) + "|" + src.LIN_NO.astype(str)
    staging = create_engine(bad.settings.url("staging"))
    rejected = pd.read_sql(
        text(
            "SELECT SOURCE_KEY FROM MIG_REJECTS WHERE RUN_ID = :r AND ENTITY = 'ap_invoice_lines'"
        ),
        staging,
        params={"r": bad.run_id},
    )
    # one source copy leaves per reject (an exact duplicate: one copy staged, one rejected)
    drop = src.key.map(rejected.SOURCE_KEY.value_counts()).fillna(0)
    src = src[src.groupby("key").cumcount() >= drop]
    stg = pd.read_sql(
        text(
            f"SELECT MIG_SOURCE_KEY AS key, AMOUNT AS LIN_AMT_CENTS FROM {table} "
            "WHERE MIG_RUN_ID = :r"
        ),
        staging,
        params={"r": bad.run_id},
    )
    cmp = datacompy.PandasCompare(src[["key", "LIN_AMT_CENTS"]], stg, join_columns="key")
    theirs = (
        {("missing", k) for k in cmp.df1_unq_rows.key}
        | {("unexpected", k) for k in cmp.df2_unq_rows.key}
        | {("changed", k) for k in cmp.all_mismatch().key}
    )
    assert mine == theirs
    assert len(mine) == 6


def test_grain_totals_match_plain_sql(estate: Estate) -> None:
    report = reconcile_run(estate.settings, estate.project, estate.run_id)
    gl = by_name(report, "gl_journals")
    staged = (
        sqlite3.connect(estate.settings.workdir / "staging.db")
        .execute(
            "SELECT SEGMENT1 || '.' || SEGMENT2 || '.' || SEGMENT3, PERIOD_NAME, "
            "SUM(COALESCE(ENTERED_DR, 0)), SUM(COALESCE(ENTERED_CR, 0)) FROM GL_INTERFACE "
            "WHERE MIG_RUN_ID = ? GROUP BY 1, 2",
            (estate.run_id,),
        )
        .fetchall()
    )
    mine = {(g.key, g.measure): g.staged for g in gl.grains}
    for account, period, dr, cr in staged:
        assert mine[((account, period), "debits")] == Decimal(dr) / 100
        assert mine[((account, period), "credits")] == Decimal(cr) / 100
    codes = estate.project.crosswalks["accounts"].codes
    source: dict[tuple[str, str], int] = {}
    legacy = sqlite3.connect(estate.settings.workdir / "legacy_finance.db")
    for acct, period, cents in legacy.execute(
        "SELECT TRIM(ACCT_STR), UPPER(TRIM(FISC_PER)), SUM(AMT_CENTS) FROM GLJRNL "
        "WHERE UPPER(TRIM(DR_CR_IND)) = 'D' GROUP BY 1, 2"
    ):
        key = (codes.get(acct, f"UNMAPPED:{acct}"), period or "(BLANK)")
        source[key] = source.get(key, 0) + cents
    got = {g.key: g.source for g in gl.grains if g.measure == "debits" and g.source}
    assert got == {k: Decimal(v) / 100 for k, v in source.items() if v}


def test_command_writes_evidence_and_records_verdict(
    estate: Estate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tampered(estate, tmp_path)
    code = reconcile_command(run.settings, MAPPINGS, None, str(tmp_path / "out"))
    out = capsys.readouterr().out
    workbook = tmp_path / "out" / f"reconciliation_{run.run_id}_1.xlsx"
    report = json.loads((tmp_path / "out" / f"reconciliation_{run.run_id}_1.json").read_text())
    assert workbook.exists() and str(workbook) in out
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        verdict, sha = conn.execute(
            "SELECT VERDICT, WORKBOOK_SHA256 FROM MIG_RUNS WHERE RUN_ID = ?", (run.run_id,)
        ).fetchone()
    assert verdict == report["verdict"] and sha in out and len(sha) == 64
    assert code == {"PASS": 0, "FAIL": 1, "EXCEPTIONS": 3}[verdict]


def parser_agrees(engine: Engine, encoding: str, values: list[str | None]) -> None:
    """The SQL amount parser of ``engine``'s dialect reads each value as the Python one."""
    dialect = engine.dialect.name
    blank, valid, cents = sql_parse("v", encoding, dialect)
    cast = {"sqlite": ":v", "mysql": "CAST(:v AS CHAR)"}.get(dialect, "CAST(:v AS TEXT)")
    with engine.connect() as conn:
        for v in values:
            b, ok, c = conn.execute(
                text(
                    f"SELECT {blank}, {valid}, CASE WHEN {valid} THEN {cents} END "
                    f"FROM (SELECT {cast} AS v) s"
                ),
                {"v": v},
            ).one()
            try:
                expected: int | None | str = parse_cents(v, encoding)
            except InvalidAmount:
                expected = "invalid"
            assert (None if b else (c if ok else "invalid")) == expected, v


@pytest.mark.parametrize("encoding,values", PARSER_CASES)
def test_sql_parser_agrees_with_python(encoding: str, values: list[str | None]) -> None:
    parser_agrees(create_engine("sqlite://"), encoding, values)


def test_money_text_parser() -> None:
    assert parse_cents("$51,862.00 ", "money_text") == 5186200
    assert parse_cents("($21.00)", "money_text") == -2100
    assert parse_cents("-$5", "money_text") == -500
    for bad in ("1,2", "$", "12.345", "abc"):
        with pytest.raises(InvalidAmount):
            parse_cents(bad, "money_text")


def test_bucket_descent_finds_changes_in_a_large_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced through several levels (few rows may be pulled at once): only differing
    buckets are pulled; with room for a few dozen rows, the sub-bucket sums point at the
    sixteenth of each differing bucket that changed, and one level is enough."""
    monkeypatch.setattr(diff_module, "LEAF_ROWS", 4)
    monkeypatch.setattr(diff_module, "FIRST_BITS", 10)
    engine = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    install_functions(engine)
    with engine.begin() as conn:
        for name in ("a", "b"):
            conn.execute(text(f"CREATE TABLE {name} (k TEXT, v INTEGER)"))
            conn.execute(
                text(f"INSERT INTO {name} VALUES (:k, :v)"),
                [{"k": f"K{i}", "v": i * 7} for i in range(20_000)],
            )
        conn.execute(text("UPDATE b SET v = v + 1 WHERE k IN ('K5', 'K19999')"))
        conn.execute(text("DELETE FROM b WHERE k = 'K77'"))
        conn.execute(text("INSERT INTO b VALUES ('EXTRA', 1)"))

    def side(name: str) -> Relation:
        return Relation(engine, name, "k", (ValueSql("v", "0"),)).using(CRC32, 22)

    a, b = side("a"), side("b")
    diffs, stats = diff_module.keyed_diff("t", ("v",), a, b, [])
    assert {(d.kind, d.source_key) for d in diffs} == {
        ("changed", "K5"),
        ("changed", "K19999"),
        ("missing", "K77"),
        ("unexpected", "EXTRA"),
    }
    assert stats.levels >= 2 and stats.rows_pulled < 200
    monkeypatch.setattr(diff_module, "LEAF_ROWS", 50)
    again, stats = diff_module.keyed_diff("t", ("v",), a, b, [])
    assert again == diffs
    # 20,000 rows in 1,024 buckets: four whole buckets would be about 80 rows per side
    assert stats.levels == 1 and stats.rows_pulled < 40
    same, stats = diff_module.keyed_diff("t", ("v",), a, a, [])
    assert same == [] and stats.levels == 1 and stats.rows_pulled == 0
    a.close()
    b.close()


def _text_rule(value: object) -> str | None:
    """INVOICE_NUM's mapping steps (strip, upper, blank_to_null), written here in pandas terms."""
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return None
    text = str(value).strip().upper()
    return text or None


def test_changed_text_value_fails_and_shows_both_values(estate: Estate, tmp_path: Path) -> None:
    table = "AP_INVOICES_INTERFACE"
    with sqlite3.connect(estate.settings.workdir / "staging.db") as conn:
        key, number = conn.execute(
            f"SELECT MIG_SOURCE_KEY, INVOICE_NUM FROM {table} WHERE INVOICE_NUM IS NOT NULL "
            "ORDER BY rowid LIMIT 1"
        ).fetchone()
    bad = tampered(
        estate,
        tmp_path,
        f"UPDATE {table} SET INVOICE_NUM = 'TAMPERED-1' WHERE MIG_SOURCE_KEY = '{key}'",
    )
    report = reconcile_run(bad.settings, bad.project, bad.run_id)
    invoices = by_name(report, "ap_invoices")
    assert report.verdict == "FAIL" and invoices.status == "FAIL"
    assert all(m.difference == 0 for m in invoices.measures)  # amounts untouched
    assert "1 row difference(s)" in invoices.failures
    [d] = invoices.differences
    assert (d.source_key, d.kind, d.column) == (key, "changed", "INVOICE_NUM")
    assert (d.source_value, d.staged_value) == (number, "TAMPERED-1")
    assert any(c.startswith("INVOICE_NUM vs INV_NO: strip, upper") for c in invoices.compared)


def test_text_rules_say_how_each_column_is_checked(estate: Estate) -> None:
    """Each compared column says how it was checked; none of the estate's is left
    unverified (a split is restated from the legacy row since issue 19, item 6)."""
    report = reconcile_run(estate.settings, estate.project, estate.run_id)
    workers = by_name(report, "workers")
    assert any(
        c.startswith("LAST_NAME vs emp_name:") and "split" in c and "restated" in c
        for c in workers.compared
    )
    assert any(
        c.startswith("NATIONAL_IDENTIFIER vs ssn:") and c.endswith("compared by keyed hash (ssn)")
        for c in workers.compared
    )
    assert workers.not_verified == ()
    suppliers = by_name(report, "suppliers_finance").compared
    assert any(c.startswith("VENDOR_NAME vs VND_NAME: collapse_spaces") for c in suppliers)


def test_report_says_how_each_row_diff_was_done(estate: Estate) -> None:
    """An auditor reads how the keyed diff ran: the SQLite files here are read as Arrow
    batches, except a side whose text columns are compared (their rule runs in SQLite)."""
    report = reconcile_run(estate.settings, estate.project, estate.run_id)
    lines = by_name(report, "ap_invoice_lines").row_diff
    assert lines.startswith("hashed-bucket diff: 0 differing bucket(s)")
    assert "legacy side read from the SQLite file as Arrow batches" in lines
    invoices = by_name(report, "ap_invoices").row_diff
    assert "legacy side summed in SQLite (SQL" in invoices
    back = from_json(to_json(report))
    assert by_name(back, "ap_invoices").row_diff == invoices


def test_text_and_amount_diff_agrees_with_datacompy(estate: Estate, tmp_path: Path) -> None:
    table = "AP_INVOICES_INTERFACE"
    bad = tampered(
        estate,
        tmp_path,
        f"UPDATE {table} SET INVOICE_NUM = INVOICE_NUM || 'X' WHERE rowid IN "
        f"(SELECT rowid FROM {table} WHERE INVOICE_NUM IS NOT NULL ORDER BY rowid LIMIT 2)",
        # only case and blanks: the rule (upper, strip) on both sides makes this no difference
        f"UPDATE {table} SET INVOICE_NUM = ' ' || lower(INVOICE_NUM) || ' ' WHERE rowid = "
        f"(SELECT rowid FROM {table} WHERE INVOICE_NUM GLOB '*[A-Z]*' ORDER BY rowid DESC LIMIT 1)",
        f"UPDATE {table} SET INVOICE_AMOUNT = INVOICE_AMOUNT + 1, INVOICE_NUM = 'BOTH' "
        f"WHERE rowid = (SELECT rowid FROM {table} ORDER BY rowid LIMIT 1 OFFSET 5)",
    )
    report = reconcile_run(bad.settings, bad.project, bad.run_id)
    mine = {
        (d.source_key, d.column, d.source_value, d.staged_value)
        for d in by_name(report, "ap_invoices").differences
    }

    legacy = create_engine(estate.settings.url("finance"))
    src = pd.read_sql("SELECT INV_ID, INV_AMT, INV_NO FROM APINVHDR", legacy)
    src["key"] = src.INV_ID.astype(str).str.strip()
    src["INVOICE_AMOUNT"] = src.INV_AMT.map(lambda v: cents_or_flag(v, "decimal"))
    src["INVOICE_NUM"] = src.INV_NO.map(_text_rule)
    staging = create_engine(bad.settings.url("staging"))
    params = {"r": bad.run_id}
    rejected = pd.read_sql(
        text("SELECT SOURCE_KEY FROM MIG_REJECTS WHERE RUN_ID = :r AND ENTITY = 'ap_invoices'"),
        staging,
        params=params,
    )
    drop = src.key.map(rejected.SOURCE_KEY.value_counts()).fillna(0)  # one copy per reject
    src = src[src.groupby("key").cumcount() >= drop]
    stg = pd.read_sql(
        text(
            f"SELECT MIG_SOURCE_KEY AS key, INVOICE_AMOUNT, INVOICE_NUM FROM {table} "
            "WHERE MIG_RUN_ID = :r AND MIG_SOURCE_SYSTEM = 'finance'"
        ),
        staging,
        params=params,
    )
    stg["INVOICE_NUM"] = stg.INVOICE_NUM.map(_text_rule)
    cols = ["INVOICE_AMOUNT", "INVOICE_NUM"]
    cmp = datacompy.PandasCompare(src[["key", *cols]], stg, join_columns="key")
    both = cmp.intersect_rows
    theirs = set()
    for col in cols:
        low = col.lower()  # datacompy lower-cases column names
        for _, r in both[~both[f"{low}_match"]].iterrows():
            a, b = r[f"{low}_df1"], r[f"{low}_df2"]
            if col == "INVOICE_AMOUNT":
                a, b = str(Decimal(int(a)) / 100), str(Decimal(int(b)) / 100)
            theirs.add((r.key, col, None if pd.isna(a) else a, None if pd.isna(b) else b))
    assert len(cmp.df1_unq_rows) == len(cmp.df2_unq_rows) == 0
    assert mine == theirs
    assert len(mine) == 4


CHECKSUM_CASES: list[tuple[int, list[tuple[int, int]], int | None]] = [
    (0, [(0, 0)], None),
    (4_294_967_295, [(0, -20_758_400), (1, 0)], None),
    (123_456_789, [(2, 0), (0, 999_999_999_999_999)], 4_000_000_000),
    (7, [], 0),
    (2_147_483_647, [(0, -1)], 2_147_483_647),
    (5, [(0, 2_147_483_646), (0, -2_147_483_646)], None),  # squares near 2^62
]


def checksum_agrees(engine: Engine, zero: str = "CAST(0 AS BIGINT)") -> None:
    """The SQL row checksum equals its Python twin (negative cents, tags, text hash)."""
    with engine.connect() as conn:
        for h, tagged, th in CHECKSUM_CASES:
            cols = [(str(t), str(c)) for t, c in tagged]
            sql = checksum_sql(str(h), cols, None if th is None else str(th), zero)
            assert conn.execute(text(f"SELECT {sql}")).scalar() == row_checksum(h, tagged, th)


def test_row_checksum_sql_agrees_with_python() -> None:
    checksum_agrees(create_engine("sqlite://"))
