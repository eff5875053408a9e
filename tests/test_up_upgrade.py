"""`kdoctor up` with a changed Kubernetes version (issue 12): minikube upgrades an existing cluster in place
(`minikube start --kubernetes-version=<newer>`) and refuses a downgrade (K8S_DOWNGRADE_UNSUPPORTED), so a newer
version is an in-place upgrade and an older one stays a conflict (exit 4); kind has no in-place upgrade."""

from __future__ import annotations

import pytest

from kdoctor.provision.apply import split_upgrades
from tests.conftest import FakeMachine
from tests.test_up import mac, mk_calls, profile, up

pytestmark = pytest.mark.slow  # every test runs `python -m kdoctor up` against the stateful fakes, seconds each

__all__ = ["mac"]  # the fixture, used by name

BODY = "name: team\nprovider: minikube\ncluster: team\nkubernetes: {v}\nresources: {{cpus: 2, memory: 2GiB}}\n"


def test_split_upgrades() -> None:
    diff = [
        {"field": "kubernetes_version", "existing": "v1.34.0", "wanted": "v1.35.1"},
        {"field": "cpus", "existing": 2, "wanted": 3},
    ]
    ups, rest = split_upgrades(diff, ("kubernetes_version",))
    assert ups == diff[:1] and rest == diff[1:]
    down = [{"field": "kubernetes_version", "existing": "v1.35.1", "wanted": "v1.34.0"}]
    assert split_upgrades(down, ("kubernetes_version",)) == ([], down)
    assert split_upgrades(diff[:1], ()) == ([], diff[:1])  # kind: nothing is raised in place


def test_minikube_newer_version_is_an_in_place_upgrade(mac: FakeMachine) -> None:
    profile(mac, "team", BODY.format(v="v1.34.0"))
    assert up("--profile", "team")[0] == 0
    profile(mac, "team", BODY.format(v="v1.35.1"))
    code, doc, err = up("--profile", "team")
    assert code == 0 and doc["action"] == "upgraded", (doc, err)
    assert "upgraded kubernetes_version v1.34.0 -> v1.35.1" in doc["steps"]
    assert mk_calls(mac, "start")[-1] == ["start", "-p", "team", "--kubernetes-version=v1.35.1"]
    assert not mk_calls(mac, "delete")
    code, doc, _ = up("--profile", "team")
    assert code == 0 and doc["action"] == "unchanged"


def test_minikube_older_version_stays_a_conflict(mac: FakeMachine) -> None:
    profile(mac, "team", BODY.format(v="v1.35.1"))
    assert up("--profile", "team")[0] == 0
    starts = len(mk_calls(mac, "start"))
    profile(mac, "team", BODY.format(v="v1.34.0"))
    code, doc, _ = up("--profile", "team")
    assert code == 4 and doc["action"] == "conflict"
    assert doc["diff"] == [{"field": "kubernetes_version", "existing": "v1.35.1", "wanted": "v1.34.0"}]
    assert len(mk_calls(mac, "start")) == starts


def test_kind_version_change_stays_a_conflict(mac: FakeMachine) -> None:
    body = "name: k\nprovider: kind\ncluster: k\nkubernetes: {v}\nresources: {{cpus: 2, memory: 3GiB}}\n"
    profile(mac, "k", body.format(v="v1.35.0"))
    code, doc, err = up("--profile", "k")
    assert code == 0, (doc, err)
    profile(mac, "k", body.format(v="v1.36.1"))
    code, doc, _ = up("--profile", "k")
    assert code == 4 and doc["action"] == "conflict"
    assert any(d["field"] == "kubernetes_version" for d in doc["diff"])
