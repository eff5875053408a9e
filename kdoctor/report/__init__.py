"""Findings and how they are rendered (rich terminal, JSON)."""
