"""``migrate targets import-fbdi | build-pack | reflect | check``: staging declared as data.

The main parser calls :func:`add_parsers`; handlers take ``(args, settings)`` and return the
exit code like every other command (0 fine, 1 the check found problems, 2 bad input). None
of them writes to a database: ``reflect`` and ``check`` read staging through a read-only
engine, and ``check`` prints the DDL a DBA would run instead of running it. ``build-pack``
writes a pack's definition files from its recipe and the vendor's layouts (the shipped
Oracle Fusion pack by default), or with ``--check`` says where the files differ.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

from migrate.config import Settings
from migrate.db import readonly_engine
from migrate.errors import SpecErrors


def parse_key(text: str) -> tuple[str, list[str]]:
    """``TABLE=COL[,COL]`` (an argparse type)."""
    table, sep, cols = text.partition("=")
    columns = [c.strip() for c in cols.split(",") if c.strip()]
    if not sep or not table.strip() or not columns:
        raise argparse.ArgumentTypeError(f"{text!r}: expected TABLE=COLUMN[,COLUMN...]")
    return table.strip(), columns


def cmd_import_fbdi(args: argparse.Namespace, settings: Settings) -> int:
    """One definition file per layout; say which tables still need a key."""
    from migrate.targets.fbdi import import_layouts
    from migrate.targets.loader import load_definition

    keys = dict(args.key or [])
    written = import_layouts(Path(args.layouts), Path(args.out), keys)
    missing = []
    for path in written:
        try:
            load_definition(path)
            print(f"wrote {path}")
        except SpecErrors as exc:
            print(f"wrote {path} (to finish: {exc.errors[0].location}: {exc.errors[0].message})")
            missing.append(path)
    unused = sorted(set(keys) - {p.stem.upper() for p in written})
    for table in unused:
        print(f"note: --key {table}=... names no imported table", file=sys.stderr)
    print(
        f"{len(written)} definition(s) written"
        + (f", {len(missing)} need a key" if missing else "")
    )
    return 0


def cmd_build_pack(args: argparse.Namespace, settings: Settings) -> int:
    """The pack's generated files from recipe and layouts: written, or (``--check``) compared."""
    from migrate.errors import ConfigError
    from migrate.targets.loader import load_targets
    from migrate.targets.pack_generate import check_pack, generate, write_pack
    from migrate.targets.pack_recipe import read_recipe

    recipe, layouts = Path(args.recipe), Path(args.layouts)
    if not layouts.is_dir():
        raise ConfigError(f"--layouts {layouts}: no such folder")
    if not recipe.is_file():
        raise ConfigError(f"--recipe {recipe}: no such file")
    try:
        files = generate(recipe, layouts)
        out = Path(args.out) if args.out else recipe.parent / read_recipe(recipe)[0].pack
    except SpecErrors as exc:
        for err in exc.errors:
            print(err)
        print(f"{len(exc.errors)} problem(s) in the recipe; nothing written")
        return 2
    if args.check:
        problems = check_pack(files, out)
        for problem in problems:
            print(problem)
        if problems:
            print(f"{len(problems)} file(s) differ from the recipe: run without --check")
            return 1
        print(f"{out}: the {len(files)} generated file(s) are what the recipe makes")
        return 0
    written, removed = write_pack(files, out)
    for path in written:
        print(f"wrote {path}")
    for path in removed:
        print(f"removed {path} (the recipe no longer makes it)")
    try:
        tables = load_targets(out)
    except SpecErrors as exc:  # e.g. a generated table also declared by a hand-written file
        for err in exc.errors:
            print(err)
        print(f"{len(exc.errors)} problem(s) in the pack {out}")
        return 1
    print(f"{len(written)} file(s) written; the pack {out} declares {len(tables)} table(s)")
    return 0


def cmd_reflect(args: argparse.Namespace, settings: Settings) -> int:
    """The live table as YAML (to ``--out`` or stdout); notes go to stderr."""
    from migrate.targets.reflect import reflect_table
    from migrate.targets.write import to_yaml

    schema = args.schema or settings.staging_schema
    with _staging(settings) as engine:
        reflected = reflect_table(engine, args.table, schema)
    text = to_yaml(reflected.table, "reflected from the live staging table")
    if args.out:
        out = Path(args.out)
        if out.is_dir() or out.suffix.lower() not in (".yaml", ".yml"):  # a folder
            out = out / f"{reflected.table.table.lower()}.yaml"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")
    else:
        sys.stdout.write(text)
    for note in reflected.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Every definition valid (offline), then each compared with its live table."""
    from migrate.targets.declared import shipped_clashes
    from migrate.targets.drift import check_drift
    from migrate.targets.loader import load_targets

    folder = Path(args.folder) if args.folder else default_folder(args)
    try:
        targets = load_targets(folder)
        clashes = shipped_clashes(targets)
        if clashes:
            raise SpecErrors(clashes)
    except SpecErrors as exc:
        for err in exc.errors:
            print(err)
        print(f"{len(exc.errors)} problem(s) in the target definitions")
        return 1
    if args.offline:
        print(f"{len(targets)} target definition(s) OK (offline)")
        return 0
    schema = settings.staging_schema
    with _staging(settings) as engine:
        drifts = [d for t in targets.values() for d in check_drift(engine, t, schema)]
    for drift in drifts:
        print(drift)
    if drifts:
        print(f"{len(drifts)} difference(s) between the definitions and staging; nothing altered")
        return 1
    print(f"{len(targets)} target definition(s) match staging")
    return 0


def default_folder(args: argparse.Namespace) -> Path:
    """``targets/`` beside the mappings folder (``--mappings``), else in the working folder."""
    mappings = getattr(args, "mappings", None)
    return Path(mappings).parent / "targets" if mappings else Path("targets")


@contextmanager
def _staging(settings: Settings) -> Iterator[Engine]:
    """A read-only engine on staging; an absent SQLite file reads as an empty database."""
    url = make_url(settings.url("staging"))
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        engine = create_engine("sqlite://")
    else:
        engine = readonly_engine(str(url))
    try:
        yield engine
    finally:
        engine.dispose()


def add_parsers(sub: Any) -> None:
    """Register ``targets import-fbdi | build-pack | reflect | check`` on the main parsers."""
    tg = sub.add_parser("targets", help="staging tables declared as data (target definitions)")
    tg_sub = tg.add_subparsers(dest="targets_cmd", required=True, metavar="ACTION")
    imp = tg_sub.add_parser(
        "import-fbdi",
        help="Oracle FBDI column layouts -> target definitions",
        description="Write one target definition per <TABLE>.columns.csv layout file, with "
        "every column's position, hint, type, length and required flag.",
    )
    imp.add_argument("layouts", help="folder of <TABLE>.columns.csv layout files")
    imp.add_argument("--out", required=True, help="folder to write the definitions into")
    imp.add_argument(
        "--key",
        action="append",
        type=parse_key,
        metavar="TABLE=COL[,COL]",
        help="a table's target key (repeatable); the layouts name none",
    )
    imp.set_defaults(handler=cmd_import_fbdi)
    _add_build_pack(tg_sub)
    ref = tg_sub.add_parser("reflect", help="a live staging table -> a target definition")
    ref.add_argument("table", help="the staging table's name")
    ref.add_argument("--out", help="file or folder to write (default: print)")
    ref.add_argument("--schema", help="schema (default: the configured staging_schema)")
    ref.set_defaults(handler=cmd_reflect)
    chk = tg_sub.add_parser(
        "check",
        help="check target definitions, and their drift from the live staging tables",
        description="Exit codes: 0 valid and matching staging, 1 problems or differences "
        "(each at its file:line, with the DDL a DBA would run; nothing is altered), 2 bad "
        "input.",
    )
    chk.add_argument(
        "folder",
        nargs="?",
        help="folder of target definition files (*.yaml; default: targets/ beside --mappings)",
    )
    chk.add_argument("--offline", action="store_true", help="only check the files")
    chk.set_defaults(handler=cmd_check)


def _add_build_pack(tg_sub: Any) -> None:
    from migrate.targets.pack import RECIPE

    bp = tg_sub.add_parser(
        "build-pack",
        help="a pack recipe + vendor layouts -> the pack's target definitions",
        description="Write the generated files of a target pack: per ERP object of the "
        "recipe, the layout columns it keeps, with its changes and added columns. "
        "Hand-written files in the pack folder are left alone. Exit codes: 0 written (or "
        "with --check: up to date), 1 --check found differences, 2 bad input.",
    )
    bp.add_argument("--layouts", required=True, help="folder of <TABLE>.columns.csv layout files")
    bp.add_argument(
        "--recipe",
        default=str(RECIPE),
        help="the pack recipe (default: the shipped Oracle Fusion recipe)",
    )
    bp.add_argument(
        "--out",
        help="the pack folder (default: the folder named after the recipe's pack, beside it)",
    )
    bp.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the pack folder differs from what the recipe makes",
    )
    bp.set_defaults(handler=cmd_build_pack)
