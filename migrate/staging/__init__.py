"""The ERP staging target: table definitions and the bookkeeping tables of a run."""
