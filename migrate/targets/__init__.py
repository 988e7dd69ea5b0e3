"""Targets: what staging is, declared as data.

A target definition (YAML) declares a staging table: its columns, types, required flags,
allowed values, formats, key and indexes (:mod:`.definition`, read by :mod:`.loader`). It
can be imported from a vendor's published layout (:mod:`.fbdi`), reflected from a table a
DBA created (:mod:`.reflect`), built into SQLAlchemy tables with the tool's own lineage
columns (:mod:`.build`) and checked against the live table (:mod:`.drift`). The shipped
staging tables are such definitions, a pack generated from vendor layouts (:mod:`.pack`).
"""
