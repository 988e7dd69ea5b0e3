"""ERP import rules checked on what is staged: journals balance, every reference resolves.

Both are one SQL query each on the staging database, over the run's rows only. A reference
resolves when the staged value is, as text, an ERP key issued in ``MIG_KEY_MAP`` for the
lookup's domain (so ``"1.0"`` does not resolve to key ``1``: the ERP would not match it).
"""

from __future__ import annotations

from migrate.spec.model import EntitySpec
from migrate.staging.types import cents_sql
from reconcile.report import RuleResult
from reconcile.sqltext import as_text
from reconcile.staging_side import Staging

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
    return out


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
    value = f"TRIM({as_text(f't.{q(column)}', dialect)})"
    erp = as_text(f"k.{q('ERP_KEY')}", dialect)
    rows = st.query(
        f"SELECT {value}, COUNT(*) FROM {st.table(spec.target.table)} t "
        f"WHERE {_run_filter(st, spec)} AND t.{q(column)} IS NOT NULL AND NOT EXISTS ("
        f"SELECT 1 FROM {st.table('MIG_KEY_MAP')} k WHERE k.{q('DOMAIN')} = :domain "
        f"AND {erp} = {value}) "
        f"GROUP BY {value} ORDER BY {value}",
        entity=spec.entity,
        domain=domain,
    )
    bad = sum(int(str(r[1])) for r in rows)
    sample = ", ".join(repr(r[0]) for r in rows[:SHOW])
    detail = f"not an issued {domain} key: {sample}" if rows else ""
    return RuleResult(spec.entity, f"{column} resolves to an issued {domain} ERP key", bad, detail)
