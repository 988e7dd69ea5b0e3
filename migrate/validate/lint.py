"""``migrate mappings check`` and ``coverage``: mappings against the live schemas and data.

``check`` lists every problem at once, each located at ``file:line key.path``: source tables
and columns that do not exist (a flat file's columns as its header, ``columns`` or layout
give them, with "did you mean"; a file absent at check time in one line), target columns the
staging table lacks, required staging columns no rule fills, values whose type cannot
become the target type, and for a declared target (``targets/``) what its definition
refuses (:mod:`migrate.validate.fit`) and, live, where the definition and the staging table
disagree, with the DDL a DBA would run (:mod:`migrate.targets.drift`; nothing is altered).
``coverage`` lists, per crosswalk, the legacy values in the live
sources that it does not cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Date, DateTime, Engine, MetaData, Table, inspect, text

from migrate.config import Settings
from migrate.db import readonly_engine
from migrate.errors import MigrationError, SchemaMismatch, SpecError, SpecErrors
from migrate.extract.database import distinct_values
from migrate.extract.files.confinement import refusals, unset_variables
from migrate.extract.files.dispatch import file_columns
from migrate.extract.flat_file import resolve_path
from migrate.extract.named_columns import headerless_hint, missing_columns
from migrate.spec.loader import LoadedEntity, Project, load_project, undeclared_table
from migrate.spec.model import Field_
from migrate.spec.steps import CrosswalkArgs, suggest
from migrate.staging.tables import LINEAGE_COLUMNS, build_metadata
from migrate.transform.steps import IMPLEMENTATIONS, StepContext
from migrate.validate.coerce import target_kind
from migrate.validate.fit import definition_problems, field_fit
from migrate.validate.schema import rule_problems

_PRODUCES = {"money": "money", "date": "date", "datetime": "datetime", "integer": "integer"}


def check_mappings(settings: Settings, mappings: Path, live: bool = True) -> list[str]:
    try:
        project = load_project(mappings)
    except SpecErrors as exc:
        return [str(e) for e in exc.errors]
    staging = build_metadata()
    problems: list[SpecError] = []
    engines: dict[str, Engine] = {}
    for loaded in project.targets.values():
        problems.extend(definition_problems(loaded, staging.tables[loaded.table.table]))
    for ent in project.entities.values():
        problems.extend(_check_target(ent, staging, project))
        if live:
            problems.extend(_check_source(ent, settings, engines))
        else:  # no connection needed: the path against the allowed folders
            problems.extend(_confined(ent, settings))
    drifts = _drift(settings, project) if live else []
    if live:  # the legacy roles: warnings, or problems under [safety] legacy_role = "refuse"
        from migrate.legacy_role import LegacyRoleRefused, review

        ents = project.entities.values()
        systems = {e.spec.source.system for e in ents if e.spec.source.file is None}
        try:
            review(settings, systems & set(settings.urls), "mappings check")
        except LegacyRoleRefused as exc:
            drifts.append(str(exc))
    return [str(p) for p in problems] + drifts


def _drift(settings: Settings, project: Project) -> list[str]:
    """Each declared table against its live staging table (read only), with the DDL; a
    table not there yet is no problem (the first run creates it)."""
    from sqlalchemy.engine import make_url

    from migrate.targets.drift import check_drift

    url, schema = settings.url("staging"), settings.staging_schema
    file = make_url(url).database if make_url(url).get_backend_name() == "sqlite" else None
    if not project.targets or (file is not None and not Path(file).exists()):
        return []
    engine = readonly_engine(url)
    out: list[str] = []
    try:
        for loaded in project.targets.values():
            try:
                found = check_drift(engine, loaded, schema)
            except Exception as exc:  # noqa: BLE001 - said in one line, at the definition
                why = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:200]
                where = loaded.locate("table")
                out.append(f"{where}: not compared with the staging table ({why})")
                continue
            out += [str(d) for d in found if d.kind != "missing table"]
    finally:
        engine.dispose()
    return out


def _check_target(ent: LoadedEntity, staging: MetaData, project: Project) -> list[SpecError]:
    spec, out = ent.spec, []
    table = staging.tables.get(spec.target.table)
    if table is None:
        known = sorted(staging.tables)
        return [
            SpecError(
                ent.text.locate(("target", "table")),
                undeclared_table(spec.target.table, known),
            )
        ]
    columns = [c.name for c in table.columns]
    rules: list[tuple[tuple[str, ...], str, Field_]] = [
        (("fields", n), n, r) for n, r in spec.fields.items()
    ]
    for variant, fields in (spec.variants or {}).items():  # a variant's fields are checked too
        rules += [(("variants", variant, n), n, r) for n, r in fields.items()]
    for at, name, rule in rules:
        if name not in table.c:
            out.append(
                SpecError(
                    ent.text.locate(at),
                    f"{table.name} has no column {name!r}{suggest(name, columns)}",
                )
            )
            continue
        out.extend(_check_type(ent, at, name, rule.steps, table))
        out.extend(
            SpecError(ent.text.locate((*at, key)), f"{table.name}.{name}: {why}")
            for key, why in rule_problems(rule, target_kind(table.c[name]))
        )
        out.extend(field_fit(ent, at, rule, table.c[name], project.crosswalks))
    filled = set(spec.filled_columns()) | set(LINEAGE_COLUMNS)
    if spec.issues_keys:
        filled.add(spec.issues_keys.column)
    for col in table.columns:
        if not col.nullable and col.name not in filled:
            out.append(
                SpecError(
                    ent.text.locate(("fields",)),
                    f"required column {table.name}.{col.name} is not filled by any rule",
                )
            )
    return out


def _check_type(
    ent: LoadedEntity, at: tuple[str, ...], name: str, steps: Sequence[object], table: Table
) -> list[SpecError]:
    kind = target_kind(table.c[name])
    produced = [_PRODUCES.get(getattr(s, "name", "")) for s in steps]
    produced = [p for p in produced if p]
    last = produced[-1] if produced else None
    if last is None or last == kind:
        return []
    if {last, kind} <= {"date", "datetime"} or (last, kind) == ("integer", "decimal"):
        return []
    return [
        SpecError(
            ent.text.locate((*at, "steps")),
            f"steps produce {last} but {table.name}.{name} is {kind}",
        )
    ]


def _check_source(
    ent: LoadedEntity, settings: Settings, engines: dict[str, Engine]
) -> list[SpecError]:
    spec = ent.spec
    if spec.source.file is not None:
        return _check_file(ent, settings)
    engine = engines.setdefault(
        spec.source.system, readonly_engine(settings.url(spec.source.system))
    )
    if spec.source.query is not None:
        return _check_query(ent, engine)
    if spec.source.table is None:
        return []
    try:
        insp = inspect(engine)
        tables = insp.get_table_names()
    except Exception as exc:
        return [
            SpecError(
                ent.text.locate(("source", "system")),
                f"cannot connect to {spec.source.system}: {type(exc).__name__}",
            )
        ]
    if spec.source.table not in tables:
        return [
            SpecError(
                ent.text.locate(("source", "table")),
                f"{spec.source.system} has no table {spec.source.table!r}"
                f"{suggest(spec.source.table, tables)}",
            )
        ]
    columns = {c["name"]: c for c in insp.get_columns(spec.source.table)}
    out = [
        SpecError(ent.text.locate(where), f"{spec.source.table} has no column {col!r}{hint}")
        for where, col, hint in missing_columns(spec, list(columns), virtual=frozenset())
    ]
    # SQLite's declared types are advice: a DATETIME column may hold text (Chinook's do),
    # which a `date` step parses; elsewhere a DATE column hands over dates
    typed = engine.dialect.name != "sqlite"
    for fname, rule in spec.fields.items():
        src = rule.from_ if isinstance(rule.from_, str) else None
        is_date = typed and src in columns and isinstance(columns[src]["type"], (Date, DateTime))
        if is_date and any(getattr(s, "name", "") == "date" for s in rule.steps):
            out.append(
                SpecError(
                    ent.text.locate(("fields", fname, "steps")),
                    f"{src} is already a date; a `date` step parses text",
                )
            )
    return out


def _check_query(ent: LoadedEntity, engine: Engine) -> list[SpecError]:
    """A query's result columns (the query run for no row, read-only) against every column
    the mapping names."""
    query = ent.spec.source.query
    try:
        with engine.connect() as conn:
            have = list(conn.execute(text(f"SELECT * FROM ({query}) q WHERE 1 = 0")).keys())
    except Exception as exc:  # noqa: BLE001 - reported as a problem of this mapping
        first = " ".join(str(exc).split())[:160]
        return [SpecError(ent.text.locate(("source", "query")), f"the query fails: {first}")]
    return [
        SpecError(ent.text.locate(where), f"the query returns no column {col!r}{hint}")
        for where, col, hint in missing_columns(ent.spec, have, virtual=frozenset())
    ]


def _confined(ent: LoadedEntity, settings: Settings) -> list[SpecError]:
    """Each path a flat-file source names (its ``path:``, a layout's ``copybook:``) outside
    the folders a mapping may read, at its own line (live and offline alike: it needs the
    paths and the declared roots, no connection, and opens no file)."""
    f = ent.spec.source.file
    if f is None:
        return []
    path = resolve_path(ent.spec, settings.workdir)
    return [
        SpecError(ent.text.locate(("source", "file", *refused.key)), str(refused))
        for refused in refusals(f, path, ent.path.parent)
    ]


def _check_file(ent: LoadedEntity, settings: Settings) -> list[SpecError]:
    """A flat file's columns as the reader sees them (the header read with the declared
    encoding, delimiter and quote; or ``columns``; or the layout) against every column the
    mapping names. A file missing now is one line, and the declared columns are still
    checked."""
    spec, f = ent.spec, ent.spec.source.file
    assert f is not None
    path = resolve_path(spec, settings.workdir)
    refused = _confined(ent, settings)
    if refused:
        return refused
    out: list[SpecError] = []
    if not path.exists():
        needs_file = f.fixed is None and f.header
        why = (
            "its header, so the columns named, not checked" if needs_file else "checked as declared"
        )
        out.append(
            SpecError(
                ent.text.locate(("source", "file", "path")),
                f"flat file not found: {path}{unset_variables(f.path)} ({why})",
            )
        )
        if needs_file:
            return out
    try:
        have = file_columns(f, path, ent.path.parent)
    except SchemaMismatch as exc:
        key = "fixed" if f.fixed is not None else "columns" if f.columns is not None else "path"
        return [*out, SpecError(ent.text.locate(("source", "file", key)), str(exc))]
    missing = missing_columns(spec, have)
    headerless = headerless_hint(spec, have, len({c for _, c, _ in missing}))
    if headerless:
        out.append(SpecError(ent.text.locate(("source", "file")), f"{path.name}: {headerless}"))
    out += [
        SpecError(ent.text.locate(where), f"{path.name} has no column {col!r}{hint}")
        for where, col, hint in missing
    ]
    return out


def crosswalk_coverage(settings: Settings, mappings: Path) -> dict[tuple[str, str, str], list[str]]:
    """(crosswalk, entity, source column) -> legacy values in the live source not covered."""
    project = load_project(mappings)
    gaps: dict[tuple[str, str, str], list[str]] = {}
    for name in project.order:
        _coverage_of(project, name, settings, gaps)
    return gaps


def _coverage_of(
    project: Project, name: str, settings: Settings, gaps: dict[tuple[str, str, str], list[str]]
) -> None:
    spec = project.spec(name)
    if spec.source.table is None:
        return
    engine = readonly_engine(settings.url(spec.source.system))
    for rule in spec.fields.values():
        if not isinstance(rule.from_, str):
            continue
        for i, step in enumerate(rule.steps):
            if not isinstance(step.args, CrosswalkArgs):
                continue
            try:
                values = distinct_values(spec, engine, rule.from_)
            except MigrationError:
                continue
            import pandas as pd

            ctx = StepContext(pd.DataFrame(index=values.index), {}, name)
            for prior in rule.steps[:i]:
                values = IMPLEMENTATIONS[prior.name](values, prior.args, ctx)[0]
            codes = project.crosswalks[step.args.name].codes
            missing = sorted({str(v) for v in values.dropna() if v not in codes and v != ""})
            if missing:
                gaps[(step.args.name, name, rule.from_)] = missing
    engine.dispose()
