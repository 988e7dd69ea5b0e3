"""Validation: cast to the staging types, Pandera schemas compiled from mappings, ERP rules."""
