"""Turn a pod's facts (or a log), matched signatures and image verdicts into: what happened, why, what to do."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from kdoctor.errors import ExitCode
from kdoctor.images.judge import verdict as V
from kdoctor.images.judge.features import feature_facts
from kdoctor.images.judge.risks import rule_for_signature
from kdoctor.images.result import ImageResult
from kdoctor.vocabulary import TRANSLATORS, Emulator
from kdoctor.why.buildkit import FailingStep, failing_step
from kdoctor.why.context import Attribution, Known, attribute, fixes_for, primary
from kdoctor.why.gather import ContainerFacts, PodFacts
from kdoctor.why.signatures import Match, clean, match_text

WHY_SCHEMA = "kdoctor/why/v1"


def match_json(m: Match, att: Attribution | None = None) -> dict[str, Any]:
    s = m.signature
    doc: dict[str, Any] = {
        "id": s.id,
        "implicates": s.implicates,
        "role": s.role,
        "meaning": s.meaning,
        "evidence": m.evidence,
        "evidence_lines": list(m.lines),
        "where": m.where,
        "source": s.source,
        # The risk rule of checks/risks.yaml that predicts this failure (the id `kdoctor images` reports).
        "risk": rule_for_signature(s.id),
    }
    if s.feature:
        doc["feature"] = {"name": s.feature, **feature_facts(s.feature)}
    if att is not None:
        doc["fixes"] = fixes_for([m], att)
    return doc


@dataclass
class ContainerAnswer:
    facts: ContainerFacts
    matches: list[Match]
    image: ImageResult | None
    attribution: Attribution | None = None
    fixes: list[str] = field(default_factory=list)

    @property
    def happened(self) -> str:
        c = self.facts
        if c.state == "waiting" and c.reason:
            extra = f" after {c.restarts} restart(s)" if c.restarts else ""
            last = f"; last exit code {c.last_exit_code} ({c.last_reason})" if c.last_exit_code is not None else ""
            return f"waiting: {c.reason}{extra}{last}"
        if c.state == "terminated":
            return f"terminated: {c.reason} (exit code {c.exit_code})"
        return c.state

    @property
    def explanation(self) -> Match | None:
        return self.attribution.main if self.attribution is not None else primary(self.matches)

    def to_json(self) -> dict[str, Any]:
        c = self.facts
        img = self.image
        main = self.explanation
        return {
            "name": c.name,
            "image": c.image,
            "kind": c.kind,
            "state": c.state,
            "reason": c.reason,
            "exit_code": c.exit_code,
            "last_reason": c.last_reason,
            "last_exit_code": c.last_exit_code,
            "restarts": c.restarts,
            "failing": c.failing,
            "happened": self.happened,
            "explanation": main.signature.id if main else None,
            "signatures": [match_json(m) for m in self.matches],
            "attribution": self.attribution.to_json() if self.attribution else None,
            # The images/v1 serialisation of the verdict (one shape for one object).
            "image_verdict": None if img is None else img.to_json(),
            "fixes": self.fixes,
        }


@dataclass
class Answer:
    pod: PodFacts | None
    containers: list[ContainerAnswer]
    emulator: str
    log_matches: list[Match] = field(default_factory=list)  # `why --log`
    attribution: Attribution | None = None  # `why --log`
    build_step: FailingStep | None = None  # `why --log` on a BuildKit log: the step that failed

    @property
    def failing(self) -> list[ContainerAnswer]:
        return [c for c in self.containers if c.facts.failing]

    @property
    def explained(self) -> bool:
        if self.pod is None:
            return self.attribution is not None and self.attribution.main is not None
        return any(c.explanation or (c.image and c.image.verdict in (V.CRASH, V.UNSUPPORTED)) for c in self.failing)

    def exit_code(self) -> int:
        if self.pod is None or self.failing:
            return ExitCode.OK if self.explained else ExitCode.FINDINGS
        return ExitCode.OK

    def log_fixes(self) -> list[str]:
        return fixes_for(self.log_matches, self.attribution) if self.attribution else []

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema": WHY_SCHEMA,
            "explained": self.explained,
            "exit_code": self.exit_code(),
            "emulator": self.emulator,
        }
        if self.pod is None:
            att = self.attribution
            main = att.main if att else None
            doc.update(att.to_json() if att else {})
            doc["explanation"] = main.signature.id if main else None
            doc["log"] = [match_json(m, att) for m in self.log_matches]
            doc["fixes"] = self.log_fixes()
            doc["build_step"] = self.build_step.to_json() if self.build_step else None
            return doc
        p = self.pod
        doc.update(
            pod=p.name,
            namespace=p.namespace,
            phase=p.phase,
            node=p.node,
            node_arch=p.node_arch,
            events=p.events[-20:],
            notes=p.notes,
            containers=[c.to_json() for c in self.containers],
        )
        return doc


def texts_of(c: ContainerFacts, events: list[str]) -> list[tuple[str, str]]:
    own_events = [e for e in events if c.name in e or c.image in e] or events
    return [
        ("\n".join(filter(None, [c.reason or "", c.message or ""])), "status"),
        ("\n".join(own_events), "events"),
        (c.logs_previous, "logs (previous container)"),
        (c.logs_current, "logs (current container)"),
    ]


def rank_fixes(matches: list[Match], image: ImageResult | None, att: Attribution) -> list[str]:
    fixes: list[str] = []
    if image and image.suggestion:
        fixes.append(image.suggestion[0].upper() + image.suggestion[1:])
    for f in fixes_for(matches, att):
        if f not in fixes:
            fixes.append(f)
    return fixes


def image_arch_of(img: ImageResult | None) -> str | None:
    """The architecture of the code the node runs, from the image's lookup: its entrypoint's ELF machine, else the
    one platform the image has."""
    if img is None:
        return None
    if img.entrypoint is not None and img.entrypoint.machine:
        return img.entrypoint.machine
    return img.platforms[0] if len(img.platforms) == 1 else None


def explain_pod(
    pod: PodFacts, images: dict[str, ImageResult], emulator: str, emulator_source: str = "detected"
) -> Answer:
    known = Known(
        node_arch=pod.node_arch,
        emulator=emulator if emulator in (*TRANSLATORS, Emulator.NONE) else None,
        emulator_source=emulator_source,
    )
    answers = []
    for c in pod.containers:
        matches: list[Match] = []
        if c.failing:
            seen: set[str] = set()
            for text, where in texts_of(c, pod.events):
                for m in match_text(text, where):
                    if m.signature.id not in seen:
                        seen.add(m.signature.id)
                        matches.append(m)
        img = images.get(c.name)
        att = attribute(matches, replace(known, image_arch=image_arch_of(img))) if c.failing else None
        fixes = rank_fixes(matches, img, att) if att is not None else []
        answers.append(ContainerAnswer(c, matches, img, att, fixes))
    return Answer(pod, answers, emulator)


def explain_log(text: str, known: Known | None = None) -> Answer:
    known = known or Known()
    matches = match_text(text, "log")
    att = attribute(matches, known)
    step = failing_step([c for c in (clean(raw) for raw in text.splitlines()) if c])
    return Answer(None, [], att.emulator, matches, att, step)
