"""What several commands share: output and emulator choices, option declarations, consoles, fact gathering."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from kdoctor.vocabulary import Emulator

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from kdoctor.facts.model import Facts, ImagesFacts
    from kdoctor.runner import Runner


class Output(StrEnum):
    text = "text"
    json = "json"


class ImagesOutput(StrEnum):
    """`kdoctor images -o`: the common two, and `wide` (the whole table, one line per image at any width)."""

    text = "text"
    json = "json"
    wide = "wide"
    sarif = "sarif"
    junit = "junit"
    github = "github"


class FailOn(StrEnum):
    """`kdoctor images --fail-on`: the verdict at and above which the run fails (vocabulary.GATE_ORDER)."""

    crash = "crash"
    unsupported = "unsupported"
    emulated = "emulated"
    unknown = "unknown"
    never = "never"


class EmulatorChoice(StrEnum):
    """--emulator: detect, or one of the emulators kdoctor's rules describe, or none."""

    auto = "auto"
    qemu = Emulator.QEMU.value
    rosetta = Emulator.ROSETTA.value
    none = Emulator.NONE.value


# Options declared once; a command takes them as `output: OutputOpt = Output.text`.
OutputOpt = Annotated[Output, typer.Option("--output", "-o", help="text (default) or json (JSON only on stdout).")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show every finding or use with its details.")]
ContextOpt = Annotated[str | None, typer.Option("--context", help="Kube context (default: the current one).")]
InsecureRegistryOpt = Annotated[
    list[str] | None,
    typer.Option("--insecure-registry", help="Use plain HTTP for this registry host[:port] (repeatable)."),
]
ImagesBudgetOpt = Annotated[
    float,
    typer.Option("--images-budget", min=0, help="Seconds to spend judging the current cluster's images (0: skip)."),
]
ImagesDeepOpt = Annotated[
    bool,
    typer.Option(
        "--images-deep",
        help="Judge the cluster's images like `kdoctor images --deep` (look inside native images too).",
    ),
]
ProfileOpt = Annotated[str, typer.Option("--profile", "-p", envvar="KDOCTOR_PROFILE", help="Profile name or file.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to the question (--recreate, --delete).")]


EmulatorOpt = Annotated[
    EmulatorChoice,
    typer.Option("--emulator", help="Emulator that runs foreign-architecture code; auto detects it like diagnose."),
]


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def cluster_images_phase(
    runner: Runner, budget: float, deep: bool = False, offline: bool = False
) -> Callable[[Facts], ImagesFacts]:
    """Diagnose's second phase: the cluster's images, judged for the target the first phase's facts give."""

    def phase(facts: Facts) -> ImagesFacts:
        from kdoctor.facts.target import from_facts
        from kdoctor.images.cluster import judge_cluster_images

        target = from_facts(facts)
        return judge_cluster_images(runner, target.platform, target.emulator, budget=budget, deep=deep, offline=offline)

    return phase


def gather_facts(
    quiet: bool = False, images_budget: float = 0.0, images_deep: bool = False, offline: bool = False
) -> Facts:
    """Every probe (with a spinner on a terminal), then the cluster-images phase within `images_budget`."""
    from kdoctor.facts.gather import gather
    from kdoctor.runner import SubprocessRunner

    runner = SubprocessRunner()
    phase = cluster_images_phase(runner, images_budget, images_deep, offline) if images_budget else None
    err = stderr_console()
    if quiet or not err.is_terminal:
        return gather(runner, images_phase=phase)
    with err.status("kdoctor: gathering facts…") as status:
        done: list[str] = []

        def on_done(name: str) -> None:
            done.append(name)
            status.update(f"kdoctor: gathering facts… ({len(done)} probes done, last: {name})")

        return gather(runner, on_done=on_done, images_phase=phase)
