"""YAML reading that remembers where every key came from.

PyYAML's safe loader forgets line numbers and silently keeps the last of two duplicate
keys. Mappings are contracts, so both matter: this module composes the node tree, rejects
duplicate keys, and returns plain data together with a ``{key path: line}`` index used to
point every later error at ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from migrate.errors import Location, SpecError


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
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(Location(name, line, ""), f"invalid YAML: {problem}") from None
    lines: dict[str, int] = {}
    data = _to_python(node, (), lines, name) if node is not None else None
    return SourceText(name, data, lines)


def _to_python(node: yaml.Node, path: tuple[str, ...], lines: dict[str, int], name: str) -> Any:
    if path:
        lines.setdefault(".".join(path), node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(yaml.SafeLoader(io_empty()).construct_object(key_node))
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
    return yaml.SafeLoader(io_empty()).construct_object(node)


def io_empty() -> str:
    """An empty stream: a loader instance is only needed to construct scalars."""
    return ""
