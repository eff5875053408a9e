"""The versioned JSON report: a public contract (see README, "JSON output")."""

from __future__ import annotations

import json
from typing import Any

from kdoctor import __version__
from kdoctor.report.model import Report, Severity

DIAGNOSE_SCHEMA = "kdoctor/diagnose/v1"


def report_to_json(report: Report, *, exit_code: int) -> dict[str, Any]:
    return {
        "schema": DIAGNOSE_SCHEMA,
        "kdoctor_version": __version__,
        "exit_code": exit_code,
        "summary": {s.value: report.count(s) for s in Severity},
        "incomplete": report.incomplete,
        "findings": [f.to_json() for f in report.findings],
        "probes": report.probes,
    }


def dumps(doc: Any) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False)
