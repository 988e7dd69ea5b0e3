"""The mapping files a run used, found again by the content hashes the run recorded.

Lineage must describe the rules that actually produced a row, not today's rules: each file
is re-read and its SHA-256 compared with the hash in ``MIG_RUNS.MAPPING_HASHES``; a changed
file is still shown, flagged, so an auditor sees the difference instead of a silent guess.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from migrate.config import Settings
from migrate.errors import SpecErrors
from migrate.spec.loader import LoadedEntity, load_mapping

DEFAULT_MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


@dataclass(frozen=True)
class RunSpec:
    """One mapping file as the run recorded it and as it reads now."""

    display: str
    recorded_sha256: str | None
    loaded: LoadedEntity | None

    @property
    def current_sha256(self) -> str | None:
        return self.loaded.sha256 if self.loaded else None

    @property
    def unchanged(self) -> bool:
        return self.recorded_sha256 is None or self.recorded_sha256 == self.current_sha256


def mappings_root(settings: Settings, override: Path | None = None) -> Path:
    """``--mappings`` if given, else ``settings.extra['mappings']``, else the project's own."""
    if override is not None:
        return override.resolve()
    extra = settings.extra.get("mappings")
    return Path(str(extra)).resolve() if extra else DEFAULT_MAPPINGS


def run_specs(root: Path, hashes: dict[str, str]) -> list[RunSpec]:
    """Every entity file the run recorded (or every file under ``root`` if none recorded)."""
    if not hashes:
        files = sorted(p for p in root.rglob("*.yaml") if "realdata" not in p.parts)
        hashes = {str(p.relative_to(root.parent)): "" for p in files}
    out: list[RunSpec] = []
    for display, sha in sorted(hashes.items()):
        path = root.parent / display
        loaded: LoadedEntity | None = None
        if path.exists():
            try:
                loaded = load_mapping(path, root)
            except SpecErrors:
                loaded = None
        out.append(RunSpec(display, sha or None, loaded))
    return out


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
