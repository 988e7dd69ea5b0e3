"""The pipeline's shared types, apart so the runner and variant chunks need none of its code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, MetaData

from migrate.extract.chunks import Chunk
from migrate.spec.loader import Project

Progress = Callable[[str, int, int, int], None]  # entity, rows done, loaded, rejected


@dataclass
class EntityResult:
    entity: str
    rows_in: int = 0
    loaded: int = 0
    rejected: int = 0
    filtered: int = 0
    warnings: int = 0  # loaded rows flagged by a check that warns (a row once per warning)
    batches: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, other: EntityResult) -> None:
        """Fold in another partition's result (seconds add up: partitions ran in turn)."""
        for name in ("rows_in", "loaded", "rejected", "filtered", "warnings", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        for reason, n in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + n


@dataclass(frozen=True)
class Context:
    """Everything a run needs that is not the data: specs, engines, staging metadata."""

    project: Project
    sources: dict[str, Engine]
    staging: Engine
    md: MetaData
    run_id: str
    chunk_size: int = 50_000
    workdir: Path = Path(".")
    mode: str = "full"


@dataclass
class Prepared:
    """A transformed and validated chunk: what its transaction writes."""

    chunk: Chunk
    staged: pd.DataFrame
    rejects: list[dict[str, object]]
    filtered: list[dict[str, object]]
    counts: dict[str, int]
    started: float
    warnings: list[dict[str, object]] = field(default_factory=list)
