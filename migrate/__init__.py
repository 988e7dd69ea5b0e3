"""ERP migration core: mapping language, extract, transform, validate, load, lineage.

The core is plain Python; it never imports Prefect (see ``flows/`` for that layer).
"""

__version__ = "0.1.0"
