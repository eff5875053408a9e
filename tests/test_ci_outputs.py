"""kdoctor images in CI (issue 27): the gate (`--fail-on`) and the formats CI systems read, SARIF 2.1.0 (validated
against the official OASIS schema and GitHub's upload limits), JUnit XML (read back with junitparser, as a CI
server would) and GitHub workflow commands, on the real manifests corpus and on images in the real test registry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import junitparser
import pytest

from tests.support.cli import run_kdoctor
from tests.support.registry_fixtures import Images
from tests.test_reports import ARM64_QEMU, manifest, offline_env
from tests.test_use_locations import CASES, inputs

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text())
# GitHub's hard limits for a SARIF upload:
# https://docs.github.com/code-security/code-scanning/troubleshooting-sarif/results-exceed-limit
GITHUB = {"runs": 20, "results": 25_000, "rules": 25_000, "locations": 1_000, "tags": 20}


def github_accepts(doc: dict[str, Any]) -> None:
    """The limits above, and what GitHub reads of each result: a ruleId that names a rule of the run, a message, a
    location with a relative path and a start line, and partialFingerprints to keep alerts across runs."""
    assert doc["version"] == "2.1.0" and len(doc["runs"]) <= GITHUB["runs"]
    for run in doc["runs"]:
        rules = {r["id"] for r in run["tool"]["driver"]["rules"]}
        assert len(rules) <= GITHUB["rules"] and len(run["results"]) <= GITHUB["results"]
        assert run["tool"]["driver"]["name"] == "kdoctor"
        for r in run["results"]:
            assert r["ruleId"] in rules and r["message"]["text"] and r["partialFingerprints"]
            for loc in r.get("locations", []):
                phys = loc["physicalLocation"]
                assert not phys["artifactLocation"]["uri"].startswith("/") and phys["region"]["startLine"] >= 1
            assert len(r.get("locations", [])) <= GITHUB["locations"]
            if not r.get("locations"):
                assert "no file location" in r["message"]["text"]


@pytest.fixture(scope="module")
def all_at_once(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """A second run, over every case's files at once: the same files, so the same fingerprints."""
    tmp = tmp_path_factory.mktemp("all")
    files = [x for case in CASES for f in inputs(case) for x in ("-f", f)]
    ran = run_kdoctor("images", *files, *ARM64_QEMU, "-o", "sarif", env=offline_env(tmp))
    return [r["partialFingerprints"] for r in json.loads(ran.stdout)["runs"][0]["results"]]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sarif_of_every_corpus_case_validates_and_keeps_its_fingerprints(
    case: Path, tmp_path: Path, all_at_once: list[dict[str, str]]
) -> None:
    files = [x for f in inputs(case) for x in ("-f", f)]
    doc = json.loads(run_kdoctor("images", *files, *ARM64_QEMU, "-o", "sarif", env=offline_env(tmp_path)).stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(doc)
    github_accepts(doc)
    # A second run on the same files gives the same fingerprints: code scanning keeps its alerts, opens no new ones.
    assert all(r["partialFingerprints"] in all_at_once for r in doc["runs"][0]["results"])


def _app(images: Images, tmp_path: Path) -> dict[str, str]:
    refs = {"native": images.ref("multi"), "crash": images.ref("amd64only"), "emulated": images.ref("c")}
    (tmp_path / "app.yaml").write_text(manifest(list(refs.values())))
    return refs


def images_run(tmp_path: Path, *args: str) -> Any:
    return run_kdoctor("images", "-f", "app.yaml", *ARM64_QEMU, *args, cwd=tmp_path,
                       env={"KDOCTOR_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip


def test_the_gate_fails_on_its_verdict_and_worse(images: Images, tmp_path: Path) -> None:
    _app(images, tmp_path)
    assert images_run(tmp_path).returncode == 1  # no --fail-on: today's exit codes (a crash: 1)
    assert images_run(tmp_path, "--fail-on", "crash").returncode == 1
    assert images_run(tmp_path, "--fail-on", "never").returncode == 0
    (tmp_path / "app.yaml").write_text(manifest([images.ref("multi"), images.ref("c")]))  # emulated, no crash
    assert images_run(tmp_path, "--fail-on", "crash").returncode == 0
    assert images_run(tmp_path, "--fail-on", "unsupported").returncode == 0
    assert images_run(tmp_path, "--fail-on", "emulated").returncode == 1
    # An unreachable registry says unknown: `--fail-on emulated` passes it (offline-safe), `unknown` does not.
    (tmp_path / "app.yaml").write_text(manifest([images.ref("multi"), "registry.invalid/team/app:1"]))
    assert images_run(tmp_path, "--fail-on", "emulated").returncode == 0
    assert images_run(tmp_path, "--fail-on", "unknown").returncode == 1


def test_sarif_junit_and_github_say_the_same_as_the_text(images: Images, tmp_path: Path) -> None:
    refs = _app(images, tmp_path)
    (tmp_path / ".git").mkdir()  # the repository root SARIF paths are relative to
    text = images_run(tmp_path, "--fail-on", "emulated").stdout
    sarif = json.loads(images_run(tmp_path, "--fail-on", "emulated", "-o", "sarif").stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    github_accepts(sarif)
    results = sarif["runs"][0]["results"]
    got = {(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results}  # fmt: skip
    lines = (tmp_path / "app.yaml").read_text().splitlines()
    line_of = {ref: next(i + 1 for i, x in enumerate(lines) if x.strip() == f"image: {ref}") for ref in refs.values()}
    assert got == {
        ("go-lfstack-push", "error", "app.yaml", line_of[refs["crash"]]),  # the risk rule, the most specific
        ("image-emulated", "error", "app.yaml", line_of[refs["emulated"]]),  # at the gate: an error
    }
    assert {r["ruleId"] for r in results} <= {x["id"] for x in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "2 crash" not in text and "1 crash, 1 emulated, 1 native" in text  # the text's own count

    xml = tmp_path / "report.xml"
    xml.write_text(images_run(tmp_path, "--fail-on", "emulated", "-o", "junit").stdout)
    suites = list(junitparser.JUnitXml.fromfile(str(xml)))
    assert len(suites) == 1 and suites[0].tests == 3 and suites[0].failures == 2 and suites[0].errors == 0
    failed = {c.name.split(" ")[0] for c in suites[0] if any(isinstance(x, junitparser.Failure) for x in c.result)}
    assert failed == {refs["crash"], refs["emulated"]}

    ran = images_run(tmp_path, "--fail-on", "emulated", "-o", "github")
    notes = [x for x in ran.stdout.splitlines() if x.startswith("::")]
    assert ran.returncode == 1 and len(notes) == 2
    for note in notes:
        m = re.match(r"::error file=app\.yaml,line=(\d+),col=(\d+),title=kdoctor ([\w-]+)%3A (\S+)::(.+)$", note)
        assert m and int(m.group(1)) == line_of[m.group(4).replace("%3A", ":")] and m.group(2) == "16"
    assert "1 crash, 1 emulated, 1 native" in ran.stdout  # and the text report follows the annotations


def test_an_image_given_on_the_command_line_has_no_location_and_says_so(tmp_path: Path) -> None:
    ran = run_kdoctor("images", "nginx:1.27", *ARM64_QEMU, "-o", "sarif", env=offline_env(tmp_path))
    doc = json.loads(ran.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(doc)
    (result,) = doc["runs"][0]["results"]
    assert "locations" not in result and "no file location" in result["message"]["text"]


SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.mark.parametrize("scenario", ["docker-desktop-4.34.0", "colima-vz-no-rosetta", "dd-rosetta-healthy"])
def test_diagnose_junit_and_github_say_what_the_json_says(scenario: str, tmp_path: Path) -> None:
    """`kdoctor diagnose` in CI: a testsuite per category, a testcase per finding, failures for errors; an
    annotation per warning and error; counts as the JSON report has them."""
    facts = str(SCENARIOS / f"{scenario}.json")
    doc = json.loads(run_kdoctor("diagnose", "--facts", facts, "-o", "json").stdout)
    errors = sum(f["severity"] == "error" for f in doc["findings"])
    warnings = sum(f["severity"] == "warning" for f in doc["findings"])
    xml = tmp_path / "diagnose.xml"
    ran = run_kdoctor("diagnose", "--facts", facts, "-o", "junit")
    xml.write_text(ran.stdout)
    suites = list(junitparser.JUnitXml.fromfile(str(xml)))
    assert sum(s.tests for s in suites) == len(doc["findings"]) and sum(s.failures for s in suites) == errors
    assert ran.returncode == doc["exit_code"]
    strict = junitparser.JUnitXml.fromstring(run_kdoctor("diagnose", "--facts", facts, "-o", "junit",
                                                         "--fail-on", "warning").stdout)  # fmt: skip
    assert sum(s.failures for s in strict) == errors + warnings
    notes = [x for x in run_kdoctor("diagnose", "--facts", facts, "-o", "github").stdout.splitlines()
             if x.startswith("::")]  # fmt: skip
    assert len(notes) == errors + warnings
    assert all(re.match(r"::(error|warning) title=kdoctor KD\d{3}::", x) for x in notes)
