"""Key and ``group_by`` names of a query source are identifiers, never SQL (issue 22, item 8).

Before: they were pasted into ``ORDER BY`` unquoted (``literal_column``), so on MariaDB
``key: ["ID INTO OUTFILE '<path>'"]`` had the server write a file through the read-only
legacy connection, and on PostgreSQL a subquery in ``key`` ran. Now every name is quoted
by the dialect: such a key is a column the query does not return, and the run stops on it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.dialects import mysql, postgresql, sqlite

from migrate.config import load_settings
from migrate.extract.database import read_database
from migrate.runs.runner import run_migration
from migrate.spec.model import EntitySpec

FIELDS = """target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  FISCAL_YEAR: {const: 2024}
  RECORD_KEY: {from: ID}
  FULL_NAME: {from: NAME}
  LAST_NAME: {from: NAME}
  JOB_TITLE: {from: NAME}
  DEPARTMENT_CODE: {from: NAME}
  ANNUAL_SALARY: {from: GROSS, steps: [{money: fixed}]}
"""


def _project(workdir: Path, legacy_url: str, source: str) -> Path:
    (workdir / "migrate.toml").write_text(f'[connections]\nfinance = "{legacy_url}"\n')
    folder = workdir / "mappings" / "hr"
    folder.mkdir(parents=True, exist_ok=True)
    head = f"entity: pay\ndomain: hr\nsource:\n  system: finance\n{source}"
    (folder / "pay.yaml").write_text(head + FIELDS, encoding="utf-8")
    return workdir / "mappings"


def _fill(url: str, create: str, insert: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(create))
        conn.execute(text(insert), [{"i": i, "n": f"N{i}", "g": f"{i}.00"} for i in range(1, 21)])
    engine.dispose()


def _run(workdir: Path, mappings: Path) -> str:
    with pytest.raises(Exception) as failed:
        run_migration(load_settings(workdir), mappings, "full", chunk_size=5)
    return str(failed.value)


@pytest.mark.db
def test_into_outfile_in_a_key_is_a_missing_column_on_mariadb(
    tmp_path: Path, mysql_url: str
) -> None:
    _fill(
        mysql_url,
        "CREATE TABLE PAY (ID integer, NAME varchar(20), GROSS varchar(20))",
        "INSERT INTO PAY VALUES (:i, :n, :g)",
    )
    target = f"/tmp/mig_injected_{uuid.uuid4().hex}"
    source = f"  query: SELECT ID, NAME, GROSS FROM PAY\n  key: [\"ID INTO OUTFILE '{target}'\"]\n"
    message = _run(tmp_path, _project(tmp_path, mysql_url, source))
    assert not Path(target).exists(), "the key was executed as SQL"
    assert "Unknown column" in message and "INTO OUTFILE" in message


@pytest.mark.db
def test_a_subquery_in_a_group_by_never_runs_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    _fill(
        pg_url,
        'CREATE TABLE "PAY" ("ID" integer, "NAME" text, "GROSS" text)',
        'INSERT INTO "PAY" VALUES (:i, :n, :g)',
    )
    for hostile in ('key: ["(SELECT 1/0)"]', 'group_by: ["(SELECT 1/0)"]\n  key: [ID]'):
        work = tmp_path / uuid.uuid4().hex[:6]
        work.mkdir()
        source = f'  query: SELECT "ID", "NAME", "GROSS" FROM "PAY"\n  {hostile}\n'
        message = _run(work, _project(work, pg_url, source))
        assert "division by zero" not in message, "the subquery ran"
        assert 'column "(SELECT 1/0)" does not exist' in message


def _spec(key: list[str], group_by: list[str] | None = None) -> EntitySpec:
    return EntitySpec.model_validate(
        {
            "entity": "pay",
            "domain": "hr",
            "source": {
                "system": "finance",
                "query": "SELECT ID, NAME FROM PAY",
                "key": key,
                **({"group_by": group_by} if group_by else {}),
            },
            "target": {"table": "WORKER_ANNUAL_PAY", "key": ["RECORD_KEY"]},
            "fields": {"RECORD_KEY": {"from": "ID"}},
        }
    )


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect(), mysql.dialect()])
def test_every_name_is_quoted_in_order_resume_and_partition(
    dialect: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled, not run: ORDER BY, the resume predicate and partition bounds quote names."""
    from migrate.extract import database as extract

    hostile = "k) UNION SELECT password FROM users --"
    spec = _spec([hostile], ["G'; DROP TABLE x; --"])
    captured: list[str] = []

    def fake_frames(engine: object, stmt: object, chunk_size: int):  # type: ignore[no-untyped-def]
        captured.append(str(stmt.compile(dialect=dialect)))  # type: ignore[attr-defined]
        return iter(())

    monkeypatch.setattr(extract, "_cursor_frames", fake_frames)
    engine = create_engine("sqlite://")
    list(read_database(spec, engine, 10, after_key=["g", "k"], partition=("a", "b")))
    sql = captured[0]
    prep = dialect.identifier_preparer  # type: ignore[attr-defined]
    for name in (hostile, "G'; DROP TABLE x; --"):
        assert prep.quote_identifier(name) in sql
        assert sql.count(name) == sql.count(prep.quote_identifier(name))
