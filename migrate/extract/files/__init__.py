"""Flat-file extracts as legacy systems hand them over, read into text frames.

``dispatch.py`` picks the reader from the mapping's ``source.file``: delimited text
(``delimited.py``: header or declared columns, any delimiter, quote and escape character,
encoding) or fixed-width records (``fixed.py``: a YAML layout or a COBOL copybook). Each
reader yields frames of text columns in the file's order, and may mark a record it could not
read with the ``_read_*`` columns of :mod:`migrate.transform.failures`; the dispatch adds
``_line``, the 1-based record number.
"""
