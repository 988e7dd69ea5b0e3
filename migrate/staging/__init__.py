"""The ERP staging target: its tables, and what a run needs of it.

``catalog``          the staging tables every reader asks for (shipped pack and declared)
``tables``           building the staging metadata; ``lineage_columns`` the tool's own
                     columns every target table carries
``bookkeeping``      the run's own tables (runs, progress, key map, rejects, ...)
``types``            the column types (money as integer cents, exact decimals)
``create``           staging made ready for a run: tables created, old lineage refused
"""
