"""Flat-file extracts as legacy systems hand them over."""

from __future__ import annotations

from pydantic import Field

from migrate.spec.base import Strict
from migrate.spec.layout import FixedWidth


class FlatFile(Strict):
    """A CSV extract handed over by a legacy system."""

    path: str = Field(description="relative to the working folder, or absolute")
    encoding: str = "utf-8"
    delimiter: str = ","
    quotechar: str = '"'
    env: str | None = Field(default=None, description="environment variable overriding path")
    fixed: FixedWidth | None = Field(
        default=None, description="read by positions (a layout or a copybook), not delimited"
    )
