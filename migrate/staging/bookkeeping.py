"""The tool's own bookkeeping tables (``MIG_*``), apart from the ERP target tables: what
every run, reject, filtered row, issued key, warning, reconciliation and sign-off leaves."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)


def bookkeeping(md: MetaData) -> None:
    """The tool's own tables: runs, progress, rejects, filtered rows, key map, key spaces,
    references, warnings, reconciliations and sign-offs (users never declare these)."""
    Table(
        "MIG_RUNS",
        md,
        Column("RUN_ID", String(36), primary_key=True),
        Column("MODE", String(20), nullable=False),
        Column("STATUS", String(20), nullable=False),
        Column("STARTED_AT", DateTime, nullable=False),
        Column("ENDED_AT", DateTime),
        Column("STARTED_BY", String(120)),
        Column("MAPPING_HASHES", Text),
        Column("SOURCE_IDENTITY", Text),
        Column("WATERMARKS", Text),
        Column("VERDICT", String(20), comment="the latest reconciliation's verdict"),
        Column("WORKBOOK_SHA256", String(64), comment="the latest reconciliation's workbook"),
    )
    _history(md)
    Table(
        "MIG_PROGRESS",
        md,
        Column("RUN_ID", String(36), nullable=False),
        Column("ENTITY", String(120), nullable=False),
        Column("BATCH_ID", Integer, nullable=False),
        Column("ROWS_IN", Integer, nullable=False),
        Column("LOADED", Integer, nullable=False),
        Column("REJECTED", Integer, nullable=False),
        Column("FILTERED", Integer, nullable=False),
        Column("LAST_KEY", String(200)),
        Column("SECONDS", Text),
        Column("DONE_AT", DateTime, nullable=False),
        UniqueConstraint("RUN_ID", "ENTITY", "BATCH_ID", name="uq_mig_progress"),
    )
    Table(
        "MIG_PARTITIONS",
        md,
        Column("RUN_ID", String(36), nullable=False),
        Column("ENTITY", String(120), nullable=False),
        Column("PARTITION_NO", Integer, nullable=False),
        Column("PARTITIONS", Integer, nullable=False),
        Column("LO_KEY", Text, comment="JSON; null = open start"),
        Column("HI_KEY", Text, comment="JSON; null = open end (exclusive)"),
        Column("ROWS_IN", Integer),
        Column("SECONDS", Text),
        Column("DONE_AT", DateTime),
        UniqueConstraint("RUN_ID", "ENTITY", "PARTITION_NO", name="uq_mig_partitions"),
    )
    Table(
        "MIG_REJECTS",
        md,
        Column("RUN_ID", String(36), nullable=False, index=True),
        Column("BATCH_ID", Integer, nullable=False),
        Column("ENTITY", String(120), nullable=False),
        Column("SOURCE_SYSTEM", String(30), nullable=False),
        Column("SOURCE_KEY", String(200), nullable=False),
        Column("COLUMN_NAME", String(120)),
        Column("REASON_CODE", String(60), nullable=False),
        Column("OFFENDING_VALUE", Text),
        Column("MESSAGE", Text),
        Index("ix_mig_rejects_entity_key", "ENTITY", "SOURCE_KEY"),
    )
    Table(
        "MIG_WARNINGS",
        md,
        Column("RUN_ID", String(36), nullable=False, index=True),
        Column("BATCH_ID", Integer, nullable=False),
        Column("ENTITY", String(120), nullable=False),
        Column("SOURCE_SYSTEM", String(30), nullable=False),
        Column("SOURCE_KEY", String(200), nullable=False),
        Column("COLUMN_NAME", String(240), comment="the flagged column(s), comma-separated"),
        Column("REASON_CODE", String(60), nullable=False),
        Column("VALUE", Text, comment="the flagged value(s) as staged, personal data masked"),
        Index("ix_mig_warnings_entity_reason", "ENTITY", "REASON_CODE"),
        comment="rows loaded but flagged by a check that warns, for finance to review",
    )
    Table(
        "MIG_FILTERED",
        md,
        Column("RUN_ID", String(36), nullable=False, index=True),
        Column("BATCH_ID", Integer, nullable=False),
        Column("ENTITY", String(120), nullable=False),
        Column("RULE", String(120), nullable=False),
        Column("SOURCE_KEY", String(200), nullable=False),
        Index("ix_mig_filtered_entity_key", "ENTITY", "SOURCE_KEY"),
    )
    Table(
        "MIG_KEY_MAP",
        md,
        Column("DOMAIN", String(60), nullable=False),
        Column("SOURCE_SYSTEM", String(30), nullable=False),
        Column("LEGACY_KEY", String(200), nullable=False),
        Column("ERP_KEY", BigInteger, nullable=False),
        Column("RUN_ID", String(36), nullable=False),
        UniqueConstraint("DOMAIN", "SOURCE_SYSTEM", "LEGACY_KEY", name="uq_mig_key_map"),
        Index("ix_mig_key_map_domain_erp", "DOMAIN", "ERP_KEY"),
    )
    _kept_across_runs(md)


def _kept_across_runs(md: MetaData) -> None:
    """What a rollback must not take away (these tables have no run id column, so the
    rollback's sweep over run ids leaves them): the highest ERP key ever issued per key
    space, so a key once issued is never issued again to another record (a rolled-back
    run's keys may still sit in an ERP load, a file, a later run's references); and which
    staged columns hold keys of which key space, so a rollback can find the rows of other
    runs that reference what it would remove."""
    Table(
        "MIG_KEY_SPACES",
        md,
        Column("DOMAIN", String(60), primary_key=True),
        Column("LAST_ERP_KEY", BigInteger, nullable=False, comment="never goes down"),
        comment="high-water mark of the ERP keys issued per key space (issue 22)",
    )
    Table(
        "MIG_REFERENCES",
        md,
        Column("ENTITY", String(120), nullable=False, comment="the entity whose rows refer"),
        Column("TABLE_NAME", String(128), nullable=False),
        Column("COLUMN_NAME", String(128), nullable=False),
        Column("DOMAIN", String(60), nullable=False, comment="the key space referred to"),
        Column("SOURCE_SYSTEM", String(30), nullable=False, comment="whose legacy keys"),
        UniqueConstraint(
            "ENTITY", "TABLE_NAME", "COLUMN_NAME", "DOMAIN", "SOURCE_SYSTEM", name="uq_mig_refs"
        ),
        comment="lookups of the mappings that staged rows, as recorded by each run",
    )


def _history(md: MetaData) -> None:
    """Every reconciliation of a run, kept (never replaced), and every sign-off decision,
    naming the reconciliation it judged: a later reconcile cannot turn a signed verdict into
    another one, and a decision never overwrites a verdict."""
    Table(
        "MIG_RECONCILIATIONS",
        md,
        Column("RUN_ID", String(36), nullable=False),
        Column("NUMBER", Integer, nullable=False, comment="1, 2, ... per run"),
        Column("VERDICT", String(20), nullable=False),
        Column("RECONCILED_AT", String(40), nullable=False, comment="ISO text, as the workbook"),
        Column("RECONCILED_BY", String(120)),
        Column("ENTITIES", Text, comment="JSON list of the entities reconciled"),
        Column("EXCEPTIONS", Integer, nullable=False, comment="lines to accept on Sign-off"),
        Column("WORKBOOK_PATH", Text, nullable=False),
        Column("WORKBOOK_SHA256", String(64), nullable=False),
        Column("JSON_PATH", Text, nullable=False),
        Column("JSON_SHA256", String(64), nullable=False),
        Column("DIFFERENCES_PATH", Text, nullable=False),
        Column("DIFFERENCES_SHA256", String(64), nullable=False),
        UniqueConstraint("RUN_ID", "NUMBER", name="uq_mig_reconciliations"),
    )
    Table(
        "MIG_SIGNOFFS",
        md,
        Column("RUN_ID", String(36), nullable=False, index=True),
        Column("RECONCILIATION", Integer, nullable=False, comment="the NUMBER judged"),
        Column("WORKBOOK_SHA256", String(64), nullable=False, comment="the workbook judged"),
        Column("VERDICT", String(20), nullable=False, comment="that reconciliation's verdict"),
        Column("APPROVER", String(120), nullable=False),
        Column("DECISION", String(20), nullable=False, comment="approve | reject"),
        Column("OUTCOME", String(40), nullable=False),
        Column("EXCEPTIONS_ACCEPTED", Integer, nullable=False),
        Column("COMMENT", Text),
        Column("SIGNED_AT", DateTime, nullable=False),
        Column("WHY", Text, comment="why an approval does not approve the run, if it does not"),
    )
    from migrate.audit.anchors import anchor_table  # the audit log's checkpoints (issue 22)

    anchor_table(md)
