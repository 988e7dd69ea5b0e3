"""The base of every spec model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base of every spec model: unknown keys are errors, parsed specs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
