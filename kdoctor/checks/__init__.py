"""Checks: pure functions of a facts snapshot. A check's id names its module (see catalogue.py)."""
