"""The estate loads on PostgreSQL and MariaDB exactly as on SQLite (counts and content)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.estate.build import build_estate, default_urls
from fixtures.estate.load import content_digest
from fixtures.estate.schema import SYSTEMS

pytestmark = pytest.mark.db
SCALE = 400


@pytest.fixture(scope="module")
def sqlite_digests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("sqlite_estate")
    build_estate(default_urls(folder), folder / "extracts", SCALE, seed=11)
    return {s: content_digest(default_urls(folder)[s], s) for s in SYSTEMS}


def _same_as_sqlite(url: str, tmp_path: Path, expected: dict[str, object]) -> None:
    manifest = build_estate({s: url for s in SYSTEMS}, tmp_path / "extracts", SCALE, seed=11)
    got = {s: content_digest(url, s) for s in SYSTEMS}
    assert got == expected
    for system, tables in got.items():
        for table, (rows, _) in tables.items():
            assert manifest.row_counts[system][table] == rows


def test_postgresql_matches_sqlite(
    pg_url: str, tmp_path: Path, sqlite_digests: dict[str, object]
) -> None:
    _same_as_sqlite(pg_url, tmp_path, sqlite_digests)


def test_mariadb_matches_sqlite(
    mysql_url: str, tmp_path: Path, sqlite_digests: dict[str, object]
) -> None:
    _same_as_sqlite(mysql_url, tmp_path, sqlite_digests)


def test_rebuild_replaces_tables(pg_url: str, tmp_path: Path) -> None:
    """Building twice into the same database drops and re-creates: no doubled rows."""
    first = build_estate({s: pg_url for s in SYSTEMS}, tmp_path / "a", SCALE, seed=11)
    second = build_estate({s: pg_url for s in SYSTEMS}, tmp_path / "b", SCALE, seed=11)
    assert first.row_counts == second.row_counts
    assert content_digest(pg_url, "finance")["GLJRNL"][0] == first.row_counts["finance"]["GLJRNL"]
