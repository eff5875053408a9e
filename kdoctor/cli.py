"""The command line. Only this module turns errors into exit codes (see errors.ExitCode).

Heavy modules (rich, pydantic, httpx, python-on-whales) are imported inside commands so that
`kdoctor --version` and `--help` start fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kdoctor import __version__
from kdoctor.errors import CommandFailed, ExitCode, Interrupted, KdoctorError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_CODES_HELP = (
    "Exit codes: 0 no errors; 1 at least one error (or warning with --fail-on warning); "
    "2 bad usage or bad input; 3 some checks could not run."
)

app = typer.Typer(
    name="kdoctor",
    help="A doctor and provisioner for local Kubernetes clusters on Apple Silicon Macs.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Output(StrEnum):
    text = "text"
    json = "json"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    never = "never"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kdoctor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = None,
) -> None:
    """kdoctor: find what will break your local cluster, and provision one that fits."""


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def gather_facts(quiet: bool = False, images_budget: float = 0.0) -> object:
    from kdoctor.facts.gather import gather
    from kdoctor.runner import SubprocessRunner

    err = stderr_console()
    if quiet or not err.is_terminal:
        return gather(SubprocessRunner(), images_budget=images_budget)
    with err.status("kdoctor: gathering facts…") as status:
        done: list[str] = []

        def on_done(name: str) -> None:
            done.append(name)
            status.update(f"kdoctor: gathering facts… ({len(done)} probes done, last: {name})")

        return gather(SubprocessRunner(), on_done=on_done, images_budget=images_budget)


@app.command(epilog=EXIT_CODES_HELP)
def diagnose(
    output: Annotated[
        Output, typer.Option("--output", "-o", help="text (default) or json (JSON only on stdout).")
    ] = Output.text,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show every finding with its reasons.")] = False,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", envvar="KDOCTOR_FAIL_ON", help="Severity that makes the exit code 1.")
    ] = FailOn.error,
    facts_file: Annotated[
        Path | None, typer.Option("--facts", help="Judge a saved `kdoctor facts` snapshot instead of this machine.")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only these check ids or categories (repeatable).")
    ] = None,
    images_budget: Annotated[
        float,
        typer.Option("--images-budget", min=0, help="Seconds to spend judging the current cluster's images (0: skip)."),
    ] = 5.0,
) -> None:
    """Check this Mac, its container engine and its local clusters; say why and how to fix."""
    from kdoctor.diagnose import run_checks
    from kdoctor.facts.snapshot import load_facts
    from kdoctor.report.human import render_human
    from kdoctor.report.jsonout import dumps, report_to_json

    facts = (
        load_facts(facts_file) if facts_file else gather_facts(quiet=output is Output.json, images_budget=images_budget)
    )
    report = run_checks(facts, only=only)  # type: ignore[arg-type]
    code = report.exit_code(fail_on.value)
    if output is Output.json:
        typer.echo(dumps(report_to_json(report, exit_code=code)))
    else:
        render_human(report, stdout_console(), verbose=verbose)
    raise typer.Exit(code)


@app.command()
def facts(
    output: Annotated[Output, typer.Option("--output", "-o", help="json (the snapshot format).")] = Output.json,
    images_budget: Annotated[
        float,
        typer.Option("--images-budget", min=0, help="Seconds to spend judging the current cluster's images (0: skip)."),
    ] = 5.0,
) -> None:
    """Print everything the probes saw, as JSON (secrets redacted). Replay it with `diagnose --facts`."""
    from kdoctor.facts.snapshot import dump_facts

    typer.echo(dump_facts(gather_facts(quiet=True, images_budget=images_budget)))  # type: ignore[arg-type]


@app.command()
def explain(check_id: Annotated[str, typer.Argument(help="A check id such as KD401.")]) -> None:
    """Print a check's catalogue entry: what it looks at, why it matters, how to fix it."""
    from kdoctor.checks.registry import catalogue
    from kdoctor.errors import UsageError

    entry = catalogue().get(check_id.upper())
    if entry is None:
        raise UsageError(f"unknown check id {check_id!r}; `kdoctor checks` lists them")
    con = stdout_console()
    con.print(f"[bold]{entry.id}[/] {entry.title}  [dim]({entry.category.value}, {entry.severity.value})[/]")
    con.print(f"\n[bold]Why[/]\n{entry.rationale}")
    con.print(f"\n[bold]Fix[/]\n{entry.fix}")
    for cmd in entry.commands:
        con.print(f"  [cyan]$ {cmd}[/]")
    if entry.thresholds:
        con.print("\n[bold]Thresholds[/]")
        for k, v in entry.thresholds.items():
            con.print(f"  {k}: {v}")
    if entry.sources:
        con.print("\n[bold]Sources[/]\n" + "\n".join(f"  {s}" for s in entry.sources))


@app.command("checks")
def list_checks() -> None:
    """List every check: id, category, default severity, title."""
    from kdoctor.checks.registry import catalogue

    for e in catalogue().values():
        typer.echo(f"{e.id}  {e.category.value:<10} {e.severity.value:<8} {e.title}")


class EmulatorChoice(StrEnum):
    auto = "auto"
    qemu = "qemu"
    rosetta = "rosetta"
    none = "none"


IMAGES_EXIT_HELP = (
    "Exit codes: 0 every image is native or emulated; 1 some image will crash or cannot run (crash, unsupported); "
    "2 bad usage or bad input; 3 some verdicts are unknown (registry unreachable, 401, 429, timeout) and none worse."
)


@app.command(epilog=IMAGES_EXIT_HELP)
def images(
    refs: Annotated[
        list[str] | None, typer.Argument(help="Image references (nginx:1.27, ghcr.io/o/r@sha256:…).")
    ] = None,
    files: Annotated[
        list[str] | None,
        typer.Option("--file", "-f", help="Kubernetes YAML or Compose file, directory (recursive) or - for stdin."),
    ] = None,
    context: Annotated[
        str | None, typer.Option("--context", help="Kube context to read workloads from (no refs/files).")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Namespace to read workloads from.")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Read workloads from every namespace.")
    ] = False,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform", help="Target os/arch[/variant]; default: the cluster's nodes, else the engine, else the host."
        ),
    ] = None,
    emulator: Annotated[
        EmulatorChoice, typer.Option("--emulator", help="Emulator for foreign images; auto detects it like diagnose.")
    ] = EmulatorChoice.auto,
    insecure_registry: Annotated[
        list[str] | None,
        typer.Option("--insecure-registry", help="Use plain HTTP for this registry host[:port] (repeatable)."),
    ] = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="text (default) or json.")] = Output.text,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show where each image is used.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore and do not write the on-disk cache.")] = False,
    max_age: Annotated[
        float,
        typer.Option(
            "--max-age", help="Seconds a cached tag is trusted without a HEAD request (default 0: always re-check)."
        ),
    ] = 0.0,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Parallel registry connections.")
    ] = 16,
    timeout: Annotated[float, typer.Option("--timeout", min=0.5, help="Per-request timeout in seconds.")] = 10.0,
    no_suggest: Annotated[
        bool, typer.Option("--no-suggest", help="Do not look for newer tags that have the platform.")
    ] = False,
) -> None:
    """Every image's platforms from its registry, and the amd64-only Go entrypoints that will crash."""
    from kdoctor.errors import UsageError
    from kdoctor.images.command import detect_platform_and_emulator, render, run_scan
    from kdoctor.images.scan import ImageUse
    from kdoctor.images.sources import uses_from_cluster, uses_from_files
    from kdoctor.runner import SubprocessRunner

    runner = SubprocessRunner()
    uses: list[ImageUse] = [ImageUse(r, sources=["argument"]) for r in refs or []]
    if files:
        uses += uses_from_files(files)
    node_arch = None
    if not refs and not files:
        uses, err = uses_from_cluster(runner, context=context, namespace=namespace, all_namespaces=all_namespaces)
        if err:
            raise UsageError(f"no images given and the cluster could not be read: {err}")
        from kdoctor.facts.kubectl import probe_nodes

        node_arch = probe_nodes(runner, context)
    target, emu, source = detect_platform_and_emulator(
        runner, want_platform=platform, want_emulator=emulator.value, node_arch=node_arch
    )
    outcome = run_scan(
        uses,
        runner=runner,
        platform=target,
        emulator=emu,
        emulator_source=source,
        insecure=set(insecure_registry or ()),
        use_cache=not no_cache,
        concurrency=concurrency,
        timeout=timeout,
        max_age=max_age,
        suggest=not no_suggest,
        progress_console=None if output is Output.json else stderr_console(),
    )
    if output is Output.json:
        from kdoctor.report.jsonout import dumps

        typer.echo(dumps(outcome.to_json()))
    else:
        render(outcome, stdout_console(), verbose=verbose)
    raise typer.Exit(outcome.exit_code())


UP_EXIT_HELP = (
    "Exit codes: 0 ready (created, started, updated, or already matching); 1 the cluster did not become ready "
    "or its nodes are not arm64; 2 bad usage or a malformed profile; 4 an existing cluster differs in something "
    "that cannot change in place (use --recreate), or consent was refused; 5 preflight failed, nothing changed; "
    "130 interrupted (re-run to finish)."
)
profiles_app = typer.Typer(help="List and show cluster profiles.", no_args_is_help=False, invoke_without_command=True)
app.add_typer(profiles_app, name="profiles")


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
    import json as _json

    import yaml

    from kdoctor.provision.profile import load_profile

    spec = load_profile(name).spec()
    typer.echo(_json.dumps(spec, indent=2) if output is Output.json else yaml.safe_dump(spec, sort_keys=False))


def _interactive() -> bool:
    import os

    return sys.stdin.isatty() and not os.environ.get("CI")


def _reconciler(
    plan: object, runner: object, *, quiet: bool, apple_silicon: bool = True, wait_timeout: float = 300.0
) -> object:
    """The reconciler with kdoctor's console wiring: messages and tool progress on stderr, prompts on a TTY."""
    from kdoctor.provision.apply import Reconciler
    from kdoctor.provision.providers import provider_for

    err = stderr_console()
    return Reconciler(
        runner=runner,  # type: ignore[arg-type]
        provider=provider_for(plan, runner),  # type: ignore[arg-type]
        say=(lambda m: None) if quiet else (lambda m: err.print(f"kdoctor: {m}")),
        progress=(lambda line: None) if quiet else (lambda line: err.print(f"  {line}", markup=False, highlight=False)),
        confirm=(lambda q: typer.confirm(q, default=False)) if _interactive() else None,
        apple_silicon=apple_silicon,
        wait_timeout=wait_timeout,
    )


def _plan_for(profile_name: str, quiet: bool) -> tuple[object, object]:
    from kdoctor.provision.plan import make_plan
    from kdoctor.provision.profile import load_profile

    profile = load_profile(profile_name)
    facts = gather_facts(quiet=quiet)
    return make_plan(profile, facts), facts  # type: ignore[arg-type]


@app.command(epilog=UP_EXIT_HELP)
def up(
    profile: Annotated[
        str, typer.Option("--profile", "-p", envvar="KDOCTOR_PROFILE", help="Profile name or file.")
    ] = "dev",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and the exact commands; change nothing.")
    ] = False,
    output: Annotated[Output, typer.Option("--output", "-o", help="text (default) or json.")] = Output.text,
    recreate: Annotated[
        bool, typer.Option("--recreate", help="Delete and recreate a cluster whose fixed settings differ (asks first).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to the --recreate question.")] = False,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", min=1, help="Seconds to wait for the API server and nodes.")
    ] = 300.0,
) -> None:
    """Provision (or start, or update) a local cluster from a profile, sized for this machine. Safe to re-run."""
    from kdoctor.checks._util import apple_silicon
    from kdoctor.provision.render import render_plan, render_result
    from kdoctor.report.jsonout import dumps
    from kdoctor.runner import SubprocessRunner

    quiet = output is Output.json
    plan, facts = _plan_for(profile, quiet=quiet)
    out, err = stdout_console(), stderr_console()
    if dry_run or not plan.ok:  # type: ignore[attr-defined]
        if output is Output.json:
            typer.echo(dumps({**plan.to_json(), "exit_code": 0 if plan.ok else int(ExitCode.PREFLIGHT)}))  # type: ignore[attr-defined]
        else:
            render_plan(plan, out)  # type: ignore[arg-type]
        raise typer.Exit(0 if plan.ok else int(ExitCode.PREFLIGHT))  # type: ignore[attr-defined]
    runner = SubprocessRunner()
    rec = _reconciler(plan, runner, quiet=quiet, apple_silicon=apple_silicon(facts), wait_timeout=wait_timeout)  # type: ignore[arg-type]
    try:
        result = rec.up(plan, recreate=recreate, yes=yes)  # type: ignore[arg-type]
    except CommandFailed as exc:
        err.print(f"kdoctor: {plan.provider} failed, so kdoctor stopped: {exc}", markup=False)  # type: ignore[attr-defined]
        err.print("kdoctor: nothing was deleted; fix the tool and re-run `kdoctor up`.")
        raise typer.Exit(int(ExitCode.FINDINGS)) from None
    except (KeyboardInterrupt, Interrupted):
        err.print("kdoctor: interrupted; nothing was deleted. Re-run `kdoctor up` to finish.")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    if output is Output.json:
        typer.echo(dumps(result.to_json()))
    else:
        render_result(result, out)
    raise typer.Exit(result.exit_code)


@app.command()
def down(
    profile: Annotated[
        str, typer.Option("--profile", "-p", envvar="KDOCTOR_PROFILE", help="Profile name or file.")
    ] = "dev",
    delete: Annotated[
        bool, typer.Option("--delete", help="Delete the cluster instead of stopping it (asks first).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to the --delete question.")] = False,
    output: Annotated[Output, typer.Option("--output", "-o", help="text (default) or json.")] = Output.text,
) -> None:
    """Stop the profile's cluster; with --delete, delete it (only with consent)."""
    from kdoctor.provision.plan import make_plan
    from kdoctor.provision.profile import load_profile
    from kdoctor.report.jsonout import dumps
    from kdoctor.runner import SubprocessRunner

    plan = make_plan(load_profile(profile), _minimal_facts())
    runner = SubprocessRunner()
    err = stderr_console()
    rec = _reconciler(plan, runner, quiet=False)
    try:
        result = rec.down(plan, delete=delete, yes=yes)
    except CommandFailed as exc:
        err.print(f"kdoctor: {plan.provider} failed: {exc}", markup=False)
        raise typer.Exit(int(ExitCode.FINDINGS)) from None
    if output is Output.json:
        typer.echo(dumps(result.to_json()))
    else:
        typer.echo(result.message)
    raise typer.Exit(result.exit_code)


def _minimal_facts() -> object:
    from kdoctor.facts.model import Facts

    return Facts()


WHY_EXIT_HELP = (
    "Exit codes: 0 the failure was explained (or nothing is failing); 1 the pod is failing and no known "
    "signature matched (or a --log matched nothing); 2 bad usage; 3 the pod's facts could not be gathered."
)


@app.command(epilog=WHY_EXIT_HELP)
def why(
    pod: Annotated[str | None, typer.Argument(help="The failing pod's name.")] = None,
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="The pod's namespace.")] = "default",
    context: Annotated[str | None, typer.Option("--context", help="Kube context (default: current).")] = None,
    log: Annotated[str | None, typer.Option("--log", help="Explain a log file alone (- for stdin).")] = None,
    emulator: Annotated[
        EmulatorChoice, typer.Option("--emulator", help="Emulator on the node; auto detects it.")
    ] = EmulatorChoice.auto,
    output: Annotated[Output, typer.Option("--output", "-o", help="text (default) or json.")] = Output.text,
    insecure_registry: Annotated[
        list[str] | None, typer.Option("--insecure-registry", help="Plain-HTTP registry (repeatable).")
    ] = None,
) -> None:
    """Explain a failing pod in one step: the crash or pull signature, tied back to its image."""
    from kdoctor.errors import UsageError
    from kdoctor.report.jsonout import dumps
    from kdoctor.why.explain import explain_log
    from kdoctor.why.render import render

    if (pod is None) == (log is None):
        raise UsageError("give a pod name, or --log FILE (- for stdin)")
    if log is not None:
        try:
            text = sys.stdin.read() if log == "-" else open(log, encoding="utf-8", errors="replace").read()  # noqa: SIM115
        except OSError as exc:
            raise UsageError(f"{log}: cannot read: {exc.strerror}") from None
        answer = explain_log(text)
    else:
        answer = _why_pod(pod, namespace, context, emulator.value, set(insecure_registry or ()))  # type: ignore[arg-type]
    if output is Output.json:
        typer.echo(dumps(answer.to_json()))
    else:
        render(answer, stdout_console())
    raise typer.Exit(answer.exit_code())


def _why_pod(pod: str, namespace: str, context: str | None, emulator: str, insecure: set[str]) -> object:
    from kdoctor.images.cache import Cache
    from kdoctor.images.command import detect_platform_and_emulator
    from kdoctor.images.registry import RegistryClient
    from kdoctor.images.scan import ImageUse, Scanner
    from kdoctor.runner import SubprocessRunner
    from kdoctor.why.explain import explain_pod
    from kdoctor.why.gather import GatherError, gather_pod

    runner = SubprocessRunner()
    try:
        facts = gather_pod(runner, pod, namespace, context)
    except GatherError as exc:
        typer.echo(f"kdoctor: cannot explain {namespace}/{pod}: {exc}", err=True)
        raise typer.Exit(int(ExitCode.INCOMPLETE)) from None
    arch = facts.node_arch or None
    target, emu, _ = detect_platform_and_emulator(
        runner, want_platform=f"linux/{arch}" if arch else None, want_emulator=emulator, node_arch=arch
    )
    failing = [c for c in facts.containers if c.failing]
    images = {}
    if failing:
        client = RegistryClient(runner=runner, cache=Cache(), insecure=insecure, timeout=8, retries=1)
        try:
            scanner = Scanner(client, target, emu, suggest=True)
            for c in failing:
                images[c.name] = scanner.scan_one(ImageUse(c.image, c.command, c.args))
        finally:
            client.close()
    return explain_pod(facts, images, emu)


def main() -> None:
    import os

    level = os.environ.get("KDOCTOR_LOG")
    if level:
        # Debug logs go to stderr; they show commands and URLs, never credentials (auth.Secret).
        import logging

        logging.basicConfig(
            level=level.upper(), stream=sys.stderr, format="kdoctor %(levelname)s %(name)s: %(message)s"
        )
    try:
        # Standalone mode: click reports usage errors itself (exit 2) and handles --help/Exit.
        app()
    except KdoctorError as exc:
        typer.echo(f"kdoctor: error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except (KeyboardInterrupt, Interrupted):
        typer.echo("kdoctor: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
