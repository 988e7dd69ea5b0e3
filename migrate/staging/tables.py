"""The ERP staging tables, defined once as SQLAlchemy metadata.

Finance and procurement tables follow Oracle Fusion's file-based-import interface layouts
(``../shared/realdata/erp_target_schemas/oracle_fusion_interface``): same column names,
lengths and required flags, restricted to the columns a city's migration fills. The columns
left out are listed in ``docs/reference/staging.md``. HR tables follow the same style.

Every target table carries the lineage columns ``MIG_RUN_ID``, ``MIG_BATCH_ID``,
``MIG_ENTITY``, ``MIG_SOURCE_SYSTEM``, ``MIG_SOURCE_KEY`` and ``MIG_SOURCE_HASH`` (invariant
5: every staged row carries its run id; ``MIG_ENTITY`` says which mapping staged it, so
entities sharing a table and a source system are told apart exactly), and a unique
constraint on its target key so a re-run can never duplicate a row.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from migrate.staging.bookkeeping import bookkeeping
from migrate.staging.types import Money

LINEAGE_COLUMNS: tuple[str, ...] = (
    "MIG_RUN_ID",
    "MIG_BATCH_ID",
    "MIG_ENTITY",
    "MIG_SOURCE_SYSTEM",
    "MIG_SOURCE_KEY",
    "MIG_SOURCE_HASH",
)


def _lineage() -> list[Column[object]]:
    return [
        Column("MIG_RUN_ID", String(36), nullable=False, index=True),
        Column("MIG_BATCH_ID", Integer, nullable=False),
        Column("MIG_ENTITY", String(120), nullable=False),
        Column("MIG_SOURCE_SYSTEM", String(30), nullable=False),
        Column("MIG_SOURCE_KEY", String(200), nullable=False),
        Column("MIG_SOURCE_HASH", String(64), nullable=False),
    ]


def _target(
    metadata: MetaData, name: str, key: tuple[str, ...], *columns: Column[object] | Index
) -> Table:
    return Table(
        name,
        metadata,
        *columns,
        *_lineage(),
        UniqueConstraint(*key, name=f"uq_{name.lower()}_key"),
        info={"target_key": key},
    )


def build_metadata(schema: str | None = None) -> MetaData:
    """All staging tables, optionally in a schema (a rehearsal uses its own schema)."""
    md = MetaData(schema=schema)
    _finance(md)
    _receivables(md)
    _procurement(md)
    _hr(md)
    for table in [t for t in md.tables.values() if "target_key" in t.info]:
        _replaced(md, table)
    _declared(md)  # builds each declared table with its own twin
    bookkeeping(md)
    return md


def _declared(md: MetaData) -> None:
    """The user's own target definitions (:mod:`migrate.staging.catalog`), if any."""
    from migrate.staging.catalog import declared_directories

    directories = declared_directories()
    if directories:
        from migrate.targets.declared import add_declared_tables

        add_declared_tables(md, directories)


REPLACED_PREFIX = "MIG_REPLACED_"


def replaced_name(target: str) -> str:
    return REPLACED_PREFIX + target


def _replaced(md: MetaData, target: Table) -> Table:
    """Where a delta run keeps the staged rows it replaces, so rolling it back restores them.

    Same columns as the target (no constraints: several versions of one key may wait here),
    plus the run that replaced them.
    """
    return Table(
        replaced_name(target.name),
        md,
        *[Column(c.name, c.type, nullable=True) for c in target.columns],
        Column("REPLACED_BY_RUN", String(36), nullable=False, index=True),
        Index(f"ix_mig_replaced_{target.name.lower()}_run", "MIG_RUN_ID"),
        info={"replaces": target.name},
    )


def _finance(md: MetaData) -> None:
    _target(
        md,
        "GL_ACCOUNTS",
        ("CODE_COMBINATION",),
        Column("CODE_COMBINATION", String(100), nullable=False),
        Column("SEGMENT1", String(25), nullable=False, comment="fund"),
        Column("SEGMENT2", String(25), nullable=False, comment="cost center (department)"),
        Column("SEGMENT3", String(25), nullable=False, comment="natural account (object)"),
        Column("DESCRIPTION", String(240)),
        Column("ACCOUNT_TYPE", String(1), nullable=False),
        Column("ENABLED_FLAG", String(1), nullable=False),
    )
    _target(
        md,
        "GL_INTERFACE",
        ("REFERENCE21",),
        Column("STATUS", String(50), nullable=False),
        Column("LEDGER_NAME", String(30)),
        Column("ACCOUNTING_DATE", Date, nullable=False),
        Column("USER_JE_SOURCE_NAME", String(25), nullable=False),
        Column("USER_JE_CATEGORY_NAME", String(25), nullable=False),
        Column("CURRENCY_CODE", String(15), nullable=False),
        Column("DATE_CREATED", Date, nullable=False),
        Column("ACTUAL_FLAG", String(1), nullable=False),
        Column("SEGMENT1", String(25), nullable=False),
        Column("SEGMENT2", String(25), nullable=False),
        Column("SEGMENT3", String(25), nullable=False),
        Column("ENTERED_DR", Money),
        Column("ENTERED_CR", Money),
        Column("REFERENCE1", String(100), comment="batch name"),
        Column("REFERENCE4", String(100), comment="journal name (balancing group)"),
        Column("REFERENCE10", String(240), comment="line description"),
        Column("REFERENCE21", String(240), nullable=False, comment="legacy journal line key"),
        Column("PERIOD_NAME", String(15), nullable=False),
    )
    _target(
        md,
        "AP_INVOICES_INTERFACE",
        ("INVOICE_ID",),
        Column("INVOICE_ID", BigInteger, nullable=False),
        Column("OPERATING_UNIT", String(240)),
        Column("SOURCE", String(80), nullable=False),
        Column("INVOICE_NUM", String(50), nullable=False),
        Column("INVOICE_AMOUNT", Money, nullable=False),
        Column("INVOICE_DATE", Date, nullable=False),
        Column("VENDOR_ID", BigInteger, nullable=False, comment="ERP supplier key (key map)"),
        Column("VENDOR_NUM", String(30)),
        Column("INVOICE_CURRENCY_CODE", String(15), nullable=False),
        Column("DESCRIPTION", String(240)),
        Column("INVOICE_TYPE_LOOKUP_CODE", String(25), nullable=False),
        Column("TERMS_DATE", Date),
        Column("GL_DATE", Date, nullable=False),
        Column("PERIOD_NAME", String(15)),
        Index("ix_ap_invoices_supplier_number", "VENDOR_ID", "INVOICE_NUM"),
    )
    _target(
        md,
        "AP_INVOICE_LINES_INTERFACE",
        ("INVOICE_ID", "LINE_NUMBER"),
        Column("INVOICE_ID", BigInteger, nullable=False),
        Column("LINE_NUMBER", Integer, nullable=False),
        Column("LINE_TYPE_LOOKUP_CODE", String(25), nullable=False),
        Column("AMOUNT", Money, nullable=False),
        Column("QUANTITY_INVOICED", Money),
        Column("UNIT_PRICE", Money),
        Column("DESCRIPTION", String(240)),
        Column("DIST_CODE_CONCATENATED", String(250), nullable=False),
        Column("ACCOUNTING_DATE", Date),
    )
    _target(
        md,
        "AP_PAYMENTS",
        ("PAYMENT_ID",),
        Column("PAYMENT_ID", BigInteger, nullable=False),
        Column("INVOICE_ID", BigInteger, nullable=False),
        Column("CHECK_NUMBER", String(30)),
        Column("PAYMENT_DATE", Date, nullable=False),
        Column("AMOUNT", Money, nullable=False),
        Column("PAYMENT_METHOD_CODE", String(30), nullable=False),
    )


def _receivables(md: MetaData) -> None:
    """Accounts receivable, named after Oracle's AR interfaces (customers as in the HZ
    customer import, invoices and lines as in AutoInvoice's ``RA_INTERFACE_LINES_ALL``,
    split into a header and its lines), restricted to what a small ledger fills."""
    _target(
        md,
        "AR_CUSTOMERS_INTERFACE",
        ("CUSTOMER_NUMBER",),
        Column("CUSTOMER_NUMBER", String(30), nullable=False, comment="legacy customer id"),
        Column("CUSTOMER_NAME", String(360), nullable=False),
        Column("COMPANY_NAME", String(360)),
        Column("ADDRESS_LINE1", String(240)),
        Column("CITY", String(60)),
        Column("STATE", String(60)),
        Column("COUNTRY", String(60)),
        Column("POSTAL_CODE", String(60)),
        Column("EMAIL_ADDRESS", String(320)),
    )
    _target(
        md,
        "AR_INVOICES_INTERFACE",
        ("TRX_NUMBER",),
        Column("TRX_NUMBER", String(20), nullable=False),
        Column("TRX_DATE", Date, nullable=False),
        Column("BILL_CUSTOMER_NUMBER", String(30), nullable=False),
        Column("CURRENCY_CODE", String(15), nullable=False),
        Column("TRX_AMOUNT", Money, nullable=False, comment="the header's total"),
        Column("BILL_TO_COUNTRY", String(60)),
    )
    _target(
        md,
        "AR_INVOICE_LINES_INTERFACE",
        ("TRX_NUMBER", "LINE_NUMBER"),
        Column("TRX_NUMBER", String(20), nullable=False, comment="the header's TRX_NUMBER"),
        Column("LINE_NUMBER", Integer, nullable=False),
        Column("ITEM_NUMBER", String(30)),
        Column("QUANTITY", Integer, nullable=False),
        Column("UNIT_SELLING_PRICE", Money, nullable=False),
        Column("AMOUNT", Money, nullable=False),
    )


def _procurement(md: MetaData) -> None:
    _target(
        md,
        "SUPPLIERS",
        ("SUPPLIER_ID",),
        Column("SUPPLIER_ID", BigInteger, nullable=False),
        Column("VENDOR_NAME", String(360), nullable=False),
        Column("SEGMENT1", String(30), comment="supplier number"),
        Column("TAXPAYER_ID", String(20)),
        Column("ADDRESS_LINE1", String(240)),
        Column("CITY", String(60)),
        Column("STATE", String(60)),
        Column("POSTAL_CODE", String(60)),
        Column("ENABLED_FLAG", String(1), nullable=False),
    )
    _target(
        md,
        "POR_REQ_HEADERS",
        ("REQUISITION_NUMBER",),
        Column("REQUISITION_NUMBER", String(64), nullable=False),
        Column("CREATION_DATE", Date, nullable=False),
        Column("DEPARTMENT_CODE", String(30)),
        Column("PREPARER_NAME", String(240)),
        Column("DOCUMENT_STATUS", String(25), nullable=False),
    )
    _target(
        md,
        "PO_HEADERS_INTERFACE",
        ("INTERFACE_HEADER_KEY",),
        Column("INTERFACE_HEADER_KEY", String(50), nullable=False),
        Column("ACTION", String(25), nullable=False),
        Column("DOCUMENT_NUM", String(30), nullable=False),
        Column("DOCUMENT_TYPE_CODE", String(25), nullable=False),
        Column("PRC_BU_NAME", String(240)),
        Column("AGENT_NAME", String(2000)),
        Column("CURRENCY_CODE", String(15), nullable=False),
        Column("VENDOR_ID", BigInteger, nullable=False, comment="ERP supplier key (key map)"),
        Column("VENDOR_NUM", String(30)),
        Column("ORDER_DATE", Date, nullable=False),
        Column("REQUISITION_NUMBER", String(64)),
        Column("COMMENTS", String(240)),
        Column("TOTAL_AMOUNT", Money),
    )
    _target(
        md,
        "PO_LINES_INTERFACE",
        ("INTERFACE_LINE_KEY",),
        Column("INTERFACE_LINE_KEY", String(50), nullable=False),
        Column("INTERFACE_HEADER_KEY", String(50), nullable=False),
        Column("ACTION", String(25), nullable=False),
        Column("LINE_NUM", Integer, nullable=False),
        Column("LINE_TYPE", String(30), nullable=False),
        Column("ITEM_DESCRIPTION", String(1000)),
        Column("CATEGORY", String(2000)),
        Column("QUANTITY", Money, nullable=False),
        Column("UNIT_OF_MEASURE", String(25)),
        Column("UNIT_PRICE", Money, nullable=False),
        Column("AMOUNT", Money, nullable=False),
        Column("DIST_CODE_CONCATENATED", String(250)),
    )
    _target(
        md,
        "RCV_RECEIPTS",
        ("RECEIPT_NUM",),
        Column("RECEIPT_NUM", String(30), nullable=False),
        Column("PO_NUMBER", String(30), nullable=False),
        Column("PO_LINE_KEY", String(50), nullable=False, comment="ERP PO line key (key map)"),
        Column("PO_LINE_NUM", Integer, nullable=False),
        Column("RECEIPT_DATE", Date, nullable=False),
        Column("QUANTITY", Money, nullable=False),
    )


def _hr(md: MetaData) -> None:
    _target(
        md,
        "WORKERS",
        ("PERSON_NUMBER",),
        Column("PERSON_NUMBER", String(30), nullable=False),
        Column("LAST_NAME", String(150), nullable=False),
        Column("FIRST_NAME", String(150)),
        Column("MIDDLE_NAMES", String(80)),
        Column("NATIONAL_IDENTIFIER", String(30), comment="SSN: personal data"),
        Column("DATE_OF_BIRTH", Date, comment="personal data"),
        Column("START_DATE", Date, nullable=False),
        Column("TERMINATION_DATE", Date),
        Column("DEPARTMENT_CODE", String(30), nullable=False),
        Column("JOB_CODE", String(30), nullable=False),
        Column("ASSIGNMENT_STATUS", String(30), nullable=False),
    )
    _target(
        md,
        "POSITIONS",
        ("POSITION_CODE",),
        Column("POSITION_CODE", String(30), nullable=False),
        Column("NAME", String(240), nullable=False),
        Column("DEPARTMENT_CODE", String(30), nullable=False),
        Column("JOB_CODE", String(30), nullable=False),
        Column("FTE", Money, nullable=False),
    )
    _target(
        md,
        "SALARIES",
        ("PERSON_NUMBER", "DATE_FROM"),
        Column("PERSON_NUMBER", String(30), nullable=False),
        Column("DATE_FROM", Date, nullable=False),
        Column("SALARY_BASIS", String(30), nullable=False),
        Column("SALARY_AMOUNT", Money, nullable=False),
    )
    _target(
        md,
        "PAYROLL_HISTORY",
        ("CHECK_ID",),
        Column("CHECK_ID", String(30), nullable=False),
        Column("PERSON_NUMBER", String(30), nullable=False),
        Column("PAY_DATE", DateTime, nullable=False),
        Column("PAY_TYPE", String(30), nullable=False),
        Column("HOURS", Money),
        Column("GROSS_AMOUNT", Money, nullable=False),
    )
    _target(
        md,
        "WORKER_BANK_ACCOUNTS",
        ("PERSON_NUMBER", "PRIORITY"),
        Column("PERSON_NUMBER", String(30), nullable=False),
        Column("PRIORITY", Integer, nullable=False),
        Column("BANK_ROUTING_NUMBER", String(9), nullable=False, comment="personal data"),
        Column("ACCOUNT_NUMBER", String(30), nullable=False, comment="personal data"),
        Column("ACCOUNT_TYPE", String(30), nullable=False),
        Column("PERCENTAGE", Money, nullable=False),
    )
    _target(
        md,
        "WORKER_ANNUAL_PAY",
        ("FISCAL_YEAR", "RECORD_KEY"),
        Column("FISCAL_YEAR", Integer, nullable=False),
        Column("RECORD_KEY", String(60), nullable=False, comment="file row: no natural key"),
        Column("FULL_NAME", String(240), nullable=False),
        Column("LAST_NAME", String(150), nullable=False),
        Column("FIRST_NAME", String(150)),
        Column("MIDDLE_NAMES", String(80)),
        Column("JOB_TITLE", String(240), nullable=False),
        Column("DEPARTMENT_CODE", String(30), nullable=False),
        Column("DEPARTMENT_NAME", String(240)),
        Column("START_DATE", Date),
        Column("ANNUAL_SALARY", Money, nullable=False),
        Column("GROSS_PAY", Money),
    )


METADATA = build_metadata()
