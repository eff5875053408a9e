"""`kdoctor diagnose` for CI systems (issue 27): JUnit XML (a testsuite per category, a testcase per finding) and
GitHub workflow commands (one per warning or error). No SARIF: a machine's diagnosis has no file and no line to
point at (README, "kdoctor in CI")."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from kdoctor.report.model import CATEGORY_TITLES, Report, Severity


def junit(report: Report, fail_on: str) -> str:
    """Errors fail; warnings fail too with --fail-on warning; skipped findings are skipped, with their reason."""
    suites: dict[str, list[str]] = {}
    counts: dict[str, list[int]] = {}
    for f in report.findings:
        suite = CATEGORY_TITLES[f.category]
        c = counts.setdefault(suite, [0, 0, 0])
        c[0] += 1
        fails = f.severity is Severity.ERROR or (f.severity is Severity.WARNING and fail_on == "warning")
        if fail_on == "never":
            fails = False
        case = f"<testcase classname={quoteattr(suite)} name={quoteattr(f.id + ' ' + f.message)}>"
        if fails:
            c[1] += 1
            fix = escape(f.fix or "")
            body = f"<failure type={quoteattr(f.severity.value)} message={quoteattr(f.message)}>{fix}</failure>"
        elif f.severity is Severity.SKIPPED:
            c[2] += 1
            body = f"<skipped message={quoteattr(f.message)}/>"
        else:
            body = f"<system-out>{escape(f.severity.value + ': ' + f.message)}</system-out>"
        suites.setdefault(suite, []).append(f"    {case}{body}</testcase>")
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites name="kdoctor diagnose">']
    for suite, cases in suites.items():
        tests, failures, skipped = counts[suite]
        out.append(f'  <testsuite name={quoteattr(suite)} tests="{tests}" failures="{failures}" skipped="{skipped}">')
        out += cases
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out)


def workflow_data(value: str) -> str:
    """A GitHub workflow command's message, escaped as GitHub's toolkit does (%, CR, LF)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(value: str) -> str:
    """A workflow command's property value (file=, title=): the message's escapes, and ':' and ','."""
    return workflow_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: Report) -> list[str]:
    """`::error title=KDnnn …::message` per error, `::warning` per warning (no file: the machine is the subject)."""
    out = []
    for f in report.findings:
        level = {Severity.ERROR: "error", Severity.WARNING: "warning"}.get(f.severity)
        if level is None:
            continue
        title = workflow_property(f"kdoctor {f.id}")
        out.append(f"::{level} title={title}::{workflow_data(f.message + (' Fix: ' + f.fix if f.fix else ''))}")
    return out
