"""Hostile amounts (issue 22, item 6): one money grammar for every step and for
reconciliation, on SQLite and PostgreSQL staging (``docs/how-to/money.md``, "The amount
grammar").

Before (bbefed2): ``money: text`` staged ``$1,234.5٦`` as 123456 cents and ``$١٢٣.٠٠`` as
12300 (Python's ``\\d`` takes in Arabic-Indic digits) while ``money: fixed`` refused them;
``+5.00`` (fixed) and ``$$5.00`` (text) were refused by the pipeline and read by
reconciliation; amounts of 10**16 and more staged where reconciliation read other values;
the integer step read ``99999999999999999`` through a float. At 4b48fcf a CSV field
``1<NUL>2`` was staged as 1 (pandas' C reader ends a field at NUL). Each value is now staged
as reconciliation restates it, or rejected with its row, column and value shown safely; and
a pipeline that changed one silently is caught: the reconciliation FAILs.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from migrate.config import Settings
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from migrate.transform import parse
from reconcile.report import FAIL, PASS, Reconciliation
from reconcile.run import reconcile_run

# (ID, value, what the money step stages: cents, or the reject's reason)
TEXT_CASES = [
    (1, "$1,234.56", 123456),
    (2, "$1,234.5٦", "invalid_amount"),  # an Arabic-Indic six
    (3, "$١٢٣.٠٠", "invalid_amount"),
    (4, "$$5.00", "invalid_amount"),
    (5, "(5.00)", -500),
    (6, "--5", "invalid_amount"),
    (7, "9999999999999999.99", 999999999999999999),  # the largest amount: 10**18 - 1 cents
    (8, "10000000000000000", "invalid_amount"),  # 10**16 units: 10**18 cents
    (9, "１２", "invalid_amount"),  # fullwidth digits
]
FIXED_CASES = [
    (1, "5.00", 500),
    (2, "+5.00", "invalid_amount"),  # a leading minus only
    (3, "$1,234.5٦", "invalid_amount"),
    (4, "99999999999999999", "invalid_amount"),
    (5, "-0000000000000000000000012.50", -1250),
]


def _project(tmp: Path, encoding: str, cases: list[tuple[int, str, object]]) -> Path:
    db = tmp / "legacy.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE PAY (ID INTEGER, NAME TEXT, AMT TEXT)")
        conn.executemany("INSERT INTO PAY VALUES (?, ?, ?)", [(i, f"N{i}", v) for i, v, _ in cases])
    folder = tmp / "mappings" / "hr"
    folder.mkdir(parents=True)
    measure = "money_text" if encoding == "text" else "decimal"
    (folder / "pay.yaml").write_text(
        f"""entity: pay
domain: hr
source: {{system: finance, table: PAY, key: [ID]}}
target: {{table: WORKER_ANNUAL_PAY, key: [FISCAL_YEAR, RECORD_KEY]}}
fields:
  FISCAL_YEAR: {{const: 2024}}
  RECORD_KEY: {{from: ID}}
  FULL_NAME: {{from: NAME}}
  LAST_NAME: {{from: NAME}}
  JOB_TITLE: {{from: NAME}}
  DEPARTMENT_CODE: {{from: NAME}}
  ANNUAL_SALARY: {{from: AMT, steps: [{{money: {encoding}}}]}}
reconcile:
  measures:
    - {{name: amount, source_column: AMT, source_encoding: {measure}, target_column: ANNUAL_SALARY}}
""",
        encoding="utf-8",
    )
    return tmp / "mappings"


@pytest.fixture(params=["sqlite", "postgresql"])
def staging(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'staging.db'}"
    else:
        yield request.getfixturevalue("staging_pg")


def _run(tmp: Path, mappings: Path, staging: str) -> tuple[Settings, Reconciliation]:
    s = Settings(
        urls={"staging": staging, "finance": f"sqlite:///{tmp / 'legacy.db'}"}, workdir=tmp
    )
    run = run_migration(s, mappings, "full", chunk_size=4)
    return s, reconcile_run(s, load_project(mappings), run.run_id)


def _outcomes(staging: str) -> dict[str, object]:
    engine = create_engine(staging)
    try:
        with engine.connect() as conn:
            staged = conn.execute(
                text('SELECT "RECORD_KEY", "ANNUAL_SALARY" FROM "WORKER_ANNUAL_PAY"')
            ).all()
            rejects = conn.execute(
                text('SELECT "SOURCE_KEY", "REASON_CODE", "OFFENDING_VALUE" FROM "MIG_REJECTS"')
            ).all()
    finally:
        engine.dispose()
    out: dict[str, object] = {}
    for key, amount in staged:  # SQLite holds cents; the servers NUMERIC(18, 2)
        out[str(key)] = int(amount) if engine.dialect.name == "sqlite" else int(amount * 100)
    for key, reason, value in rejects:
        assert value is None or value.isprintable(), value
        out[str(key)] = reason
    return out


@pytest.mark.parametrize(
    ("encoding", "cases"), [("text", TEXT_CASES), ("fixed", FIXED_CASES)], ids=["text", "fixed"]
)
def test_each_hostile_amount_is_staged_as_restated_or_rejected(
    tmp_path: Path, staging: str, encoding: str, cases: list[tuple[int, str, object]]
) -> None:
    mappings = _project(tmp_path, encoding, cases)
    _, report = _run(tmp_path, mappings, staging)
    assert _outcomes(staging) == {str(i): want for i, _, want in cases}
    (e,) = report.entities
    assert not any("differ" in f or "changed" in f for f in e.failures), e.failures


def _unicode_digits_read(real: object) -> object:
    """The defect, put back: Unicode digits read as ASCII ones before the grammar."""

    def read(text: pd.Series, encoding: str) -> object:
        ascii_digits = text.map(
            lambda v: (
                v
                if not isinstance(v, str)
                else "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in v)
            )
        ).astype("str")
        return real(ascii_digits, encoding)  # type: ignore[operator]

    return read


def test_a_silently_changed_amount_fails_the_reconciliation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline that stages ``$1,234.5٦`` as 1,234.56 (as bbefed2's did) is caught."""
    cases = [(1, "$1,234.56", 123456), (2, "$1,234.5٦", 123456)]
    mappings = _project(tmp_path, "text", cases)
    monkeypatch.setattr(parse, "_general_cents", _unicode_digits_read(parse._general_cents))
    staging = f"sqlite:///{tmp_path / 'staging.db'}"
    _, report = _run(tmp_path, mappings, staging)
    assert _outcomes(staging) == {"1": 123456, "2": 123456}  # the change did happen
    assert report.verdict == FAIL and report.verdict != PASS


TSV_HEAD = "entity: pay\ndomain: hr\nsource:\n  system: payroll\n  file:\n"


def _nul_project(tmp: Path) -> Path:
    (tmp / "mappings" / "hr").mkdir(parents=True)
    (tmp / "pay.csv").write_bytes(
        b"ID,NAME,QTY\n"
        b"1,Ann,5.00\n"
        b"2,Bob,1\x002\n"  # the quantity 1<NUL>2
        b"3\x00,Cy,7.00\n"  # a NUL in the key
        b"4,Di,8.00\n"
    )
    (tmp / "mappings" / "hr" / "pay.yaml").write_text(
        TSV_HEAD
        + """    path: pay.csv
  key: [ID]
target: {table: WORKER_ANNUAL_PAY, key: [FISCAL_YEAR, RECORD_KEY]}
fields:
  FISCAL_YEAR: {const: 2024}
  RECORD_KEY: {from: ID}
  FULL_NAME: {from: NAME}
  LAST_NAME: {from: NAME}
  JOB_TITLE: {from: NAME}
  DEPARTMENT_CODE: {from: NAME}
  ANNUAL_SALARY: {from: QTY, steps: [{money: fixed}]}
reconcile:
  measures:
    - {name: qty, source_column: QTY, source_encoding: decimal, target_column: ANNUAL_SALARY}
""",
        encoding="utf-8",
    )
    return tmp / "mappings"


def test_a_nul_inside_a_csv_field_is_rejected_and_shown_escaped(
    tmp_path: Path, staging: str
) -> None:
    """Seen failing at 4b48fcf (pandas' reader staged 1<NUL>2 as 1) and on bbefed2 (the
    reject held the raw NUL: PostgreSQL refuses it and the whole run stopped)."""
    mappings = _nul_project(tmp_path)
    s = Settings(urls={"staging": staging}, workdir=tmp_path)
    run = run_migration(s, mappings, "full", chunk_size=2)
    report = reconcile_run(s, load_project(mappings), run.run_id)
    engine = create_engine(staging)
    try:
        with engine.connect() as conn:
            rejects = conn.execute(
                text(
                    'SELECT "SOURCE_KEY", "COLUMN_NAME", "REASON_CODE", "OFFENDING_VALUE" '
                    'FROM "MIG_REJECTS" ORDER BY "SOURCE_KEY"'
                )
            ).all()
            staged = conn.execute(
                text('SELECT "RECORD_KEY" FROM "WORKER_ANNUAL_PAY" ORDER BY "RECORD_KEY"')
            ).all()
    finally:
        engine.dispose()
    assert [r[0] for r in staged] == ["1", "4"]
    assert [tuple(r) for r in rejects] == [
        ("2", "QTY", "unreadable_record", "a NUL character in the field: 1\\x002"),
        ("3\\x00", "ID", "unreadable_record", "a NUL character in the field: 3\\x00"),
    ]
    (e,) = report.entities
    assert (e.source_rows, e.staged_rows, e.rejected_rows) == (4, 2, 2)
    assert report.verdict != PASS  # the two records' amounts are not known: unverified


@pytest.mark.parametrize("value", ["١٢", "NaN", "Infinity", "1_000", "１２", float("nan")])
def test_an_expression_operand_in_other_digits_is_no_number(value: object) -> None:
    """Before: ``Decimal()`` read ``١٢`` as 12 and ``1_000`` as 1000 on both sides, and
    ``NaN`` as a NaN that compared unequal to itself (so never agreed). Then such an operand
    made the value none on both sides, staged blank unnoticed; now the pipeline rejects its
    row (``invalid_number``, tests/test_expr_operands.py) and reconciliation refuses it. A
    float NaN is pandas' NULL to the pipeline (blank), while reconciliation, reading NULL as
    none, takes it for a NaN held as a value: refused, so a blank staged for it FAILs."""
    from migrate.transform.expr import computed
    from migrate.transform.expr import parse as parse_expr
    from reconcile.proving import restate_expr as E
    from reconcile.proving.restate_steps import Unreadable

    frame = pd.DataFrame({"QTY": pd.Series([value], dtype="object")})
    values, refused = computed(parse_expr("QTY * 2"), frame)
    assert list(values) == [None]
    if isinstance(value, float):
        assert refused == []
    else:
        assert [(r.reason, list(r.values)) for r in refused] == [("invalid_number", [value])]
    with pytest.raises(Unreadable, match="invalid_number"):
        E.compute(E.read("QTY * 2"), {"QTY": value})


@pytest.mark.db
def test_a_nan_amount_is_rejected_never_staged_blank(
    tmp_path: Path, pg_url: str, staging_pg: str
) -> None:
    """A PostgreSQL ``double precision`` NaN under ``money: float`` into a nullable column:
    before, staged NULL (pandas holds NULL and NaN alike); now rejected (inexact_float),
    while a NULL is still no amount."""
    from tests.test_money_policy_verdict import write_project

    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    'CREATE TABLE "PAYDESK" ("EMP_ID" INTEGER, "EMP_NAME" VARCHAR(40), '
                    '"GROSS" double precision)'
                )
            )
            conn.execute(
                text('INSERT INTO "PAYDESK" VALUES (:i, :n, :v)'),
                [
                    {"i": 1, "n": "Ann", "v": 1.98},
                    {"i": 2, "n": "Bob", "v": float("nan")},
                    {"i": 3, "n": "Cy", "v": None},
                ],
            )
    finally:
        engine.dispose()
    mappings = write_project(tmp_path)
    (mappings / "hr" / "pay_sqlserver.yaml").unlink()
    desk = mappings / "hr" / "pay_desktop.yaml"
    desk.write_text(
        desk.read_text()
        .replace(
            "  ANNUAL_SALARY: {from: GROSS, steps: [{money: float}]}",
            "  ANNUAL_SALARY: {const: 0}\n  GROSS_PAY: {from: GROSS, steps: [{money: float}]}",
        )
        .replace("target_column: ANNUAL_SALARY", "target_column: GROSS_PAY")
    )
    s = Settings(urls={"staging": staging_pg, "finance": pg_url, "hr": pg_url}, workdir=tmp_path)
    run = run_migration(s, mappings, "full")
    reconcile_run(s, load_project(mappings), run.run_id)
    staging = create_engine(staging_pg)
    try:
        with staging.connect() as conn:
            rejects = conn.execute(
                text('SELECT "SOURCE_KEY", "REASON_CODE", "OFFENDING_VALUE" FROM "MIG_REJECTS"')
            ).all()
    finally:
        staging.dispose()
    assert [(k, r) for k, r, _ in rejects] == [("2", "inexact_float")]


def test_a_nul_from_a_database_column_is_shown_escaped(tmp_path: Path) -> None:
    """A NUL in a SQLite legacy column (not a file): the row is rejected and the reject
    shows ``1\\x002``, printable (PostgreSQL staging refuses a raw NUL)."""
    mappings = _project(tmp_path, "fixed", [(1, "1\x002", "invalid_amount")])
    staging = f"sqlite:///{tmp_path / 'staging.db'}"
    _run(tmp_path, mappings, staging)
    engine = create_engine(staging)
    try:
        with engine.connect() as conn:
            shown = conn.execute(text('SELECT "OFFENDING_VALUE" FROM "MIG_REJECTS"')).scalar()
    finally:
        engine.dispose()
    assert shown == "1\\x002"
