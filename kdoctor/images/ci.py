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
from kdoctor.policy import Allowance, repo_root
from kdoctor.report.ci import workflow_data, workflow_property

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
    platform: str = ""  # the platform it was judged for (a policy may ask for several)
    allowed: Allowance | None = None  # accepted by the policy (suppressed), or accepted until a date now past

    @property
    def suppressed(self) -> bool:
        return self.allowed is not None and not self.allowed.expired


def _relative(file: str, root: Path) -> str:
    path = Path(file).resolve()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_uri()  # outside the repository: an absolute file URI


def _level(outcome: ScanOutcome, rule: str, verdict: str) -> str:
    """The gate decides error; below it, emulated is a warning and the rest a note; the policy's `severity:`
    (by rule id, then by verdict) overrides both."""
    sev = outcome.policy.severity if outcome.policy else {}
    if rule in sev or verdict in sev:
        return sev.get(rule) or sev[verdict]
    if outcome.gated(verdict):
        return "error"
    return "warning" if verdict == V.EMULATED else "note"


def findings(outcomes: list[ScanOutcome]) -> list[Finding]:
    """Every finding of every platform, worst first, then by file and line: the order of every format."""
    out: list[Finding] = []
    several = len(outcomes) > 1
    for outcome in outcomes:
        platform = str(outcome.platform)
        for r in outcome.results:
            if r.verdict == V.NATIVE:
                continue
            rule = r.risks[0].rule.id if r.risks else VERDICT_RULES[r.verdict][0]
            level = _level(outcome, rule, r.verdict)
            for o in r.origins or []:
                argument = o.file in ("argument",) or o.file.startswith(("context ", "current context"))
                where = " ".join(
                    x for x in (o.workload, f"container {o.container}" if o.container else "", o.path) if x
                )
                out.append(
                    Finding(
                        rule, r.verdict, level, (f"[{platform}] " if several else "") + r.reason, r.written or r.ref,
                        None if argument else (o.written_in or o.file), o.line, o.column, where, r.suggestion,
                        platform, outcome.allowed(r, o),
                    )
                )  # fmt: skip
        for b in outcome.builds:
            for step in b.steps:
                out.append(
                    Finding(
                        step.rule, V.CRASH, _level(outcome, step.rule, V.CRASH),
                        f"RUN {step.command}: {step.message} (stage {b.stage} runs emulated: {b.why})", b.file,
                        b.file, step.line, None, f"{b.workload + ' ' if b.workload else ''}stage {b.stage}",
                        step.fixes[0] if step.fixes else None, platform,
                    )
                )  # fmt: skip
    rank = {"error": 0, "warning": 1, "note": 2}
    out.sort(key=lambda f: (f.suppressed, rank[f.level], f.file or "", f.line or 0, f.column or 0, f.ref, f.where,
                            f.rule, f.platform))  # fmt: skip
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
    """Stable across runs and line moves: the rule, the file, where in it (workload/path), the image and the
    platform it was judged for."""
    key = "\0".join((f.rule, f.file or "", f.where, f.ref, f.platform))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def sarif(outcomes: list[ScanOutcome], root: Path | None = None) -> dict[str, Any]:
    root = root or repo_root(Path.cwd())
    found = findings(outcomes)
    results = []
    for f in found:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": f.level,
            "message": {"text": f"{f.ref}: {f.message}" + (f" Fix: {f.suggestion}" if f.suggestion else "")},
            "partialFingerprints": {"kdoctorFinding/v1": fingerprint(f)},
            "properties": {"image": f.ref, "verdict": f.verdict, "where": f.where, "platform": f.platform},
        }
        if f.allowed is not None:
            result["message"]["text"] += f" ({f.allowed.text()})"
            if f.suppressed:  # accepted: still reported, as suppressed with the reason
                result["suppressions"] = [{"kind": "external", "justification": f.allowed.text()}]
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
                "properties": {
                    "platforms": [str(o.platform) for o in outcomes],
                    "emulator": outcomes[0].emulator if outcomes else None,
                },
            }
        ],
    }


def sarif_text(outcomes: list[ScanOutcome]) -> str:
    return json.dumps(sarif(outcomes), indent=2)


def junit(outcomes: list[ScanOutcome]) -> str:
    """A testsuite per input file (and platform, when there are several), a testcase per image use: a failure at
    or above the gate, an error where kdoctor could not tell (below the gate), skipped where the policy accepts
    it, a pass otherwise."""
    suites: dict[str, list[str]] = {}
    counts: dict[str, list[int]] = {}
    several = len(outcomes) > 1
    for outcome in outcomes:
        for r in outcome.results:
            for o in r.origins or []:
                file = o.written_in or o.file
                suite = f"{file} ({outcome.platform})" if several else file
                name = f"{r.written or r.ref} ({o.workload or 'argument'}{' ' + o.path if o.path else ''})"
                case = f"<testcase classname={quoteattr(file)} name={quoteattr(name)}"
                if o.line:
                    case += f' file={quoteattr(file)} line="{o.line}"'
                c = counts.setdefault(suite, [0, 0, 0, 0])
                c[0] += 1
                allowed = outcome.allowed(r, o)
                if allowed is not None and not allowed.expired:
                    c[3] += 1
                    body = f"<skipped message={quoteattr(allowed.text())}/>"
                elif outcome.gated(r.verdict):
                    c[1] += 1
                    why = r.reason + (f" ({allowed.text()})" if allowed else "")
                    fix = escape(r.suggestion or "")
                    body = f"<failure type={quoteattr(r.verdict)} message={quoteattr(why)}>{fix}</failure>"
                elif r.verdict == V.UNKNOWN:
                    c[2] += 1
                    body = f'<error type="unknown" message={quoteattr(r.reason)}/>'
                else:
                    body = f"<system-out>{escape(r.verdict + ': ' + r.reason)}</system-out>"
                suites.setdefault(suite, []).append(f"    {case}>{body}</testcase>")
    name = ", ".join(str(o.platform) for o in outcomes)
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f"<testsuites name={quoteattr('kdoctor images ' + name)}>"]
    for suite, cases in suites.items():
        tests, failures, errors, skipped = counts[suite]
        attrs = f'tests="{tests}" failures="{failures}" errors="{errors}" skipped="{skipped}"'
        out.append(f"  <testsuite name={quoteattr(suite)} {attrs}>")
        out += cases
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def github(outcomes: list[ScanOutcome], root: Path | None = None) -> list[str]:
    """`::error file=…,line=…,col=…,title=…::message` for each finding at or above the gate; `::notice` for one the
    policy accepts (it still shows, with its reason)."""
    root = root or repo_root(Path.cwd())
    out = []
    for f in findings(outcomes):
        if f.level != "error" and not f.suppressed:
            continue
        command = "notice" if f.suppressed else "error"
        props = []
        if f.file is not None:
            rel = _relative(f.file, root)
            props.append(f"file={workflow_property(rel if not rel.startswith('file:') else os.fspath(Path(f.file)))}")
            if f.line:
                props.append(f"line={f.line}")
            if f.column:
                props.append(f"col={f.column}")
        props.append(f"title={workflow_property(f'kdoctor {f.rule}: {f.ref}')}")
        text = f.message + (" Fix: " + f.suggestion if f.suggestion else "")
        if f.allowed is not None:
            text += f" ({f.allowed.text()})"
        out.append(f"::{command} {','.join(props)}::{workflow_data(text)}")
    return out
