"""ERP migration core, one package per stage of the data flow.

spec -> extract -> transform -> validate -> load -> runs, into the staging that ``targets``
and ``staging`` declare, with ``lineage``, ``audit``, ``signoff`` and ``export`` beside them.
Each package's ``__init__`` lists its modules and its public names. The core is plain
Python: it never imports Prefect (``flows/``), the reconciliation (``reconcile/``) or the
command line (``cli/``).
"""

__version__ = "0.1.0"
