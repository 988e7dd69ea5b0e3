"""Load mapping files into checked specs, with every error pointing at ``file:line``.

``load_project`` reads every ``*.yaml`` under ``mappings/`` (one entity per file), the
crosswalk CSVs under ``mappings/crosswalks/`` and the project's own target definitions
(:mod:`migrate.targets.declared`: ``targets/`` inside or beside the mappings folder, declared to
staging so every command sees those tables), then checks what spans files: entity names
are unique, crosswalks and key-map domains referred to exist, and the dependency graph
derived from lookups has no cycle. All problems are collected and raised together.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from migrate.config import LEGACY_SYSTEMS
from migrate.errors import Location, SpecError, SpecErrors
from migrate.spec.checkrefs import check_references
from migrate.spec.model import EntitySpec, Field_
from migrate.spec.steps import CrosswalkArgs, StepError, parse_step, suggest
from migrate.spec.variants import variant_errors
from migrate.spec.yamlsource import SourceText, read_yaml

if TYPE_CHECKING:
    from migrate.targets.loader import LoadedTable

DOMAINS: tuple[str, ...] = ("finance", "hr", "procurement")


@dataclass(frozen=True)
class Crosswalk:
    """A code translation table: legacy code to ERP code."""

    name: str
    path: Path
    codes: dict[str, str]


@dataclass(frozen=True)
class LoadedEntity:
    spec: EntitySpec
    path: Path
    display: str
    sha256: str
    text: SourceText


@dataclass
class Project:
    """Every entity of the migration, in dependency order, with its crosswalks."""

    root: Path
    entities: dict[str, LoadedEntity] = field(default_factory=dict)
    crosswalks: dict[str, Crosswalk] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    targets: dict[str, LoadedTable] = field(default_factory=dict)

    def spec(self, name: str) -> EntitySpec:
        return self.entities[name].spec

    def issuer_of(self, domain: str) -> list[str]:
        """Entities that issue ERP keys for a key-map domain."""
        return [
            n
            for n, e in self.entities.items()
            if e.spec.issues_keys and e.spec.issues_keys.domain == domain
        ]

    def mapping_hashes(self) -> dict[str, str]:
        """Content hash of each mapping file the run uses (the selected entities only, so a
        run of one entity neither records nor emits lineage for the others)."""
        return {self.entities[n].display: self.entities[n].sha256 for n in self.order}


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def load_mapping(path: Path, root: Path | None = None) -> LoadedEntity:
    """Parse and check one mapping file; raise :class:`SpecErrors` listing every problem."""
    display = _display(path, root) if root else str(path)
    text = read_yaml(path, display)
    errors: list[SpecError] = []
    data = _parse_steps(text, errors)
    spec: EntitySpec | None = None
    try:
        spec = EntitySpec.model_validate(data)
    except ValidationError as exc:
        errors.extend(_pydantic_errors(exc, text))
    if spec is not None:
        errors.extend(_field_conflicts(spec, text))
        errors.extend(variant_errors(spec, text))
    if errors or spec is None:
        raise SpecErrors(errors)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return LoadedEntity(spec, path, display, digest, text)


def _parse_steps(text: SourceText, errors: list[SpecError]) -> Any:
    """Parse every ``fields.*.steps`` item up front so a bad step is located exactly."""
    data = text.data
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        return data
    for fname, rule in data["fields"].items():
        if not isinstance(rule, dict) or not isinstance(rule.get("steps"), list):
            continue
        parsed = []
        for index, item in enumerate(rule["steps"]):
            try:
                parsed.append(parse_step(item, index))
            except StepError as exc:
                path: tuple[str | int, ...] = ("fields", fname, "steps", index)
                if exc.key:
                    step_name = next(iter(item)) if isinstance(item, dict) else item
                    path = (*path, str(step_name), exc.key)
                errors.append(SpecError(text.locate(path), str(exc)))
        rule["steps"] = parsed
    return data


def _pydantic_errors(exc: ValidationError, text: SourceText) -> list[SpecError]:
    out: list[SpecError] = []
    for err in exc.errors():
        loc = tuple(_alias(p) for p in err["loc"] if not str(p).startswith("function-"))
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}{suggest(str(loc[-1]), _siblings(loc))}"
        elif err["type"] == "missing":
            msg = f"missing required key {loc[-1]!r}"
        out.append(SpecError(text.locate(loc), msg))
    return out


def _alias(part: Any) -> str | int:
    return {"from_": "from", "in_": "in"}.get(part, part) if isinstance(part, str) else part


def _siblings(loc: tuple[Any, ...]) -> list[str]:
    """Known keys at the level of an unknown key, for the "did you mean" suggestion."""
    from migrate.spec import model as m

    by_parent: dict[str, type[m.Strict]] = {
        "source": m.Source,
        "target": m.Target,
        "issues_keys": m.IssuesKeys,
        "reconcile": m.Reconcile,
        "file": m.FlatFile,
        "lookup": m.Lookup,
        "when": m.Condition,
        "drop_when": m.Condition,
        "measures": m.Measure,
        "grains": m.Grain,
        "checks": m.Check,
        "balanced": m.Balanced,
        "unique": m.UniqueTogether,
        "whole_group": m.WholeGroup,
        "open_period": m.DateWindow,
        "filters": m.Filter,
    }
    model: type[m.Strict] = m.EntitySpec
    parents = [p for p in loc[:-1] if isinstance(p, str)]
    if len(loc) >= 3 and loc[0] == "fields":
        model = m.Field_
        parents = [p for p in loc[2:-1] if isinstance(p, str)]
    for p in parents:
        model = by_parent.get(p, model)
    return [f.alias or n for n, f in model.model_fields.items()]


def _field_conflicts(spec: EntitySpec, text: SourceText) -> list[SpecError]:
    errors: list[SpecError] = []
    if spec.issues_keys and spec.issues_keys.column in spec.fields:
        errors.append(
            SpecError(
                text.locate(("fields", spec.issues_keys.column)),
                f"two rules write target column {spec.issues_keys.column!r}: "
                "this field and issues_keys.column",
            )
        )
    errors.extend(_personal_keys(spec, text))
    return errors


def _personal_keys(spec: EntitySpec, text: SourceText) -> list[SpecError]:
    """A personal column may not be a key: keys are what rejects, reports, lineage and the
    terminal print to name a row, unmasked (invariant 8). A field is taken to say its
    column is personal when it reads that column alone (or only key columns); a personal
    field that also reads other columns marks those (:func:`~migrate.lineage.masking.
    source_personal` masks them, never the key)."""
    keys = set(spec.source.key) | set(spec.issues_keys.legacy if spec.issues_keys else [])
    errors: list[SpecError] = []
    for name, rule in spec.fields.items():
        columns = list(dict.fromkeys(rule.source_columns()))
        if rule.personal and columns and all(c in keys for c in columns):
            listed = ", ".join(repr(c) for c in columns)
            errors.append(
                SpecError(
                    text.locate(("fields", name, "personal")),
                    f"field {name} reads the source key column {listed} and is marked personal "
                    f"({rule.personal}): keys are printed unmasked in rejects, reports, lineage "
                    "and logs; key the entity on a column that is not personal",
                )
            )
    return errors


def load_crosswalks(folder: Path) -> dict[str, Crosswalk]:
    """Every ``*.csv`` in the crosswalk folder (columns ``legacy_code,erp_code``)."""
    out: dict[str, Crosswalk] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:  # Excel's "CSV UTF-8": a BOM
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"legacy_code", "erp_code"} <= set(reader.fieldnames):
                loc = Location(str(path), 1, "")
                raise SpecErrors([SpecError(loc, "crosswalk needs columns legacy_code,erp_code")])
            codes: dict[str, str] = {}
            for lineno, row in enumerate(reader, start=2):
                code = row["legacy_code"]
                if code in codes:
                    loc = Location(str(path), lineno, "legacy_code")
                    raise SpecErrors([SpecError(loc, f"duplicate legacy code {code!r}")])
                codes[code] = row["erp_code"]
        out[path.stem] = Crosswalk(path.stem, path, codes)
    return out


def load_project(root: Path, only: list[str] | None = None) -> Project:
    """Load all mappings under ``root``; ``only`` keeps the named entities (and checks them)."""
    project = Project(root=root.resolve())
    errors: list[SpecError] = []
    from migrate.targets.declared import declare_project_targets, with_definition_defaults

    try:  # before the mappings' checks: they ask staging for the declared tables
        project.targets = declare_project_targets(project.root)
    except SpecErrors as exc:
        errors.extend(exc.errors)
    try:
        project.crosswalks = load_crosswalks(root / "crosswalks")
    except SpecErrors as exc:
        errors.extend(exc.errors)
    paths = sorted(p for d in DOMAINS for p in (root / d).rglob("*.yaml"))
    if not paths:
        errors.append(
            SpecError(
                Location(str(root), None, ""), f"no mapping files under {', '.join(DOMAINS)}/"
            )
        )
    for path in paths:
        try:
            loaded = load_mapping(path, project.root)
        except SpecErrors as exc:
            errors.extend(exc.errors)
            continue
        except SpecError as exc:
            errors.append(exc)
            continue
        name = loaded.spec.entity
        if name in project.entities:
            other = project.entities[name].display
            errors.append(
                SpecError(
                    loaded.text.locate(("entity",)), f"entity {name!r} is also defined in {other}"
                )
            )
            continue
        target = project.targets.get(loaded.spec.target.table)
        spec = with_definition_defaults(loaded.spec, target)  # the definition's default:
        project.entities[name] = dataclasses.replace(loaded, spec=spec)
    errors.extend(_cross_checks(project))
    errors.extend(_target_tables(project))
    errors.extend(check_references(project))
    if errors:
        raise SpecErrors(errors)
    from migrate.spec.graph import dependency_order

    project.order = dependency_order(project)
    if only:
        unknown = [n for n in only if n not in project.entities]
        if unknown:
            msgs = [f"unknown entity {n!r}{suggest(n, list(project.entities))}" for n in unknown]
            raise SpecErrors([SpecError(Location(str(root), None, ""), m) for m in msgs])
        project.order = [n for n in project.order if n in only]
    return project


def _target_tables(project: Project) -> list[SpecError]:
    """Every mapping stages into a table staging has: shipped, or declared in the project's
    ``targets/`` (a run would otherwise stop at its first chunk on an unknown table)."""
    from migrate.staging.catalog import staging_metadata

    try:
        tables = staging_metadata().tables
    except SpecErrors:
        return []  # a bad definition: reported with the definitions
    known = sorted(n for n, t in tables.items() if "target_key" in t.info)
    errors: list[SpecError] = []
    for ent in project.entities.values():
        name = ent.spec.target.table
        if name not in tables:
            errors.append(
                SpecError(
                    ent.text.locate(("target", "table")),
                    undeclared_table(name, known),
                )
            )
    return errors


def undeclared_table(name: str, known: list[str]) -> str:
    """Why a mapping's target table is not there, and how to declare it. Only a close name
    is suggested (the same name in other case, or a near spelling): ``suggest``'s cutoff
    offered AP_PAYMENTS for DEPARTMENTS."""
    same = [k for k in known if k.upper() == name.upper()]
    close = same or difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.8)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"staging has no table {name!r}{hint}; declare it in a targets/ folder beside the "
        "mappings (docs/how-to/targets.md)"
    )


def _cross_checks(project: Project) -> list[SpecError]:
    errors: list[SpecError] = []
    missing: dict[str, list[Location]] = {}  # one message per missing crosswalk, not per use
    domains = {e.spec.issues_keys.domain for e in project.entities.values() if e.spec.issues_keys}
    for ent in project.entities.values():
        src = ent.spec.source
        if src.file is None and src.system not in LEGACY_SYSTEMS:
            errors.append(
                SpecError(
                    ent.text.locate(("source", "system")),
                    f"a table or query source reads a connection, and {src.system!r} is none"
                    f"{suggest(src.system, list(LEGACY_SYSTEMS))} (connections: "
                    f"{', '.join(LEGACY_SYSTEMS)}; a file source may name any system)",
                )
            )
        for index, dep in enumerate(ent.spec.depends_on):
            if dep not in project.entities:
                errors.append(
                    SpecError(
                        ent.text.locate(("depends_on", index)),
                        f"depends_on names no entity {dep!r}"
                        f"{suggest(dep, sorted(project.entities))}",
                    )
                )
        rules: list[tuple[tuple[str, ...], Field_]] = [
            (("fields", n), r) for n, r in ent.spec.fields.items()
        ]
        for variant, fields in (ent.spec.variants or {}).items():
            rules += [(("variants", variant, n), r) for n, r in fields.items()]
        for at, rule in rules:
            for index, step in enumerate(rule.steps):
                if (
                    isinstance(step.args, CrosswalkArgs)
                    and step.args.name not in project.crosswalks
                ):
                    where = ent.text.locate((*at, "steps", index))
                    missing.setdefault(step.args.name, []).append(where)
            if rule.lookup and rule.lookup.domain not in domains:
                errors.append(
                    SpecError(
                        ent.text.locate((*at, "lookup", "domain")),
                        f"no entity issues keys for domain {rule.lookup.domain!r}"
                        f"{suggest(rule.lookup.domain, sorted(domains))}",
                    )
                )
    known = sorted(project.crosswalks)
    for name, uses in missing.items():
        more = f"; used {len(uses)} times, first here" if len(uses) > 1 else ""
        errors.append(
            SpecError(
                uses[0],
                f"unknown crosswalk {name!r}{suggest(name, known)}: no file "
                f"crosswalks/{name}.csv{more}",
            )
        )
    return errors
