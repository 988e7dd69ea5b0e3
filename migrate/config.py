"""Named connections: legacy finance, HR, procurement and the staging target.

Resolution order for each name: environment variable ``MIGRATE_<NAME>_URL``, then the
``[connections]`` table of a TOML config file (``migrate.toml`` in the working folder, or
``--config``), then a SQLite file in the working folder. Credentials belong in the
environment; :func:`redact` strips passwords before a URL is ever shown or logged.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from migrate.errors import ConfigError

LEGACY_SYSTEMS: tuple[str, ...] = ("finance", "hr", "procurement")
STAGING = "staging"
CONNECTION_NAMES: tuple[str, ...] = (*LEGACY_SYSTEMS, STAGING)
DEFAULT_FILES: dict[str, str] = {
    "finance": "legacy_finance.db",
    "hr": "legacy_hr.db",
    "procurement": "legacy_procurement.db",
    "staging": "staging.db",
}


@dataclass(frozen=True)
class Settings:
    """Where each named connection points, and where artifacts are written."""

    urls: dict[str, str]
    workdir: Path
    staging_schema: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def url(self, name: str) -> str:
        try:
            return self.urls[name]
        except KeyError:
            known = ", ".join(CONNECTION_NAMES)
            raise ConfigError(f"unknown connection {name!r} (known: {known})") from None

    @property
    def artifacts(self) -> Path:
        """Folder for workbooks, JSON reports, lineage events and the audit log."""
        path = self.workdir / "artifacts"
        path.mkdir(parents=True, exist_ok=True)
        return path


def load_settings(workdir: Path | None = None, config_file: Path | None = None) -> Settings:
    """Resolve every named connection (env, then config file, then SQLite default)."""
    workdir = (workdir or Path.cwd()).resolve()
    file_urls: dict[str, str] = {}
    schema: str | None = None
    path = config_file or workdir / "migrate.toml"
    if config_file is not None and not path.exists():
        raise ConfigError(f"config file not found: {path}")
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        conns = data.get("connections", {})
        if not isinstance(conns, dict):
            raise ConfigError(f"{path}: [connections] must be a table")
        unknown = set(conns) - set(CONNECTION_NAMES)
        if unknown:
            raise ConfigError(f"{path}: unknown connection(s) {sorted(unknown)}")
        file_urls = {str(k): str(v) for k, v in conns.items()}
        schema = data.get("staging_schema")
    urls: dict[str, str] = {}
    for name in CONNECTION_NAMES:
        env = os.environ.get(f"MIGRATE_{name.upper()}_URL")
        urls[name] = env or file_urls.get(name) or f"sqlite:///{workdir / DEFAULT_FILES[name]}"
        _check_url(name, urls[name])
    schema = os.environ.get("MIGRATE_STAGING_SCHEMA", schema)
    return Settings(urls=urls, workdir=workdir, staging_schema=schema)


def _check_url(name: str, url: str) -> None:
    try:
        make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError; keep the message
        raise ConfigError(f"connection {name!r}: malformed URL {redact(url)!r}") from exc


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``: safe for logs, lineage and workbooks."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"
