"""images: every image's platforms from its registry, and the verdict for the target node."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kdoctor.commands._common import (
    ContextOpt,
    EmulatorChoice,
    EmulatorOpt,
    FailOn,
    ImagesOutput,
    InsecureRegistryOpt,
    VerboseOpt,
    stderr_console,
    stdout_console,
)
from kdoctor.errors import EXIT_HELP, ExitCode
from kdoctor.images import DEFAULT_CONCURRENCY

if TYPE_CHECKING:
    from kdoctor.images.command import ScanOutcome
    from kdoctor.images.inputs.uses import SourceReport
    from kdoctor.images.registry import Mirrors, RegistryClient, VerdictSources
    from kdoctor.policy import Policy


def images(
    refs: Annotated[
        list[str] | None, typer.Argument(help="Image references (nginx:1.27, ghcr.io/o/r@sha256:…).")
    ] = None,
    files: Annotated[
        list[str] | None,
        typer.Option("--file", "-f", help="Kubernetes YAML or Compose file, directory (recursive) or - for stdin."),
    ] = None,
    env_file: Annotated[
        list[str] | None,
        typer.Option(
            "--env-file",
            help="Compose: read variables from this file instead of the .env beside each Compose file (repeatable; "
            "later files win; the environment wins over all).",
        ),
    ] = None,
    build_arg: Annotated[
        list[str] | None,
        typer.Option(
            "--build-arg",
            help="Dockerfiles: K=V for an ARG, as docker build --build-arg (repeatable; overrides the ARG's default).",
        ),
    ] = None,
    context: ContextOpt = None,
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
    emulator: EmulatorOpt = EmulatorChoice.auto,
    insecure_registry: InsecureRegistryOpt = None,
    output: Annotated[
        ImagesOutput,
        typer.Option(
            "--output",
            "-o",
            help="text (default: one line per image), wide (every column whole), json, sarif (SARIF 2.1.0), junit "
            "(JUnit XML), or github (GitHub workflow annotations, then the text report).",
        ),
    ] = ImagesOutput.text,
    as_files: Annotated[
        bool,
        typer.Option(
            "--files",
            help="The arguments are files to read (as with -f), not image references: how pre-commit passes the "
            "changed files.",
        ),
    ] = False,
    default_fail_on: Annotated[
        FailOn | None,
        typer.Option(
            "--default-fail-on",
            help="The gate when neither --fail-on nor the policy file sets one (the pre-commit hook passes "
            "unsupported, so an unreachable registry's unknown does not block a commit).",
        ),
    ] = None,
    verdicts: Annotated[
        list[str] | None,
        typer.Option(
            "--verdicts",
            help="A verdict file (or a directory of them) written by --write-verdicts, read before the registries "
            "(repeatable; also the policy's verdicts:).",
        ),
    ] = None,
    write_verdicts: Annotated[
        str | None,
        typer.Option("--write-verdicts", help="Write what this run learned to FILE, for teammates' runs."),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="No network at all: answers from the local cache and the verdict files only, the rest unknown.",
        ),
    ] = False,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            help="Policy file (default: the nearest .kdoctor.yaml from here up to the repository root).",
        ),
    ] = None,
    registry_mirror: Annotated[
        list[str] | None,
        typer.Option(
            "--registry-mirror",
            help="FROM=TO: look up FROM's images at TO ([http(s)://]host[:port][/path]), repeatable; the report keeps "
            "the names as written and says which host answered.",
        ),
    ] = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when an image's verdict is this or worse (crash > unsupported > emulated > unknown), else 0; "
            "never: always 0. Default: the exit codes below.",
        ),
    ] = None,
    verbose: VerboseOpt = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore and do not write the on-disk cache.")] = False,
    max_age: Annotated[
        float,
        typer.Option(
            "--max-age", help="Seconds a cached tag is trusted without a HEAD request (default 0: always re-check)."
        ),
    ] = 0.0,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Parallel connections per registry host.")
    ] = DEFAULT_CONCURRENCY,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.5,
            help="Seconds each image's registry lookups may take, retries included (layer reads have their own bound).",
        ),
    ] = 10.0,
    no_suggest: Annotated[
        bool, typer.Option("--no-suggest", help="Do not look for newer tags that have the platform.")
    ] = False,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also read the entrypoint of images whose manifest names the target platform, to catch a foreign "
            "binary (or a missing loader) inside. Costs one more manifest GET per index (a counted pull on Docker "
            "Hub) and the layers down to the entrypoint and its loader; cached after the first run.",
        ),
    ] = False,
    max_pulls: Annotated[
        int | None,
        typer.Option(
            "--max-pulls",
            min=0,
            help="Manifest GETs (counted pulls) allowed per registry with a pull quota; default: half of the "
            "pulls left, the rest kept for your own pulls. HEADs are free and not limited.",
        ),
    ] = None,
) -> None:
    """Every image's platforms from its registry, and the amd64-only Go entrypoints that will crash."""
    import os

    from kdoctor.images.registry import start_tls_context

    start_tls_context()  # started by entry.main already when run as `kdoctor images`; this covers other callers

    from kdoctor.errors import UsageError
    from kdoctor.facts.target import detect, parse_platform
    from kdoctor.images.command import run_scan
    from kdoctor.images.inputs.sources import read_inputs, uses_from_cluster
    from kdoctor.images.inputs.uses import ImageUse, Origin, SourceReport
    from kdoctor.runner import SubprocessRunner

    wanted = parse_platform(platform)  # a malformed --platform is refused before anything is read or probed
    if as_files:  # pre-commit appends the changed files as arguments
        files, refs = [*(files or []), *(refs or [])], []
        if not files:
            raise typer.Exit(0)  # nothing changed that the hook reads
    policy = _policy(config)
    mirrors = _mirrors(policy, registry_mirror)
    # The policy's verdict files are relative to the policy file, as a team writes them in its repository.
    base = Path(policy.source).parent if policy and policy.source else Path.cwd()
    team = [v if v.startswith(OCI) else str(base / v) for v in (policy.verdicts if policy else [])]
    sources = [*team, *(verdicts or [])]
    verdict_sources = _read_verdicts(sources, set(insecure_registry or ()), offline) if sources else None
    runner = SubprocessRunner()
    uses: list[ImageUse] = [ImageUse(r, origins=[Origin("argument")]) for r in refs or []]
    inputs = SourceReport()
    if env_file and not files:
        raise UsageError("--env-file applies to Compose files given with -f")
    missing = [f for f in env_file or [] if not os.path.isfile(f)]
    if missing:  # as docker compose does: a named env file that is not there is a mistake, not an empty file
        raise UsageError(f"--env-file {missing[0]}: no such file")
    build_args: dict[str, str] = {}
    for item in build_arg or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--build-arg {item}: expected K=V")
        build_args[key] = value
    if files:
        inputs = read_inputs(files, env_files=env_file, build_args=build_args)
        if policy is not None and policy.ignore_paths:
            inputs = _without_ignored(inputs, policy)
        uses += inputs.uses
    node_arch = None
    nodes_unread: str | None = None
    if not refs and not files:
        uses, err = uses_from_cluster(runner, context=context, namespace=namespace, all_namespaces=all_namespaces)
        if err:
            raise UsageError(f"no images given and the cluster could not be read: {err}")
        from kdoctor.facts.kubectl import probe_node_arch  # only here: it loads the fact models (~0.1 s)

        node_arch, nodes_unread = probe_node_arch(runner, context)
    # The flag wins; else the policy's platforms (each image judged for each); else the detected target.
    wanted_list = [wanted] if wanted is not None else [parse_platform(p) for p in policy.platforms] if policy else []
    chosen_emulator = emulator.value
    if emulator is EmulatorChoice.auto and policy is not None and policy.emulator:
        chosen_emulator = policy.emulator
    outcomes = []
    for want in wanted_list or [None]:
        target = detect(runner, want_platform=want, want_emulator=chosen_emulator, node_arch=node_arch)
        # Judging a cluster's images for a platform its nodes did not confirm is a guess: say so, and the run is
        # not whole.
        assumed = None
        if not refs and not files and want is None and nodes_unread:
            assumed = (
                f"the cluster's nodes could not be read ({nodes_unread}); judged for {target.platform}, this "
                "machine's platform: pass --platform os/arch for the nodes'"
            )
        outcome = run_scan(
            uses,
            runner=runner,
            platform=target.platform,
            emulator=target.emulator,
            emulator_source=target.source,
            insecure=set(insecure_registry or ()),
            use_cache=not no_cache,
            concurrency=concurrency,
            timeout=timeout,
            max_age=max_age,
            suggest=not no_suggest,
            deep=deep,
            max_pulls=max_pulls,
            progress_console=stderr_console() if output in (ImagesOutput.text, ImagesOutput.wide) else None,
            inputs=inputs,
            platform_assumed=assumed,
            mirrors=mirrors,
            verdict_sources=verdict_sources,
            record=write_verdicts is not None,
            offline=offline,
        )
        gate = fail_on.value if fail_on else policy.fail_on if policy and policy.fail_on else None
        outcome.fail_on = gate or (default_fail_on.value if default_fail_on else None)
        outcome.policy = policy
        outcomes.append(outcome)
    if write_verdicts is not None:
        _write_verdicts(write_verdicts, outcomes, set(insecure_registry or ()))
    _emit(outcomes, output, verbose)
    raise typer.Exit(worst_exit(outcomes))


OCI = "oci://"


def _artifact_client(insecure: set[str], offline: bool = False) -> RegistryClient:
    from kdoctor.images.registry import Cache, RegistryClient

    return RegistryClient(cache=Cache(), insecure=insecure, offline=offline)


def _read_verdicts(sources: list[str], insecure: set[str], offline: bool) -> VerdictSources:
    """Verdict files, directories and oci:// artifacts (pulled with one HEAD when cached, else a GET; offline:
    from the cache only). An artifact that cannot be had is an error of that source, not of the run."""
    import tempfile

    from kdoctor.errors import KdoctorError
    from kdoctor.images.registry import parse_reference, pull_verdicts, read_verdicts

    paths, errors = [], []
    named: dict[str, str] = {}  # a pulled artifact's local copy -> the oci:// source it came from
    pulled = Path(tempfile.mkdtemp(prefix="kdoctor-verdicts-"))
    for i, src in enumerate(sources):
        if not src.startswith(OCI):
            paths.append(src)
            continue
        client = _artifact_client(insecure, offline)
        try:
            data = pull_verdicts(client, parse_reference(src[len(OCI) :]))
            (pulled / f"{i}.json").write_bytes(data)
            paths.append(str(pulled / f"{i}.json"))
            named[str(pulled / f"{i}.json")] = src
        except KdoctorError as exc:
            errors.append(f"{src}: {getattr(exc, 'reason', None) or exc}")
        finally:
            client.close()
    out = read_verdicts(paths)
    out.errors += errors
    out.sources = [named.get(s, s) for s in out.sources]
    out.origin = {d: named.get(s, s) for d, s in out.origin.items()}
    for local, src in named.items():
        out.errors = [e.replace(local, src) for e in out.errors]
    return out


def _write_verdicts(path: str, outcomes: list[ScanOutcome], insecure: set[str]) -> None:
    """What the runs learned, with the verdicts they reached (for people): to a file, written atomically, or to
    the team's registry as an OCI artifact (oci://host/repo:tag)."""
    import json
    import os
    import tempfile

    from kdoctor import __version__
    from kdoctor.images.registry import verdict_document

    blobs: dict[str, bytes] = {}
    notes: dict[str, dict[str, dict[str, Any]]] = {}
    judged = []
    for o in outcomes:
        if o.learned is not None:
            blobs.update(o.learned[0])
            for name, entries in o.learned[1].items():
                notes.setdefault(name, {}).update(entries)
        judged += [{"ref": r.ref, "resolved": r.resolved, "digest": r.digest, "platform": str(o.platform),
                    "emulator": o.emulator, "verdict": r.verdict, "reason": r.reason} for r in o.results]  # fmt: skip
    doc = verdict_document(blobs, notes, judged, __version__)
    if path.startswith(OCI):
        from kdoctor.errors import KdoctorError
        from kdoctor.images.registry import parse_reference, push_verdicts

        client = _artifact_client(insecure)
        try:
            digest = push_verdicts(client, parse_reference(path[len(OCI) :]), json.dumps(doc).encode(), __version__)
            stderr_console().print(f"kdoctor: verdicts pushed to {path} ({digest})")
        except KdoctorError as exc:
            stderr_console().print(f"kdoctor: could not push the verdicts to {path}: {getattr(exc, 'reason', exc)}")
        finally:
            client.close()
        return
    target = os.path.abspath(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".kdoctor-verdicts-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        os.replace(tmp, target)
    except OSError as exc:
        stderr_console().print(f"kdoctor: could not write the verdict file {path}: {exc.strerror or exc}")


def worst_exit(outcomes: list[ScanOutcome]) -> int:
    """Several platforms' runs as one exit code: unreadable input, then a failure, then incomplete, else 0."""
    codes = {o.exit_code() for o in outcomes}
    return next((c for c in (ExitCode.USAGE, ExitCode.FINDINGS, ExitCode.INCOMPLETE) if c in codes), ExitCode.OK)


def _emit(outcomes: list[ScanOutcome], output: ImagesOutput, verbose: bool) -> None:
    from kdoctor.images.render import render

    if output is ImagesOutput.json:
        from kdoctor.report.jsonout import dumps

        if len(outcomes) == 1:
            typer.echo(dumps(outcomes[0].to_json()))
        else:  # a policy with several platforms: one images/v1 document per platform
            doc = {"schema": "kdoctor/images-platforms/v1", "exit_code": worst_exit(outcomes),
                   "runs": [o.to_json() for o in outcomes]}  # fmt: skip
            typer.echo(dumps(doc))
        return
    if output in (ImagesOutput.sarif, ImagesOutput.junit):
        from kdoctor.images import ci

        typer.echo(ci.sarif_text(outcomes) if output is ImagesOutput.sarif else ci.junit(outcomes).rstrip("\n"))
        return
    if output is ImagesOutput.github:
        from kdoctor.images import ci

        for line in ci.github(outcomes):
            typer.echo(line)
    for outcome in outcomes:
        render(outcome, stdout_console(), verbose=verbose, wide=output is ImagesOutput.wide)


def _policy(config: str | None) -> Policy | None:
    from pathlib import Path

    from kdoctor.policy import find, load

    if config is not None:
        return load(Path(config))
    found = find()
    return load(found) if found else None


def _mirrors(policy: Policy | None, flags: list[str] | None) -> Mirrors:
    from kdoctor.errors import UsageError
    from kdoctor.images.registry import Mirrors

    pairs = dict(policy.mirrors) if policy else {}
    for item in flags or []:
        source, sep, target = item.partition("=")
        if not sep:
            raise UsageError(f"--registry-mirror {item}: expected REGISTRY=[http(s)://]HOST[:PORT][/PATH]")
        pairs[source] = target
    return Mirrors.of(pairs)


def _without_ignored(inputs: SourceReport, policy: Policy) -> SourceReport:
    """The inputs less the uses and builds in files the policy's ignore_paths name."""
    from dataclasses import replace

    from kdoctor.policy import ignored

    uses = []
    for u in inputs.uses:
        kept = [o for o in u.origins if not ignored(policy, o.written_in or o.file)]
        if kept:
            uses.append(replace(u, origins=kept, sources=[o.text() for o in kept]))
    builds = [b for b in inputs.builds if not ignored(policy, b.file)]
    return replace(inputs, uses=uses, builds=builds)


def register(app: typer.Typer) -> None:
    app.command(epilog=EXIT_HELP["images"])(images)
