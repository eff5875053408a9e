"""why: explain a failing pod (or a log) from known failure signatures, tied back to its image."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kdoctor.commands._common import (
    ContextOpt,
    EmulatorChoice,
    EmulatorOpt,
    InsecureRegistryOpt,
    Output,
    OutputOpt,
    stdout_console,
)
from kdoctor.errors import EXIT_HELP


def _read_log(path: str) -> str:
    """A log file or stdin, decoded leniently: a log is evidence, not input that must be valid UTF-8."""
    from kdoctor.errors import UsageError

    try:
        if path == "-":
            return sys.stdin.buffer.read().decode("utf-8", errors="replace")
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None


def why(
    pod: Annotated[str | None, typer.Argument(help="The failing pod's name.")] = None,
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="The pod's namespace.")] = "default",
    context: ContextOpt = None,
    log: Annotated[str | None, typer.Option("--log", help="Explain a log file alone (- for stdin).")] = None,
    emulator: EmulatorOpt = EmulatorChoice.auto,
    node_arch: Annotated[
        str | None,
        typer.Option(
            "--node-arch",
            help="Architecture of the machine that ran it (arm64, amd64); default: the pod's node, or the log.",
        ),
    ] = None,
    platform: Annotated[
        str | None, typer.Option("--platform", help="The node's platform (os/arch), like --node-arch.")
    ] = None,
    image_platform: Annotated[
        str | None,
        typer.Option(
            "--image-platform",
            help="With --log: the platform of the code that failed (os/arch), e.g. the leg a build was for "
            "(docker buildx build --platform); default: what the log shows.",
        ),
    ] = None,
    output: OutputOpt = Output.text,
    insecure_registry: InsecureRegistryOpt = None,
) -> None:
    """Explain a failing pod in one step: the crash or pull signature, tied back to its image."""
    from kdoctor.errors import UsageError
    from kdoctor.report.jsonout import dumps
    from kdoctor.why.explain import explain_log
    from kdoctor.why.render import render

    if (pod is None) == (log is None):
        raise UsageError("give a pod name, or --log FILE (- for stdin)")
    if node_arch and platform:
        raise UsageError("give --node-arch or --platform, not both")
    if image_platform and log is None:
        raise UsageError("--image-platform applies to --log (a pod's image platform is read from its registry)")
    node = node_arch or platform
    if log is not None:
        from kdoctor.why.context import Known

        # In --log mode "auto" means: what the log shows (the log may come from another machine).
        given = None if emulator is EmulatorChoice.auto else emulator.value
        known = Known(
            node_arch=node, image_arch=image_platform, emulator=given, emulator_source="--emulator" if given else "none"
        )
        answer = explain_log(_read_log(log), known)
    else:
        from kdoctor.runner import SubprocessRunner
        from kdoctor.why.command import explain_pod_live

        assert pod is not None
        answer = explain_pod_live(
            SubprocessRunner(), pod, namespace, context, emulator.value, set(insecure_registry or ()), node_arch=node
        )
    if output is Output.json:
        typer.echo(dumps(answer.to_json()))
    else:
        render(answer, stdout_console())
    raise typer.Exit(answer.exit_code())


def register(app: typer.Typer) -> None:
    app.command(epilog=EXIT_HELP["why"])(why)
