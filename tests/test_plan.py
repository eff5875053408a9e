"""make_plan with hand-made Facts, no subprocess: sizes, the exact commands, and a preflight that is the
catalogue's checks judging the planned cluster (plus the few notes no check covers)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest

from kdoctor.checks.catalogue import catalogue
from kdoctor.facts.model import GIB, Facts
from kdoctor.provision.kind import CONFIG_SHOWN
from kdoctor.provision.model import Plan
from kdoctor.provision.plan import make_plan
from kdoctor.provision.profile import ALLOWED, Profile, load_profile, parse_profile
from kdoctor.provision.providers import PROVIDERS
from kdoctor.report.model import Severity
from tests.conftest import SCENARIOS
from tests.support.facts import scenario_facts

HEALTHY = json.loads((SCENARIOS / "dd-rosetta-healthy.json").read_text())
CI_IMAGE = "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5"


@pytest.fixture(autouse=True)
def shipped_profiles_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A developer's own `dev` profile must not shadow the shipped one."""
    monkeypatch.setenv("KDOCTOR_PROFILE_DIR", str(tmp_path))
    yield


def healthy_mac(
    cpus: int = 8, gib: float = 16, *, tools: dict[str, dict[str, Any]] | None = None, **engine: Any
) -> Facts:
    """The healthy Docker Desktop Mac of the scenarios, with its engine VM resized (and any changes)."""
    return scenario_facts(
        "dd-rosetta-healthy", engine={"ncpu": cpus, "mem_total": int(gib * GIB), **engine}, tools=tools
    )


def profile(text: str) -> Profile:
    return parse_profile(text, "test.yaml")


def reasons(plan: Plan) -> list[tuple[str, str | None]]:
    return [(p.severity.value, p.id) for p in plan.preflight]


def test_dev_on_a_16_gb_8_core_vm() -> None:
    plan = make_plan(load_profile("dev"), healthy_mac(8, 16))
    assert plan.ok and plan.preflight == []
    assert (plan.provider, plan.cluster, plan.context) == ("minikube", "kdoctor-dev", "kdoctor-dev")
    assert (plan.cpus, plan.memory_mb, plan.disk_mb, plan.kubernetes_version) == (4, 8192, 40960, "v1.35.1")
    assert plan.create == [
        "minikube",
        "start",
        "-p",
        "kdoctor-dev",
        "--driver=docker",
        "--cpus=4",
        "--memory=8192mb",
        "--container-runtime=containerd",
        "--nodes=1",
        "--kubernetes-version=v1.35.1",
        "--disk-size=40960mb",
        "--addons=metrics-server",
        "--addons=ingress",
        "--extra-config=kubelet.max-pods=110",
        "--insecure-registry=kdoctor-registry:5000",
    ]
    assert plan.registry == {
        "name": "kdoctor-registry",
        "host": "localhost:5001",
        "port": 5001,
        "image": "registry:2",
        "in_cluster": "kdoctor-registry:5000",
    }
    assert plan.flexible == {"cpus", "memory_mb"}
    assert plan.immutable == {
        "provider": "minikube",
        "kubernetes_version": "v1.35.1",
        "nodes": 1,
        "cpus": 4,
        "memory_mb": 8192,
        "runtime": "containerd",
        "driver": "docker",
    }
    assert plan.vm == {"cpus": 8, "memory_mb": 16384, "product": "docker-desktop"}


def test_ci_is_kind_with_its_pinned_image_and_a_config_shown_beside_the_command() -> None:
    plan = make_plan(load_profile("ci"), healthy_mac(8, 16))
    assert plan.ok and plan.preflight == []
    assert (plan.context, plan.node_image, plan.kubernetes_version) == ("kind-kdoctor-ci", CI_IMAGE, "v1.36.1")
    assert plan.create == [
        *("kind", "create", "cluster", "--name", "kdoctor-ci", "--config", CONFIG_SHOWN, "--wait", "0s"),
        *("--image", CI_IMAGE),
    ]
    assert plan.kind_config and "hostPort: 8080" in plan.kind_config and "containerPort: 80" in plan.kind_config
    assert plan.immutable["kind_config"] == plan.kind_config
    assert plan.spec["kindConfig"] == {"nodeImage": CI_IMAGE}  # kind's own section, for kind only
    assert "kindConfig" not in make_plan(load_profile("dev"), healthy_mac()).spec


@pytest.mark.parametrize(("name", "ok"), [("dev", False), ("ci", True), ("minimal", True)])
def test_a_4_gb_2_core_vm(name: str, ok: bool) -> None:
    plan = make_plan(load_profile(name), healthy_mac(2, 4))
    assert plan.ok is ok, plan.preflight
    if name == "dev":
        # dev wants at least 4 GiB per node; the VM has 3 GiB once the headroom is left.
        assert (plan.cpus, plan.memory_mb) == (2, 3072)
        (why,) = plan.preflight
        assert why.severity is Severity.ERROR and why.id is None
        assert "needs at least 4096 MB per node" in why.message and "has room for 3072 MB" in why.message


def test_other_clusters_on_the_machine_are_not_this_plans_business() -> None:
    # The snapshot's own minikube profile `dev` asks 8192 MB, more than this VM has: diagnose's KD601.
    facts = healthy_mac(2, 4)
    assert facts.minikube and facts.minikube.profiles[0].memory_mb == 8192
    assert make_plan(load_profile("minimal"), facts).preflight == []


def test_a_cluster_of_the_same_name_is_judged_as_planned() -> None:
    facts = healthy_mac(2, 4)
    assert facts.minikube
    facts.minikube.profiles[0].name = "kdoctor-minimal"  # exists, with 8192 MB; the plan asks 2048
    assert make_plan(load_profile("minimal"), facts).preflight == []


MINIKUBE = "name: t\nprovider: minikube\n"
KIND = "name: t\nprovider: kind\n"


@pytest.mark.parametrize(
    ("body", "facts", "expected", "needle"),
    [
        pytest.param(
            MINIKUBE, healthy_mac(reachable=False, error="Cannot connect to the Docker daemon"),
            [("error", "KD301")], "no container engine answers: Cannot connect", id="no-engine",
        ),
        pytest.param(
            KIND, Facts(tools=HEALTHY["tools"]), [("error", "KD301")], "no engine facts were gathered",
            id="engine-probe-missing",
        ),
        pytest.param(
            MINIKUBE, healthy_mac(arch="x86_64"), [("error", "KD302")], "runs an x86_64 VM", id="x86_64-engine"
        ),
        pytest.param(
            MINIKUBE + "resources: {cpus: 4, memory: 6GiB}\n", healthy_mac(2, 4),
            [("error", "KD601"), ("error", "KD601")], "asks 6144 MB but the Docker VM has only 4096 MB",
            id="profile-exceeds-vm",
        ),
        pytest.param(
            MINIKUBE + "resources: {cpus: 2, memory: {share: 0.5}}\n", healthy_mac(2, 2),
            [("error", "KD602"), ("error", None)], "kubeadm will not start below 1800 MB", id="vm-too-small",
        ),
        pytest.param(
            MINIKUBE + "resources: {cpus: 2, memory: 3584}\n", healthy_mac(2, 4),
            [("warning", "KD603")], "leaving less than 1024 MB", id="no-headroom-warns",
        ),
        pytest.param(
            MINIKUBE, healthy_mac(tools={"minikube": {"binary_arch": "x86_64"}}),
            [("error", "KD502")], "is an x86_64 binary", id="x86_64-minikube",
        ),
        pytest.param(
            MINIKUBE + "kubernetes: v1.20.0\n", healthy_mac(), [("error", "KD701")],
            "older than the oldest minikube v1.38.1 supports (v1.28.0)", id="unsupported-k8s",
        ),
        pytest.param(
            MINIKUBE, healthy_mac(tools={"minikube": {"path": None}}), [("error", None)], "minikube is not installed",
            id="minikube-not-installed",
        ),
        pytest.param(
            KIND, healthy_mac(tools={"kind": {"path": None}}), [("error", None)], "kind is not installed",
            id="kind-not-installed",
        ),
        pytest.param(
            KIND + f"kubernetes: v1.30.0\nkindConfig: {{nodeImage: '{CI_IMAGE}'}}\n", healthy_mac(),
            [("error", None)], "nodeImage is Kubernetes v1.36.1 but the profile pins v1.30.0", id="kind-image-mismatch",
        ),
        pytest.param(
            KIND + "kubernetes: v1.30.0\n", healthy_mac(), [("warning", None)], "kindest/node:v1.30.0 is not pinned",
            id="kind-unpinned",
        ),
        pytest.param(
            KIND + "addons: [ingress]\n", healthy_mac(), [("warning", None)], "kind has no addons; ignoring ingress",
            id="kind-ignores-addons",
        ),
        pytest.param(
            KIND + f"kindConfig: {{nodeImage: '{CI_IMAGE}'}}\n", healthy_mac(tools={"kind": {"version": "v0.31.0"}}),
            [("warning", "KD703")], "built for a newer kind than the installed v0.31.0", id="kind-image-too-new",
        ),
        pytest.param(
            KIND + "nodes: 2\nresources: {memory: 1GiB}\n", healthy_mac(2, 3),
            [("warning", "KD604")], "3 kind node(s) in 2 cluster(s) need about 5400 MB", id="kind-nodes-vs-vm",
        ),
        pytest.param(
            KIND + "resources: {memory: 3GiB}\n", healthy_mac(2, 2), [("error", None), ("warning", "KD604")],
            "1 node(s) x 3072 MB does not fit the engine VM's 2048 MB with 1024 MB headroom", id="kind-memory-fit",
        ),
    ],
)  # fmt: skip
def test_each_preflight_reason(body: str, facts: Facts, expected: list[tuple[str, str | None]], needle: str) -> None:
    plan = make_plan(profile(body), facts)
    assert sorted(reasons(plan), key=str) == sorted(expected, key=str)
    assert any(needle in p.message for p in plan.preflight), [p.message for p in plan.preflight]
    assert plan.ok is all(p.severity is not Severity.ERROR for p in plan.preflight)
    assert all(p.fix for p in plan.preflight)  # every reason says what to do


def set_threshold(monkeypatch: pytest.MonkeyPatch, check_id: str, **thresholds: int) -> None:
    entry = catalogue()[check_id]
    changed = dataclasses.replace(entry, thresholds={**entry.thresholds, **thresholds})
    monkeypatch.setitem(catalogue(), check_id, changed)


def test_the_catalogue_is_the_one_source_of_the_floors(monkeypatch: pytest.MonkeyPatch) -> None:
    minimal = load_profile("minimal")  # 2 CPUs, 2 GiB
    assert make_plan(minimal, healthy_mac()).ok
    set_threshold(monkeypatch, "KD602", min_memory_mb=2560, min_cpus=3)
    plan = make_plan(minimal, healthy_mac())
    assert reasons(plan) == [("error", "KD602"), ("error", "KD602")]
    assert any("below 2560 MB" in p.message for p in plan.preflight)
    assert any("minikube requires at least 3" in p.message for p in plan.preflight)
    # The sizing floors move with it: a share never goes below the catalogue's floor.
    shared = profile(MINIKUBE + "resources: {cpus: {share: 0.1}, memory: {share: 0.1}}\n")
    assert (make_plan(shared, healthy_mac()).cpus, make_plan(shared, healthy_mac()).memory_mb) == (3, 2560)


def test_the_catalogue_is_the_one_source_of_the_headroom(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = load_profile("dev")  # half the VM, at least 4 GiB
    assert make_plan(dev, healthy_mac(8, 8)).memory_mb == 4096
    set_threshold(monkeypatch, "KD603", headroom_mb=6144)
    plan = make_plan(dev, healthy_mac(8, 8))
    assert not plan.ok and plan.memory_mb == 2048  # 8 GiB less 6 GiB of headroom
    assert any("less 6144 MB headroom" in p.message for p in plan.preflight)
    fixed = profile(MINIKUBE + "resources: {cpus: 2, memory: 4GiB}\n")
    assert reasons(make_plan(fixed, healthy_mac(8, 8))) == [("warning", "KD603")]


def test_stable_kubernetes_follows_the_installed_tool() -> None:
    older = healthy_mac(tools={"minikube": {"version": "v1.37.0"}, "kind": {"version": "v0.30.0"}})
    assert make_plan(profile(MINIKUBE), older).kubernetes_version == "v1.34.0"
    kind = make_plan(profile(KIND), older)
    assert kind.kubernetes_version == "v1.34.0" and kind.node_image and kind.node_image.startswith("kindest/node:v1.34")


def test_the_plan_json_keeps_its_contract() -> None:
    doc = make_plan(load_profile("dev"), healthy_mac(2, 4)).to_json()
    assert doc["schema"] == "kdoctor/plan/v1" and doc["ok"] is False
    assert {
        *("profile", "provider", "cluster", "context", "kubernetes_version", "node_image", "cpus", "memory_mb"),
        *("disk_mb", "nodes", "runtime", "addons", "registry", "vm", "kind_config", "commands", "preflight"),
    } <= set(doc)
    assert doc["commands"][0][:2] == ["minikube", "start"]
    for item in doc["preflight"]:
        assert {"severity", "message", "fix"} <= set(item) and item["severity"] in ("error", "warning")


def test_down_plans_without_any_facts() -> None:
    plan = make_plan(load_profile("ci"), Facts())
    assert (plan.cluster, plan.provider) == ("kdoctor-ci", "kind") and not plan.ok


def test_the_profile_schema_names_every_product() -> None:
    assert get_args(Profile.model_fields["provider"].annotation) == tuple(PROVIDERS)
    assert ALLOWED["provider"] == ", ".join(PROVIDERS)


SHIPPED_PROFILES = sorted((Path(__file__).resolve().parent.parent / "profiles").glob("*.y*ml"))


@pytest.mark.parametrize("path", SHIPPED_PROFILES, ids=lambda p: p.stem)
def test_every_shipped_profile_loads_and_plans(path: Path) -> None:
    """Each file in profiles/ parses with its schema and plans on a healthy Mac (a broken one fails here)."""
    profile = parse_profile(path.read_text(encoding="utf-8"), str(path))
    assert profile.provider in PROVIDERS
    plan = make_plan(profile, healthy_mac())
    assert plan.cluster and plan.create


def test_the_shipped_profiles_are_found() -> None:
    assert {p.stem for p in SHIPPED_PROFILES} >= {"dev", "ci", "minimal"}


def test_other_clusters_come_from_every_provider() -> None:
    """The preflight leaves out findings about every product's other clusters, each provider naming its own."""
    from kdoctor.facts.model import KindCluster, KindFacts, MinikubeFacts, MinikubeProfile
    from kdoctor.provision.planned import _other_clusters

    facts = healthy_mac().model_copy(
        update={
            "minikube": MinikubeFacts(profiles=[MinikubeProfile(name="old"), MinikubeProfile(name="dev")]),
            "kind": KindFacts(clusters=[KindCluster(name="ci")]),
        }
    )
    assert PROVIDERS["minikube"].clusters(facts) == {"old", "dev"}
    assert PROVIDERS["kind"].clusters(facts) == {"ci"}
    assert _other_clusters(facts, "dev") == {"old", "ci"}
