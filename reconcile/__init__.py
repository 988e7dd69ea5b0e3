"""Independent reconciliation: queries the legacy and staging databases itself.

It never imports ``migrate.transform``: what it checks is computed from the databases with
its own SQL and its own, declared, source-side rules.
"""
