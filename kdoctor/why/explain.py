"""Turn a pod's facts, matched signatures and image verdicts into: what happened, why, what to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kdoctor.errors import ExitCode
from kdoctor.images import verdict as V
from kdoctor.images.scan import ImageResult
from kdoctor.why.gather import ContainerFacts, PodFacts
from kdoctor.why.signatures import Match, match_text

WHY_SCHEMA = "kdoctor/why/v1"


@dataclass
class ContainerAnswer:
    facts: ContainerFacts
    matches: list[Match]
    image: ImageResult | None
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

    def to_json(self) -> dict[str, Any]:
        c = self.facts
        img = self.image
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
            "signatures": [
                {
                    "id": m.signature.id,
                    "implicates": m.signature.implicates,
                    "meaning": m.signature.meaning,
                    "evidence": m.evidence,
                    "where": m.where,
                    "source": m.signature.source,
                }
                for m in self.matches
            ],
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

    @property
    def failing(self) -> list[ContainerAnswer]:
        return [c for c in self.containers if c.facts.failing]

    @property
    def explained(self) -> bool:
        if self.pod is None:
            return bool(self.log_matches)
        return any(c.matches or (c.image and c.image.verdict in (V.CRASH, V.UNSUPPORTED)) for c in self.failing)

    def exit_code(self) -> int:
        if self.pod is None:
            return ExitCode.OK if self.log_matches else ExitCode.FINDINGS
        if not self.failing:
            return ExitCode.OK
        return ExitCode.OK if self.explained else ExitCode.FINDINGS

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema": WHY_SCHEMA,
            "explained": self.explained,
            "exit_code": self.exit_code(),
            "emulator": self.emulator,
        }
        if self.pod is None:
            doc["log"] = [
                {
                    "id": m.signature.id,
                    "implicates": m.signature.implicates,
                    "meaning": m.signature.meaning,
                    "evidence": m.evidence,
                    "fixes": list(m.signature.fixes),
                    "source": m.signature.source,
                }
                for m in self.log_matches
            ]
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


def rank_fixes(matches: list[Match], image: ImageResult | None) -> list[str]:
    fixes: list[str] = []
    if image and image.suggestion:
        fixes.append(image.suggestion[0].upper() + image.suggestion[1:])
    for m in matches:
        for f in m.signature.fixes:
            if f not in fixes:
                fixes.append(f)
    return fixes


def explain_pod(pod: PodFacts, images: dict[str, ImageResult], emulator: str) -> Answer:
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
        answers.append(ContainerAnswer(c, matches, img, rank_fixes(matches, img) if c.failing else []))
    return Answer(pod, answers, emulator)


def explain_log(text: str) -> Answer:
    return Answer(None, [], "unknown", match_text(text, "log"))
