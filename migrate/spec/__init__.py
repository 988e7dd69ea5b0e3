"""The mapping language: YAML files in ``mappings/`` parsed into checked, frozen specs."""

from migrate.spec.loader import Project, load_mapping, load_project

__all__ = ["Project", "load_mapping", "load_project"]
