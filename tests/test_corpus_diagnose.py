"""The diagnose corpus replayed as tests (issue 12): every case runs kdoctor's probes and checks through fakes
that print the captured outputs, and each expert conclusion its case.yaml lists under `replay.conclusions` is
asserted. A conclusion marked `known_miss` (with its reason) must stay missed: when kdoctor starts reaching it,
the test fails so the mark is removed. `python -m tests.support.corpus_replay` prints the summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import corpus_replay as cr

CASES = cr.cases()


def test_the_corpus_is_large_and_every_case_says_what_it_checks() -> None:
    assert len(CASES) >= 20
    for case in CASES:
        spec = cr.load_case(case).get("replay")
        assert spec is not None, f"{case.name}: no replay: section"
        assert spec.get("conclusions") or spec.get("not_checked"), case.name
        for item in spec.get("inputs") or []:
            assert item["convert"] in cr.CONVERTERS, (case.name, item)
            assert not item.get("from") or (case / item["from"]).is_file(), (case.name, item)
        for c in spec.get("conclusions") or []:
            assert "known_miss" not in c or c["known_miss"].strip(), (case.name, c)


@pytest.mark.slow  # each case runs every probe through the fakes (~0.6 s a case, 39 cases)
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # setup_machine writes os.environ; monkeypatch restores every variable it may touch.
    touched = ("HOME", "PATH", "FAKE_STATE", "FAKE_REPLAY", "DOCKER_HOST", "DOCKER_CONTEXT", "KUBECONFIG")
    touched += ("MINIKUBE_HOME", "COLIMA_HOME", "FAKE_KUBE_DIR", "FAKE_SYSCTL_hw_memsize", "FAKE_SYSCTL_hw_ncpu")
    touched += ("FAKE_SYSCTL_sysctl_proc_translated", "FAKE_SYSCTL_hw_optional_arm64")
    touched += ("FAKE_SYSCTL_machdep_cpu_brand_string",)
    for var in touched:
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    root = cr.setup_machine(tmp_path)
    facts, findings = cr.run_case(case, root)
    spec = cr.load_case(case)["replay"]
    # No crash and no probe bug: every probe ended with a recorded status, and no check crashed.
    assert not [f for f in findings if "check crashed" in f["message"]], findings
    for conclusion, outcome in zip(spec.get("conclusions") or [], cr.score(case, facts, findings), strict=True):
        if conclusion.get("known_miss"):
            assert not outcome.reached, f"{outcome.label} is now reached: drop its known_miss ({outcome.detail})"
        else:
            assert outcome.reached, f"{outcome.label}: {outcome.detail}"
