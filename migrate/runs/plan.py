"""``migrate run --dry-run``: what a run would do, written nowhere.

The entities in the order they would run, each one's source (system and table, or file)
and its row count now, and the staging table and database it would be staged into. Nothing
is created: staging is not opened, and a rehearsal's clearing of earlier rehearsals is only
said.
"""

from __future__ import annotations

from pathlib import Path

from migrate.config import Settings, redact
from migrate.runs.locate import staging_target
from migrate.runs.runner import count_source_rows
from migrate.spec.loader import load_project


def plan_run(settings: Settings, mappings: Path, mode: str, entities: list[str] | None) -> str:
    """The plan as lines a person reads."""
    project = load_project(mappings, entities)
    counts = count_source_rows(settings, project)
    url, schema = staging_target(settings, mode)
    where = redact(url) + (f" (schema {schema})" if schema else "")
    lines = [f"plan of a {mode} run into {where}:"]
    head = f"{'#':>3} {'entity':<24}{'source':<34}{'rows':>10}  staged into"
    lines += [head, "-" * len(head)]
    for number, name in enumerate(project.order, start=1):
        spec = project.spec(name)
        if spec.source.file is not None:
            source, rows = f"file {Path(spec.source.file.path).name}", "?"
        else:
            source = f"{spec.source.system}.{spec.source.table}"
            rows = f"{counts.get(name, 0):,}"
        lines.append(f"{number:>3} {name:<24}{source:<34}{rows:>10}  {spec.target.table}")
    if mode == "rehearsal":
        lines.append("a rehearsal first rolls back the earlier rehearsals in its own staging")
    lines.append("dry run: nothing written")
    return "\n".join(lines)
