"""Human output for plans and `up` results."""

from __future__ import annotations

import shlex

from rich.console import Console
from rich.markup import escape

from kdoctor.provision.apply import UpResult
from kdoctor.provision.model import Plan
from kdoctor.provision.providers import provider_for
from kdoctor.report.model import Severity


def render_plan(plan: Plan, console: Console) -> None:
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
    console.print("[green]preflight passed[/]" if plan.ok else "[red]preflight failed: nothing will be changed[/]")


def render_result(result: UpResult, console: Console) -> None:
    for step in result.steps:
        console.print(f"  • {escape(step)}")
    for d in result.diff:
        console.print(f"  ✗ {d['field']}: existing {d['existing']!r}, profile wants {d['wanted']!r}")
    colour = "green" if result.exit_code == 0 else "red"
    console.print(f"[{colour}]{escape(result.message)}[/]")
    if result.action == "conflict":
        console.print(f"  re-run with [bold]--recreate[/] to delete {escape(result.plan.cluster)} and create it again")
