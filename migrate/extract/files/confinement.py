"""The files a mapping may name: every path it declares is checked here before it is opened.

A mapping may not name any file on the machine (issue 22, item 11: ``../../..`` to the
system's password file was staged; a copybook's path was read wherever it pointed, and a
parse error then printed its first line). The mapping's text is the part to distrust; the
operator's environment and ``migrate.toml`` are trusted. So each path a mapping names (each
field its spec types as a path, :mod:`migrate.spec.pathfields`: the flat file's ``path:``,
a fixed-width layout's ``copybook:``) must be relative to its folder (the working folder,
or the mapping's folder for a copybook) without ``..``, or start with a ``${MIGRATE_...}``
variable (the folder it names is the root; no ``..`` after it), or be overridden by its
``env:`` variable when that is set (the operator names the file), or lie under a root the
operator declared: ``[safety] file_roots`` in ``migrate.toml`` or ``MIGRATE_FILE_ROOTS``
(folders separated by ``:``).

:func:`check` is the one check. :func:`confine` and :func:`refusals` run it on every path a
source names, and :func:`named_file` hands a reader the path it may open, checked; the
readers (the pipeline's and reconciliation's) take a copybook's path from nowhere else. No
reading code lives here, so reconciliation may use it without sharing the pipeline's reader.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from migrate.errors import SchemaMismatch
from migrate.spec.flatfile import FlatFile
from migrate.spec.pathfields import NamedPath, named_paths

ROOTS_ENV = "MIGRATE_FILE_ROOTS"
_LEADING_VAR = re.compile(r"^\$(?:\{(MIGRATE_\w+)\}|(MIGRATE_\w+))(.*)$", re.S)
_DECLARED: list[Path] = []


class PathRefused(SchemaMismatch):
    """A path the mapping may not name; ``key`` is where it sits below ``source.file``."""

    def __init__(self, key: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.key = key


def declare_roots(roots: Iterable[Path]) -> None:
    """The folders ``[safety] file_roots`` declares (the settings loader calls this)."""
    _DECLARED[:] = [Path(r).resolve() for r in roots]


def declared_roots() -> list[Path]:
    """``[safety] file_roots`` and ``MIGRATE_FILE_ROOTS``, resolved."""
    extra = [Path(p).resolve() for p in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if p]
    return [*_DECLARED, *extra]


def check(named: NamedPath, resolved: Path | None) -> None:
    """Refuse a path the mapping's text may not name (see the module's docstring).

    ``resolved`` is the file the reader would open; ``None`` when its folder is unknown
    (then only what the text alone allows passes, or an absolute path under a root). When
    it is known, the file it really is (symbolic links followed) must lie in the folder the
    text is relative to: the mapping's folder is the part anyone may propose, and git
    carries symbolic links, so a link there to a file outside is refused like the path."""
    env = named.rule.env and getattr(named.owner, named.rule.env)
    if env and os.environ.get(env):
        return  # the operator named the file itself
    tail = _text_tail(named.raw)
    if tail is not None and (
        resolved is None or _real(resolved).is_relative_to(_real(_less(resolved, tail)))
    ):
        return
    unset = unset_variables(named.raw)
    if unset:  # a folder the operator has not named yet, not one to declare as a root
        raise PathRefused(
            named.key,
            f"{named.rule.what} {named.raw!r} is outside the folders a mapping may read:{unset}",
        )
    if resolved is None and Path(os.path.expandvars(named.raw)).is_absolute():
        resolved = Path(os.path.expandvars(named.raw))
    shown = _real(resolved) if resolved is not None else None
    if shown is not None and any(shown.is_relative_to(root) for root in declared_roots()):
        return
    linked = (
        f"; it is a symbolic link to {shown}"
        if shown is not None and resolved is not None and shown != resolved.absolute()
        else ""
    )
    raise PathRefused(
        named.key,
        f"{named.rule.what} {named.raw!r} is outside the folders a mapping may read "
        f"({shown or 'its folder unknown'}{linked}): name it relative to the "
        f"{named.rule.relative_to} without '..', or declare its folder in "
        f"[safety] file_roots of migrate.toml or {ROOTS_ENV}",
    )


def unset_variables(raw: str) -> str:
    """What to do when a path's ``${MIGRATE_...}`` variable is unset or empty (``''`` when
    every one is set): ``os.path.expandvars`` leaves it as text, so "not found" or "outside
    the folders" would name a folder literally called ``${MIGRATE_REALDATA}`` rather than
    the variable to export."""
    names = [a or b for a, b in re.findall(r"\$(?:\{(MIGRATE_\w+)\}|(MIGRATE_\w+))", raw)]
    unset = sorted({n for n in names if not os.environ.get(n, "").strip()})
    if not unset:
        return ""
    named = ", ".join(unset)
    return f" {named} is not set (or empty): export it, naming the folder the path starts in"


def _real(path: Path) -> Path:
    """The file a path really opens: absolute, symbolic links followed (it may not exist)."""
    return Path(os.path.realpath(path))


def _text_tail(raw: str) -> tuple[str, ...] | None:
    """The parts of the path below the folder its text keeps it in, or None when the text
    alone may not stay: a relative path without ``..`` (below the folder it is relative
    to), or one led by a ``${MIGRATE_...}`` variable with no ``..`` after it (below the
    folder the variable names; a variable unset or empty names none, and the rest would be
    read as an absolute path)."""
    text = raw.replace("\\", "/")
    leading = _LEADING_VAR.match(text)
    if leading is not None:
        rest = leading.group(3)
        value = os.environ.get(leading.group(1) or leading.group(2), "")
        if not value.strip() or "$" in rest or ".." in Path(rest.lstrip("/")).parts:
            return None
        return Path(rest.lstrip("/")).parts
    if "$" not in text and not Path(text).is_absolute() and ".." not in Path(text).parts:
        return Path(text).parts
    return None


def _less(path: Path, tail: tuple[str, ...]) -> Path:
    """``path`` without its last ``len(tail)`` parts: the folder the text is relative to."""
    for _ in tail:
        path = path.parent
    return path


def resolve(raw: str, folder: Path) -> Path:
    """A path relative to the mapping's folder as a reader opens it (variables expanded)."""
    path = Path(os.path.expandvars(raw))
    return path if path.is_absolute() else folder / path


def _resolved(named: NamedPath, path: Path, base_dir: Path | None) -> Path | None:
    """The file the reader opens for ``named``: the source's own file (``path``, resolved
    by the caller from the ``env:`` variable or the working folder), or one relative to
    the mapping's folder."""
    if named.rule.relative_to == "working folder":
        if named.key != ("path",):
            raise TypeError(f"{named.key}: only the source's own file is relative to the workdir")
        return path
    return None if base_dir is None else resolve(named.raw, base_dir)


def refusals(f: FlatFile, path: Path, base_dir: Path | None) -> list[PathRefused]:
    """Every path the file declaration names that the mapping may not name, in order.

    ``path``: the data file as resolved for reading; ``base_dir``: the mapping's folder
    (``None`` when unknown: a relative path with ``..`` there is then refused)."""
    out: list[PathRefused] = []
    for named in named_paths(f):
        try:
            check(named, _resolved(named, path, base_dir))
        except PathRefused as exc:
            out.append(exc)
    return out


def confine(f: FlatFile, path: Path, base_dir: Path | None = None) -> None:
    """Refuse the source if any path it names is one the mapping may not name."""
    refused = refusals(f, path, base_dir)
    if refused:
        raise refused[0]


def named_file(f: FlatFile, key: tuple[str, ...], base_dir: Path) -> Path:
    """The file a reader opens for the path at ``key`` (relative to the mapping's folder),
    checked: the only way a reader gets a copybook's path."""
    for named in named_paths(f):
        if named.key == key:
            resolved = resolve(named.raw, base_dir)
            check(named, resolved)
            return resolved
    raise SchemaMismatch(f"{f.path}: declares no {'.'.join(key)}")
