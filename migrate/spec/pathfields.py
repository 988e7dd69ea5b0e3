"""Which strings of a mapping name a file to read: declared by their type, found by walking.

A mapping is text anyone may propose, so each file it names is confined (issue 22, item 11:
``../../..`` to the password file was read). A spec field that names a file is typed
``Annotated[str, PathRule(...)]``, never a plain ``str``; :func:`named_paths` finds every
such field of a parsed spec, and :mod:`migrate.extract.files.confinement` checks each one
before a reader opens it, so a new kind of path is checked as soon as it is declared.
tests/hostile/test_named_paths.py fails on a spec field that looks like a path and is not
declared one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class PathRule:
    """How one kind of path is read: what the error calls it, the folder a relative path is
    taken from, and the sibling field naming an environment variable that overrides it (the
    operator then names the file, which is trusted)."""

    what: str
    relative_to: Literal["working folder", "mapping's folder"]
    env: str | None = None


@dataclass(frozen=True)
class NamedPath:
    """One path a spec names: its keys below the spec (for the mapping's line), its text as
    written, its rule, and the model holding it (where the ``env`` sibling is read)."""

    key: tuple[str, ...]
    raw: str
    rule: PathRule
    owner: BaseModel


def path_rule(info: FieldInfo) -> PathRule | None:
    """The field's :class:`PathRule`, if its type declares it a path."""
    return next((m for m in info.metadata if isinstance(m, PathRule)), None)


def named_paths(model: BaseModel, at: tuple[str, ...] = ()) -> Iterator[NamedPath]:
    """Every path ``model`` and the models inside it name, in declaration order."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = (*at, info.alias or name)
        rule = path_rule(info)
        if rule is not None:
            if value is not None:
                yield NamedPath(key, str(value), rule, model)
            continue
        yield from _inside(value, key)


def _inside(value: object, key: tuple[str, ...]) -> Iterator[NamedPath]:
    if isinstance(value, BaseModel):
        yield from named_paths(value, key)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _inside(item, (*key, str(i)))
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _inside(item, (*key, str(name)))
