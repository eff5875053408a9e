"""Each product behind the Provider protocol, with a FakeRunner: what it runs, and what it adds to the facts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kdoctor.facts.model import Facts
from kdoctor.provision.kind import CONFIG_SHOWN, Kind
from kdoctor.provision.minikube import Minikube
from kdoctor.provision.model import Observed, Plan
from kdoctor.provision.plan import make_plan
from kdoctor.provision.profile import load_profile, parse_profile
from kdoctor.provision.providers import PROVIDERS, provider_for
from kdoctor.runner import CommandResult, FakeRunner
from tests.conftest import SCENARIOS

HEALTHY = Facts.model_validate_json((SCENARIOS / "dd-rosetta-healthy.json").read_text())


@pytest.fixture(autouse=True)
def shipped_profiles_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KDOCTOR_PROFILE_DIR", str(tmp_path))


def ok(argv: tuple[str, ...], stdout: str = "") -> CommandResult:
    return CommandResult(argv, 0, stdout, "")


def plan_for(text: str) -> Plan:
    return make_plan(parse_profile(text, "test.yaml"), HEALTHY)


def test_the_product_list_is_what_plans_and_profiles_name() -> None:
    assert set(PROVIDERS) == {"minikube", "kind"}
    for name, product in PROVIDERS.items():
        assert product.name == name and provider_for(name) is product


def test_kind_writes_its_config_to_a_temp_file_only_while_creating() -> None:
    plan = make_plan(load_profile("ci"), HEALTHY)
    assert CONFIG_SHOWN in plan.create
    seen: dict[str, str] = {}

    def handler(argv: tuple[str, ...]) -> CommandResult:
        path = argv[argv.index("--config") + 1]
        seen[path] = Path(path).read_text()
        return ok(argv)

    runner = FakeRunner(handler)
    Kind().create(runner, plan, on_line=lambda line: None)
    ((path, text),) = seen.items()
    assert text == plan.kind_config and not os.path.exists(path)
    # The command run is the planned one with the real path where the plan shows the stand-in.
    assert list(runner.calls[0]) == [path if a == CONFIG_SHOWN else a for a in plan.create]


def test_minikube_turns_off_only_addons_an_earlier_run_turned_on() -> None:
    plan = plan_for("name: team\nprovider: minikube\ncluster: team\naddons: [ingress]\n")
    runner = FakeRunner(ok)
    observed = Observed(exists=True, running=True, addons={"metrics-server", "dashboard"})
    steps = Minikube().sync_addons(runner, plan, observed, previous={"metrics-server"})
    assert steps == ["enabled addon ingress", "disabled addon metrics-server"]
    assert [c[:4] for c in runner.calls] == [
        ("minikube", "addons", "enable", "ingress"),
        ("minikube", "addons", "disable", "metrics-server"),
    ]


def test_minikube_observes_the_exact_profile_name() -> None:
    listing = {
        "valid": [
            {"Name": "team-old", "Status": "OK", "Config": {"CPUs": 2}},
            {
                "Name": "team",
                "Status": "Stopped",
                "Config": {
                    "CPUs": 4,
                    "Memory": 4096,
                    "Driver": "docker",
                    "Nodes": [{}, {}],
                    "Addons": {"ingress": True},
                },
            },
        ]
    }
    plan = plan_for("name: team\nprovider: minikube\ncluster: team\n")
    obs = Minikube().observe(FakeRunner(lambda argv: ok(argv, json.dumps(listing))), plan)
    assert obs.exists and not obs.running and obs.addons == {"ingress"}
    assert obs.immutable["cpus"] == 4 and obs.nodes == ["team", "team-m02"]


def test_planned_minikube_profile_joins_a_copy_of_the_facts() -> None:
    plan = make_plan(load_profile("dev"), HEALTHY)
    planned = Minikube().planned_facts(plan, HEALTHY)
    assert planned.minikube and HEALTHY.minikube
    assert [p.name for p in planned.minikube.profiles] == ["dev", "kdoctor-dev"]
    mine = planned.minikube.profiles[-1]
    assert (mine.driver, mine.cpus, mine.memory_mb, mine.kubernetes_version) == ("docker", 4, 7936, "v1.35.1")
    assert [p.name for p in HEALTHY.minikube.profiles] == ["dev"]  # the gathered facts are untouched


def test_planned_kind_cluster_has_kinds_node_names_and_image() -> None:
    plan = plan_for("name: k\nprovider: kind\nnodes: 3\nresources: {memory: 2GiB}\n")
    planned = Kind().planned_facts(plan, Facts())
    assert planned.kind and planned.probes["kind"].status == "ok"
    (cluster,) = planned.kind.clusters
    assert [n.name for n in cluster.nodes] == ["kdoctor-k-control-plane", "kdoctor-k-worker", "kdoctor-k-worker2"]
    assert {n.image for n in cluster.nodes} == {plan.node_image}


@pytest.mark.parametrize(
    ("text", "network", "containerd"),
    [
        ("name: a\nprovider: minikube\ncluster: a\n", "a", True),
        ("name: a\nprovider: minikube\ncluster: a\nruntime: docker\n", "a", False),
        ("name: a\nprovider: kind\ncluster: a\n", "kind", True),
    ],
)
def test_registry_wiring_is_the_products_answer(text: str, network: str, containerd: bool) -> None:
    plan = plan_for(text)
    product = provider_for(plan.provider)
    assert product.registry_network(plan) == network
    assert product.configures_containerd(plan) is containerd
