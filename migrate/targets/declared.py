"""The user's declared target definitions, added to staging beside the shipped tables.

A project's ``targets/`` folder is ``<mappings>/targets/`` or ``<mappings>/../targets/``
(both, when both exist), unless ``migrate.toml`` names one (``targets = "path"``).
:func:`migrate.spec.loader.load_project` calls :func:`declare_project_targets`, which
declares exactly that project's folders (:func:`migrate.staging.catalog.use_targets`), so
``run``, ``resume``, ``rollback``, ``reconcile``, ``mappings check``, ``lineage trace``,
``plan`` and ``doctor`` all see the same tables; a bad definition is a
:class:`~migrate.errors.SpecError` at its ``file:line``, like a bad mapping. Every build of
the staging metadata (:func:`migrate.staging.tables.build_metadata`) calls
:func:`add_declared_tables`, so a declared table is created, loaded, rolled back and
reconciled exactly as a shipped one is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import MetaData

from migrate.errors import SpecError, SpecErrors
from migrate.spec.model import EntitySpec, Field_
from migrate.staging.catalog import configured_targets, staging_metadata, use_targets
from migrate.targets.build import build_table
from migrate.targets.loader import LoadedTable, load_targets


def add_declared_tables(md: MetaData, directories: tuple[Path, ...]) -> None:
    """Build every table the directories declare into ``md``; a shipped table's name is refused."""
    for directory in directories:
        tables = load_targets(directory)
        clashes = shipped_clashes(tables, md)
        if clashes:
            raise SpecErrors(clashes)
        for loaded in tables.values():
            build_table(md, loaded.table)


def shipped_clashes(tables: dict[str, LoadedTable], md: MetaData | None = None) -> list[SpecError]:
    """Each definition whose table a shipped (or the tool's own) table already names.

    Compared without regard to case: SQLite and MariaDB table names are case-insensitive,
    so ``workers`` and ``WORKERS`` are one table there, and the run would fail creating it."""
    from migrate.staging.bookkeeping import bookkeeping

    own = MetaData()
    bookkeeping(own)  # built after the declared tables, so not yet in ``md``
    if md is None:
        md = shipped_metadata()
    taken = {t.name.upper() for t in [*md.tables.values(), *own.tables.values()]}
    return [
        SpecError(loaded.locate("table"), f"{name!r} is a shipped staging table already")
        for name, loaded in tables.items()
        if name.upper() in taken
    ]


def shipped_metadata() -> MetaData:
    """The shipped tables and the tool's bookkeeping, without any declared table."""
    from migrate.staging.bookkeeping import bookkeeping
    from migrate.targets.pack import add_shipped_tables

    md = MetaData()
    add_shipped_tables(md)
    bookkeeping(md)
    return md


def target_directories(mappings: Path) -> tuple[Path, ...]:
    """The project's target folders: the configured one, else those beside the mappings."""
    configured = configured_targets()
    if configured is not None:
        return (configured,)
    found = [mappings / "targets", mappings.parent / "targets"]
    out: list[Path] = []
    for folder in found:
        if folder.is_dir() and folder.resolve() not in out:
            out.append(folder.resolve())
    return tuple(out)


def declare_project_targets(mappings: Path) -> dict[str, LoadedTable]:
    """Read and declare the project's target definitions; every problem at its line."""
    directories = target_directories(mappings)
    loaded: dict[str, LoadedTable] = {}
    errors: list[SpecError] = []
    for directory in directories:
        try:
            tables = load_targets(directory)
        except SpecErrors as exc:
            errors.extend(exc.errors)
            continue
        for name, table in tables.items():
            if name.upper() in {n.upper() for n in loaded}:
                first = loaded[next(n for n in loaded if n.upper() == name.upper())]
                where = first.locate("table")
                problem = f"table {name} is also declared at {where}"
                errors.append(SpecError(table.locate("table"), problem))
                continue
            loaded[name] = table
    if errors:
        use_targets(())
        raise SpecErrors(errors)
    use_targets(directories)
    try:
        staging_metadata()  # a shipped table's name, declared again, is refused here
    except SpecErrors:
        use_targets(())
        raise
    return loaded


def declare_for_command(args: Any) -> None:
    """Every command sees the project's declared tables, not only those that load the
    mappings: ``rollback`` removes a run's rows from them too, ``lineage trace`` and ``runs``
    find them. A bad definition stops the command at its ``file:line`` (a rollback that
    silently skipped a declared table would leave that run's rows staged). ``migrate
    targets ...`` reads and reports the definitions itself."""
    mappings = getattr(args, "mappings", None)
    if mappings is not None and getattr(args, "command", None) != "targets":
        declare_project_targets(Path(mappings))


def with_definition_defaults(spec: EntitySpec, loaded: LoadedTable | None) -> EntitySpec:
    """The mapping as if it said what its declared table's ``default:`` keys say: a field
    without its own ``default`` takes the column's (a blank value becomes it), and a column
    no rule fills is filled with it as a constant. The pipeline stages, and reconciliation
    restates, the very same field, so the default is proven like any other value."""
    if loaded is None:
        return spec
    issued = spec.issues_keys.column if spec.issues_keys else None
    fields = dict(spec.fields)
    filled = set(spec.filled_columns()) | ({issued} if issued else set())
    for name, column in loaded.table.columns.items():
        if column.default is None:
            continue
        if name in fields and fields[name].default is None:
            fields[name] = fields[name].model_copy(update={"default": column.default})
        elif name not in filled and not spec.variants:
            fields[name] = Field_.model_validate({"const": column.default})
    return spec if fields == spec.fields else spec.model_copy(update={"fields": fields})
