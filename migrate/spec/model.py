"""The mapping language as pydantic models (``extra="forbid"``, frozen).

One file describes one target entity::

    entity: ap_invoices            # unique name
    domain: finance                # finance | hr | procurement
    source: {system: finance, table: APINVHDR, key: [INV_ID]}
    target: {table: AP_INVOICES_INTERFACE, key: [INVOICE_ID]}
    issues_keys: {domain: ap_invoice, column: INVOICE_ID, legacy: [INV_ID]}
    fields:
      INVOICE_NUM: {from: INV_NO, steps: [strip, upper]}
      INVOICE_AMOUNT: {from: INV_AMT, steps: [{money: fixed}]}
    checks: [...]                  # row-set rules (balanced journals, unique combos)
    reconcile: {measures: [...], grains: [...]}

``docs/reference/mapping-language.md`` is generated from these models (``migrate mappings
schema``), so the docstrings here are the reference text.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from migrate.spec.base import Strict
from migrate.spec.checks import Balanced, Check, DateWindow, UniqueTogether, WholeGroup
from migrate.spec.conditions import Condition, Filter
from migrate.spec.flatfile import FlatFile
from migrate.spec.grains import Grain
from migrate.spec.parts import Part, Piece, part_columns
from migrate.spec.reconciling import Measure, Reconcile, SourceEncoding
from migrate.spec.steps import Step, parse_step


class Source(Strict):
    """Where rows come from: a table or read-only query of a named system, or a file."""

    system: str = Field(description="finance | hr | procurement, or a file-only system name")
    table: str | None = None
    query: str | None = Field(default=None, description="a read-only SELECT")
    file: FlatFile | None = None
    key: list[str] = Field(min_length=1, description="source key columns (`_line` for files)")
    group_by: list[str] | None = Field(
        default=None, description="rows sharing these columns stay in one chunk (journals)"
    )
    filters: list[Filter] = []
    delta_column: str | None = Field(
        default=None, description="monotonic column (change date or key) for delta runs"
    )

    @model_validator(mode="after")
    def _one_origin(self) -> Source:
        origins = [x for x in (self.table, self.query, self.file) if x is not None]
        if len(origins) != 1:
            raise ValueError("source needs exactly one of: table, query, file")
        if self.query is not None and not self.query.lstrip().lower().startswith(
            ("select", "with")
        ):
            raise ValueError("source.query must be a read-only SELECT")
        return self


class Target(Strict):
    table: str
    key: list[str] = Field(min_length=1)


class IssuesKeys(Strict):
    """This entity issues new ERP keys for its legacy keys, persisted in the key map."""

    domain: str
    column: str = Field(description="target column that receives the ERP key")
    legacy: list[str] = Field(min_length=1, description="source columns forming the legacy key")
    merge_on: list[Literal["tax_id", "name_address"]] = Field(
        default=[], description="reuse an existing ERP key when an already staged row matches"
    )
    match_columns: dict[str, str] = Field(
        default={}, description="target columns used for merge matching: tax_id, name, address"
    )


class Lookup(Strict):
    """Resolve a legacy key to the ERP key another entity issued (a reference)."""

    domain: str
    system: str | None = Field(default=None, description="defaults to this source's system")
    from_: list[str] = Field(alias="from", min_length=1)


class Field_(Strict):
    """How one target column is produced from a source row."""

    from_: str | list[str] | None = Field(default=None, alias="from")
    const: Any = None
    expr: str | None = Field(
        default=None,
        description=(
            "arithmetic: + - * / ( ) over columns, exact; a blank operand makes it blank, an "
            "operand that is no number rejects the row (invalid_number), and so does a "
            "division by zero (division_by_zero)"
        ),
    )
    lookup: Lookup | None = None
    parts: list[Piece] | None = Field(
        default=None,
        min_length=1,
        description=(
            "pieces concatenated (with `join` between them, none by default): a column name, "
            "`{column: C, steps: [...]}` (that column's trimmed text through its own steps) "
            'or `{const: "-"}`; e.g. `[YEAR, {const: "-"}, {column: MONTH, steps: '
            "[{zfill: 2}]}]` gives 2018-02"
        ),
    )
    join: str | None = Field(
        default=None, description="separator when `from` lists columns, or between `parts`"
    )
    steps: list[Step] = []
    when: Condition | None = Field(default=None, description="value only where this holds")
    default: Any = None
    required: bool | None = Field(default=None, description="defaults to NOT NULL in staging")
    allowed: list[Any] | None = Field(default=None, description="values the column may hold")
    pattern: str | None = Field(
        default=None, description="regular expression; text columns only (invalid_format)"
    )
    min: Any = Field(
        default=None,
        description="lower bound; number, money or date columns (`0` on money: no negatives)",
    )
    max: Any = Field(default=None, description="upper bound; number, money or date columns")
    personal: Literal["ssn", "bank_account", "routing", "birth_date"] | None = None

    @field_validator("steps", mode="before")
    @classmethod
    def _parse_steps(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("steps must be a list")
        return [parse_step(item, index) for index, item in enumerate(value)]

    @model_validator(mode="after")
    def _one_origin(self) -> Field_:
        origins = [
            x for x in (self.from_, self.const, self.expr, self.lookup, self.parts) if x is not None
        ]
        if len(origins) != 1:
            raise ValueError("a field needs exactly one of: from, const, expr, lookup, parts")
        if isinstance(self.from_, list) and self.join is None:
            raise ValueError("`from` with several columns needs `join`")
        return self

    def source_columns(self) -> list[str]:
        from migrate.transform.expr import columns_of

        cols: list[str] = []
        if isinstance(self.from_, str):
            cols.append(self.from_)
        elif isinstance(self.from_, list):
            cols.extend(self.from_)
        if self.expr:
            cols.extend(columns_of(self.expr))
        if self.lookup:
            cols.extend(self.lookup.from_)
        for part in self.parts or []:
            cols.extend(part_columns(part))
        if self.when:
            cols.append(self.when.column)
        for step in self.steps:
            cols.extend(step.source_columns())
        return cols


VARIANT_NAME = re.compile(r"[a-z][a-z0-9_]*")


class EntitySpec(Strict):
    """One target entity: the contract for how its rows are migrated."""

    entity: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    domain: Literal["finance", "hr", "procurement"]
    description: str = ""
    source: Source
    target: Target
    issues_keys: IssuesKeys | None = None
    fields: dict[str, Field_]
    checks: list[Check] = []
    reconcile: Reconcile = Reconcile()
    depends_on: list[str] = Field(default=[], description="extra ordering beyond lookups")
    variants: dict[str, dict[str, Field_]] | None = Field(
        default=None,
        description=(
            "one source row, several target rows: each named variant (e.g. `debit`, "
            "`offset`) yields one target row per source row, its fields added to (or "
            "overriding) the shared `fields`; a source row is staged with all its variants "
            "or rejected whole (one reject naming `variant.FIELD`); the staged rows' "
            "MIG_SOURCE_KEY is the legacy key, `@`, the variant name. Some target key "
            "column must tell the variants apart: a `const` in every variant, different in "
            "each, or `parts` ending (or starting) with a different `const` in each"
        ),
    )

    @field_validator("variants", mode="before")
    @classmethod
    def _variant_names(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, dict) or len(value) < 2:
            raise ValueError("variants needs at least two named variants")
        for name, fields in value.items():
            if not isinstance(name, str) or not VARIANT_NAME.fullmatch(name):
                raise ValueError(f"variant name {name!r}: lower case letters, digits and _")
            if not isinstance(fields, dict) or not fields:
                raise ValueError(f"variant {name} needs a mapping of target columns to fields")
        return value

    def variant_fields(self, name: str) -> dict[str, Field_]:
        """The fields of one variant: the shared ones, then the variant's own (overriding)."""
        assert self.variants is not None
        return {**self.fields, **self.variants[name]}

    def variant_spec(self, name: str) -> EntitySpec:
        """This entity as if it had the one variant (its fields merged, no variants)."""
        return self.model_copy(update={"fields": self.variant_fields(name), "variants": None})

    def filled_columns(self) -> list[str]:
        """Every target column some field fills (in any variant), in order."""
        cols = list(self.fields)
        for fields in (self.variants or {}).values():
            cols += [c for c in fields if c not in cols]
        return cols

    def cents_fields(self) -> frozenset[str]:
        """Fields whose steps yield integer cents (they end in, or pass through, ``money``)."""
        return frozenset(
            n for n, f in self.fields.items() if any(s.name == "money" for s in f.steps)
        )

    def lookup_domains(self) -> set[str]:
        every = [*self.fields.values()]
        every += [f for fields in (self.variants or {}).values() for f in fields.values()]
        return {f.lookup.domain for f in every if f.lookup is not None}


__all__ = [
    "Balanced",
    "Check",
    "Condition",
    "DateWindow",
    "EntitySpec",
    "Field_",
    "Filter",
    "FlatFile",
    "Grain",
    "IssuesKeys",
    "Lookup",
    "Measure",
    "Part",
    "Reconcile",
    "Source",
    "SourceEncoding",
    "Strict",
    "Target",
    "UniqueTogether",
    "WholeGroup",
]
