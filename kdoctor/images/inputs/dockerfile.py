"""Dockerfiles as an image source (issue 23): every image a build pulls, with its line, resolved as BuildKit does.

A small parser of the Dockerfile grammar, written for what kdoctor needs (the images and where they are written),
after BuildKit's reference (https://docs.docker.com/reference/dockerfile/) and its parser
(https://github.com/moby/buildkit/tree/master/frontend/dockerfile/parser):

- parser directives (`# syntax=`, `# escape=`) only at the top, before any comment, blank line or instruction;
- a line ending in the escape character continues; comment lines and blank lines inside a continuation are
  dropped; an instruction's line is the line of its keyword;
- heredocs (`RUN <<EOF`, `<<-EOF`, quoted delimiters, several in one instruction) are bodies, never instructions;
- variables in `FROM` come only from the ARGs declared before the first FROM (their defaults, overridden by build
  args) and BuildKit's automatic platform ARGs; `$V`, `${V}`, `${V:-d}`, `${V-d}`, `${V:+r}`, `${V+r}`; an ARG
  declared without a default and not given is unset (reported, like an unset Compose variable);
- `FROM x AS name`: stage names are case-insensitive; a FROM, `COPY --from` or `RUN --mount=…,from=` that names
  a stage (or a stage index) is not an image; `scratch` is nothing to pull.

Why not a library: the official Go parser's Python wrapper (PyPI `dockerfile`) ships a wheel for Linux x86_64
only, so on an Apple Silicon Mac it needs a Go toolchain to install; and no parser resolves ARG scope and stage
references, which is most of the work here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kdoctor.images.inputs.uses import BuildPlan, BuildStage, ImageUse, Origin, Skipped

SCRATCH = "scratch"
# BuildKit's automatic platform ARGs: in scope in FROM without a declaration. The values depend on the build.
PLATFORM_ARGS = ("BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "TARGETPLATFORM", "TARGETOS",
                 "TARGETARCH", "TARGETVARIANT")  # fmt: skip
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass
class Instruction:
    keyword: str  # upper case
    flags: dict[str, list[str]]  # --name=value, each flag's values in order (--mount may repeat)
    rest: str  # after the flags
    line: int  # 1-based line of the keyword
    heredocs: list[str] = field(default_factory=list)


@dataclass
class BaseRef:
    """One image a build pulls: a FROM, a `COPY --from=IMAGE` or a `RUN --mount=…,from=IMAGE`."""

    written: str
    resolved: str | None  # None: a variable in it is unset (see unset)
    line: int
    instruction: str  # FROM | COPY --from | RUN --mount
    stage: str  # the stage's name, or its index
    platform: str | None  # the --platform flag as written
    unset: list[str] = field(default_factory=list)
    column: int | None = None  # 1-based column of the reference on its line (None when a continuation moved it)


@dataclass
class NotImage:
    name: str
    line: int
    instruction: str
    why: str  # "stage name" | "stage index" | "scratch"


@dataclass
class Stage:
    index: int
    name: str | None  # lower case
    line: int
    base: str  # the FROM value as resolved (a stage name, an image, scratch)
    platform: str | None
    needs: set[int] = field(default_factory=set)  # stages this one uses (FROM stage, COPY --from, mount from)
    runs: list[Instruction] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or str(self.index)


@dataclass
class Parsed:
    references: list[BaseRef]
    not_images: list[NotImage]
    unset_args: list[tuple[str, int]]  # (name, line of its ARG) used in a FROM with no value
    stages: list[Stage]
    syntax: str | None  # the `# syntax=` frontend image
    warnings: list[str] = field(default_factory=list)

    def needed(self, target: str | None = None) -> set[int]:
        """The stages a build of `target` (default: the last stage) runs, following stage references."""
        if not self.stages:
            return set()
        start = next((s.index for s in self.stages if target and s.name == target.lower()), None)
        if start is None:
            start = self.stages[-1].index
        todo, seen = [start], set()
        while todo:
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            todo += self.stages[i].needs
        return seen


def instructions(text: str) -> tuple[list[Instruction], dict[str, str]]:
    """The instructions of a Dockerfile, and its parser directives."""
    lines = text.splitlines()
    directives: dict[str, str] = {}
    i = 0
    while i < len(lines):  # directives: only at the very top
        m = _DIRECTIVE.match(lines[i].strip())
        if not m or m.group(1).lower() in directives:
            break
        directives[m.group(1).lower()] = m.group(2)
        i += 1
    escape = directives.get("escape", "\\")[:1] or "\\"
    out: list[Instruction] = []
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts = []
        line = raw.rstrip()
        while True:
            if line.endswith(escape) and i + 1 < len(lines):
                parts.append(line[:-1])
                i += 1
                # Comments and blank lines inside a continuation are dropped, as BuildKit does.
                while i < len(lines) and (not lines[i].strip() or lines[i].strip().startswith("#")):
                    i += 1
                if i >= len(lines):
                    break
                line = lines[i].rstrip()
                continue
            parts.append(line[:-1] if line.endswith(escape) else line)
            break
        i += 1
        logical = " ".join(p.strip() for p in parts)
        word, *tail = logical.split(None, 1)  # any whitespace after the keyword (a tab is common)
        keyword = word.upper()
        flags, rest = _flags(tail[0].strip() if tail else "")
        ins = Instruction(keyword, flags, rest, start + 1)
        if keyword in ("RUN", "COPY", "ADD"):
            for m in _HEREDOC.finditer(rest):
                strip_tabs, delim = m.group(1) == "-", m.group(3)
                body = []
                while i < len(lines):
                    cur = lines[i].lstrip("\t") if strip_tabs else lines[i]
                    i += 1
                    if cur.rstrip("\r") == delim:
                        break
                    body.append(lines[i - 1])
                ins.heredocs.append("\n".join(body))
        out.append(ins)
    return out, directives


def _stage_choice(written: str, earlier: list[Stage]) -> list[int]:
    """The earlier stages a FROM whose variables are unknown can name: its literal parts, variables as wildcards."""
    pieces = _VAR.split(written)
    # re.split with the pattern's 4 groups interleaves them; the literal parts are every 5th piece.
    literal = [re.escape(p.lower()) for p in pieces[::5]]
    if not any(literal):
        return []  # `FROM ${BASE}` alone says nothing about stages
    pattern = re.compile(".+".join(literal) + "$")
    return [s.index for s in earlier if s.name and pattern.match(s.name)]


def _flags(rest: str) -> tuple[dict[str, list[str]], str]:
    flags: dict[str, list[str]] = {}
    while rest.startswith("--"):
        token, *tail = rest.split(None, 1)
        rest = tail[0].lstrip() if tail else ""
        name, _, value = token[2:].partition("=")
        flags.setdefault(name.lower(), []).append(value)
    return flags, rest


def expand(text: str, values: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """`text` with BuildKit's substitutions; (result, the variables that were unset or undeclared)."""
    unset: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(4)
        op, word = m.group(2), m.group(3) or ""
        value = values.get(name)
        is_set = value is not None
        if op in (":-", "-"):
            if value is None or (op == ":-" and value == ""):
                return word
            return value
        if op in (":+", "+"):
            return word if is_set and (op == "+" or value != "") else ""
        if value is None:
            unset.append(name)
            return ""
        return value

    return _VAR.sub(sub, text), unset


def _args(rest: str) -> list[tuple[str, str | None]]:
    """`ARG A=1 B="two" C` -> [(A, 1), (B, two), (C, None)]."""
    out: list[tuple[str, str | None]] = []
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)(?:=(\"[^\"]*\"|'[^']*'|\S*))?", rest):
        value = m.group(2)
        if value is not None and len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out.append((m.group(1), value))
    return out


def parse(
    text: str, build_args: Mapping[str, str] | None = None, platform_args: Mapping[str, str] | None = None
) -> Parsed:
    """Every image the Dockerfile names, with where; `build_args` as `--build-arg K=V` (or Compose `build.args`)."""
    given = dict(build_args or {})
    ins_list, directives = instructions(text)
    globals_: dict[str, str | None] = {}
    arg_line: dict[str, int] = {}
    for ins in ins_list:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG":
            for name, default in _args(ins.rest):
                globals_[name] = given.get(name, default)
                arg_line.setdefault(name, ins.line)
    scope: dict[str, str | None] = {k: None for k in PLATFORM_ARGS}
    scope.update({k: v for k, v in (platform_args or {}).items()})
    scope.update(globals_)
    # Stage names first: a COPY --from may name a stage defined later in the file.
    stages: list[Stage] = []
    for ins in ins_list:
        if ins.keyword != "FROM":
            continue
        words = ins.rest.split()
        stage_name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
        base, _ = expand(words[0] if words else "", scope)
        platforms = ins.flags.get("platform") or []
        stages.append(Stage(len(stages), stage_name, ins.line, base, platforms[0] if platforms else None))
    names = {s.name: s.index for s in stages if s.name}
    refs: list[BaseRef] = []
    not_images: list[NotImage] = []
    unset_args: list[tuple[str, int]] = []
    warnings: list[str] = []
    current: Stage | None = None
    stage_args: dict[str, str | None] = {}

    def note_unset(variables: list[str], line: int) -> None:
        """An ARG a FROM needs that has no value (named once, at its ARG's line; an undeclared one at the FROM)."""
        for var in variables:
            if var not in PLATFORM_ARGS and (var, arg_line.get(var, line)) not in unset_args:
                unset_args.append((var, arg_line.get(var, line)))

    for ins in ins_list:
        if ins.keyword == "FROM":
            current = stages[0 if current is None else current.index + 1]
            stage_args = {}
            written = ins.rest.split()[0] if ins.rest.split() else ""
            resolved, unset = expand(written, scope)
            low = resolved.lower()
            note_unset(expand(current.platform or "", scope)[1], ins.line)
            chosen = _stage_choice(written, [s for s in stages[: current.index] if s.name]) if unset else []
            if low in names and names[low] < current.index:
                current.needs.add(names[low])
                not_images.append(NotImage(resolved, ins.line, "FROM", "stage name"))
            elif chosen:
                # `FROM binary-$TARGETOS`, `FROM cross-builder-${BUILD_ARCH}`: an ARG picks one of the stages. An
                # unset one is still worth saying: the build then names no stage and fails.
                current.needs.update(chosen)
                note_unset(unset, ins.line)
                not_images.append(NotImage(written, ins.line, "FROM", "stage name (chosen by an ARG)"))
            elif low == SCRATCH:
                not_images.append(NotImage(resolved, ins.line, "FROM", SCRATCH))
            else:
                warnings += [f"line {ins.line}: ${var} is not declared by an ARG before the first FROM"
                             for var in unset if var not in PLATFORM_ARGS and var not in arg_line]  # fmt: skip
                note_unset(unset, ins.line)
                refs.append(BaseRef(written, None if unset else resolved, ins.line, "FROM", current.label,
                                    current.platform, unset))  # fmt: skip
            continue
        if current is None:
            continue
        if ins.keyword == "ARG":
            for name, default in _args(ins.rest):
                # Inside a stage, a bare `ARG NAME` brings a global ARG (or a build arg) into scope.
                stage_args[name] = given.get(name, default if default is not None else globals_.get(name))
            continue
        local = {**scope, **stage_args}
        froms: list[tuple[str, str]] = []
        if ins.keyword in ("COPY", "ADD"):
            froms += [(v, "COPY --from") for v in ins.flags.get("from", [])]
        if ins.keyword == "RUN":
            current.runs.append(ins)
            for mount in ins.flags.get("mount", []):
                opts = dict(kv.partition("=")[::2] for kv in mount.split(","))
                if opts.get("from"):
                    froms.append((opts["from"], "RUN --mount"))
        for value, how in froms:
            resolved, unset = expand(value, local)
            low = resolved.lower()
            if low.isdigit():
                if int(low) < len(stages):
                    current.needs.add(int(low))
                not_images.append(NotImage(resolved, ins.line, how, "stage index"))
            elif low in names:
                current.needs.add(names[low])
                not_images.append(NotImage(resolved, ins.line, how, "stage name"))
            elif low == SCRATCH:
                not_images.append(NotImage(resolved, ins.line, how, SCRATCH))
            else:
                refs.append(BaseRef(value, None if unset else resolved, ins.line, how, current.label, None, unset))
    physical = text.splitlines()
    for r in refs:
        row = physical[r.line - 1] if 0 < r.line <= len(physical) else ""
        # The reference after its keyword and flags (`--from=x` names it inside a flag).
        token = f"from={r.written}" if r.instruction != "FROM" else r.written
        at = row.find(token, len(row) - len(row.lstrip()) + 4)
        if at >= 0:
            r.column = at + 1 + (len("from=") if r.instruction != "FROM" else 0)
    return Parsed(refs, not_images, unset_args, stages, directives.get("syntax"), warnings)


_NAME = re.compile(r"^(?:(?:docker|container)file(?:\..+)?|.+\.(?:docker|container)file)$", re.IGNORECASE)


def is_dockerfile(name: str) -> bool:
    """Dockerfile, Containerfile, Dockerfile.dev, app.Dockerfile, build.containerfile."""
    return bool(_NAME.match(name))


def build_plan(parsed: Parsed, where: str, needed: set[int], workload: str, platform: str | None) -> BuildPlan:
    """The stages a build runs, each with its base (an image by its FROM line, or a stage) and its RUN steps."""
    by_line = {r.line: r for r in parsed.references if r.instruction == "FROM"}
    stages = []
    for s in parsed.stages:
        if s.index not in needed:
            continue
        ref = by_line.get(s.line)
        base_stage = next((parsed.stages[i].label for i in s.needs if parsed.stages[i].name == s.base.lower()), None)
        runs = [(r.line, " ".join([r.rest, *r.heredocs])) for r in s.runs]
        stages.append(
            BuildStage(s.label, s.line, s.platform, s.line if ref else None, base_stage,
                       ref.resolved if ref else None, runs)
        )  # fmt: skip
    return BuildPlan(where, workload, stages, platform)


def dockerfile_uses(
    text: str,
    where: str,
    *,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    workload: str = "",
    platform: str | None = None,
) -> tuple[list[ImageUse], list[Skipped], list[str], BuildPlan]:
    """(the images a build pulls, what was read on purpose and not looked up, warnings, the stages it runs). With
    `target` (a Compose build's), only the stages that target needs; without, every stage, as a reader of the file
    wants."""
    parsed = parse(text, build_args)
    needed = parsed.needed(target) if target is not None or workload else {s.index for s in parsed.stages}
    labels = {s.label: s.index for s in parsed.stages}
    uses: list[ImageUse] = []
    for ref in parsed.references:
        if labels.get(ref.stage, -1) not in needed:
            continue
        stage = parsed.stages[labels[ref.stage]]
        literal = ref.platform if ref.platform and "$" not in ref.platform else platform
        what = " ".join(x for x in (workload, f"stage {stage.label}") if x)
        uses.append(
            ImageUse(
                ref.resolved if ref.resolved is not None else expand(ref.written, {})[0],
                platform=literal,
                origins=[Origin(where, what, None, ref.instruction, ref.line, ref.column)],
                unset=list(ref.unset),
                written=ref.written if ref.unset else None,
                unset_hint="pass --build-arg " + " ".join(f"{v}=…" for v in ref.unset) + " (or Compose build.args)",
            )
        )
    skipped = [Skipped(where, f"line {n.line}", "not-an-image", f"{n.instruction} {n.name}: {n.why}")
               for n in parsed.not_images]  # fmt: skip
    return uses, skipped, parsed.warnings, build_plan(parsed, where, needed, workload, platform)
