"""The mistakes people make on the command line end in one line, never a traceback (issue 23,
items 1 and 2), and a connection that fails exits 4, apart from FAIL (1) and bad input (2):
a script must never read "server down" as a FAIL verdict.

Each case: exit code, exactly one line on stderr naming the cause, no traceback, and
nothing written (no staging file created by a command that only reads).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli.main import CONNECTION_FAILED, main
from migrate.config import load_settings
from tests.test_pipeline import make_estate

DOWN = "postgresql://postgres@127.0.0.1:1/nothing_listens_here"


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three legacy SQLite systems, built once; each test copies them."""
    folder = tmp_path_factory.mktemp("legacy")
    make_estate(folder, scale=200, seed=5)
    return folder


@pytest.fixture
def workdir(tmp_path: Path, legacy: Path) -> Path:
    for name in ("legacy_finance.db", "legacy_hr.db", "legacy_procurement.db"):
        shutil.copy(legacy / name, tmp_path / name)
    shutil.copytree(legacy / "extracts", tmp_path / "extracts")
    return tmp_path


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


STAGING_DOWN = [
    ["run"],
    ["run", "--mode", "rehearsal"],
    ["reconcile"],
    ["reconcile", "abc123"],
    ["rollback", "abc123", "--yes"],
    ["resume", "abc123"],
    ["lineage", "trace", "AP_INVOICES_INTERFACE", "1"],
    ["runs"],
    ["cutover", "--mode", "rehearsal", "--signoff", "skip"],
    ["audit", "signoff", "abc123", "--approver", "x", "--decision", "approve"],
]


@pytest.mark.parametrize("command", STAGING_DOWN, ids=lambda c: " ".join(c))
def test_staging_down_is_a_connection_failure(
    workdir: Path,
    command: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIGRATE_STAGING_URL", DOWN)
    before = _files(workdir)
    assert main(["--workdir", str(workdir), *command]) == CONNECTION_FAILED
    line = _one_line(capsys)
    assert "cannot connect to staging" in line, line
    assert "unknown run id" not in line and "no run to reconcile" not in line
    assert "***" not in line or "password" not in line
    assert _files(workdir) - before <= {"artifacts"}


LEGACY_DOWN = [
    ["run"],
    ["reconcile"],
    ["mappings", "check"],
    ["mappings", "coverage"],
]


@pytest.mark.parametrize("command", LEGACY_DOWN, ids=lambda c: " ".join(c))
def test_legacy_down_is_a_connection_failure(
    workdir: Path,
    command: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIGRATE_FINANCE_URL", DOWN)
    before = _files(workdir)
    assert main(["--workdir", str(workdir), *command]) == CONNECTION_FAILED
    line = _one_line(capsys)
    assert "cannot connect to finance" in line, line
    assert "source table" not in line
    assert "staging.db" not in _files(workdir) - before


@pytest.mark.parametrize("command", [["run"], ["mappings", "coverage"]])
def test_missing_legacy_file_is_named(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--workdir", str(tmp_path), *command]) == CONNECTION_FAILED
    line = _one_line(capsys)
    assert "legacy_finance.db" in line and "does not exist" in line, line
    assert "source table" not in line
    assert _files(tmp_path) <= {"artifacts"}


def test_missing_workdir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert main(["--workdir", str(missing), "run"]) == 2
    line = _one_line(capsys)
    assert "working folder" in line and str(missing) in line
    assert not missing.exists()


@pytest.mark.parametrize("command", [["run"], ["mappings", "check", "--offline"]])
def test_missing_mappings_folder(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt --mappings is named as such, in one line (it was two lines saying there
    were no mapping files under finance, hr, procurement/)."""
    missing = tmp_path / "mapings"
    assert main(["--workdir", str(tmp_path), "--mappings", str(missing), *command]) == 2
    line = _one_line(capsys)
    assert "mappings folder not found" in line and str(missing) in line


@pytest.mark.parametrize(
    "command",
    [["lineage", "trace", "AP_INVOICES_INTERFACE", "1"], ["reconcile"], ["runs"]],
    ids=lambda c: c[0],
)
def test_before_any_run(
    workdir: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(workdir)
    code = main(["--workdir", str(workdir), *command])
    if command == ["runs"]:
        assert code == 0
        assert "no run yet" in capsys.readouterr().out
    else:
        assert code == 2
        line = _one_line(capsys)
        assert "no run yet" in line, line
    assert "staging.db" not in _files(workdir) - before


def test_postgres_scheme_is_postgresql(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Heroku and libpq write ``postgres://``; SQLAlchemy only knows ``postgresql://``."""
    monkeypatch.setenv("MIGRATE_STAGING_URL", "postgres://u@db.example/stage")
    assert load_settings(tmp_path).url("staging") == "postgresql://u@db.example/stage"
    (tmp_path / "migrate.toml").write_text(
        '[connections]\nfinance = "postgres://u@db.example/fin"\n', encoding="utf-8"
    )
    assert load_settings(tmp_path).url("finance") == "postgresql://u@db.example/fin"


def test_interrupted_run_says_how_to_resume(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import migrate.runs.runner as runner

    real = runner.run_migration

    def stopped(*args: object, **kwargs: object) -> object:
        real(*args, **{**kwargs, "entities": ["gl_accounts"]})  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_migration", stopped)
    assert main(["--workdir", str(workdir), "run"]) == 130
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if "rows/s" not in ln]  # progress bars
    assert len(lines) == 1 and lines[0].startswith("interrupted"), err
    run_id = out.split("run ", 1)[1].split()[0]  # the id is printed first, before any work
    assert f"migrate resume {run_id}" in lines[0]


@pytest.mark.db
def test_read_only_staging(
    workdir: Path,
    pg_server: str,
    staging_pg: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(staging_pg).database
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    admin.dispose()
    monkeypatch.setenv("MIGRATE_STAGING_URL", staging_pg)
    for command in (["run"], ["rollback", "abc123", "--yes"]):
        assert main(["--workdir", str(workdir), *command]) == CONNECTION_FAILED
        line = _one_line(capsys)
        assert "read-only" in line, line


@pytest.mark.db
def test_mariadb_rehearsal_without_its_database(
    workdir: Path,
    mysql_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy.engine import make_url

    monkeypatch.setenv("MIGRATE_STAGING_URL", mysql_url)
    assert main(["--workdir", str(workdir), "run", "--mode", "rehearsal"]) == CONNECTION_FAILED
    line = _one_line(capsys)
    assert f"{make_url(mysql_url).database}_rehearsal" in line, line
    assert "CREATE DATABASE" in line


def test_help_documents_the_connection_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"{CONNECTION_FAILED} cannot connect" in text


def test_a_connection_lost_mid_run_is_not_a_bad_input(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that goes away during the work exits 4 too, and keeps the resume note."""
    from sqlalchemy.exc import OperationalError

    import migrate.runs.runner as runner
    from migrate.errors import RunFailed

    def lost(*_args: object, **_kwargs: object) -> object:
        cause = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        stop = RunFailed("gl_accounts: chunk 3 stopped (OperationalError)")
        stop.add_note("resume with: migrate resume abc123")
        raise stop from cause

    monkeypatch.setattr(runner, "run_migration", lost)
    assert main(["--workdir", str(workdir), "--quiet", "run"]) == CONNECTION_FAILED
    line = _one_line(capsys)
    assert "server closed the connection" in line and "migrate resume abc123" in line, line
