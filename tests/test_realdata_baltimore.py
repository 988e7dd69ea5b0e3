"""The real Baltimore salary files (FY2012-FY2016) migrate through YAML alone, exactly.

Runs ``mappings/realdata/baltimore`` into a throwaway SQLite staging, then proves with plain
SQL on the staging database plus ``MIG_REJECTS`` (amounts of rejected lines recomputed from
the CSV with an independent Decimal parser) that, per fiscal year, loaded + rejected rows
and the sums of AnnualSalary and GrossPay equal the figures in ``../shared/realdata/README.md``,
that blank GrossPay is never turned into zero, and that two-digit hire years land in
1952-2016. Money on SQLite is stored as integer cents, so every sum here is exact.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from migrate.config import load_settings
from migrate.runs.runner import run_migration

pytestmark = pytest.mark.realdata

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings" / "realdata" / "baltimore"
YEARS = (2012, 2013, 2014, 2015, 2016)
CENT = Decimal("0.01")


# ---------------------------------------------------------------- independent readers


def money(text: str) -> Decimal | None:
    """``"$51,862.00 "`` -> 51862.00, ``"($21.00)"`` -> -21.00, blank -> None (not zero)."""
    t = text.replace("$", "").replace(",", "").strip()
    if t == "":
        return None
    negative = t.startswith("(") and t.endswith(")")
    value = Decimal(t.strip("()").strip())
    assert value == value.quantize(CENT), f"more than two decimals: {text!r}"
    return -value if negative else value


def cents(value: Decimal) -> int:
    return int(value.scaleb(2))


@dataclass(frozen=True)
class Line:
    survey_year: str
    hire: str
    annual: Decimal | None
    gross: Decimal | None


def read_csv(realdata: Path, year: int) -> dict[int, Line]:
    """Data rows by 1-based line number (the mapping's ``_line``)."""
    path = realdata / "baltimore_salaries" / f"Baltimore_City_Employee_Salaries_FY{year}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {
        n: Line(
            r["SurveyYear"], r["HireDate"].strip(), money(r["AnnualSalary"]), money(r["GrossPay"])
        )
        for n, r in enumerate(rows, start=1)
    }


@dataclass(frozen=True)
class Published:
    rows: int
    annual: Decimal
    gross: Decimal
    blank_gross: int
    negative_gross: int | None


def readme_figures(realdata: Path) -> dict[int, Published]:
    """The table in the realdata README: the figures the migration must reproduce."""
    text = (realdata / "README.md").read_text(encoding="utf-8")
    out: dict[int, Published] = {}
    pattern = re.compile(
        r"^\|\s*FY(?P<y>\d{4})\s*\|\s*(?P<rows>[\d,]+)\s*\|\s*(?P<a>[\d,.]+)\s*\|"
        r"\s*(?P<g>[\d,.]+)\s*\|\s*(?P<b>[\d,]+)(?:\s*\((?P<neg>\d+) negative\))?\s*\|",
        re.M,
    )
    for m in pattern.finditer(text):
        out[int(m["y"])] = Published(
            int(m["rows"].replace(",", "")),
            Decimal(m["a"].replace(",", "")),
            Decimal(m["g"].replace(",", "")),
            int(m["b"].replace(",", "")),
            int(m["neg"]) if m["neg"] else None,
        )
    assert sorted(out) == list(YEARS), f"README table not found or changed: {sorted(out)}"
    return out


# ---------------------------------------------------------------- running the mappings


def migrate_all(realdata: Path, workdir: Path) -> Path:
    """Run the five mappings into ``workdir/staging.db``; returns that file."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("STAGING", "FINANCE", "HR", "PROCUREMENT"):
            mp.delenv(f"MIGRATE_{name}_URL", raising=False)
        mp.delenv("MIGRATE_STAGING_SCHEMA", raising=False)
        mp.setenv("MIGRATE_REALDATA", str(realdata))
        summary = run_migration(load_settings(workdir), MAPPINGS, "full")
    assert [e.entity for e in summary.entities] == [f"baltimore_pay_fy{y}" for y in YEARS]
    return workdir / "staging.db"


@pytest.fixture(scope="module")
def staging(
    realdata: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sqlite3.Connection]:
    db = migrate_all(realdata, tmp_path_factory.mktemp("baltimore"))
    conn = sqlite3.connect(db)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="module")
def published(realdata: Path) -> dict[int, Published]:
    return readme_figures(realdata)


def rejected_lines(conn: sqlite3.Connection, year: int) -> dict[int, str]:
    rows = conn.execute(
        'SELECT "SOURCE_KEY", "REASON_CODE" FROM "MIG_REJECTS" WHERE "ENTITY" = ?',
        (f"baltimore_pay_fy{year}",),
    ).fetchall()
    out = {int(key): reason for key, reason in rows}
    assert len(out) == len(rows), "a line was rejected twice"
    return out


# ---------------------------------------------------------------- the contract, per year


@pytest.mark.parametrize("year", YEARS)
def test_rows_and_amounts_equal_the_readme(
    staging: sqlite3.Connection, realdata: Path, published: dict[int, Published], year: int
) -> None:
    lines = read_csv(realdata, year)
    expected = published[year]
    assert len(lines) == expected.rows
    assert {ln.survey_year for ln in lines.values()} == {str(year)}  # FISCAL_YEAR is a constant

    loaded, annual_cents, gross_cents, null_gross, negative_gross = staging.execute(
        'SELECT COUNT(*), SUM("ANNUAL_SALARY"), SUM("GROSS_PAY"), '
        'SUM(CASE WHEN "GROSS_PAY" IS NULL THEN 1 ELSE 0 END), '
        'SUM(CASE WHEN "GROSS_PAY" < 0 THEN 1 ELSE 0 END) '
        'FROM "WORKER_ANNUAL_PAY" WHERE "FISCAL_YEAR" = ?',
        (year,),
    ).fetchone()
    assert isinstance(annual_cents, int) and isinstance(gross_cents, int)  # cents, never REAL

    rejects = rejected_lines(staging, year)
    assert all(reason for reason in rejects.values())  # every reject says why
    rej_annual = sum(cents(lines[n].annual or Decimal(0)) for n in rejects)
    rej_gross = sum(cents(lines[n].gross or Decimal(0)) for n in rejects)
    rej_blank_gross = sum(1 for n in rejects if lines[n].gross is None)

    assert loaded + len(rejects) == expected.rows
    assert Decimal(annual_cents + rej_annual).scaleb(-2) == expected.annual
    assert Decimal(gross_cents + rej_gross).scaleb(-2) == expected.gross
    assert null_gross + rej_blank_gross == expected.blank_gross
    if expected.negative_gross is not None:
        rej_negative = sum(1 for n in rejects if (lines[n].gross or 0) < 0)
        assert negative_gross + rej_negative == expected.negative_gross


@pytest.mark.parametrize("year", YEARS)
def test_each_staged_row_matches_its_csv_line(
    staging: sqlite3.Connection, realdata: Path, year: int
) -> None:
    """Row by row: amounts exact, blank GrossPay NULL (never 0), hire dates pivoted right."""
    lines = read_csv(realdata, year)
    staged = staging.execute(
        'SELECT "RECORD_KEY", "ANNUAL_SALARY", "GROSS_PAY", "START_DATE" '
        'FROM "WORKER_ANNUAL_PAY" WHERE "FISCAL_YEAR" = ?',
        (year,),
    ).fetchall()
    years: set[int] = set()
    for key, annual, gross, start in staged:
        src = lines[int(key)]
        assert src.annual is not None and annual == cents(src.annual), key
        if src.gross is None:
            assert gross is None, f"line {key}: blank GrossPay staged as {gross}"
        else:
            assert gross == cents(src.gross), key
        if src.hire == "":
            assert start is None, f"line {key}: blank HireDate staged as {start}"
            continue
        parsed = date.fromisoformat(start)
        month, day, yy = (int(p) for p in src.hire.split(" ")[0].split("/"))
        assert (parsed.month, parsed.day, parsed.year % 100) == (month, day, yy), key
        years.add(parsed.year)
    assert years and min(years) >= 1952 and max(years) <= min(year, 2016)


def test_a_rerun_into_new_staging_stages_identical_content(
    staging: sqlite3.Connection, realdata: Path, tmp_path: Path
) -> None:
    """Determinism: everything but the run id is the same, row for row."""
    again = sqlite3.connect(migrate_all(realdata, tmp_path))
    try:
        for table, run_col, order in (
            ("WORKER_ANNUAL_PAY", "MIG_RUN_ID", '"FISCAL_YEAR", CAST("RECORD_KEY" AS INTEGER)'),
            ("MIG_REJECTS", "RUN_ID", '"ENTITY", "SOURCE_KEY"'),
        ):
            cols = [
                r[1] for r in staging.execute(f'PRAGMA table_info("{table}")') if r[1] != run_col
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            sql = f'SELECT {select} FROM "{table}" ORDER BY {order}'
            first, second = staging.execute(sql).fetchall(), again.execute(sql).fetchall()
            assert len(first) == len(second)
            assert first == second, table
    finally:
        again.close()


def _cli(realdata: Path, workdir: Path, *args: str) -> int:
    from cli.main import main

    with pytest.MonkeyPatch.context() as mp:
        for name in ("STAGING", "FINANCE", "HR", "PROCUREMENT"):
            mp.delenv(f"MIGRATE_{name}_URL", raising=False)
        mp.delenv("MIGRATE_STAGING_SCHEMA", raising=False)
        mp.setenv("MIGRATE_REALDATA", str(realdata))
        return main(["--workdir", str(workdir), "--mappings", str(MAPPINGS), *args])


def test_all_years_in_one_run_reconcile_pass_as_the_docs_say(
    realdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19, item 4 (seen failing before: FAIL for every year, '-65,953 rows
    unaccounted'): the five mappings share a table and a source system."""
    assert _cli(realdata, tmp_path, "run", "--mode", "full") == 0
    assert _cli(realdata, tmp_path, "reconcile") == 0
    out = capsys.readouterr().out
    for year in YEARS:
        assert re.search(rf"PASS\s+baltimore_pay_fy{year}\b", out), out
    assert "verdict: PASS" in out


def test_each_year_alone_reconciles_pass(
    realdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19, item 5 (seen failing before: the four years not run FAILed, '0 staged')."""
    for year in (2012, 2016):
        folder = tmp_path / str(year)
        folder.mkdir()
        entity = f"baltimore_pay_fy{year}"
        assert _cli(realdata, folder, "run", "--mode", "full", "--entity", entity) == 0
        assert _cli(realdata, folder, "reconcile") == 0
        out = capsys.readouterr().out.split("reconciling run")[1]
        assert re.search(rf"PASS\s+{entity}\b", out) and out.count("baltimore_pay_fy") == 1, out
