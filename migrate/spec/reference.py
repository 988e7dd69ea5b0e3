"""Generate ``docs/reference/mapping-language.md`` from the spec models (the source of truth).

Run ``python -m migrate.spec.reference docs/reference/mapping-language.md``; a test fails when
the committed page is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from migrate.spec import checks
from migrate.spec import model as m
from migrate.spec.layout import FixedField, FixedWidth
from migrate.spec.parts import Part
from migrate.spec.steps import STEP_ARGS
from migrate.transform.failures import REASONS

SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("Entity file (top level)", m.EntitySpec),
    ("source", m.Source),
    ("source.file (flat-file extract)", m.FlatFile),
    ("source.file.fixed (fixed-width layout)", FixedWidth),
    ("source.file.fixed.fields[]", FixedField),
    ("source.filters[]", m.Filter),
    ("Condition (filters, `when`)", m.Condition),
    ("target", m.Target),
    ("issues_keys", m.IssuesKeys),
    ("fields.<COLUMN>", m.Field_),
    ("fields.<COLUMN>.parts[] and reconcile.proving.grains[].source pieces", Part),
    ("lookup", m.Lookup),
    ("checks[]", m.Check),
    ("checks[].balanced", m.Balanced),
    ("checks[].whole_group", m.WholeGroup),
    ("checks[].unique", m.UniqueTogether),
    ("checks[].open_period", m.DateWindow),
    ("checks[].flag (a warning)", checks.Flag),
    ("checks[].possible_duplicate (a warning)", checks.PossibleDuplicate),
    ("checks[].header_total (across entities)", checks.HeaderTotal),
    ("checks[].totals_agree (across entities)", checks.TotalsAgree),
    ("checks[].balanced_across (across entities)", checks.BalancedAcross),
    ("reconcile", m.Reconcile),
    ("reconcile.measures[]", m.Measure),
    ("reconcile.proving.grains[]", m.Grain),
)


def _type_name(annotation: object) -> str:
    """A type as a reader would write it: ``list[str or Part]``, not pydantic's internals
    (``Annotated``/``Discriminator`` tags, which also hold memory addresses)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (Union, UnionType):
        return " or ".join(dict.fromkeys(_type_name(a) for a in args))
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is not None and args:
        return (
            f"{getattr(origin, '__name__', str(origin))}[{', '.join(_type_name(a) for a in args)}]"
        )
    if annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    return getattr(annotation, "__name__", str(annotation))


def _model_table(model: type[BaseModel]) -> list[str]:
    lines = ["| key | type | required | default | meaning |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        key = info.alias or name
        default = "" if info.is_required() else f"`{info.default!r}`"
        desc = (info.description or "").replace("|", "\\|")
        req = "yes" if info.is_required() else ""
        lines.append(f"| `{key}` | {_type_name(info.annotation)} | {req} | {default} | {desc} |")
    return lines


def render() -> str:
    out = [
        "# Mapping language reference",
        "",
        "Generated from `migrate/spec/model.py` and `migrate/spec/steps.py` by",
        "`python -m migrate.spec.reference`; do not edit by hand. Every unknown key is an error",
        "reported as `file:line key.path: message (did you mean ...?)`. Editors can validate",
        "mappings with the JSON Schema written by `migrate mappings schema`.",
        "",
    ]
    for title, model in SECTIONS:
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        out += [f"## {title}", "", doc, "", *_model_table(model), ""]
    out += [
        "## Steps",
        "",
        "A step is a bare name (`strip`) or a one-key mapping `{name: arguments}`; where a",
        'step has a main argument it may be given directly (`{date: "%Y%m%d"}`).',
        "",
        "| step | main argument | arguments |",
        "|---|---|---|",
    ]
    for name, (args, primary) in sorted(STEP_ARGS.items()):
        fields = (
            ", ".join(
                f"`{n}`" + (f" ({f.description})" if f.description else "")
                for n, f in args.model_fields.items()
            )
            or "none"
        )
        out.append(f"| `{name}` | {f'`{primary}`' if primary else ''} | {fields} |")
    out += ["", "## Reason codes", "", "| code | meaning |", "|---|---|"]
    out += [f"| `{code}` | {text} |" for code, text in REASONS.items()]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    Path(argv[0]).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
