"""Lineage: where every staged row came from, by which rule, in which run.

``rules`` reads the field rules of a mapping, ``openlineage`` turns them into OpenLineage run
events, ``trace`` follows one row from staging back to its legacy source (and the reverse),
``masking`` and ``keyed_hash`` keep personal data out of everything these produce.
"""
