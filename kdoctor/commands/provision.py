"""up, down, profiles: provision a local cluster from a profile, and manage it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from kdoctor.commands._common import (
    Output,
    OutputOpt,
    ProfileOpt,
    YesOpt,
    gather_facts,
    stderr_console,
    stdout_console,
)
from kdoctor.errors import EXIT_HELP, ExitCode, KdoctorError

if TYPE_CHECKING:
    from kdoctor.provision.apply import Decision, Reconciler
    from kdoctor.provision.model import Plan
    from kdoctor.runner import Runner

profiles_app = typer.Typer(help="List and show cluster profiles.", no_args_is_help=False, invoke_without_command=True)


@profiles_app.callback()
def profiles_list(ctx: typer.Context) -> None:
    """List the profiles kdoctor knows (shipped ones, and yours in the user profile directory)."""
    if ctx.invoked_subcommand is not None:
        return
    from kdoctor.provision.profile import list_profiles, load_profile, user_profile_dir

    for name, path in list_profiles():
        try:
            p = load_profile(str(path))
            typer.echo(f"{name:<12} {p.provider:<9} {p.description}")
        except KdoctorError as exc:
            typer.echo(f"{name:<12} (invalid) {exc}")
    typer.echo(f"\nYour own profiles go in {user_profile_dir()} (or pass --profile ./file.yaml).")


@profiles_app.command("show")
def profiles_show(
    name: Annotated[str, typer.Argument(help="Profile name or path to a profile file.")],
    output: Annotated[Output, typer.Option("--output", "-o", help="text (YAML) or json.")] = Output.text,
) -> None:
    """Print the resolved profile (defaults filled in)."""
    import json

    import yaml

    from kdoctor.provision.profile import load_profile
    from kdoctor.provision.providers import provider_for

    prof = load_profile(name)
    spec = prof.spec(sections=provider_for(prof.provider).profile_sections)
    typer.echo(json.dumps(spec, indent=2) if output is Output.json else yaml.safe_dump(spec, sort_keys=False))


def _interactive() -> bool:
    import os

    return sys.stdin.isatty() and not os.environ.get("CI")


def _reconciler(
    plan: Plan, runner: Runner, *, quiet: bool, apple_silicon: bool = True, wait_timeout: float = 300.0
) -> Reconciler:
    """The reconciler with kdoctor's console wiring: messages and tool progress on stderr, prompts on a TTY."""
    from kdoctor.provision.apply import Reconciler
    from kdoctor.provision.providers import provider_for

    err = stderr_console()
    return Reconciler(
        runner=runner,
        provider=provider_for(plan.provider),
        say=(lambda m: None) if quiet else (lambda m: err.print(f"kdoctor: {m}")),
        progress=(lambda line: None) if quiet else (lambda line: err.print(f"  {line}", markup=False, highlight=False)),
        confirm=(lambda q: typer.confirm(q, default=False)) if _interactive() else None,
        apple_silicon=apple_silicon,
        wait_timeout=wait_timeout,
    )


def _preview(plan: Plan) -> tuple[Decision | None, str | None]:
    """What `up` would do now (read-only), or why kdoctor could not look: the dry run never guesses "create"."""
    from kdoctor.runner import SubprocessRunner

    try:
        return _reconciler(plan, SubprocessRunner(), quiet=True).preview(plan), None
    except KdoctorError as exc:
        return None, str(exc)


def up(
    profile: ProfileOpt = "dev",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and the exact commands; change nothing.")
    ] = False,
    output: OutputOpt = Output.text,
    recreate: Annotated[
        bool, typer.Option("--recreate", help="Delete and recreate a cluster whose fixed settings differ (asks first).")
    ] = False,
    yes: YesOpt = False,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", min=1, help="Seconds to wait for the API server and nodes.")
    ] = 300.0,
) -> None:
    """Provision (or start, or update) a local cluster from a profile, sized for this machine. Safe to re-run."""
    from kdoctor.errors import CommandFailed, Interrupted
    from kdoctor.provision.plan import make_plan
    from kdoctor.provision.profile import load_profile
    from kdoctor.provision.render import render_plan, render_result
    from kdoctor.report.jsonout import dumps
    from kdoctor.runner import SubprocessRunner

    quiet = output is Output.json
    prof = load_profile(profile)
    facts = gather_facts(quiet=quiet)
    plan = make_plan(prof, facts)
    if dry_run or not plan.ok:
        code = 0 if plan.ok else int(ExitCode.PREFLIGHT)
        decision, not_looked = (None, "the preflight failed") if not plan.ok else _preview(plan)
        if output is Output.json:
            rec_doc = decision.to_json() if decision else {"cluster": "unknown", "why": not_looked}
            typer.echo(dumps({**plan.to_json(), "exit_code": code, "reconcile": rec_doc}))
        else:
            render_plan(plan, stdout_console(), decision=decision, not_looked=not_looked)
        raise typer.Exit(code)
    rec = _reconciler(
        plan, SubprocessRunner(), quiet=quiet, apple_silicon=facts.apple_silicon(), wait_timeout=wait_timeout
    )
    try:
        result = rec.up(plan, recreate=recreate, yes=yes)
    except CommandFailed as exc:
        exc.hint = "nothing was deleted; fix the tool and re-run `kdoctor up`."
        raise
    except (KeyboardInterrupt, Interrupted):
        raise Interrupted("nothing was deleted. Re-run `kdoctor up` to finish.") from None
    if output is Output.json:
        typer.echo(dumps(result.to_json()))
    else:
        render_result(result, stdout_console())
    raise typer.Exit(result.exit_code)


def down(
    profile: ProfileOpt = "dev",
    delete: Annotated[
        bool, typer.Option("--delete", help="Delete the cluster instead of stopping it (asks first).")
    ] = False,
    yes: YesOpt = False,
    output: OutputOpt = Output.text,
) -> None:
    """Stop the profile's cluster; with --delete, delete it (only with consent)."""
    from kdoctor.facts.model import Facts
    from kdoctor.provision.plan import make_plan
    from kdoctor.provision.profile import load_profile
    from kdoctor.report.jsonout import dumps
    from kdoctor.runner import SubprocessRunner

    # Stopping or deleting needs only the cluster's name and provider, not this machine's facts.
    plan = make_plan(load_profile(profile), Facts())
    result = _reconciler(plan, SubprocessRunner(), quiet=False).down(plan, delete=delete, yes=yes)
    if output is Output.json:
        typer.echo(dumps(result.to_json()))
    else:
        typer.echo(result.message)
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    app.add_typer(profiles_app, name="profiles")
    app.command(epilog=EXIT_HELP["up"])(up)
    app.command()(down)
