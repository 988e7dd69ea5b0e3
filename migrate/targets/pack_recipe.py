"""A pack recipe: which columns of a vendor's layouts a pack stages, and what it changes.

A vendor layout lists every column of an interface table (Oracle's GL_INTERFACE has 125);
a migration stages the few it fills, sometimes typed more exactly than the layout says
(money where the layout says NUMBER, the shipped lengths where it says nothing), plus
columns the layout lacks (the ERP supplier id a key map issues). The recipe says exactly
that, per ERP object, and :mod:`migrate.targets.pack_generate` turns recipe and layouts into
the pack's definition files. Read like a mapping: every problem at ``file:line key.path``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, Field, ValidationError

from migrate.errors import Location, SpecError, SpecErrors
from migrate.spec.base import Strict
from migrate.spec.steps import suggest
from migrate.spec.yamlsource import SourceText, read_yaml
from migrate.targets.definition import ColumnType, IndexDef


class ColumnRecipe(Strict):
    """One staged column: a layout column kept (with these changes), or one it lacks."""

    extra: bool = Field(
        default=False,
        description="the layout lacks this column: declare it whole (type required)",
    )
    type: ColumnType | None = Field(
        default=None,
        description="another type than the layout's (its length, precision, scale and "
        "format are then dropped unless given here)",
    )
    length: int | None = Field(default=None, ge=1, description="text: maximum characters")
    precision: int | None = Field(default=None, ge=1, le=38, description="total digits")
    scale: int | None = Field(default=None, ge=0, description="digits after the point")
    required: bool | None = Field(default=None, description="NOT NULL, whatever the layout says")
    allowed: list[str | int] | None = Field(default=None, description="the only values")
    default: str | int | bool | None = Field(default=None, description="value when none")
    format: str | None = Field(default=None, description="how the import file writes it")
    description: str | None = Field(default=None, description="the database comment")


class TableRecipe(Strict):
    """One interface table of the object: its layout file, key, kept columns, indexes."""

    layout: str = Field(description="the layout file (<TABLE>.columns.csv) in --layouts")
    key: list[str] = Field(min_length=1, description="the target key (required in the pack)")
    columns: dict[str, ColumnRecipe | None] = Field(
        min_length=1,
        description="the staged columns in table order: name: changes (empty: as the layout)",
    )
    indexes: list[IndexDef] = Field(default_factory=list, description="extra indexes")
    description: str | None = Field(default=None, description="the table's database comment")
    member: str | None = Field(
        default=None,
        description="the table's CSV in the object's import_file, e.g. GlInterface.csv",
    )


class ObjectRecipe(Strict):
    """One ERP import object (one file of the pack): its tables."""

    object: str = Field(description="the object's name, e.g. payables_invoices")
    file: str = Field(description="the definition file to write, relative to the pack folder")
    description: str | None = Field(default=None, description="what the object is")
    import_file: str | None = Field(
        default=None,
        description="the ZIP the ERP's import process reads, e.g. GlInterface.zip (then "
        "every table names its member): what migrate export writes",
    )
    tables: list[TableRecipe] = Field(min_length=1, description="its interface tables")


class Recipe(Strict):
    """A pack: a name and the objects generated from the vendor's layouts."""

    pack: str = Field(description="the pack's name (its folder beside the recipe)")
    description: str | None = Field(default=None, description="what the pack is")
    objects: list[ObjectRecipe] = Field(min_length=1, description="the generated objects")


def read_recipe(path: Path, display: str | None = None) -> tuple[Recipe, SourceText]:
    """The recipe and its text (to locate a problem); :class:`SpecErrors` lists them all."""
    try:
        text = read_yaml(path, display or str(path))
    except SpecError as exc:
        raise SpecErrors([exc]) from None
    if not isinstance(text.data, dict):
        raise SpecErrors([SpecError(Location(text.file, 1, ""), "a recipe is a mapping of keys")])
    try:
        recipe = Recipe.model_validate(text.data)
    except ValidationError as exc:
        raise SpecErrors([_error(e, text) for e in exc.errors()]) from None
    files = [o.file for o in recipe.objects]
    errors = [
        SpecError(
            text.locate(("objects", i, "file")), f"objects.{files.index(f)} writes {f} already"
        )
        for i, f in enumerate(files)
        if files.index(f) != i
    ]
    inside = "a pack file is a .yaml path inside the pack folder"
    errors += [
        SpecError(text.locate(("objects", i, "file")), inside)
        for i, f in enumerate(files)
        if not f.endswith(".yaml") or Path(f).is_absolute() or ".." in Path(f).parts
    ]
    errors += _member_problems(recipe, text)
    if errors:
        raise SpecErrors(errors)
    return recipe, text


def _member_problems(recipe: Recipe, text: SourceText) -> list[SpecError]:
    """An object's ZIP and its tables' members go together, each member named once."""
    errors = []
    for i, obj in enumerate(recipe.objects):
        members = [t.member for t in obj.tables]
        for j, member in enumerate(members):
            where = text.locate(("objects", i, "tables", j))
            if obj.import_file is None and member is not None:
                errors.append(SpecError(where, f"member {member}: the object names no import_file"))
            elif obj.import_file is not None and member is None:
                errors.append(SpecError(where, f"a table of {obj.import_file} names its member"))
            elif member is not None and members.index(member) != j:
                errors.append(SpecError(where, f"member {member} is another table's already"))
    return errors


_MODELS: dict[str, type[BaseModel]] = {
    "objects": ObjectRecipe,
    "tables": TableRecipe,
    "columns": ColumnRecipe,
    "indexes": IndexDef,
}


def _error(err: Any, text: SourceText) -> SpecError:
    loc = tuple(p for p in err["loc"] if not str(p).startswith(("function-", "literal[")))
    loc = tuple(p for p in loc if p not in ("ColumnRecipe",))
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        model: type[BaseModel] = Recipe
        for part in loc[:-1]:
            model = _MODELS.get(str(part), model)
        msg = f"unknown key {loc[-1]!r}{suggest(str(loc[-1]), list(model.model_fields))}"
    elif err["type"] == "missing":
        msg = f"missing required key {loc[-1]!r}"
    elif err["type"] == "literal_error" and loc and loc[-1] == "type":
        given, known = str(err.get("input")), list(get_args(ColumnType))
        msg = f"unknown type {given!r}{suggest(given, known)}; one of {', '.join(known)}"
    return SpecError(text.locate(loc), msg)
