"""What the legacy role could do beyond reading, checked before it is trusted.

Legacy sessions are opened read-only (``migrate.db.readonly_engine``), but a READ ONLY
session is only a promise the server keeps for ordinary writes: a PostgreSQL superuser in
one could still read the server's files (``pg_read_file``, ``COPY ... FROM``, ``lo_import``)
and a MariaDB role with ``FILE`` could write them (``SELECT ... INTO OUTFILE``). The role is
the lock that holds, so ``migrate doctor``, ``mappings check`` and every run start ask the
server what the role may do, and warn, or refuse when ``migrate.toml`` says so::

    [safety]
    legacy_role = "refuse"   # or "warn" (the default)

``MIGRATE_LEGACY_ROLE=refuse|warn`` overrides the file. The role a DBA should create is in
docs/how-to/run-a-migration.md ("A read-only legacy role"): LOGIN, SELECT on the tables
the mappings read, nothing else. A SQLite legacy file the migration's user may write is a
note only: the file is opened read-only, and a file has no roles to check.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from migrate.config import Settings, redact
from migrate.errors import ConfigError, TerminalError

log = logging.getLogger("migrate.legacy_role")

ENV = "MIGRATE_LEGACY_ROLE"
POLICIES = ("warn", "refuse")
SAFETY_KEYS = ("legacy_role", "file_roots")
_SERVER_FILE_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
_READ_ONLY_GRANTS = {"SELECT", "SHOW VIEW", "USAGE"}


class LegacyRoleRefused(TerminalError):
    """``legacy_role = "refuse"`` and a legacy role can do more than read."""


@dataclass(frozen=True)
class RoleCheck:
    """What one legacy connection's role may do beyond SELECT (``risks``), or a note."""

    system: str
    url: str
    risks: list[str] = field(default_factory=list)
    note: str = ""
    unknown: bool = False  # the server would not say: never taken as SELECT only

    def message(self) -> str:
        where = f"legacy role of {self.system} ({redact(self.url)})"
        if self.risks:
            return f"{where} can do more than read: {'; '.join(self.risks)}"
        return f"{where}: {self.note}" if self.note else f"{where}: SELECT only"


def safety(settings: Settings) -> dict[str, Any]:
    """The ``[safety]`` table of the config file (empty when there is none)."""
    named = settings.extra.get("config_file")
    return safety_table(Path(str(named)) if named else settings.workdir / "migrate.toml")


def safety_table(path: Path) -> dict[str, Any]:
    """``[safety]`` of the config file at ``path``, its keys checked (file:line)."""
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text).get("safety", {})
    except tomllib.TOMLDecodeError:
        return {}  # the config loader reports a broken file itself
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:{_line(text, 'safety')}: [safety] must be a table")
    for key in data:
        if key not in SAFETY_KEYS:
            raise ConfigError(
                f"{path}:{_line(text, key)}: [safety] unknown key {key!r}{_hint(key, SAFETY_KEYS)}"
            )
    role = data.get("legacy_role")
    if role is not None and role not in POLICIES:
        raise ConfigError(
            f"{path}:{_line(text, 'legacy_role')}: [safety] legacy_role must be 'warn' or "
            f"'refuse', not {role!r}{_hint(str(role), POLICIES, none=True)}"
        )
    return data


def _hint(word: str, known: tuple[str, ...], none: bool = False) -> str:
    """`` (did you mean 'x'?)``, else the known words (nothing when ``none``)."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return "" if none else f" (known: {', '.join(known)})"


def check_environment() -> None:
    """``MIGRATE_LEGACY_ROLE``, when set, is a policy: checked when the config loads, not
    first when a run reaches a legacy connection (a misspelt ``refuze`` must not pass)."""
    value = os.environ.get(ENV)
    if value and value not in POLICIES:
        raise ConfigError(
            f"{ENV} must be 'warn' or 'refuse', not {value!r}{_hint(value, POLICIES, none=True)}"
        )


def file_roots(path: Path) -> list[Path]:
    """``[safety] file_roots``: folders (relative to the config file) flat files may be in."""
    roots = safety_table(path).get("file_roots", [])
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        where = f"{path}:{_line(text, 'file_roots')}"
        raise ConfigError(f"{where}: file_roots must be a list of folders")
    out = [(path.parent / r).resolve() for r in roots]
    for folder in out:
        if not folder.is_dir():
            where = f"{path}:{_line(text, 'file_roots')}"
            raise ConfigError(f"{where}: [safety] file_roots: no such folder {folder}")
    return out


def _line(text: str, key: str) -> int:
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith((f"{key} ", f"{key}=", f"[{key}]")):
            return n
    return 1


def policy(settings: Settings) -> str:
    """``warn`` or ``refuse``: the environment, else ``[safety] legacy_role``, else warn."""
    value = os.environ.get(ENV) or safety(settings).get("legacy_role") or "warn"
    if value not in POLICIES:
        raise ConfigError(f"legacy_role must be 'warn' or 'refuse', not {value!r}")
    return str(value)


def check(settings: Settings, system: str) -> RoleCheck:
    """Ask the server what the role of ``system``'s connection may do (read only)."""
    from migrate.db import readonly_engine
    from migrate.reach import sqlite_path

    url = settings.url(system)
    file = sqlite_path(url)
    if file is not None:
        writable = file.exists() and os.access(file, os.W_OK)
        note = "file writable by this user (opened read-only)" if writable else "read-only file"
        return RoleCheck(system, url, note=note)
    engine = readonly_engine(url)
    try:
        with engine.connect() as conn:
            risks = _postgresql(conn) if engine.dialect.name == "postgresql" else _mariadb(conn)
    except Exception as exc:  # noqa: BLE001 - a privilege query the server refuses
        note = f"privileges not read ({type(exc).__name__})"
        return RoleCheck(system, url, note=note, unknown=True)
    finally:
        engine.dispose()
    return RoleCheck(system, url, risks)


def _postgresql(conn: Any) -> list[str]:
    risks: list[str] = []
    one = conn.execute(
        text("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user")
    ).one()
    if one[0]:
        risks.append("superuser (reads and writes server files: pg_read_file, COPY, lo_import)")
    if one[1]:
        risks.append("CREATEROLE")
    for role in _SERVER_FILE_ROLES:
        member = conn.execute(
            text("SELECT pg_has_role(current_user, :r, 'MEMBER')"), {"r": role}
        ).scalar()
        if member and not one[0]:
            risks.append(f"member of {role}")
    writable = conn.execute(
        text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg\\_toast%' AND ("
            "has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE') "
            "OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'))"
        )
    ).scalar()
    if writable:
        risks.append(f"INSERT/UPDATE/DELETE/TRUNCATE on {writable} table(s)")
    schemas = conn.execute(
        text(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
            "AND nspname <> 'information_schema' AND has_schema_privilege(oid, 'CREATE') "
            "ORDER BY nspname"
        )
    ).scalars()
    names = list(schemas)
    if names:
        risks.append(f"CREATE in schema {', '.join(names)}")
    if conn.execute(text("SELECT has_database_privilege(current_database(), 'CREATE')")).scalar():
        risks.append("CREATE on the database")
    return risks


def _mariadb(conn: Any) -> list[str]:
    """Every privilege beyond reading that ``SHOW GRANTS`` lists, with where it applies."""
    risks: list[str] = []
    for (grant,) in conn.execute(text("SHOW GRANTS")).all():
        m = re.match(r"GRANT (.+?) ON (\S+) TO", str(grant), re.I)
        if m is None:
            continue
        privileges = [p.strip().upper() for p in m.group(1).split(",")]
        beyond = [p for p in privileges if p not in _READ_ONLY_GRANTS]
        if beyond:
            risks.append(f"{', '.join(beyond)} on {m.group(2)}")
        if "WITH GRANT OPTION" in str(grant).upper():
            risks.append(f"GRANT OPTION on {m.group(2)}")
    return risks


def review(settings: Settings, systems: Iterable[str], when: str) -> list[RoleCheck]:
    """Check each system's role; under ``refuse`` a role that can do more than read, or
    whose privileges the server would not tell, stops here (one line naming every such
    role); under ``warn`` each is logged as a warning."""
    found = [check(settings, s) for s in sorted(set(systems))]
    risky = [c for c in found if c.risks or c.unknown]
    if risky and policy(settings) == "refuse":
        raise LegacyRoleRefused(
            f'{when} refused ([safety] legacy_role = "refuse"): '
            + " | ".join(c.message() for c in risky)
            + "; give the migration a SELECT-only role (docs/how-to/run-a-migration.md)"
        )
    for c in risky:
        log.warning("%s", c.message())
    return found
