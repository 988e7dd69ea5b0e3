"""``functools.cached_property`` without its lock.

On Python 3.11 ``cached_property`` takes one lock per *class* attribute, shared by every
instance, so the legacy side's scan and the staging side's scan (two instances of
:class:`~reconcile.reading.relation.Relation`, run at once by ``both_sides.both``) waited for
each other: the second took twice as long. Each side computes its own value once; no lock is needed
because a side is only ever asked from one thread at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

S = TypeVar("S")
T = TypeVar("T")


class cached(Generic[S, T]):  # noqa: N801 - used as a decorator, like cached_property
    """Compute on first access, then keep the value in the instance's ``__dict__``."""

    def __init__(self, fn: Callable[[S], T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: Any = None) -> cached[S, T]: ...

    @overload
    def __get__(self, obj: S, owner: Any = None) -> T: ...

    def __get__(self, obj: S | None, owner: Any = None) -> T | cached[S, T]:
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.name] = value  # frozen dataclasses too: their __dict__ is writable
        return value
