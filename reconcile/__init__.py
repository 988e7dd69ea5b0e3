"""Independent reconciliation: queries the legacy and staging databases itself.

It never imports ``migrate.transform`` or the pipeline's readers: what it checks is computed
from the databases with its own SQL and its own, declared, source-side rules.

``reading/``   how a side is read: the legacy side (SQL pushed down, or its own readers of
               flat files and amounts), the staging side of one run, scans as Arrow batches
``proving/``   what is proven: the accounting identity, exact amounts, grain totals, the
               keyed row diff, every restated column, ERP rules and cross-entity totals
``reports/``   what is written: the sign-off workbook, its JSON, and numbered reports that
               are never replaced
``report``     the frozen results proving hands to the reports
``run``        ``migrate reconcile``; ``exported`` the proof of an export's files
``interrupt``  Ctrl-C within a second, even inside a long query

``reading`` imports nothing of ``proving`` or ``reports``, and ``proving`` nothing of
``reports`` (``tests/test_house.py``).
"""
