"""What the two sides read as Arrow batches share: every total from one cached scan, and the
row hashes that scan kept (``arrowside.py``, SQLite files; ``arrowpg.py``, PostgreSQL)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconcile.reading.kepthashes import Kept
from reconcile.reading.relation import Relation
from reconcile.reading.rows import GroupTotals, Scan, Totals, group_profile, totals_of


class ScannedSide:
    """Mixed into a frozen dataclass side with a ``relation`` and a cached ``_scan``. A scan
    that read a table keeps its rows' hashes in ``__dict__["_kept"]`` (or None); a side that
    answered through SQL instead marks ``__dict__["_sql_only"]``."""

    relation: Relation
    if TYPE_CHECKING:
        _scan: Scan

    @property
    def fell_back(self) -> bool:
        """Whether a question was answered through the SQL side (so are all later ones)."""
        return "_sql_only" in self.__dict__

    def scan(self) -> Scan:
        return self._scan

    def totals(self) -> Totals:
        return totals_of(self._scan.profile, len(self.relation.values))

    def group_totals(self, extras: list[int]) -> GroupTotals:
        return group_profile(self._scan.profile, extras)

    def _kept_hashes(self) -> Kept | None:
        self.scan()  # the scan keeps them (when it read a table through Arrow)
        kept: Kept | None = self.__dict__.get("_kept")
        return kept

    def _drop_kept(self) -> None:
        kept = self.__dict__.pop("_kept", None)
        if kept is not None:
            kept.close()

    def close(self) -> None:
        """Drop the kept hashes (a temporary file) and what the SQL side kept."""
        self._drop_kept()
        self.relation.close()
