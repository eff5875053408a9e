"""BuildKit logs: the failing step, its platform leg, its exit code and its Dockerfile line (issue 23).

BuildKit's plain progress (`--progress=plain`, what CI logs and pasted issues show) numbers each step, `#15`, and
prefixes every line of the step with that number: the step's header names the platform leg
(`#15 [linux/arm64 build 4/4] RUN npm ci`), its last line the failure (`#15 ERROR: process "…" did not complete
successfully: exit code: 132`). The two are lines apart, interleaved with other legs' steps, so they are tied by
the number, not by nearness. The summary after `ERROR: failed to solve` repeats the Dockerfile around the failing
instruction (`Dockerfile:21`, `  21 | >>> RUN npm ci`). Format: https://docs.docker.com/build/building/variables/#buildkit_progress
and BuildKit's progressui (https://github.com/moby/buildkit/tree/master/util/progress/progressui).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_HEADER = re.compile(r"^#(\d+) \[(?:(?P<platform>[a-z]+/[\w./-]+) )?(?P<stage>[^\]]*?)\] (?P<instruction>.+)$")
_ERROR = re.compile(r"^#(\d+) ERROR:? .*?exit code: (\d+)")
_SUMMARY = re.compile(
    r"^(?:ERROR:? |> )\[(?:(?P<platform>[a-z]+/[\w./-]+) )?(?P<stage>[^\]]*?)\] (?P<instruction>.+?):?$"
)
_FAILED = re.compile(r"did not complete successfully: exit code: (\d+)|returned a non-zero code: (\d+)")
_DOCKERFILE = re.compile(r"^(?P<file>[\w./-]*(?:Dockerfile|Containerfile|dockerfile)[\w.-]*):(?P<line>\d+)$")
_MARKED = re.compile(r"^\s*(\d+) \| >>> ")
_MARKED_TEXT = re.compile(r"^\s*\d+ \| >>> (.+)$")
_SOLVE = re.compile(
    r'failed to solve: process "(?:/dev/\.buildkit_qemu_emulator )?(?:/bin/sh -c )?(.+?)" '
    r"did not complete successfully: exit code: (\d+)"
)


@dataclass
class FailingStep:
    step: str | None  # BuildKit's step number, "#15"
    platform: str | None  # the leg, "linux/arm64"
    stage: str  # "build 4/4"
    instruction: str
    exit_code: int | None
    dockerfile: str | None = None
    line: int | None = None
    lines: tuple[str, ...] = ()  # every line of the failing step, in order (the block windows are tried on)

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "platform": self.platform, "stage": self.stage, "instruction": self.instruction,
                "exit_code": self.exit_code, "dockerfile": self.dockerfile, "line": self.line}  # fmt: skip

    def text(self) -> str:
        where = f" ({self.dockerfile}:{self.line})" if self.dockerfile and self.line else ""
        where_in = " ".join(x for x in (self.platform, self.stage) if x)
        code = f", exit code {self.exit_code}" if self.exit_code is not None else ""
        head = " ".join(x for x in (self.step, f"[{where_in}]" if where_in else "") if x)
        return f"{head + ' ' if head else ''}{self.instruction}{where}{code}"


def failing_step(lines: list[str]) -> FailingStep | None:
    """The step whose failure the log shows, from cleaned lines (kdoctor/why/signatures.clean)."""
    headers: dict[str, re.Match[str]] = {}
    failed: tuple[str, int] | None = None
    for line in lines:
        if m := _HEADER.match(line):
            headers.setdefault(m.group(1), m)
        elif m := _ERROR.match(line):
            failed = (m.group(1), int(m.group(2)))
    step: FailingStep | None = None
    if failed and failed[0] in headers:
        h = headers[failed[0]]
        block = tuple(x for x in lines if x.startswith(f"#{failed[0]} "))
        step = FailingStep(f"#{failed[0]}", h.group("platform"), h.group("stage").strip(), h.group("instruction"),
                           failed[1], lines=block)  # fmt: skip
    else:  # the summary form alone: `ERROR [linux/arm64 build 4/4] RUN …` or ` > [linux/arm64 builder 11/11] RUN …:`
        for line in lines:
            if m := _SUMMARY.match(line):
                code = next((int(c.group(1) or c.group(2)) for x in lines if (c := _FAILED.search(x))), None)
                step = FailingStep(None, m.group("platform"), m.group("stage").strip(), m.group("instruction"), code)
                break
    if step is None:  # only the final line: `ERROR: failed to solve: process "/bin/sh -c …" … exit code: N`
        solve = next((m for line in lines if (m := _SOLVE.search(line))), None)
        if solve is not None:
            marked = next((m.group(1) for line in lines if (m := _MARKED_TEXT.match(line))), None)
            step = FailingStep(None, None, "", marked or f"RUN {solve.group(1)}", int(solve.group(2)))
    if step is None:
        return None
    for i, line in enumerate(lines):
        if m := _DOCKERFILE.match(line):
            step.dockerfile, step.line = m.group("file"), int(m.group("line"))
            marked = next((int(k.group(1)) for x in lines[i + 1 : i + 12] if (k := _MARKED.match(x))), None)
            step.line = marked or step.line
            break
    return step
