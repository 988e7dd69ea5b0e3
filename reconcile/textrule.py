"""Text columns named in a mapping's reconcile ``compare``: which are diffed, and by what rule.

A text column is diffed when its field is one plain source column (``from: <column>``) whose
steps only normalise text: ``strip``, ``upper``, ``lower``, ``collapse_spaces``,
``blank_to_null``. Reconciliation applies those steps itself (its own code, not the
pipeline's) to the legacy value *and* to the staged value (each step is idempotent, so a
correctly staged value is unchanged by it), then treats blank as NULL on both sides. The
normalised values enter the row checksum and, for rows that differ, are shown as they are.

Anything else is not diffed, and the report says why: personal columns are compared by
keyed hash only (``personal.py``), amounts declared as measures are diffed as exact cents,
and a field built by other steps (``split``, ``date``, a crosswalk, ...) would need
reconciliation to re-implement that step, which it does not do.

On SQLite the rule runs as :func:`normalise` (Python string semantics); PostgreSQL and
MariaDB spell it in SQL, where "whitespace" for ``strip`` means ASCII spaces, tabs and line
breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migrate.spec.model import EntitySpec
from reconcile.sqltext import PG_KEY_SPACE, as_text, family

TEXT_FN = "mig_text"
STEPS = ("strip", "upper", "lower", "collapse_spaces", "blank_to_null")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class TextColumn:
    target: str
    source: str
    steps: tuple[str, ...]

    @property
    def rule(self) -> str:
        how = ", ".join(self.steps) if self.steps else "as is"
        return f"{self.target} vs {self.source}: {how}, applied to both sides; blank counts as NULL"


def text_columns(spec: EntitySpec) -> tuple[tuple[TextColumn, ...], tuple[str, ...]]:
    """(diffed text columns, a reason for each compared column that is not diffed here)."""
    measures = {m.target_column for m in spec.reconcile.measures}
    diffed: list[TextColumn] = []
    skipped: list[str] = []
    for col in spec.reconcile.compare:
        f = spec.fields.get(col)
        names = [] if f is None else [s.name for s in f.steps]
        if col in measures:
            continue
        if f is None or not isinstance(f.from_, str):
            skipped.append(f"{col}: not diffed (not taken from one source column)")
        elif f.personal is not None:
            skipped.append(f"{col}: personal ({f.personal}), compared by keyed hash only")
        elif any(n not in STEPS for n in names):
            bad = next(n for n in names if n not in STEPS)
            skipped.append(f"{col}: not diffed (step '{bad}' is not re-implemented here)")
        else:
            diffed.append(TextColumn(col, f.from_, tuple(names)))
    return tuple(diffed), tuple(skipped)


def normalise(value: object, steps: str) -> str | None:
    """The rule in Python: ``steps`` comma-separated, then blank as NULL."""
    if value is None:
        return None
    text = str(value)
    for step in steps.split(",") if steps else ():
        if step == "strip":
            text = text.strip()
        elif step == "upper":
            text = text.upper()
        elif step == "lower":
            text = text.lower()
        elif step == "collapse_spaces":
            text = _SPACES.sub(" ", text).strip()
    return text if text.strip() else None


def text_sql(column_sql: str, steps: tuple[str, ...], dialect: str) -> str:
    """SQL of :func:`normalise` for one column."""
    fam = family(dialect)
    if fam == "sqlite":
        return f"{TEXT_FN}({column_sql}, '{','.join(steps)}')"
    t = as_text(column_sql, dialect)
    for step in steps:
        if step == "strip":
            t = f"btrim({t}, {PG_KEY_SPACE})" if fam == "postgresql" else f"TRIM({t})"
        elif step in ("upper", "lower"):
            t = f"{step.upper()}({t})"
        elif step == "collapse_spaces":
            if fam == "postgresql":
                t = f"btrim(regexp_replace({t}, '\\s+', ' ', 'g'), ' ')"
            else:
                t = f"TRIM(REGEXP_REPLACE({t}, '[[:space:]]+', ' '))"  # no backslash escape
    blank = f"btrim({t}, {PG_KEY_SPACE})" if fam == "postgresql" else f"TRIM({t})"
    return f"(CASE WHEN {blank} = '' THEN NULL ELSE {t} END)"
