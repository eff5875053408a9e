"""`kdoctor images` for CI systems (issue 27): SARIF 2.1.0, JUnit XML and GitHub workflow commands, all from one
list of findings, so every format says the same thing in the same order.

A finding is one use of an image (a file, line and column where it is written) whose verdict is not native, or
one build step at risk (its Dockerfile line). Its rule is the most specific one known: the risk-catalogue rule the
image matched (checks/risks.yaml), else the build rule (checks/build-risks.yaml), else its verdict
(`image-crash`, `image-unsupported`, `image-emulated`, `image-unknown`). Its level comes from the gate: at or above
`--fail-on` (or, without one, crash and unsupported) it is an error; below, emulated is a warning and unknown a
note. Formats: SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html), GitHub's upload
rules (https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning),
JUnit as Jenkins and GitLab read it, GitHub workflow commands
(https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from kdoctor import __version__
from kdoctor.images.command import ScanOutcome
from kdoctor.images.judge import verdict as V
from kdoctor.images.judge.build import build_rules
from kdoctor.images.judge.risks import catalogue as risk_catalogue

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
VERDICT_RULES: dict[str, tuple[str, str]] = {
    V.CRASH: ("image-crash", "The image crashes at start on this platform under its emulator"),
    V.UNSUPPORTED: ("image-unsupported", "The image has no entry this platform can run"),
    V.EMULATED: ("image-emulated", "The image runs under emulation on this platform"),
    V.UNKNOWN: ("image-unknown", "kdoctor could not tell whether the image runs on this platform"),
}


@dataclass
class Finding:
    rule: str
    verdict: str  # the image's verdict ("crash" for a build step at risk)
    level: str  # error | warning | note
    message: str
    ref: str
    file: str | None  # None: given on the command line or read from a cluster
    line: int | None
    column: int | None
    where: str  # the workload and path, or the build stage
    suggestion: str | None = None


def repo_root(start: Path | None = None) -> Path:
    """The repository root (the nearest directory up with .git), else the current directory."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return d
    return here


def _relative(file: str, root: Path) -> str:
    path = Path(file).resolve()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_uri()  # outside the repository: an absolute file URI


def findings(outcome: ScanOutcome) -> list[Finding]:
    """Every finding, worst first, then by file and line: the order of every format."""
    out: list[Finding] = []
    for r in outcome.results:
        if r.verdict == V.NATIVE:
            continue
        gated = outcome.gated(r.verdict, outcome.fail_on)
        level = "error" if gated else "warning" if r.verdict == V.EMULATED else "note"
        rule = r.risks[0].rule.id if r.risks else VERDICT_RULES[r.verdict][0]
        for o in r.origins or []:
            argument = o.file in ("argument",) or o.file.startswith(("context ", "current context"))
            out.append(
                Finding(
                    rule, r.verdict, level, r.reason, r.written or r.ref,
                    None if argument else (o.written_in or o.file), o.line, o.column,
                    " ".join(x for x in (o.workload, f"container {o.container}" if o.container else "", o.path) if x),
                    r.suggestion,
                )
            )  # fmt: skip
    build_gated = outcome.gated(V.CRASH, outcome.fail_on)
    for b in outcome.builds:
        for step in b.steps:
            out.append(
                Finding(
                    step.rule, V.CRASH, "error" if build_gated else "warning",
                    f"RUN {step.command}: {step.message} (stage {b.stage} runs emulated: {b.why})", b.file, b.file,
                    step.line, None, f"{b.workload + ' ' if b.workload else ''}stage {b.stage}",
                    step.fixes[0] if step.fixes else None,
                )
            )  # fmt: skip
    rank = {"error": 0, "warning": 1, "note": 2}
    out.sort(key=lambda f: (rank[f.level], f.file or "", f.line or 0, f.column or 0, f.ref, f.where, f.rule))
    return out


def _rules(used: set[str]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for verdict, (rid, text) in VERDICT_RULES.items():
        if rid in used:
            help_text = f"kdoctor README, 'kdoctor images': what `{verdict}` means and how to fix it."
            rules.append({"id": rid, "name": rid, "shortDescription": {"text": text},
                          "fullDescription": {"text": f"{text} (kdoctor images verdict `{verdict}`)."},
                          "help": {"text": help_text}})  # fmt: skip
    for rule in risk_catalogue():
        if rule.id in used:
            fixes = "; or ".join(text for text, _ in rule.fixes)
            entry: dict[str, Any] = {
                "id": rule.id, "name": rule.id, "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.message}, "help": {"text": fixes or rule.message},
            }  # fmt: skip
            urls = [s for s in rule.sources if s.startswith("https://")]
            if urls:
                entry["helpUri"] = urls[0].split()[0]
            rules.append(entry)
    for br in build_rules():
        if br.id in used:
            rules.append({"id": br.id, "name": br.id, "shortDescription": {"text": br.message[:120]},
                          "fullDescription": {"text": br.message}, "help": {"text": "; or ".join(br.fixes)},
                          "helpUri": br.sources[0]})  # fmt: skip
    return rules


def fingerprint(f: Finding) -> str:
    """Stable across runs and line moves: the rule, the file, where in it (workload/path) and the image."""
    key = "\0".join((f.rule, f.file or "", f.where, f.ref))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def sarif(outcome: ScanOutcome, root: Path | None = None) -> dict[str, Any]:
    root = root or repo_root()
    found = findings(outcome)
    results = []
    for f in found:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": f.level,
            "message": {"text": f"{f.ref}: {f.message}" + (f" Fix: {f.suggestion}" if f.suggestion else "")},
            "partialFingerprints": {"kdoctorFinding/v1": fingerprint(f)},
            "properties": {"image": f.ref, "verdict": f.verdict, "where": f.where},
        }
        if f.file is not None and f.line is not None:
            region: dict[str, int] = {"startLine": f.line}
            if f.column is not None:
                region["startColumn"] = f.column
            uri = _relative(f.file, root)
            location: dict[str, Any] = {"artifactLocation": {"uri": uri}, "region": region}
            if not uri.startswith("file:"):
                location["artifactLocation"]["uriBaseId"] = "%SRCROOT%"
            result["locations"] = [{"physicalLocation": location}]
        else:
            result["message"]["text"] += (
                " (no file location: the image was given on the command line, read from a cluster or from JSON)"
            )
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kdoctor",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": _rules({f.rule for f in found}),
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri() + "/"}},
                "results": results,
                "properties": {"platform": str(outcome.platform), "emulator": outcome.emulator},
            }
        ],
    }


def sarif_text(outcome: ScanOutcome) -> str:
    return json.dumps(sarif(outcome), indent=2)


def junit(outcome: ScanOutcome) -> str:
    """A testsuite per input file, a testcase per image use: a failure at or above the gate, an error where
    kdoctor could not tell (below the gate), a pass otherwise."""
    suites: dict[str, list[str]] = {}
    counts: dict[str, list[int]] = {}
    for r in outcome.results:
        for o in r.origins or []:
            file = o.written_in or o.file
            name = f"{r.written or r.ref} ({o.workload or 'argument'}{' ' + o.path if o.path else ''})"
            case = f"<testcase classname={quoteattr(file)} name={quoteattr(name)}"
            if o.line:
                case += f' file={quoteattr(file)} line="{o.line}"'
            c = counts.setdefault(file, [0, 0, 0])
            c[0] += 1
            if outcome.gated(r.verdict, outcome.fail_on):
                c[1] += 1
                fix = escape(r.suggestion or "")
                body = f"<failure type={quoteattr(r.verdict)} message={quoteattr(r.reason)}>{fix}</failure>"
            elif r.verdict == V.UNKNOWN:
                c[2] += 1
                body = f'<error type="unknown" message={quoteattr(r.reason)}/>'
            else:
                body = f"<system-out>{escape(r.verdict + ': ' + r.reason)}</system-out>"
            suites.setdefault(file, []).append(f"    {case}>{body}</testcase>")
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f'<testsuites name="kdoctor images {outcome.platform}">']
    for file, cases in suites.items():
        tests, failures, errors = counts[file]
        attrs = f'tests="{tests}" failures="{failures}" errors="{errors}"'
        out.append(f"  <testsuite name={quoteattr(file)} {attrs}>")
        out += cases
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def _prop(value: str) -> str:
    """A workflow command's property value, escaped as GitHub's toolkit does (%, CR, LF, ':' and ',')."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github(outcome: ScanOutcome, root: Path | None = None) -> list[str]:
    """`::error file=…,line=…,col=…,title=…::message` for each finding at or above the gate."""
    root = root or repo_root()
    out = []
    for f in findings(outcome):
        if f.level != "error":
            continue
        props = []
        if f.file is not None:
            rel = _relative(f.file, root)
            props.append(f"file={_prop(rel if not rel.startswith('file:') else os.fspath(Path(f.file)))}")
            if f.line:
                props.append(f"line={f.line}")
            if f.column:
                props.append(f"col={f.column}")
        props.append(f"title={_prop(f'kdoctor {f.rule}: {f.ref}')}")
        text = f.message + (" Fix: " + f.suggestion if f.suggestion else "")
        out.append(f"::error {','.join(props)}::{_data(text)}")
    return out
