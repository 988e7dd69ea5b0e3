"""Named connections: legacy finance, HR, procurement and the staging target.

Resolution order for each name: environment variable ``MIGRATE_<NAME>_URL``, then the
``[connections]`` table of a TOML config file (``migrate.toml`` in the working folder, or
``--config``), then a SQLite file in the working folder. Credentials belong in the
environment; :func:`redact` strips passwords before a URL is ever shown or logged. The file
may also name the project's target definitions folder (``targets = "path"``, relative to
the file), used instead of ``targets/`` beside the mappings.
"""

from __future__ import annotations

import difflib
import os
import re
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
    targets: Path | None = None

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
    targets: Path | None = None
    path = config_file or workdir / "migrate.toml"
    if config_file is not None and not path.exists():
        raise ConfigError(f"config file not found: {path}")
    if path.exists():
        file_urls, schema = _read_file(path)
        targets = _targets(path)
    urls: dict[str, str] = {}
    for name in CONNECTION_NAMES:
        env = os.environ.get(f"MIGRATE_{name.upper()}_URL")
        urls[name] = postgresql(
            env or file_urls.get(name) or f"sqlite:///{workdir / DEFAULT_FILES[name]}"
        )
        _check_url(name, urls[name])
    schema = os.environ.get("MIGRATE_STAGING_SCHEMA", schema)
    from migrate.staging.catalog import configure_targets

    configure_targets(targets)  # the project's loader declares them (or discovers them)
    from migrate.extract.files.dispatch import declare_roots
    from migrate.legacy_role import check_environment, file_roots  # [safety] (issue 22)

    check_environment()
    declare_roots(file_roots(path))  # every [safety] key and value checked, at its line
    extra: dict[str, object] = {"config_file": str(path)} if path.exists() else {}
    return Settings(urls=urls, workdir=workdir, staging_schema=schema, targets=targets, extra=extra)


TOP_LEVEL_KEYS: tuple[str, ...] = ("connections", "staging_schema", "targets", "safety")


def _targets(path: Path) -> Path | None:
    """The ``targets`` folder the file names (relative to the file), which must exist."""
    text = path.read_text(encoding="utf-8")
    value = tomllib.loads(text).get("targets")
    if value is None:
        return None
    line = _line_of(text, "targets")
    if not isinstance(value, str):
        raise ConfigError(f"{path}:{line}: targets must be text (a folder of target definitions)")
    folder = (path.parent / value).resolve()
    if not folder.is_dir():
        raise ConfigError(f"{path}:{line}: targets: no such folder {folder}")
    return folder


def _read_file(path: Path) -> tuple[dict[str, str], str | None]:
    """The ``[connections]`` URLs and ``staging_schema`` of a config file, every key checked:
    a misspelt key is an error naming its line (it would otherwise fall back to a default),
    and a password is refused (credentials come from the environment)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise _unknown(path, text, key, TOP_LEVEL_KEYS, "unknown key")
    conns = data.get("connections", {})
    if not isinstance(conns, dict):
        raise ConfigError(f"{path}:{_line_of(text, 'connections')}: [connections] must be a table")
    for name, url in conns.items():
        if name not in CONNECTION_NAMES:
            raise _unknown(path, text, name, CONNECTION_NAMES, "unknown connection")
        if not isinstance(url, str):
            raise ConfigError(f"{path}:{_line_of(text, name)}: connection {name!r} must be a URL")
        if _has_password(url):
            raise ConfigError(
                f"{path}:{_line_of(text, name)}: connection {name!r} holds a password; "
                f"remove it and set MIGRATE_{name.upper()}_URL in the environment "
                "(or use the database's own password file, e.g. ~/.pgpass)"
            )
    schema = data.get("staging_schema")
    if schema is not None and not isinstance(schema, str):
        line = _line_of(text, "staging_schema")
        raise ConfigError(f"{path}:{line}: staging_schema must be text (a schema name)")
    return {str(k): str(v) for k, v in conns.items()}, schema


def postgresql(url: str) -> str:
    """``postgres://`` (as Heroku, libpq and many PaaS write it) read as ``postgresql://``,
    the only spelling SQLAlchemy knows."""
    for old in ("postgres://", "postgres+"):
        if url.startswith(old):
            return "postgresql" + url[len("postgres") :]
    return url


def _unknown(path: Path, text: str, key: str, known: tuple[str, ...], what: str) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
    return ConfigError(f"{path}:{_line_of(text, key)}: {what} {key!r}{hint}")


def _line_of(text: str, key: str) -> int:
    """The first line declaring ``key`` as a table (``[key]``) or a key (``key =``)."""
    pattern = re.compile(
        rf"^\s*(\[\s*[\"']?{re.escape(key)}[\"']?\s*\]|[\"']?{re.escape(key)}[\"']?\s*=)"
    )
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return 1


def _has_password(url: str) -> bool:
    try:
        return make_url(url).password is not None
    except Exception:
        return False  # a malformed URL is reported by _check_url, redacted


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
