"""Probes gather facts; nothing in here judges them (that is ``kdoctor.checks``)."""
