"""YAML reading that remembers where every key came from.

PyYAML's safe loader forgets line numbers and silently keeps the last of two duplicate
keys. Mappings are contracts, so both matter: this module composes the node tree, rejects
duplicate keys, and returns plain data together with a ``{key path: line}`` index used to
point every later error at ``file:line``.

Mappings come from people, so their size is bounded before anything is built: a file over
:data:`MAX_BYTES` is refused, aliases may not add more than :data:`MAX_NODES` values (a
661-byte "billion laughs" once expanded to 659 MB) nor refer to the value holding them.
The expansion is counted on the composed node graph, where an alias is the anchored node
itself, shared, so counting is linear in the file and the refusal is immediate. Parsing
uses libyaml when PyYAML has it (a 2 MB file: 3 s instead of 21 s).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from migrate.errors import Location, SpecError

MAX_BYTES = 2 * 1024 * 1024  # a large mapping is a few hundred KB; 50 MB once took 300 s
MAX_NODES = 200_000  # values aliases may add; the shipped mappings use none


@dataclass(frozen=True)
class SourceText:
    """Parsed YAML plus the line of each dotted key path (``fields.AMOUNT.steps.0``)."""

    file: str
    data: Any
    lines: dict[str, int]

    def locate(self, path: tuple[str | int, ...]) -> Location:
        """The closest known line for a key path (walks up to the nearest ancestor)."""
        parts = [str(p) for p in path]
        while parts:
            line = self.lines.get(".".join(parts))
            if line is not None:
                return Location(self.file, line, ".".join(str(p) for p in path))
            parts.pop()
        return Location(self.file, 1, ".".join(str(p) for p in path))


def read_yaml(path: Path, display: str | None = None) -> SourceText:
    """Parse one YAML file; raise :class:`SpecError` with file and line on any problem."""
    name = display or str(path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SpecError(
            Location(name, 1, ""),
            f"file is {size:,} bytes, over the {MAX_BYTES:,} bytes a mapping file may hold; "
            "split it (one entity per file)",
        )
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(Location(name, line, ""), f"invalid YAML: {problem}") from None
    if node is not None:
        _check_expansion(node, name)
    lines: dict[str, int] = {}
    data = _to_python(node, (), lines, name) if node is not None else None
    return SourceText(name, data, lines)


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 7x faster


def _check_expansion(root: yaml.Node, name: str) -> None:
    """Refuse a value that contains itself, and aliases that add more than :data:`MAX_NODES`.

    In the composed graph an alias is the anchored node itself, shared; sizes are memoised
    per node, so the count costs one pass over the file's own nodes."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    shared: dict[int, yaml.Node] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            shared[key] = node
            return sizes[key]
        if key in open_nodes:
            raise _Cycle(node)
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(v) for v in node.value)
        open_nodes.discard(key)
        sizes[key] = total
        return total

    try:
        total = size(root)
    except _Cycle as cycle:
        raise SpecError(
            Location(name, cycle.node.start_mark.line + 1, ""),
            "an alias refers to the value that holds it (an endless value)",
        ) from None
    except RecursionError:
        raise SpecError(Location(name, 1, ""), "values nested too deeply") from None
    added = total - len(sizes)  # what the aliases add to the file's own values
    if added <= MAX_NODES:
        return
    worst = max(shared.values(), key=lambda n: (sizes[id(n)], -n.start_mark.line))
    raise SpecError(
        Location(name, worst.start_mark.line + 1, ""),
        f"aliases add {added:,} values to this file, over the {MAX_NODES:,} allowed (the "
        f"value anchored here expands to {sizes[id(worst)]:,} at each alias); write it out",
    )


class _Cycle(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


def _to_python(node: yaml.Node, path: tuple[str, ...], lines: dict[str, int], name: str) -> Any:
    if path:
        lines.setdefault(".".join(path), node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_scalars().construct_object(key_node))
            key_path = (*path, key)
            if key in out:
                first = lines.get(".".join(key_path))
                raise SpecError(
                    Location(name, key_node.start_mark.line + 1, ".".join(key_path)),
                    f"duplicate key {key!r} (first defined on line {first})",
                )
            lines[".".join(key_path)] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, key_path, lines, name)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, (*path, str(i)), lines, name) for i, v in enumerate(node.value)]
    return _scalars().construct_object(node)


class _Scalars(yaml.constructor.SafeConstructor):
    """Builds scalars (and key nodes) as the safe loader would, without remembering them:
    one instance serves every call (a new loader per scalar made reading 12 s per MB)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        finally:
            self.constructed_objects.clear()
            self.recursive_objects.clear()


_LOCAL = threading.local()


def _scalars() -> _Scalars:
    """This thread's constructor: it memoises while it builds, so threads cannot share one
    (a cutover loads mappings in several task threads at once)."""
    made: _Scalars | None = getattr(_LOCAL, "scalars", None)
    if made is None:
        made = _LOCAL.scalars = _Scalars()
    return made


def io_empty() -> str:
    """An empty stream: a loader instance is only needed to construct scalars."""
    return ""
