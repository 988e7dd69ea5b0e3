"""Exactly-once after kill -9, rehearsal isolation and delta on real servers.

Legacy on MariaDB (a real legacy engine here), staging on PostgreSQL (the real target).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from fixtures.estate.build import build_estate
from migrate.config import load_settings
from migrate.runs.runner import run_migration
from tests.conftest import drop_pg_database, make_pg_database

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
TABLES = (
    "SUPPLIERS",
    "AP_INVOICES_INTERFACE",
    "AP_INVOICE_LINES_INTERFACE",
    "GL_INTERFACE",
    "WORKERS",
    "PAYROLL_HISTORY",
    "PO_LINES_INTERFACE",
)
pytestmark = pytest.mark.db


def _env(legacy: str, staging: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATE_")}
    env.update({f"MIGRATE_{s}_URL": legacy for s in ("FINANCE", "HR", "PROCUREMENT")})
    env["MIGRATE_STAGING_URL"] = staging
    return env


def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return value


def _snapshot(url: str, schema: str = "public") -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        for t in TABLES:
            out[t] = sorted(
                conn.execute(
                    text(f'SELECT "MIG_SOURCE_SYSTEM", "MIG_SOURCE_KEY" FROM "{schema}"."{t}"')
                ).all()
            )
        out["rejects"] = sorted(
            conn.execute(
                text(f'SELECT "ENTITY", "SOURCE_KEY", "REASON_CODE" FROM "{schema}"."MIG_REJECTS"')
            ).all()
        )
    engine.dispose()
    return out


@pytest.mark.slow
def test_kill_and_resume_on_servers_is_exactly_once(
    tmp_path: Path, mysql_url: str, staging_pg: str, pg_server: str
) -> None:
    build_estate(
        {s: mysql_url for s in ("finance", "hr", "procurement")},
        tmp_path / "extracts",
        scale=2000,
        seed=31,
    )
    env = _env(mysql_url, staging_pg)
    base = [
        sys.executable,
        "-m",
        "cli.main",
        "--workdir",
        str(tmp_path),
        "--mappings",
        str(MAPPINGS),
    ]
    proc = subprocess.Popen(
        [*base, "run", "--chunk-size", "25"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.3)
        try:
            if int(_scalar(staging_pg, 'SELECT COUNT(*) FROM "MIG_PROGRESS"') or 0) >= 40:
                break
        except Exception:
            continue
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_id = _scalar(staging_pg, 'SELECT "RUN_ID" FROM "MIG_RUNS"')
    assert _scalar(staging_pg, 'SELECT "STATUS" FROM "MIG_RUNS"') == "running"
    subprocess.run(
        [*base, "resume", str(run_id), "--chunk-size", "25"],
        env=env,
        check=True,
        capture_output=True,
    )
    assert _scalar(staging_pg, 'SELECT "STATUS" FROM "MIG_RUNS"') == "complete"

    reference = make_pg_database(pg_server)
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cli.main",
                "--workdir",
                str(tmp_path),  # same extracts, a fresh staging database
                "--mappings",
                str(MAPPINGS),
                "run",
                "--chunk-size",
                "25",
            ],
            env=_env(mysql_url, reference),
            check=True,
            capture_output=True,
        )
        assert _snapshot(staging_pg) == _snapshot(reference)
    finally:
        drop_pg_database(pg_server, reference)


def test_rehearsal_on_postgres_uses_its_own_schema(
    tmp_path: Path, mysql_url: str, staging_pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in _env(mysql_url, staging_pg).items():
        if key.startswith("MIGRATE_"):
            monkeypatch.setenv(key, value)
    build_estate(
        {s: mysql_url for s in ("finance", "hr", "procurement")},
        tmp_path / "extracts",
        scale=200,
        seed=32,
    )
    run_migration(load_settings(tmp_path), MAPPINGS, "rehearsal")
    assert int(_scalar(staging_pg, 'SELECT COUNT(*) FROM "rehearsal"."SUPPLIERS"') or 0) > 0
    public = _scalar(staging_pg, "SELECT to_regclass('public.\"SUPPLIERS\"')")
    assert public is None or _scalar(staging_pg, 'SELECT COUNT(*) FROM "SUPPLIERS"') == 0
