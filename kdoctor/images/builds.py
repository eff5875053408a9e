"""Build verdicts (issue 23): where each stage of a Dockerfile build runs, and for an emulated one the RUN steps
known to die there (kdoctor/images/judge/build.py, checks/build-risks.yaml).

A stage runs where it is built for: `FROM --platform=$BUILDPLATFORM` on the machine itself (never judged); a
literal `--platform=P`, or the build's target platform, under the emulator when that platform is foreign to the
machine; otherwise where its base runs: a base stage's place, or, for an image, the machine when the image has an
entry for it and the emulator when it has only a foreign one (its verdict for the machine says which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kdoctor.images.inputs.uses import BuildPlan, BuildStage
from kdoctor.images.judge import verdict as V
from kdoctor.images.judge.build import StepRisk, step_risks
from kdoctor.images.result import ImageResult
from kdoctor.platforms import Platform, arch_of, is_foreign

# Where a stage runs (JSON `builds[].runs`): the verdict words, and one of its own for a base BuildKit cannot pull.
NATIVE, EMULATED, UNKNOWN = V.NATIVE, V.EMULATED, V.UNKNOWN
FAILS = "fails-at-pull"


@dataclass
class StageVerdict:
    file: str
    workload: str
    stage: str
    line: int
    runs: str  # native | emulated | fails-at-pull | unknown
    why: str
    steps: list[StepRisk] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "workload": self.workload, "stage": self.stage, "line": self.line,
                "runs": self.runs, "why": self.why, "steps": [s.to_json() for s in self.steps]}  # fmt: skip


def _where(stage: BuildStage, plan: BuildPlan, machine: Platform, by_line: dict[tuple[str, int], ImageResult],
           done: dict[str, tuple[str, str]]) -> tuple[str, str]:  # fmt: skip
    flag = (stage.platform or "").replace("{", "").replace("}", "")
    if flag.startswith("$BUILDPLATFORM"):
        return NATIVE, "FROM --platform=$BUILDPLATFORM: built on the machine itself"
    wanted = (
        flag if flag and "$" not in flag else plan.target_platform if not flag or "TARGETPLATFORM" in flag else None
    )
    if wanted:
        arch, mine = arch_of(wanted), arch_of(str(machine))
        if arch and mine and is_foreign(arch, mine):
            return EMULATED, f"built for {wanted} on a {machine} machine"
    if stage.base_stage is not None:
        runs, why = done.get(stage.base_stage, (UNKNOWN, "its base stage was not judged"))
        return runs, f"built from stage {stage.base_stage} ({why})"
    if stage.base_line is None or stage.base_ref is None:
        return UNKNOWN, "its base is not known (scratch, an unset ARG, or a stage an ARG picks)"
    res = by_line.get((plan.file, stage.base_line))
    verdict = res.verdict if res else V.UNKNOWN
    if verdict == V.NATIVE:
        return NATIVE, f"{stage.base_ref} has {machine}"
    if verdict in (V.EMULATED, V.CRASH):
        return EMULATED, f"{stage.base_ref} has no {machine} entry: its foreign one is pulled and emulated"
    if verdict == V.UNSUPPORTED:
        return FAILS, f"{stage.base_ref} has no entry BuildKit can pull for {machine}"
    return UNKNOWN, f"{stage.base_ref}: {res.reason if res else 'not looked up'}"


def judge_builds(plans: list[BuildPlan], results: list[ImageResult], machine: Platform,
                 emulator: str) -> list[StageVerdict]:  # fmt: skip
    """Each stage of each build: where it runs, and for an emulated one the RUN steps known to die there."""
    by_line: dict[tuple[str, int], ImageResult] = {}
    for r in results:
        for o in r.origins:
            if o.line is not None:
                by_line[(o.file, o.line)] = r
    out: list[StageVerdict] = []
    for plan in plans:
        done: dict[str, tuple[str, str]] = {}
        for stage in plan.stages:
            runs, why = _where(stage, plan, machine, by_line, done)
            done[stage.label] = (runs, why)
            sv = StageVerdict(plan.file, plan.workload, stage.label, stage.line, runs, why)
            if runs == EMULATED:
                for line, command in stage.runs:
                    sv.steps += step_risks(line, command, stage.base_ref, emulator)
            out.append(sv)
    return out
