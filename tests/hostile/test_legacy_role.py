"""The read-only promise is only as strong as the legacy role (issue 22, item 9).

Before: a READ ONLY session still let a superuser legacy role stage the server's password
file through ``pg_read_file`` and run ``lo_*`` functions, and nothing said so: ``migrate
doctor`` looked for INSERT/UPDATE/DELETE only, ``mappings check`` and a run's start not at
all. Now the role is asked what it may do beyond SELECT (superuser, the server-file roles,
write or CREATE privileges; on MariaDB FILE, SUPER and any write grant), a warning names
each, and ``[safety] legacy_role = "refuse"`` (or ``MIGRATE_LEGACY_ROLE=refuse``) refuses.
The SELECT-only role of docs/how-to/run-a-migration.md passes clean.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cli import doctor
from migrate.config import Settings, load_settings
from migrate.legacy_role import LegacyRoleRefused, check, policy, review
from migrate.runs import preflight
from migrate.spec.loader import load_project
from tests.test_pipeline import MAPPINGS


def _settings(tmp_path: Path, url: str, toml: str = "") -> Settings:
    (tmp_path / "migrate.toml").write_text(f'[connections]\nfinance = "{url}"\n')
    settings = load_settings(tmp_path)
    if toml:  # [safety] is read by legacy_role itself (config.py's patch lets the file hold it)
        (tmp_path / "safety.toml").write_text(toml)
        settings.extra["config_file"] = str(tmp_path / "safety.toml")
    return settings


@pytest.fixture
def select_only_pg(pg_url: str) -> Iterator[str]:
    """The role docs/how-to/run-a-migration.md asks a DBA for: LOGIN, SELECT, nothing else."""
    role = f"mig_ro_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE TABLE "GL" ("ID" integer)'))
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"REVOKE CREATE ON DATABASE {pg_url.rsplit('/', 1)[1]} FROM PUBLIC"))
        conn.execute(text(f"REVOKE TEMPORARY ON DATABASE {pg_url.rsplit('/', 1)[1]} FROM PUBLIC"))
        conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    try:
        yield pg_url.replace("postgres@", f"{role}@", 1)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


@pytest.mark.db
def test_a_postgresql_superuser_is_named(tmp_path: Path, pg_url: str) -> None:
    found = check(_settings(tmp_path, pg_url), "finance")
    assert found.risks and found.risks[0].startswith("superuser")
    assert "can do more than read: superuser" in found.message()


@pytest.mark.db
def test_server_file_roles_and_writes_are_named(tmp_path: Path, select_only_pg: str) -> None:
    role = select_only_pg.split("//", 1)[1].split("@", 1)[0]
    admin = create_engine(select_only_pg.replace(f"{role}@", "postgres@", 1))
    with admin.begin() as conn:
        conn.execute(text(f"GRANT pg_read_server_files TO {role}"))
        conn.execute(text(f'GRANT INSERT ON "GL" TO {role}'))
    admin.dispose()
    risks = check(_settings(tmp_path, select_only_pg), "finance").risks
    assert "member of pg_read_server_files" in risks
    assert "INSERT/UPDATE/DELETE/TRUNCATE on 1 table(s)" in risks


@pytest.mark.db
def test_the_select_only_role_passes(tmp_path: Path, select_only_pg: str) -> None:
    settings = _settings(tmp_path, select_only_pg, '[safety]\nlegacy_role = "refuse"\n')
    found = check(settings, "finance")
    assert (found.risks, found.note) == ([], ""), found
    assert review(settings, ["finance"], "the run") == [found]


@pytest.mark.db
def test_refuse_stops_the_run_start_and_doctor_fails(
    tmp_path: Path, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, pg_url, '[safety]\nlegacy_role = "refuse"\n')
    project = load_project(MAPPINGS)
    assert policy(settings) == "refuse"
    with pytest.raises(LegacyRoleRefused) as refused:
        preflight.legacy_roles(settings, project)
    message = str(refused.value)
    assert message.startswith('the run refused ([safety] legacy_role = "refuse"): ')
    assert "legacy role of finance (postgresql" in message and "superuser" in message
    assert "\n" not in message
    finding = doctor._privileges(settings, "finance")
    assert (finding.status, finding.message.split(":")[0]) == ("fail", "can do more than read")
    warned = _settings(tmp_path / "w" if (tmp_path / "w").mkdir() is None else tmp_path, pg_url)
    with caplog.at_level(logging.WARNING, logger="migrate.legacy_role"):
        preflight.legacy_roles(warned, project)
    assert any("superuser" in r.getMessage() for r in caplog.records)
    assert doctor._privileges(warned, "finance").status == "warn"


@pytest.mark.db
def test_mariadb_file_and_write_grants_are_named(tmp_path: Path, mysql_url: str) -> None:
    risks = check(_settings(tmp_path, mysql_url), "finance").risks
    assert any(r.startswith("ALL PRIVILEGES on *.*") for r in risks)
    user = f"mig_ro_{uuid.uuid4().hex[:8]}"
    database = mysql_url.rsplit("/", 1)[1].split("?", 1)[0]
    admin = create_engine(mysql_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE USER '{user}'@'%'"))
        conn.execute(text(f"GRANT SELECT ON `{database}`.* TO '{user}'@'%'"))
    try:
        ro = mysql_url.replace("root@", f"{user}@", 1)
        clean = check(_settings(tmp_path, ro), "finance")
        assert (clean.risks, clean.note) == ([], ""), clean
        with admin.begin() as conn:
            conn.execute(text(f"GRANT FILE ON *.* TO '{user}'@'%'"))
        found = check(_settings(tmp_path, ro), "finance")
        assert found.risks == ["FILE on *.*"], found
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP USER '{user}'@'%'"))
        admin.dispose()


def test_a_writable_sqlite_file_is_a_note_never_refused(tmp_path: Path) -> None:
    db = tmp_path / "legacy.db"
    create_engine(f"sqlite:///{db}").connect().close()
    settings = _settings(tmp_path, f"sqlite:///{db}", '[safety]\nlegacy_role = "refuse"\n')
    found = review(settings, ["finance"], "the run")[0]
    assert found.risks == [] and found.note == "file writable by this user (opened read-only)"
    assert doctor._privileges(settings, "finance").status == "warn"


def test_an_unknown_policy_or_key_is_an_error(tmp_path: Path) -> None:
    from migrate.errors import ConfigError

    settings = _settings(tmp_path, "sqlite:///x.db", '[safety]\nlegacy_role = "maybe"\n')
    with pytest.raises(ConfigError, match="legacy_role must be 'warn' or 'refuse'"):
        policy(settings)
    settings = _settings(tmp_path, "sqlite:///x.db", '[safety]\nlegacy_rol = "refuse"\n')
    with pytest.raises(ConfigError, match=r"safety.toml:2: \[safety\] unknown key 'legacy_rol'"):
        policy(settings)


@pytest.mark.db
def test_the_documented_postgresql_role_is_select_only(tmp_path: Path, pg_url: str) -> None:
    """docs/how-to/run-a-migration.md's SQL, run as written (names made unique)."""
    doc = (Path(__file__).resolve().parents[2] / "docs/how-to/run-a-migration.md").read_text()
    block = doc.split("```sql\nCREATE ROLE migrator_ro", 1)[1].split("```", 1)[0]
    role, database = f"mig_ro_{uuid.uuid4().hex[:8]}", pg_url.rsplit("/", 1)[1]
    sql = ("CREATE ROLE migrator_ro" + block).replace("migrator_ro", role)
    sql = sql.replace(" finance ", f" {database} ").replace("'...'", "'x'")
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE TABLE "GL" ("ID" integer)'))
        for statement in sql.split(";"):
            code = "\n".join(ln.split("--")[0] for ln in statement.splitlines()).strip()
            if code:
                conn.execute(text(code))
    try:
        ro = pg_url.replace("postgres@", f"{role}@", 1)  # trust auth here: no password
        found = check(_settings(tmp_path, ro), "finance")
        assert (found.risks, found.note) == ([], ""), found
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()
