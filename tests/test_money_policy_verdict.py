"""A rounding policy and floats (issue 20, items 4 and 5), with the mappings of
docs/how-to/money.md as written, through the real pipeline and reconciliation on SQLite.

Planted: a row rounded the wrong way, a cent added to many rows, rounding hidden in the
legacy reading (no policy): FAIL. A correct half-even migration of 4-decimal money PASSes
with its rounding line; a float that is not one cent amount is rejected and expected so.
"""

from __future__ import annotations

import json
import re
import sqlite3
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import create_engine, text

from migrate.config import Settings
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import EXCEPTIONS, FAIL, PASS, EntityReconciliation, Reconciliation
from reconcile.reports.report_json import from_json, to_json
from reconcile.reports.workbook import write_workbook
from reconcile.run import reconcile_run

DOC = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "money.md"
_YAML = re.compile(r"```yaml\n# (mappings/\S+)\n(.*?)```", re.S)

# SQL Server-like money: 4 decimals, ties both ways, a negative, whole cents, one too fine
PAY = [
    (1, "Ann", "1.0050"),  # half even: 1.00 (half up would give 1.01)
    (2, "Bob", "1.0150"),  # 1.02
    (3, "Cy", "-2.0050"),  # -2.00
    (4, "Di", "12.3456"),  # 12.35
    (5, "Ed", "7.2500"),  # whole cents
    (6, "Fay", "100"),
]
FINE = (7, "Gus", "3.00005")  # five decimals: rejected (invalid_amount)
DESK = [(1, "Ann", 1.98), (2, "Bob", 0.3), (3, "Cy", 2328.6), (4, "Di", -0.99)]
INEXACT = (6, "Fay", 0.1 + 0.2)  # 0.30000000000000004: not 0.30 (rejected, inexact_float)


def write_project(tmp: Path) -> Path:
    blocks = _YAML.findall(DOC.read_text(encoding="utf-8"))
    assert len(blocks) == 2, "the doc's two mappings"
    for name, body in blocks:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return tmp / "mappings"


def sqlite_legacy(
    tmp: Path, pay: list[tuple[object, ...]], desk: list[tuple[object, ...]]
) -> dict[str, str]:
    with sqlite3.connect(tmp / "payroll.db") as db:
        db.execute("CREATE TABLE PAY (EMP_ID INTEGER, EMP_NAME TEXT, SALARY TEXT)")
        db.executemany("INSERT INTO PAY VALUES (?, ?, ?)", pay)
    with sqlite3.connect(tmp / "desktop.db") as db:
        db.execute("CREATE TABLE PAYDESK (EMP_ID INTEGER, EMP_NAME TEXT, GROSS REAL)")
        db.executemany("INSERT INTO PAYDESK VALUES (?, ?, ?)", desk)
    return {
        "hr": f"sqlite:///{tmp / 'payroll.db'}",
        "finance": f"sqlite:///{tmp / 'desktop.db'}",
    }


def run_and_reconcile(
    tmp: Path,
    legacy: dict[str, str],
    plant: str = "",
    staging: str | None = None,
    entities: list[str] | None = None,
) -> Reconciliation:
    mappings = write_project(tmp)
    url = staging or f"sqlite:///{tmp / 'staging.db'}"
    s = Settings(urls={"staging": url, **legacy}, workdir=tmp)
    run = run_migration(s, mappings, "full", entities=entities)
    if plant:
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text(plant), {"run": run.run_id})
        finally:
            engine.dispose()
    return reconcile_run(s, load_project(mappings), run.run_id)


def entity(report: Reconciliation, name: str) -> EntityReconciliation:
    return next(e for e in report.entities if e.entity == name)


def staged(url: str, year: int) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    'SELECT "RECORD_KEY", "ANNUAL_SALARY" FROM "WORKER_ANNUAL_PAY" '
                    'WHERE "FISCAL_YEAR" = :y'
                ),
                {"y": year},
            )
            return {str(k): int(v) for k, v in rows}
    finally:
        engine.dispose()


def test_half_even_from_four_decimals_passes_with_its_rounding_line(tmp_path: Path) -> None:
    report = run_and_reconcile(tmp_path, sqlite_legacy(tmp_path, PAY, DESK))
    e = entity(report, "pay_sqlserver")
    assert e.status == PASS, (e.failures, e.exceptions)
    assert staged(f"sqlite:///{tmp_path / 'staging.db'}", 2024) == {
        "1": 100, "2": 102, "3": -200, "4": 1235, "5": 725, "6": 10000,
    }  # fmt: skip
    (m,) = e.measures
    assert m.source == Decimal("119.6106")  # at the legacy's precision
    assert m.staged == Decimal("119.62")
    assert m.rounding == Decimal("0.0094") == m.rounding_expected
    assert m.rounded_rows == 4 and m.rounding_bound == Decimal("0.020")
    assert m.difference == 0 and m.rounding_status == PASS
    assert "half even" in m.rounding_rule and "4 decimals" in m.rounding_rule
    assert "rounded half even" in m.source_rule
    back = from_json(to_json(report))  # the rounding line survives the JSON, checked
    assert entity(back, "pay_sqlserver").measures[0] == m
    doc = json.loads(to_json(report))
    (ent,) = [x for x in doc["entities"] if x["entity"] == "pay_sqlserver"]
    line = ent["measures"][0]["rounding"]
    assert line["difference"] == "0.0094" and line["bound"] == "0.020"
    line["difference"] = "0.0000"  # an edited rounding line is refused
    with pytest.raises(ValueError, match="rounding"):
        from_json(json.dumps(doc))


def test_a_value_finer_than_the_scale_is_rejected_and_expected(tmp_path: Path) -> None:
    report = run_and_reconcile(tmp_path, sqlite_legacy(tmp_path, [*PAY, FINE], DESK))
    e = entity(report, "pay_sqlserver")
    assert e.status == EXCEPTIONS, (e.failures, e.exceptions)
    assert [(g.reason, g.count) for g in e.rejects] == [("invalid_amount", 1)]
    (m,) = e.measures
    assert m.rejected == Decimal("3.00005") and m.difference == 0


@pytest.mark.parametrize(
    ("plant", "why"),
    [
        # 1.0050 staged as 1.01 (half up) where the mapping says half even
        ('UPDATE "WORKER_ANNUAL_PAY" SET "ANNUAL_SALARY" = 101 WHERE "RECORD_KEY" = \'1\'',
         "a tie rounded the wrong way"),
        # an extra cent on every rounded row
        ('UPDATE "WORKER_ANNUAL_PAY" SET "ANNUAL_SALARY" = "ANNUAL_SALARY" + 1 '
         'WHERE "FISCAL_YEAR" = 2024 AND "RECORD_KEY" IN (\'1\', \'2\', \'3\', \'4\')',
         "a cent on many rows"),
        # 12.3456 truncated to 12.34 instead of rounded
        ('UPDATE "WORKER_ANNUAL_PAY" SET "ANNUAL_SALARY" = 1234 WHERE "RECORD_KEY" = \'4\' '
         'AND "FISCAL_YEAR" = 2024', "truncated instead of rounded"),
    ],
)  # fmt: skip
def test_a_wrong_rounding_fails(tmp_path: Path, plant: str, why: str) -> None:
    report = run_and_reconcile(tmp_path, sqlite_legacy(tmp_path, PAY, DESK), plant)
    e = entity(report, "pay_sqlserver")
    assert e.status == FAIL, why
    (m,) = e.measures
    assert m.status == FAIL, why
    assert any(d.kind == "changed" for d in e.differences), why


def test_many_extra_cents_exceed_the_bound(tmp_path: Path) -> None:
    """Every one of 40 rounded rows a cent up: the rounding line itself is beyond its bound."""
    pay = [(n, f"P{n}", f"{n}.0010") for n in range(1, 41)]
    plant = 'UPDATE "WORKER_ANNUAL_PAY" SET "ANNUAL_SALARY" = "ANNUAL_SALARY" + 1'
    report = run_and_reconcile(tmp_path, sqlite_legacy(tmp_path, pay, DESK), plant)
    (m,) = entity(report, "pay_sqlserver").measures
    assert m.rounded_rows == 40 and m.rounding_bound == Decimal("0.200")
    assert m.rounding == Decimal("0.36") and m.rounding_status == FAIL and m.status == FAIL


def test_a_float_column_reconciles_exactly_and_an_inexact_float_is_expected(
    tmp_path: Path,
) -> None:
    report = run_and_reconcile(tmp_path, sqlite_legacy(tmp_path, PAY, [*DESK, INEXACT]))
    e = entity(report, "pay_desktop")
    assert e.status == EXCEPTIONS, (e.failures, e.exceptions)
    assert [g.reason for g in e.rejects] in (["inexact_float"], ["invalid_amount"])
    (m,) = e.measures
    assert m.unreadable == 0 and m.difference == 0
    assert m.staged == Decimal("2329.89")  # 1.98 + 0.30 + 2328.60 - 0.99, cents exactly
    assert m.rejected == Decimal("0.30000000000000004")  # at its shortest decimal form
    assert m.source == m.staged + m.rejected
    assert staged(f"sqlite:///{tmp_path / 'staging.db'}", 2025)["3"] == 232860


def test_a_float_changed_in_staging_fails(tmp_path: Path) -> None:
    plant = (
        'UPDATE "WORKER_ANNUAL_PAY" SET "ANNUAL_SALARY" = 197 '
        'WHERE "FISCAL_YEAR" = 2025 AND "RECORD_KEY" = \'1\''
    )
    report = run_and_reconcile(tmp_path, sqlite_legacy(tmp_path, PAY, DESK), plant)
    e = entity(report, "pay_desktop")
    assert e.status == FAIL
    assert e.measures[0].difference == Decimal("0.01")


def test_without_a_policy_four_decimals_are_rejected_as_before(tmp_path: Path) -> None:
    """The same data under ``{money: fixed}``: every finer value rejected, nothing rounded;
    a pipeline that rounded anyway (planted: a staged copy rounded) FAILs."""
    mappings = write_project(tmp_path)
    path = mappings / "hr" / "pay_sqlserver.yaml"
    body = path.read_text(encoding="utf-8")
    path.write_text(
        body.replace("{money: {encoding: fixed, scale: 4, rounding: half_even}}", "{money: fixed}"),
        encoding="utf-8",
    )
    s = Settings(
        urls={
            "staging": f"sqlite:///{tmp_path / 'staging.db'}",
            **sqlite_legacy(tmp_path, PAY, DESK),
        },
        workdir=tmp_path,
    )
    run = run_migration(s, mappings, "full", entities=["pay_sqlserver"])
    report = reconcile_run(s, load_project(mappings), run.run_id)
    e = entity(report, "pay_sqlserver")
    assert e.status == EXCEPTIONS and e.rejected_rows == 4
    assert not e.measures[0].rounding_rule and e.measures[0].difference == 0


def _row_of(ws: Worksheet, entity_name: str, check: str) -> int:
    for r in range(1, ws.max_row + 1):
        if ws[f"A{r}"].value == entity_name and ws[f"B{r}"].value == check:
            return r
    raise AssertionError(f"no line {check!r} for {entity_name}")


def _value(ws: Worksheet, cell: str) -> Decimal:
    return Decimal(str(ws[cell].value or 0))


PLANT_TIE = (
    'UPDATE "WORKER_ANNUAL_PAY" SET "ANNUAL_SALARY" = 101 '
    'WHERE "RECORD_KEY" = \'1\' AND "FISCAL_YEAR" = 2024'
)


PLANT_CENTS = (
    'UPDATE "WORKER_ANNUAL_PAY" SET "ANNUAL_SALARY" = "ANNUAL_SALARY" + 1 '
    "WHERE \"FISCAL_YEAR\" = 2024 AND \"RECORD_KEY\" IN ('1', '2', '3', '4')"
)


@pytest.mark.parametrize("plant", ["", PLANT_TIE, PLANT_CENTS], ids=["clean", "tie", "cents"])
def test_the_summary_shows_the_rounding_line_and_its_formulas_agree(
    tmp_path: Path, plant: str
) -> None:
    """The formulas (checked as text) computed on the sheet's own figures give the report's
    rounding and statuses; the amount line fails when a tie is rounded the wrong way."""
    report = run_and_reconcile(tmp_path, sqlite_legacy(tmp_path, PAY, DESK), plant)
    write_workbook(report, tmp_path / "r.xlsx")
    ws = load_workbook(tmp_path / "r.xlsx")["Summary"]
    r = _row_of(ws, "pay_sqlserver", "Amount: salary")
    n = _row_of(ws, "pay_sqlserver", "Rounding: salary")
    assert n == r + 1
    assert ws[f"G{r}"].value == f"=ROUND(C{r}-D{r}-E{r}-F{r}+C{n},4)"
    assert ws[f"G{n}"].value == f"=ROUND(D{r}-(C{r}-E{r}-F{r}),4)"
    assert ws[f"I{n}"].value == f'=IF(ABS(G{n})<=H{n},"PASS","FAIL")'
    assert ws[f"I{r}"].value == f'=IF(OR(ABS(G{r})>H{r},ABS(G{n})>H{n}),"FAIL","PASS")'
    c, d, e, f = (_value(ws, f"{col}{r}") for col in "CDEF")
    difference, rounding = c - d - e - f + _value(ws, f"C{n}"), d - (c - e - f)
    (m,) = entity(report, "pay_sqlserver").measures
    assert (rounding, _value(ws, f"C{n}"), _value(ws, f"H{n}")) == (
        m.rounding, m.rounding_expected, m.rounding_bound,
    )  # fmt: skip
    assert difference == m.difference
    rounding_ok = abs(rounding) <= _value(ws, f"H{n}")
    assert (PASS if rounding_ok else FAIL) == ws[f"J{n}"].value
    amount_ok = abs(difference) <= _value(ws, f"H{r}") and rounding_ok
    assert (PASS if amount_ok else FAIL) == ws[f"J{r}"].value
    assert "half even" in ws[f"K{n}"].value and "4 row(s) x half a cent" in ws[f"K{n}"].value
    assert ws[f"J{r}"].value == (FAIL if plant else PASS)
    assert ws[f"J{n}"].value == (FAIL if plant == PLANT_CENTS else PASS)  # 0.0494 > 0.020


def test_a_rounded_row_rejected_for_another_reason_is_not_rounded(tmp_path: Path) -> None:
    """Its amount is in the Rejected column at the legacy's precision, and its rounding is
    not in the rounding line (only staged rows carry one)."""
    nameless = (8, None, "4.0050")  # FULL_NAME is required: rejected as required_missing
    report = run_and_reconcile(tmp_path, sqlite_legacy(tmp_path, [*PAY, nameless], DESK))
    e = entity(report, "pay_sqlserver")
    assert e.status == EXCEPTIONS, (e.failures, e.exceptions)
    (m,) = e.measures
    assert m.rejected == Decimal("4.0050") and m.source == Decimal("123.6156")
    assert m.rounded_rows == 4 and m.rounding == m.rounding_expected == Decimal("0.0094")


def test_grains_compare_the_legacy_rounded_as_declared(tmp_path: Path) -> None:
    """A grain per name: each PASSes as staged; the tie rounded the wrong way is off."""
    mappings = write_project(tmp_path)
    path = mappings / "hr" / "pay_sqlserver.yaml"
    grain = (
        "  grains:\n    - name: person\n      source: [EMP_NAME]\n      target: [FULL_NAME]\n"
        "      measures: [salary]\n"
    )
    path.write_text(path.read_text(encoding="utf-8") + grain, encoding="utf-8")
    legacy = sqlite_legacy(tmp_path, PAY, DESK)
    s = Settings(
        urls={"staging": f"sqlite:///{tmp_path / 'staging.db'}", **legacy}, workdir=tmp_path
    )
    run = run_migration(s, mappings, "full", entities=["pay_sqlserver"])
    (e,) = reconcile_run(s, load_project(mappings), run.run_id).entities
    assert e.status == PASS and len(e.grains) == 6 and all(g.difference == 0 for g in e.grains)
    engine = create_engine(f"sqlite:///{tmp_path / 'staging.db'}")
    with engine.begin() as conn:
        conn.execute(text(PLANT_TIE))
    engine.dispose()
    (e,) = reconcile_run(s, load_project(mappings), run.run_id).entities
    off = [g for g in e.grains if g.status == FAIL]
    assert [(g.key, g.difference) for g in off] == [
        (("ANN",), Decimal("-0.01"))
    ]  # grain keys upper-cased


def test_a_money_column_with_a_policy_is_restated_without_a_measure(tmp_path: Path) -> None:
    """No measure: the column is still checked row by row, by reconciliation's own reading
    of the step (``reconcile.reading.money.step_cents``), rounded as declared or read as a float."""
    mappings = write_project(tmp_path)
    for path in (mappings / "hr").glob("*.yaml"):
        body = path.read_text(encoding="utf-8")
        path.write_text(body[: body.index("reconcile:")], encoding="utf-8")
    legacy = sqlite_legacy(tmp_path, PAY, [*DESK, INEXACT])
    s = Settings(
        urls={"staging": f"sqlite:///{tmp_path / 'staging.db'}", **legacy}, workdir=tmp_path
    )
    run = run_migration(s, mappings, "full")
    report = reconcile_run(s, load_project(mappings), run.run_id)
    for name, status in (("pay_sqlserver", PASS), ("pay_desktop", EXCEPTIONS)):
        e = entity(report, name)
        assert e.status == status and not e.not_verified, (name, e.failures, e.exceptions)
        assert any(c.startswith("ANNUAL_SALARY vs") and "restated" in c for c in e.compared)
    engine = create_engine(f"sqlite:///{tmp_path / 'staging.db'}")
    with engine.begin() as conn:
        conn.execute(text(PLANT_TIE))
        conn.execute(
            text(
                'UPDATE "WORKER_ANNUAL_PAY" SET "ANNUAL_SALARY" = 199 '
                'WHERE "FISCAL_YEAR" = 2025 AND "RECORD_KEY" = \'1\''
            )
        )
    engine.dispose()
    report = reconcile_run(s, load_project(mappings), run.run_id)
    changed = {
        (e.entity, d.source_value, d.staged_value) for e in report.entities for d in e.differences
    }
    assert changed == {("pay_sqlserver", "1.00", "1.01"), ("pay_desktop", "1.98", "1.99")}


def _stage_as_if(year: int, key: str, cents: int) -> str:
    """SQL staging a row the pipeline rejected, as a pipeline that rounded silently would."""
    return (
        'INSERT INTO "WORKER_ANNUAL_PAY" ("FISCAL_YEAR", "RECORD_KEY", "FULL_NAME", '
        '"LAST_NAME", "JOB_TITLE", "DEPARTMENT_CODE", "ANNUAL_SALARY", "MIG_RUN_ID", '
        '"MIG_BATCH_ID", "MIG_ENTITY", "MIG_SOURCE_SYSTEM", "MIG_SOURCE_KEY", "MIG_SOURCE_HASH")'
        f" VALUES ({year}, '{key}', 'X', 'X', 'Clerk', 'A01', {cents}, :run, 1, "
        f"'{'pay_sqlserver' if year == 2024 else 'pay_desktop'}', "
        f"'{'hr' if year == 2024 else 'finance'}', '{key}', 'x')"
    )


@pytest.mark.parametrize(
    ("rows", "plant", "name"),
    [
        ([*PAY, (9, "Hal", "2.3456")], _stage_as_if(2024, "9", 235), "pay_sqlserver"),
        ([*PAY, FINE], _stage_as_if(2024, "7", 300), "pay_sqlserver"),
    ],
    ids=["rounded-without-a-policy", "finer-than-the-scale-staged"],
)
def test_a_value_the_policy_refuses_staged_anyway_fails(
    tmp_path: Path, rows: list[tuple[object, ...]], plant: str, name: str
) -> None:
    """A 4-decimal value staged rounded where the mapping declares no rounding (the first
    case runs without the policy), or a value finer than the declared scale staged rounded:
    the row is both rejected and staged, and the verdict FAILs."""
    mappings = write_project(tmp_path)
    if "9" in plant:
        path = mappings / "hr" / "pay_sqlserver.yaml"
        body = path.read_text(encoding="utf-8")
        policy = "{money: {encoding: fixed, scale: 4, rounding: half_even}}"
        path.write_text(body.replace(policy, "{money: fixed}"), encoding="utf-8")
    legacy = sqlite_legacy(tmp_path, rows, DESK)
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    s = Settings(urls={"staging": url, **legacy}, workdir=tmp_path)
    run = run_migration(s, mappings, "full")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(plant), {"run": run.run_id})
    engine.dispose()
    e = entity(reconcile_run(s, load_project(mappings), run.run_id), name)
    assert e.status == FAIL, (e.failures, e.exceptions)


def test_an_inexact_float_staged_as_its_nearest_cent_fails(tmp_path: Path) -> None:
    """0.30000000000000004 staged as 0.30 (what a lossy reader gives) FAILs."""
    legacy = sqlite_legacy(tmp_path, PAY, [*DESK, INEXACT])
    report = run_and_reconcile(tmp_path, legacy, _stage_as_if(2025, "6", 30))
    e = entity(report, "pay_desktop")
    assert e.status == FAIL, (e.failures, e.exceptions)


FOUR = st.builds(
    lambda units, frac, neg: f"{'-' if neg else ''}{units}.{frac:04d}",
    st.integers(0, 10**6),
    st.integers(0, 9999),
    st.booleans(),
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(FOUR, min_size=1, max_size=12),
    mode=st.sampled_from(["half_up", "half_even", "truncate"]),
    change=st.sampled_from(["none", "cent", "delete"]),
)
def test_pass_only_when_every_row_is_rounded_as_declared(
    tmp_path_factory: pytest.TempPathFactory, amounts: list[str], mode: str, change: str
) -> None:
    """Any 4-decimal amounts, any mode: PASS with the rounding line equal to its
    restatement and within its bound; a cent changed or a row deleted after the run: FAIL."""
    tmp = tmp_path_factory.mktemp("rounding")
    mappings = write_project(tmp)
    path = mappings / "hr" / "pay_sqlserver.yaml"
    body = path.read_text(encoding="utf-8").replace("half_even", mode)
    path.write_text(body, encoding="utf-8")
    rows = [(n, f"P{n}", a) for n, a in enumerate(amounts, start=1)]
    url = f"sqlite:///{tmp / 'staging.db'}"
    s = Settings(urls={"staging": url, **sqlite_legacy(tmp, rows, DESK)}, workdir=tmp)
    run = run_migration(s, mappings, "full", entities=["pay_sqlserver"])
    plant = {
        "cent": 'UPDATE "WORKER_ANNUAL_PAY" SET "ANNUAL_SALARY" = "ANNUAL_SALARY" + 1 '
        "WHERE \"RECORD_KEY\" = '1'",
        "delete": 'DELETE FROM "WORKER_ANNUAL_PAY" WHERE "RECORD_KEY" = \'1\'',
    }.get(change)
    if plant:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(plant))
        engine.dispose()
    (e,) = reconcile_run(s, load_project(mappings), run.run_id).entities
    (m,) = e.measures
    want = sum((Decimal(a) for a in amounts), Decimal(0))
    assert m.source == want
    mode_of = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "truncate": ROUND_DOWN}
    rounded = [Decimal(a).quantize(Decimal("0.01"), rounding=mode_of[mode]) for a in amounts]
    assert m.rounding_expected == sum(
        (r - Decimal(a) for r, a in zip(rounded, amounts, strict=True)), Decimal(0)
    )
    assert abs(m.rounding_expected) <= m.rounding_bound
    if change == "none":
        assert e.status == PASS, (amounts, mode, e.failures)
        assert m.staged == sum(rounded, Decimal(0)) and m.rounding == m.rounding_expected
    else:
        assert e.status == FAIL, (amounts, mode, change)
