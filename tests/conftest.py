"""Shared fixtures: throwaway PostgreSQL and MariaDB databases, realdata location.

Tests that need a server are marked ``db``; they skip when the server is unreachable on a
laptop, and ``.ci/run`` turns any such skip into a failure (CI=true).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from migrate.config import CONNECTION_NAMES

PG_ADMIN = os.environ.get(
    "MIGRATE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MYSQL_ADMIN = os.environ.get("MIGRATE_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test")
REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """Skip on a laptop; in CI a missing server or realdata is a failure, not a skip."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def _server_up(url: str) -> bool:
    try:
        with create_engine(url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _fresh_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def pg_server() -> str:
    if not _server_up(PG_ADMIN):
        skip_or_fail("needs PostgreSQL at 127.0.0.1:5432 (server unreachable)")
    return PG_ADMIN


@pytest.fixture(scope="session")
def mysql_server() -> str:
    if not _server_up(MYSQL_ADMIN):
        skip_or_fail("needs MariaDB at 127.0.0.1:3306 (server unreachable)")
    return MYSQL_ADMIN


def make_pg_database(admin_url: str) -> str:
    """Create an empty PostgreSQL database; returns its URL."""
    name = _fresh_name("mig_test")
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def make_mysql_database(admin_url: str) -> str:
    name = _fresh_name("mig_test")
    engine = create_engine(admin_url)
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}?charset=utf8mb4"


def drop_mysql_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]
    engine = create_engine(admin_url)
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def no_env_urls() -> Iterator[None]:
    """Connections come from each test's own settings, never from ``MIGRATE_*_URL`` set in
    the shell that runs the tests (a developer's, CI's): cleared for the whole session, so
    module-scoped estates, built before any per-test fixture, do not see them either. Tests
    that need one set it themselves (``monkeypatch.setenv``)."""
    with pytest.MonkeyPatch.context() as mp:
        for name in CONNECTION_NAMES:
            mp.delenv(f"MIGRATE_{name.upper()}_URL", raising=False)
        yield


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = make_pg_database(pg_server)
    try:
        yield url
    finally:
        drop_pg_database(pg_server, url)


@pytest.fixture
def staging_pg(pg_server: str) -> Iterator[str]:
    """A second fresh PostgreSQL database, for staging beside a legacy one (``pg_url``)."""
    url = make_pg_database(pg_server)
    try:
        yield url
    finally:
        drop_pg_database(pg_server, url)


@pytest.fixture
def mysql_url(mysql_server: str) -> Iterator[str]:
    """A fresh, empty MariaDB database for one test, dropped afterwards."""
    url = make_mysql_database(mysql_server)
    try:
        yield url
    finally:
        drop_mysql_database(mysql_server, url)


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        skip_or_fail(f"needs ../shared/realdata (not found at {REALDATA})")
    return REALDATA


@pytest.fixture
def latin1_url(pg_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database in LATIN1 (a staging whose encoding is not UTF-8)."""
    name = f"mig_latin1_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                f"CREATE DATABASE {name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' "
                "TEMPLATE template0"
            )
        )
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def _tmp_is_a_file_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests write mappings that name their flat files under pytest's temporary folder by
    absolute path; a user would declare such a folder in ``[safety] file_roots``
    (docs/how-to/run-a-migration.md). The confinement itself is tested with no root
    declared in tests/hostile/test_file_roots.py, which removes this one."""
    if os.environ.get("MIGRATE_FILE_ROOTS"):
        yield
        return
    os.environ["MIGRATE_FILE_ROOTS"] = str(tmp_path_factory.getbasetemp())
    yield
    os.environ.pop("MIGRATE_FILE_ROOTS", None)
