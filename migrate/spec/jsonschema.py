"""The JSON Schema of the mapping language, generated from the pydantic models for editors.

Point an editor's YAML language server at it (``# yaml-language-server: $schema=...``) to
get completion and inline errors while writing mappings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from migrate.spec.model import EntitySpec
from migrate.spec.steps import STEP_ARGS


def json_schema() -> dict[str, Any]:
    schema = EntitySpec.model_json_schema(by_alias=True)
    step_variants: list[dict[str, Any]] = []
    for name, (model, primary) in sorted(STEP_ARGS.items()):
        args = model.model_json_schema()
        options: list[dict[str, Any]] = [args]
        if primary is not None:
            options.append(args["properties"][primary])
        if not args.get("properties"):
            step_variants.append({"const": name})
        step_variants.append(
            {
                "type": "object",
                "properties": {name: {"anyOf": options}},
                "required": [name],
                "additionalProperties": False,
            }
        )
    defs = schema.setdefault("$defs", {})
    defs["Step"] = {"anyOf": step_variants, "description": "one step of a field rule"}
    field_def = defs.get("Field_", {})
    if "properties" in field_def:
        field_def["properties"]["steps"] = {"type": "array", "items": {"$ref": "#/$defs/Step"}}
    schema["title"] = "ERP migration mapping"
    return schema


def write_json_schema(path: Path) -> Path:
    path.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
