"""Text columns named in a mapping's reconcile ``compare`` that are diffed in SQL, and by what rule.

A text column is diffed here when its field is one plain source column (``from: <column>``)
whose steps only normalise text (``strip``, ``upper``, ``lower``, ``collapse_spaces``,
``blank_to_null``), with no ``when`` or ``default``, into a staging text column.
Reconciliation applies those steps itself (its own code, not the pipeline's) to the legacy
value *and* to the staged value (each step is idempotent, so a correctly staged value is
unchanged by it), then treats blank as NULL on both sides. The normalised values enter the
row checksum and, for rows that differ, are shown as they are. The rule is pushed down into
each database, so this is the cheapest way to diff a column.

Every other column the mapping fills, named in ``compare`` or not, is someone else's:
amounts declared as measures are diffed as exact cents; plain text columns ``compare`` does
not name, personal columns, ERP keys and columns built by any other rule (dates, amounts,
``split``, crosswalks, ``when``, ...) are restated row by row, or reported as not verified
with the reason (``restated.py``, ``restate.py``). So ``compare`` chooses only which plain
text columns are diffed here, in the database's own scan (the cheapest way).

On SQLite the rule runs as :func:`normalise` (Python string semantics); PostgreSQL and
MariaDB spell it in SQL, where "whitespace" for ``strip`` means ASCII spaces, tabs and line
breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import String

from migrate.spec.model import EntitySpec, Field_
from migrate.staging.catalog import staging_table
from reconcile.reading.sqltext import PG_KEY_SPACE, as_text, family

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
    """(text columns diffed in SQL, the other compared columns: measures and columns that
    ``restated.py`` checks or reports as not verified)."""
    measures = {m.target_column for m in spec.reconcile.measures}
    diffed: list[TextColumn] = []
    others: list[str] = []
    for col in spec.reconcile.compare:
        f = spec.fields.get(col)
        if col not in measures and f is not None and _in_sql(spec, col, f):
            assert isinstance(f.from_, str)
            diffed.append(TextColumn(col, f.from_, tuple(s.name for s in f.steps)))
        else:
            others.append(col)
    return tuple(diffed), tuple(others)


def _in_sql(spec: EntitySpec, col: str, f: Field_) -> bool:
    """One plain column, text steps only, into a staging text column, nothing else."""
    table = staging_table(spec.target.table)
    column = None if table is None else table.c.get(col)
    plain = isinstance(f.from_, str) and f.when is None and f.default is None
    return (
        plain
        and f.personal is None
        and all(s.name in STEPS for s in f.steps)
        and column is not None
        and isinstance(column.type, String)
    )


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
