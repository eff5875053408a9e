"""A check that could not look never says "ok" (issue 12).

Each probe that `gather` runs is made to fail in turn (error, timeout, denied) on a machine where every probe
otherwise answered, and no finding of a check that needs that probe's facts may be "ok". The probe list comes
from gather.build_probes, so a new probe is covered without touching this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kdoctor.checks.all import load_checks
from kdoctor.checks.run import run_checks
from kdoctor.facts import gather
from kdoctor.facts.model import Facts, KubectlFacts, NodeFacts, ProbeRecord, ProbeStatus
from kdoctor.facts.snapshot import load_facts
from kdoctor.report.model import Severity
from kdoctor.runner import SubprocessRunner
from tests.conftest import SCENARIOS

# A machine where every probe answered and every check has something to look at (a minikube profile, a kind
# cluster and a cluster that lists nodes and pods).
HEALTHY = SCENARIOS / "crashloop-pod.json"
FAILURES = (ProbeStatus.ERROR, ProbeStatus.TIMEOUT, ProbeStatus.DENIED)
# Probes no check needs directly, with why that is not a hole.
INDIRECT = {"binfmt": "feeds the emulator decision, which falls back on the product's documented settings"}


def probe_names() -> list[str]:
    return [p.name for p in gather.build_probes(SubprocessRunner(), Path("/nonexistent"), "darwin")]


def results_from(facts: Facts) -> dict[str, Any]:
    """What each probe returned, recovered from a snapshot, so the facts can be assembled again."""
    em = facts.emulation
    node = em.source.split(":", 1)[1] if em and em.source.startswith("binfmt:") else None
    # A probe's result is the Facts field of the same name (a new probe is picked up without editing this).
    out: dict[str, Any] = {name: getattr(facts, name) for name in probe_names() if name in Facts.model_fields}
    out["binfmt"] = (node, em.binfmt if node and em else None, None if node else "not read")
    out.update({f"tools.{name}": t for name, t in facts.tools.items()})
    return out


def depends_on(need: str, probe: str) -> bool:
    """Written here independently of the check engine: a need rests on a probe when it names it (or a part of
    it: "kubectl.list" rests on "kubectl"), when it is the group the probe belongs to ("tools" and
    "tools.docker"), or when it is the emulation decision, which the engine's answer drives."""
    name = need.split(":", 1)[0]
    root = name.split(".", 1)[0]
    if name == probe or root == probe or probe.startswith(name + "."):
        return True
    return name == "emulation" and probe == "engine"


def test_the_healthy_machine_looks_at_everything() -> None:
    """The baseline must have every probe answered, or the injections below prove nothing."""
    facts = load_facts(HEALTHY)
    for name in probe_names():
        assert facts.probes[name].status is ProbeStatus.OK, name


@pytest.mark.parametrize("status", FAILURES, ids=lambda s: s.value)
@pytest.mark.parametrize("probe", probe_names())
def test_a_failed_probe_leaves_no_dependent_finding_ok(probe: str, status: ProbeStatus) -> None:
    base = load_facts(HEALTHY)
    results = results_from(base)
    results.pop(probe)
    records = {name: ProbeRecord(status=ProbeStatus.OK) for name in results}
    records[probe] = ProbeRecord(status=status, reason=f"injected {status.value} in the {probe} probe")
    facts = gather.assemble(results, records)
    facts.images = base.images
    facts.probes["images"] = base.probes["images"]
    report = run_checks(facts)
    specs = load_checks()
    dependent = {cid for cid, spec in specs.items() if any(depends_on(n, probe) for n in spec.needs)}
    if probe in INDIRECT:
        assert not dependent
        return
    assert dependent, f"no check needs the {probe} probe: add it to a check's needs or to INDIRECT with a reason"
    for f in report.findings:
        if f.id not in dependent:
            continue
        assert f.severity is not Severity.OK, f"{f.id} says ok although {probe} failed: {f.message}"
    skipped = [f for f in report.findings if f.id in dependent and f.severity is Severity.SKIPPED]
    assert skipped, f"nothing was skipped when {probe} failed"
    for f in skipped:
        # The probe's own reason, once, with no "skipped:" in the message (the reporter adds the word).
        assert f.message == f"injected {status.value} in the {probe} probe", (f.id, f.message)


def _kubectl_facts(**kw: Any) -> Facts:
    facts = load_facts(HEALTHY)
    facts.kubectl = KubectlFacts(client_version="v1.33.1", current_context="kind-dev", **kw)
    return facts


FORBIDDEN = (
    'Error from server (Forbidden): nodes is forbidden: User "dev" cannot list resource "nodes" in API group "" '
    "at the cluster scope"
)


def by_id(facts: Facts) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for f in run_checks(facts).findings:
        out.setdefault(f.id, []).append((f.severity.value, f.message))
    return out


def test_forbidden_listing_is_never_ok() -> None:
    """The issue's first case: `get nodes` answers Forbidden. KD705 skips with kubectl's words; KD706 warns,
    because its catalogue entry says the denial matters (on_denied)."""
    got = by_id(_kubectl_facts(server_reachable=True, server_version="v1.33.1", list_error=FORBIDDEN))
    assert got["KD705"] == [("skipped", FORBIDDEN)]
    assert got["KD706"] == [("warning", FORBIDDEN)]
    assert got["KD702"][0][0] == "ok"  # the versions were read: the skew check did look
    assert got["KD704"][0][0] == "ok"


def test_listing_past_its_timeout_is_skipped() -> None:
    err = "Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded)"
    got = by_id(_kubectl_facts(server_reachable=True, server_version="v1.33.1", list_error=err))
    assert got["KD705"] == [("skipped", err)] and got["KD706"] == [("skipped", err)]


def test_an_unreachable_server_skips_what_needs_it() -> None:
    err = "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?"
    got = by_id(_kubectl_facts(server_error=err))
    assert got["KD704"][0][0] == "warning"  # the reachability check looked: the server does not answer
    for cid in ("KD702", "KD705", "KD706"):
        assert got[cid] == [("skipped", f"the cluster did not answer: {err}")]


def test_nodes_listed_still_judged() -> None:
    """The rule does not swallow real answers: a listed amd64 node is still flagged."""
    nodes = [NodeFacts(name="n1", arch="amd64", ready=True)]
    got = by_id(_kubectl_facts(server_reachable=True, server_version="v1.33.1", nodes=nodes))
    assert got["KD705"][0][0] == "warning"
    assert got["KD706"] == [("ok", "no pod is crash-looping or failing to pull")]


def test_human_report_says_skipped_once(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kdoctor.cli import app

    snap = tmp_path / "f.json"
    snap.write_text(_kubectl_facts(server_error="timeout").model_dump_json())
    out = CliRunner().invoke(app, ["diagnose", "-v", "--facts", str(snap)]).stdout
    assert "skipped: the cluster did not answer" in out
    assert "skipped: skipped" not in out


def test_a_stopped_cluster_is_a_finding_not_an_incomplete_report() -> None:
    err = "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?"
    assert not run_checks(_kubectl_facts(server_error=err)).incomplete
    listed = _kubectl_facts(server_reachable=True, server_version="v1.33.1", list_error="context deadline exceeded")
    assert run_checks(listed).incomplete  # the server answered but the listing timed out: checks could not run


class _EverythingTimesOut:
    """A runner on whose PATH every tool is installed and every command times out (issue 25, class 6)."""

    def which(self, name: str) -> str | None:
        return f"/opt/homebrew/bin/{name}"

    def run(self, argv: Any, *, timeout: float = 10.0, env: Any = None, input: Any = None) -> Any:
        from kdoctor.runner import TIMED_OUT, CommandResult

        return CommandResult(tuple(argv), TIMED_OUT, "", f"kdoctor: timed out after {timeout:g}s", timeout)

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


# Probes that may stay "ok" when every command they run times out, each with why that is not a hole.
OK_WHEN_EVERYTHING_TIMES_OUT = {
    "tools.minikube": "the binary was found (which); a version that timed out is KD203's finding",
    "tools.kind": "likewise",
    "tools.kubectl": "likewise",
    "tools.docker": "likewise",
    "engine": "an engine that does not answer is a finding in itself (KD301, with the timeout as its reason)",
    "binfmt": INDIRECT["binfmt"],
}
# Findings that may be "ok" then, each with why it does not rest on what timed out.
OK_FINDINGS_WHEN_EVERYTHING_TIMES_OUT = {
    "KD202": "tools on PATH, which is read without running them",
    "KD305": "the known-bad table lists no release of the product at all, whatever its version",
    "KD306": "settings files read from disk, not through a command",
}


def test_a_probe_whose_every_command_times_out_never_says_ok(tmp_path: Path) -> None:
    """Derived from the code: every probe gather runs (build_probes), on a machine where each command times out,
    is recorded as not having looked (the record gather would write: record_for), unless listed above with why;
    and the checks then say "ok" only where the finding does not rest on a command."""
    from kdoctor.facts.gather import Missing, assemble, record_for

    results: dict[str, Any] = {}
    records: dict[str, ProbeRecord] = {}
    for probe in gather.build_probes(_EverythingTimesOut(), tmp_path, "darwin"):
        try:
            results[probe.name] = probe.fn()
            records[probe.name] = record_for(results[probe.name])
        except Missing as exc:
            records[probe.name] = ProbeRecord(status=ProbeStatus.MISSING, reason=str(exc))
        except Exception as exc:
            records[probe.name] = ProbeRecord(status=ProbeStatus.ERROR, reason=str(exc))
    said_ok = {n for n, r in records.items() if r.status is ProbeStatus.OK}
    assert said_ok == set(OK_WHEN_EVERYTHING_TIMES_OUT), {n: records[n] for n in said_ok}
    findings = run_checks(assemble(results, records)).findings
    ok = {f.id for f in findings if f.severity is Severity.OK}
    assert ok <= set(OK_FINDINGS_WHEN_EVERYTHING_TIMES_OUT), [f.message for f in findings if f.id in ok]
