"""`kdoctor images -f` over the labelled corpus of real manifests and Compose files (tests/corpus/manifests).

Each case's expected.yaml was written from the Compose Specification and the Kubernetes API before kdoctor
ran on it (README.md there). These tests compare kdoctor's source extraction with it: the exact multiset of
references (no missing, no extra, uses counted), per file when the sidecar names files, the build-only
services, the image variables left unset, the `:?` errors, and the files that cannot be read.

`test_corpus_summary` prints the figure "found X of Y references in N cases, Z extra".
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdoctor.images.inputs.sources import SourceReport, read_inputs

CORPUS = Path(__file__).parent / "corpus" / "manifests"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.yaml").is_file())
SCANNABLE = {".yaml", ".yml", ".json"}


def sidecar(case: str) -> dict[str, Any]:
    doc = yaml.safe_load((CORPUS / case / "expected.yaml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def inputs(case: str, doc: dict[str, Any]) -> list[str]:
    """Every file of the case that is scannable on its own (the .env files are read through their Compose file)."""
    return [str(CORPUS / case / f["path"]) for f in doc["files"] if Path(f["path"]).suffix in SCANNABLE]


def extract(case: str, env: dict[str, str]) -> SourceReport:
    doc = sidecar(case)
    return read_inputs(inputs(case, doc), environ=env)


def found_refs(case: str, report: SourceReport, by_file: bool) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for use in report.uses:
        if use.unset:  # an image whose variable is unset: reported as such, compared with unset_variables
            continue
        for origin in use.origins:
            rel = str(Path(origin.file).relative_to(CORPUS / case)) if by_file else ""
            out[(rel, use.ref)] += 1
    return out


def expected_refs(doc: dict[str, Any]) -> tuple[Counter[tuple[str, str]], bool]:
    refs = doc["expected"]["references"] or []
    by_file = any("file" in r for r in refs)
    return Counter((r.get("file", "") if by_file else "", r["ref"]) for r in refs), by_file


def compare(expected: Counter[tuple[str, str]], found: Counter[tuple[str, str]]) -> tuple[int, int]:
    """(references found, extra references) for one case, counting uses."""
    hit = sum(min(n, found[k]) for k, n in expected.items())
    extra = sum(max(0, n - expected[k]) for k, n in found.items())
    return hit, extra


@pytest.mark.parametrize("case", CASES)
def test_corpus_case_references(case: str) -> None:
    doc = sidecar(case)
    expected, by_file = expected_refs(doc)
    report = extract(case, dict(doc.get("environment") or {}))
    found = found_refs(case, report, by_file)
    assert found == expected, f"missing {expected - found}, extra {found - expected}"
    assert sum(found.values()) == doc["expected"]["uses"]
    assert len({ref for _, ref in found}) == doc["expected"]["distinct_refs"]


@pytest.mark.parametrize("case", CASES)
def test_corpus_case_notes_and_errors(case: str) -> None:
    """Build-only services are noted, unset image variables named, `:?` errors and unreadable files reported."""
    doc = sidecar(case)
    exp = doc["expected"]
    report = extract(case, dict(doc.get("environment") or {}))
    build_only = {m.group(1) for s in exp["build_only"] for m in [re.search(r"services\.([\w.-]+) \(build", s)] if m}
    assert {s.where.split(".", 1)[1] for s in report.skipped if s.reason == "build-only"} == build_only
    assert {v for u in report.uses for v in u.unset} == {v["variable"] for v in exp["unset_variables"]}
    required = {m.group(1) for e in exp["errors"] for m in re.finditer(r"\$\{(\w+):?\?", e)}
    assert {w.variable for w in report.warnings if w.variable} == required
    if exp["kind"] in ("helm-template", "not-a-manifest"):
        assert len(report.errors) == 1 and report.errors[0].file.endswith(doc["files"][0]["path"])
        if exp["kind"] == "helm-template":
            assert "helm template" in (report.errors[0].hint or "")
    else:
        assert report.errors == []


VARIANTS = [c for c in CASES if sidecar(c).get("environment_variant")]


def _then(entry: str) -> tuple[str, int | None]:
    """'apache/airflow:3.0.2 (8 uses)' -> (ref, 8); 'nginx:alpine' -> (ref, None)."""
    ref, _, note = entry.partition(" (")
    m = re.match(r"(\d+) uses\)", note)
    return ref.strip(), int(m.group(1)) if m else None


@pytest.mark.parametrize("case", VARIANTS)
def test_corpus_environment_variants(case: str) -> None:
    """The same case with the sidecar's extra environment: the changed references, the same number of uses."""
    doc = sidecar(case)
    variant = dict(doc["environment_variant"])
    then = [_then(e) for e in variant.pop("expected_refs_then", [])]
    errors_then = variant.pop("expected_errors_then", None)
    variant.pop("note", None)
    env = {**(doc.get("environment") or {}), **{k: str(v) for k, v in variant.items()}}
    report = extract(case, env)
    found = Counter(ref for (_, ref) in found_refs(case, report, False).elements())
    base = Counter(ref for (_, ref) in expected_refs(doc)[0].elements())
    for ref, count in then:
        assert found[ref] == (count if count is not None else found[ref]) and found[ref] > 0, ref
    assert set(found) <= {r for r, _ in then} | set(base)
    assert sum(found.values()) == doc["expected"]["uses"]
    if not then:
        assert found == base
    if errors_then == []:
        assert not [w for w in report.warnings if w.variable]


def test_corpus_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """The whole corpus: every reference found, none extra (prints the figure)."""
    total = hit = extra = 0
    misses: list[str] = []
    for case in CASES:
        doc = sidecar(case)
        expected, by_file = expected_refs(doc)
        try:
            found = found_refs(case, extract(case, dict(doc.get("environment") or {})), by_file)
        except Exception as exc:  # a crash counts every reference of the case as missed
            found = Counter()
            misses.append(f"{case}: {type(exc).__name__}")
        h, x = compare(expected, found)
        total, hit, extra = total + sum(expected.values()), hit + h, extra + x
        if h < sum(expected.values()) or x:
            misses.append(f"{case}: missing {dict(expected - found)} extra {dict(found - expected)}")
    figure = f"found {hit} of {total} references in {len(CASES)} cases, {extra} extra"
    with capsys.disabled():
        print(f"\nmanifest corpus: {figure}")
    assert (hit, extra) == (total, 0), figure + "\n" + "\n".join(misses)


CLI_CASES = ["sentry-self-hosted-compose", "pycroft-compose-extends", "k8s-website-image-volumes", "airflow-compose"]


@pytest.mark.parametrize("case", CLI_CASES)
def test_corpus_through_the_cli(case: str, tmp_path: Path) -> None:
    """`kdoctor images -f … -o json` with every registry refused: one row per image, every use under it."""
    from tests.test_images_inputs import scan_cli as run_kdoctor

    doc = sidecar(case)
    code, out, _ = run_kdoctor(tmp_path, *[a for f in inputs(case, doc) for a in ("-f", f)], timeout=120)
    refs = doc["expected"]["references"]
    assert code == 3  # every verdict unknown (registries refused or references invalid), no file failed
    assert {i["ref"] for i in out["images"]} == {r["ref"] for r in refs}
    assert len(out["images"]) == doc["expected"]["distinct_refs"] == sum(out["summary"].values())
    assert out["uses"] == sum(len(i["uses"]) for i in out["images"]) == doc["expected"]["uses"]
    assert out["errors"] == [] and set(out["unknown_by_host"]) <= {"docker.io", "ghcr.io", "quay.io", "(not looked up)"}
