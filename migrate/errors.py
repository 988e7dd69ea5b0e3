"""One exception tree for the whole project.

    MigrationError
    ├── TerminalError            stop the entity; retrying will not help
    │   ├── ConfigError          bad connection config or CLI input
    │   │   └── ConnectionFailed a named connection cannot be used (down, missing, read-only)
    │   ├── SpecError            a mapping file is wrong (carries file, line, key path)
    │   │   └── SpecErrors       several SpecError found at once
    │   ├── SchemaMismatch       mapping does not fit the live source or staging schema
    │   ├── BlockingCodeError    an unmapped code in a crosswalk declared ``on_missing: block``
    │   ├── RunStateError        unknown run id, resuming a finished run, ...
    │   └── RunFailed            an unforeseen exception stopped an entity (said in one line)
    └── TransientError           lost connection, deadlock, lock timeout: retry with back-off

Only ``TransientError`` is retried (the dlt convention: mark each failure transient or terminal).
An error that stops a run carries a note (``add_note``) saying how to resume it; the command
line prints it on the error's one line.
"""

from __future__ import annotations

from dataclasses import dataclass


class MigrationError(Exception):
    """Root of every error this project raises on purpose."""


class TerminalError(MigrationError):
    """A failure that a retry cannot fix."""


class TransientError(MigrationError):
    """A failure worth retrying (connection lost, deadlock, lock timeout)."""


class ConfigError(TerminalError):
    """Bad configuration: unknown connection name, malformed URL, bad CLI value."""


class ConnectionFailed(ConfigError):
    """A named connection cannot be used: server down, database or file missing, login
    refused, or a staging that cannot be written. Its own exit code on the command line (4),
    so a script never reads "server down" as a FAIL verdict."""


@dataclass(frozen=True)
class Location:
    """Where in a mapping file a problem is: file, 1-based line, dotted key path."""

    file: str
    line: int | None
    path: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.path}" if self.path else where


class SpecError(TerminalError):
    """A mapping file is invalid; the message starts with ``file:line key.path:``."""

    def __init__(self, location: Location, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")


class SpecErrors(TerminalError):
    """Every problem found in one pass over the mappings, so a user fixes them all at once."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class SchemaMismatch(TerminalError):
    """A mapping refers to a column or table the live database does not have."""


class BlockingCodeError(TerminalError):
    """A crosswalk marked ``on_missing: block`` met a legacy code it does not cover."""


class RunStateError(TerminalError):
    """The run id is unknown, or the run is in a state that forbids the request."""


class RunFailed(TerminalError):
    """An unforeseen exception stopped a run's entity; the message says in one line where
    (entity, chunk, rows, column) and the run is left resumable."""
