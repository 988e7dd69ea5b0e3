"""ERP import rules checked on what is staged: journals balance, every reference resolves;
and the warnings of checks that warn, re-derived (``reconcile/proving/warnings.py``). Rules across
entities (a header equals the sum of its lines) are in ``reconcile/proving/crossrules.py``.

Both are one SQL query each on the staging database, over the run's rows only. A reference
resolves when the staged value is, as text, an ERP key issued in ``MIG_KEY_MAP`` for the
lookup's domain (so ``"1.0"``, ``" 1"`` or ``"01"`` do not resolve to key ``1``: the ERP would
not match them).

That text equality is not what the key map's index can serve: compared as it is written, each
staged row scans the domain's keys (200,000 invoice lines against 50,000 invoice keys ran for
hours on SQLite). So the query finds the candidate key by number through the index on
``(DOMAIN, ERP_KEY)`` and then requires the text equality of that one key row: a staged text
that is not a canonical integer has no candidate, or a candidate whose text differs. The
number is only ever read from text that is digits (``CAST`` of anything else stops a
PostgreSQL query); SQLite's ``CAST`` never fails, so it needs no guard. A column the server
holds as an integer (PostgreSQL, MariaDB) needs neither: its text is its number's, so it is
compared as a number (the digit test costs more than the rest of the query there). The
unmatched rows of a ``LEFT JOIN`` are the unresolved ones (a key issued twice can only repeat
matched rows); it is not written as ``NOT EXISTS`` because MariaDB caches a correlated
subquery's answer by the outer value under its padding collation, answering ``'1 '`` as it
answered ``'1'``.
"""

from __future__ import annotations

from migrate.spec.model import EntitySpec
from migrate.staging.types import cents_sql
from reconcile.proving.warnings import check_warnings
from reconcile.reading.coltypes import integer_columns
from reconcile.reading.sqltext import as_text, bigint, family
from reconcile.reading.staging_side import Staging
from reconcile.report import RuleResult

SHOW = 5


def check_rules(st: Staging, spec: EntitySpec) -> list[RuleResult]:
    out = [
        _balanced(st, spec, c.balanced.group, c.balanced.debit, c.balanced.credit)
        for c in spec.checks
        if c.balanced is not None
    ]
    for column, rule in spec.fields.items():
        if rule.lookup is not None:
            out.append(_resolves(st, spec, column, rule.lookup.domain))
    return out + check_warnings(st, spec)


def _run_filter(st: Staging, spec: EntitySpec) -> str:
    q = st.engine.dialect.identifier_preparer.quote
    return f"t.{q('MIG_RUN_ID')} = :run AND t.{q('MIG_ENTITY')} = :entity"


def _balanced(
    st: Staging, spec: EntitySpec, group: list[str], debit: str, credit: str
) -> RuleResult:
    q = st.engine.dialect.identifier_preparer.quote
    dialect = st.engine.dialect.name
    cols = ", ".join(f"t.{q(c)}" for c in group)
    dr = cents_sql(f"COALESCE(t.{q(debit)}, 0)", dialect)
    cr = cents_sql(f"COALESCE(t.{q(credit)}, 0)", dialect)
    rows = st.query(
        f"SELECT {cols}, SUM({dr}), SUM({cr}) FROM {st.table(spec.target.table)} t "
        f"WHERE {_run_filter(st, spec)} GROUP BY {cols} HAVING SUM({dr}) <> SUM({cr}) "
        f"ORDER BY {cols}",
        entity=spec.entity,
    )
    detail = "; ".join(
        f"{'/'.join(str(v) for v in r[: len(group)])}: debits {r[-2]} <> credits {r[-1]} (cents)"
        for r in rows[:SHOW]
    )
    return RuleResult(
        spec.entity,
        f"journals balance per {', '.join(group)} (SUM {debit} = SUM {credit})",
        len(rows),
        detail,
    )


def _resolves(st: Staging, spec: EntitySpec, column: str, domain: str) -> RuleResult:
    q = st.engine.dialect.identifier_preparer.quote
    dialect = st.engine.dialect.name
    table = st.table(spec.target.table)
    value = exact_text(f"t.{q(column)}", dialect)
    erp = exact_text(f"k.{q('ERP_KEY')}", dialect)
    if column in integer_columns(st.engine, table, [column]):  # its text is its number's
        match = f"k.{q('ERP_KEY')} = t.{q(column)}"
    else:
        match = f"k.{q('ERP_KEY')} = {key_number(value, dialect)} AND {erp} = {value}"
    rows = st.query(
        f"SELECT {value}, COUNT(*) FROM {table} t "
        f"LEFT JOIN {st.table('MIG_KEY_MAP')} k ON k.{q('DOMAIN')} = :domain AND {match} "
        f"WHERE {_run_filter(st, spec)} AND t.{q(column)} IS NOT NULL "
        f"AND k.{q('ERP_KEY')} IS NULL GROUP BY {value} ORDER BY {value}",
        entity=spec.entity,
        domain=domain,
    )
    bad = sum(int(str(r[1])) for r in rows)
    sample = ", ".join(repr(_str(r[0])) for r in rows[:SHOW])
    detail = f"not an issued {domain} key: {sample}" if rows else ""
    return RuleResult(spec.entity, f"{column} resolves to an issued {domain} ERP key", bad, detail)


def exact_text(expr: str, dialect: str) -> str:
    """The value as text compared byte for byte. MariaDB's usual collations pad with spaces
    (``'1 ' = '1'`` is true there), so there the text is a binary string."""
    if family(dialect) == "mysql":
        return f"CAST({expr} AS BINARY)"
    return as_text(expr, dialect)


def _str(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


BIGINT_RANGE = "-9223372036854775808 AND 9223372036854775807"


def key_number(text_sql: str, dialect: str) -> str:
    """The integer a staged key text names, for the index probe; NULL where it names none.

    Only a candidate: the caller still requires the key's own text to equal ``text_sql``
    (``'01'`` and ``'1'`` both give 1 here). On PostgreSQL and MariaDB only optional-sign
    digits are cast, and 19 of them only within BIGINT's range, so the cast never fails nor
    clamps; SQLite's cast of any text is an integer (clamped, or 0) and never fails."""
    if family(dialect) == "sqlite":
        return f"CAST({text_sql} AS INTEGER)"
    op = "~" if family(dialect) == "postgresql" else "REGEXP"
    num = "NUMERIC" if family(dialect) == "postgresql" else "DECIMAL(19, 0)"
    as_int = f"CAST({text_sql} AS {bigint(dialect)})"
    return (
        f"(CASE WHEN {text_sql} {op} '^-?[0-9]{{1,18}}$' THEN {as_int} "
        f"WHEN {text_sql} {op} '^-?[0-9]{{19}}$' "
        f"AND CAST({text_sql} AS {num}) BETWEEN {BIGINT_RANGE} THEN {as_int} END)"
    )
