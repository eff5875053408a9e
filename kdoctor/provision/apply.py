"""Reconcile a plan with what exists: create, start, change addons, or stop with a clear diff.

Never deletes a cluster unless the user asked (--recreate, confirmed on a TTY or with --yes). Every
step is safe to interrupt: a re-run observes what is there and finishes the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kdoctor import versions
from kdoctor.errors import ExitCode
from kdoctor.provision import kube, registry
from kdoctor.provision.model import Observed, Plan, Provider, addon_changes
from kdoctor.runner import Runner

UP_SCHEMA = "kdoctor/up/v1"


@dataclass
class UpResult:
    action: (
        str  # created | started | updated | upgraded | unchanged | recreated | conflict | preflight-failed | refused |
        # not-ready
    )
    exit_code: int
    plan: Plan
    diff: list[dict[str, Any]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": UP_SCHEMA,
            "action": self.action,
            "exit_code": self.exit_code,
            "message": self.message,
            "diff": self.diff,
            "steps": self.steps,
            "plan": self.plan.to_json(),
        }


def diff_immutable(wanted: dict[str, Any], have: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, want in wanted.items():
        if key not in have or have[key] is None or want is None:
            continue
        if have[key] != want:
            out.append({"field": key, "existing": have[key], "wanted": want})
    return out


def split_upgrades(
    diff: list[dict[str, Any]], in_place: tuple[str, ...]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(upgrades the product applies in place, the rest). Only a strictly newer version is an upgrade; a downgrade
    or a version that does not parse stays a conflict."""
    ups: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for d in diff:
        new, old = versions.parse(str(d["wanted"])), versions.parse(str(d["existing"]))
        (ups if d["field"] in in_place and new and old and new > old else rest).append(d)
    return ups, rest


@dataclass
class Decision:
    """What `up` will do to an existing (or missing) cluster: the one decision both `up` and `up --dry-run` show."""

    cluster: str  # create | start | upgrade | unchanged | conflict
    diff: list[dict[str, Any]] = field(default_factory=list)  # conflicting fixed settings
    upgrades: list[dict[str, Any]] = field(default_factory=list)  # changes the product makes in place
    addons: list[tuple[str, bool]] = field(default_factory=list)  # (addon, enable?) on an existing cluster
    registry: str | None = None  # create | start | unchanged (the local registry container), None: no registry

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "diff": self.diff,
            "upgrades": self.upgrades,
            "addons": [{"addon": a, "action": "enable" if on else "disable"} for a, on in self.addons],
            "registry": self.registry,
        }


def decide(plan: Plan, obs: Observed, recorded: dict[str, Any] | None, in_place: tuple[str, ...]) -> Decision:
    """Compare the plan with what exists. `recorded` is the profile an earlier `up` left in the cluster (read only
    from a running one): a cluster applied from this very profile is not a conflict even where sizes taken as a
    share of the VM differ."""
    if not obs.exists:
        return Decision("create")
    if recorded and recorded.get("profile_hash") == plan.profile_hash:
        diff: list[dict[str, Any]] = []
    else:
        have = {**obs.immutable, **((recorded or {}).get("immutable") or {})}
        diff = [d for d in diff_immutable(plan.immutable, have) if d["field"] not in plan.flexible]
    upgrades, rest = split_upgrades(diff, in_place)
    addons = addon_changes(plan, obs, set((recorded or {}).get("addons") or []))
    if rest:
        return Decision("conflict", diff=diff)  # up stops here: nothing else would change
    if upgrades:
        return Decision("upgrade", upgrades=upgrades, addons=addons)
    return Decision("unchanged" if obs.running else "start", addons=addons)


Confirm = Callable[[str], bool]


@dataclass
class Reconciler:
    runner: Runner
    provider: Provider
    say: Callable[[str], None]
    progress: Callable[[str], None]
    confirm: Confirm | None  # None: not interactive
    apple_silicon: bool = True
    wait_timeout: float = 300.0
    sleep: Callable[[float], None] = time.sleep

    def up(self, plan: Plan, *, recreate: bool = False, yes: bool = False) -> UpResult:
        if not plan.ok:
            return UpResult(
                "preflight-failed",
                ExitCode.PREFLIGHT,
                plan,
                message="the plan cannot work on this machine; nothing was changed",
            )
        obs, decision = self._look(plan)
        steps: list[str] = []
        action = "created"
        upgrades = decision.upgrades
        if decision.cluster == "conflict":
            diff = decision.diff
            if not recreate:
                return UpResult(
                    "conflict",
                    ExitCode.CONFLICT,
                    plan,
                    diff,
                    message=f"cluster {plan.cluster!r} exists with settings minikube/kind cannot change "
                    "in place; re-run with --recreate to delete and recreate it",
                )
            if not self._consent(
                f"Delete cluster {plan.cluster!r} and create it again from profile {plan.profile!r}?", yes
            ):
                return UpResult(
                    "refused",
                    ExitCode.CONFLICT,
                    plan,
                    diff,
                    message="not recreating without consent (pass --yes, or answer the prompt)",
                )
            self.say(f"deleting cluster {plan.cluster} (asked for with --recreate)")
            self.provider.delete(self.runner, plan, self.progress)
            steps.append(f"deleted {plan.cluster}")
            obs = Observed(exists=False)
            action = "recreated"
            upgrades = []
        if obs.exists and upgrades:
            change = ", ".join(f"{d['field']} {d['existing']} -> {d['wanted']}" for d in upgrades)
            self.say(f"upgrading {plan.cluster} in place: {change}")
            self.provider.upgrade(self.runner, plan, obs, self.progress)
            steps.append(f"upgraded {change}")
            action = "upgraded"
        elif not obs.exists:
            self.say(f"creating {plan.provider} cluster {plan.cluster}")
            self.provider.create(self.runner, plan, self.progress)
            steps.append(f"created {plan.cluster}")
        elif not obs.running:
            self.say(f"starting stopped cluster {plan.cluster}")
            self.provider.start(self.runner, plan, obs, self.progress)
            steps.append(f"started {plan.cluster}")
            action = "started"
        else:
            action = "unchanged"
        if obs.exists and self.provider.supports_addons:
            # What an earlier run of the profile turned on: the only addons ever turned off.
            previous = set((kube.read_record(self.runner, plan.context) or {}).get("addons") or [])
            changed = self.provider.sync_addons(self.runner, plan, obs, previous)
            steps += changed
            if action == "unchanged" and changed:
                action = "updated"
        if plan.registry:
            steps += registry.ensure_registry(self.runner, plan)
        ok, why, items = kube.wait_ready(self.runner, plan.context, timeout=self.wait_timeout, sleep=self.sleep)
        if not ok:
            return UpResult(
                "not-ready",
                ExitCode.FINDINGS,
                plan,
                steps=steps,
                message=f"the cluster did not become ready within {self.wait_timeout:g}s: {why}",
            )
        if plan.registry:
            registry.configure_nodes(self.runner, plan, list(kube.node_archs(items)))
            failed = registry.advertise(self.runner, plan)
            if failed:  # the registry works; tools that read KEP-1755 just will not find it
                steps.append(f"could not advertise the registry (kube-public/local-registry-hosting): {failed}")
        archs = kube.node_archs(items)
        record = {"profile_hash": plan.profile_hash, "immutable": plan.immutable, "addons": plan.addons}
        failed = kube.record_plan(self.runner, plan.context, record, plan.spec)
        if failed:
            steps.append(f"could not record the applied profile in the cluster (kube-public/kdoctor-profile): {failed}")
        if self.apple_silicon and any(a != "arm64" for a in archs.values()):
            bad = ", ".join(f"{n}={a}" for n, a in archs.items() if a != "arm64")
            return UpResult(
                action,
                ExitCode.FINDINGS,
                plan,
                steps=steps,
                message=f"the cluster is up but its nodes are not arm64 ({bad}): everything is emulated",
            )
        verb = {
            "created": "created and ready",
            "recreated": "recreated and ready",
            "started": "started and ready",
            "updated": "updated and ready",
            "upgraded": "upgraded in place and ready",
            "unchanged": "already up and matching the profile",
        }[action]
        return UpResult(
            action, ExitCode.OK, plan, steps=steps, message=f"cluster {plan.cluster} {verb} (context {plan.context})"
        )

    def _look(self, plan: Plan) -> tuple[Observed, Decision]:
        """What exists (read-only) and the decision on it: the first step of `up` and the whole of a dry run."""
        obs = self.provider.observe(self.runner, plan)
        recorded = kube.read_record(self.runner, plan.context) if obs.exists and obs.running else None
        return obs, decide(plan, obs, recorded, self.provider.upgrades_in_place)

    def preview(self, plan: Plan) -> Decision:
        """What `up` would do now, from read-only observations: the product's own cluster list, the profile an
        earlier `up` recorded in the cluster, the registry container's state. Changes nothing."""
        obs, decision = self._look(plan)
        if not self.provider.supports_addons or not obs.exists:
            decision.addons = []  # created with the cluster (its create command names them), or not a thing
        if plan.registry:
            decision.registry = registry.registry_action(self.runner, plan)
        return decision

    def _consent(self, question: str, yes: bool) -> bool:
        if yes:
            return True
        if self.confirm is None:
            return False
        return self.confirm(question)

    def down(self, plan: Plan, *, delete: bool, yes: bool) -> UpResult:
        obs = self.provider.observe(self.runner, plan)
        if not obs.exists:
            return UpResult("absent", ExitCode.OK, plan, message=f"no cluster named {plan.cluster!r}: nothing to do")
        if delete:
            if not self._consent(f"Delete cluster {plan.cluster!r}? Everything in it is lost.", yes):
                return UpResult(
                    "refused",
                    ExitCode.CONFLICT,
                    plan,
                    message="not deleting without consent (pass --yes, or answer the prompt)",
                )
            self.provider.delete(self.runner, plan, self.progress)
            return UpResult("deleted", ExitCode.OK, plan, message=f"deleted cluster {plan.cluster}")
        if not obs.running:
            return UpResult("stopped", ExitCode.OK, plan, message=f"cluster {plan.cluster} is already stopped")
        self.provider.stop(self.runner, plan, obs)
        return UpResult("stopped", ExitCode.OK, plan, message=f"stopped cluster {plan.cluster}")
