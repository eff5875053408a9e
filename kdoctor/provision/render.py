"""Human output for plans and `up` results."""

from __future__ import annotations

import shlex

from rich.console import Console
from rich.markup import escape

from kdoctor.provision.apply import Decision, UpResult
from kdoctor.provision.model import Plan
from kdoctor.provision.providers import provider_for
from kdoctor.report.model import Severity
from kdoctor.report.text import columns


def reconcile_rows(plan: Plan, decision: Decision | None, not_looked: str | None) -> list[list[str]]:
    """(object, action, detail) per object `up` would touch: the same decision the real run makes (apply.decide)."""
    cluster = f"cluster {plan.cluster}"
    if decision is None:
        return [[cluster, "unknown", f"could not look: {not_looked}"]]
    detail = {
        "create": " ".join(shlex.quote(a) for a in plan.create[:3]) + " …",
        "start": "exists, stopped",
        "unchanged": "exists, running, matches the profile",
        "upgrade": "; ".join(f"{d['field']} {d['existing']} -> {d['wanted']}" for d in decision.upgrades),
        "conflict": "; ".join(f"{d['field']}: has {d['existing']}, profile wants {d['wanted']}" for d in decision.diff),
    }[decision.cluster]
    rows = [[cluster, decision.cluster, detail]]
    rows += [[f"addon {a}", "enable" if on else "disable", ""] for a, on in decision.addons]
    if plan.registry and decision.registry:
        rows.append([f"registry {plan.registry['name']}", decision.registry, f"localhost:{plan.registry['port']}"])
    return rows


def render_plan(
    plan: Plan, console: Console, *, decision: Decision | None = None, not_looked: str | None = None
) -> None:
    vm = plan.vm
    console.print(
        f"[bold]Plan[/] for profile [bold]{escape(plan.profile)}[/]: {plan.provider} cluster "
        f"[bold]{escape(plan.cluster)}[/] (context {escape(plan.context)})"
    )
    console.print(
        f"  engine VM      {vm.get('product') or '?'}: {vm.get('cpus') or '?'} CPUs, {vm.get('memory_mb') or '?'} MB"
    )
    console.print(
        f"  Kubernetes     {plan.kubernetes_version or '?'}"
        + (f"  (node image {escape(plan.node_image)})" if plan.node_image else "")
    )
    for label, text in provider_for(plan.provider).size_lines(plan):
        console.print(f"  {label:<15}{escape(text)}")
    if plan.addons:
        console.print(f"  addons         {', '.join(plan.addons)}")
    if plan.registry:
        r = plan.registry
        console.print(f"  registry       {r['name']} on {r['host']} (in cluster: {r['in_cluster']})")
    console.print("  commands")
    console.print(f"    $ {escape(shlex.join(plan.create))}")
    if plan.kind_config:
        console.print("    kind config:")
        for line in plan.kind_config.splitlines():
            console.print(f"      {escape(line)}")
    for p in plan.preflight:
        mark = "[red]✗[/]" if p.severity is Severity.ERROR else "[yellow]![/]"
        which = f"{p.id} " if p.id else ""  # the check `kdoctor explain` can say more about
        console.print(f"  {mark} {which}{escape(p.message)}" + (f"\n      fix: {escape(p.fix)}" if p.fix else ""))
    if not plan.ok:
        console.print("[red]preflight failed: nothing will be changed[/]")
        return
    console.print("preflight passed; what `kdoctor up` would do now:")
    rows = [["OBJECT", "ACTION", "DETAIL"], *reconcile_rows(plan, decision, not_looked)]
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    for line in columns(rows, widths):
        console.print("  " + line, markup=False, highlight=False)
    if decision is not None and decision.cluster == "conflict":
        console.print(
            f"[red]up would stop with a conflict[/]: cluster {escape(plan.cluster)} exists with settings "
            "minikube/kind cannot change in place; `kdoctor up --recreate` deletes and recreates it (asks first)"
        )


def render_result(result: UpResult, console: Console) -> None:
    for step in result.steps:
        console.print(f"  • {escape(step)}")
    for d in result.diff:
        console.print(f"  ✗ {d['field']}: existing {d['existing']!r}, profile wants {d['wanted']!r}")
    colour = "green" if result.exit_code == 0 else "red"
    console.print(f"[{colour}]{escape(result.message)}[/]")
    if result.action == "conflict":
        console.print(f"  re-run with [bold]--recreate[/] to delete {escape(result.plan.cluster)} and create it again")
