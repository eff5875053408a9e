"""The risk catalogue (top-level checks/risks.yaml): which rules an image matches, and what each does under
the node's emulator. One source of truth for `kdoctor images` verdicts, diagnose's KD801 and `kdoctor why`.

A rule's effect per emulator comes from its `effects:` or, for a rule that `needs:` a CPU feature, from that
feature's `provides:` in checks/cpu-features.yaml (no -> crash, depends -> depends, yes -> runs).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kdoctor.data import data_dir
from kdoctor.errors import InputError
from kdoctor.images.inspect.identify import ImageFacts, os_version_major
from kdoctor.images.judge.features import feature_entry  # the CPU-feature facts `why` reads as well
from kdoctor.versions import go_version_tuple
from kdoctor.vocabulary import TRANSLATORS

EFFECTS = ("crash", "fails", "depends", "unknown", "runs")  # worst first
EMULATORS = TRANSLATORS  # a rule without `needs` gives an effect for each
PROVIDES_EFFECT = {"no": "crash", "depends": "depends", "unknown": "unknown", "yes": "runs"}
SEVERITIES = ("error", "warning")
CLAUSE_KEYS = {
    "os_id",
    "os_version_major",
    "platform_id",
    "isa_needed",
    "goamd64",
    "go_below",
    "go_at_least",
    "runtime",
    "env",
    "repository",
    "argv",
}


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    identify: tuple[dict[str, Any], ...]
    severity: str
    message: str
    reason: str
    signatures: tuple[str, ...]
    fixes: tuple[tuple[str, tuple[str, ...]], ...]  # (text, emulators it applies to; () = always)
    sources: tuple[str, ...]
    needs: str | None = None
    effects: dict[str, tuple[str, str]] = field(default_factory=dict)  # emulator -> (effect, why)


@dataclass(frozen=True)
class Risk:
    """A rule that matched an image, judged under one emulator."""

    rule: Rule
    effect: str
    why: str  # the evidence for the effect under this emulator
    evidence: str  # what in the image matched
    reason: str  # the rule's reason, filled in

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.rule.id,
            "severity": self.rule.severity,
            "effect": self.effect,
            "evidence": self.evidence,
            "message": self.rule.message,
            "why": self.why,
            "source": "; ".join(self.rule.sources),
        }


def _strs(v: Any) -> tuple[str, ...]:
    return tuple(str(x) for x in (v if isinstance(v, list) else [v]))


def _rule(e: dict[str, Any]) -> Rule:
    clauses = tuple(dict(c) for c in e["identify"])
    for c in clauses:
        unknown = set(c) - CLAUSE_KEYS
        if unknown:
            raise ValueError(f"identify keys {sorted(unknown)} are not among {sorted(CLAUSE_KEYS)}")
    effects = {}
    for emu, spec in (e.get("effects") or {}).items():
        if spec["effect"] not in EFFECTS:
            raise ValueError(f"effect {spec['effect']!r} is not one of {EFFECTS}")
        effects[str(emu)] = (str(spec["effect"]), str(spec["why"]))
    if not e.get("needs") and set(effects) != set(EMULATORS):
        raise ValueError(f"a rule without `needs` gives effects for {EMULATORS}")
    fixes: list[tuple[str, tuple[str, ...]]] = []
    for f in e.get("fixes") or ():
        if isinstance(f, str):
            fixes.append((f, ()))
        else:
            fixes.append((str(f["text"]), _strs((f.get("when") or {}).get("emulator", []))))
    rule = Rule(
        id=str(e["id"]),
        title=str(e["title"]),
        identify=clauses,
        severity=str(e["severity"]),
        message=str(e["message"]),
        reason=" ".join(str(e["reason"]).split()),
        signatures=_strs(e.get("signatures") or []),
        fixes=tuple(fixes),
        sources=_strs(e["sources"]),
        needs=str(e["needs"]) if e.get("needs") else None,
        effects=effects,
    )
    if rule.severity not in SEVERITIES:
        raise ValueError(f"severity {rule.severity!r} is not one of {SEVERITIES}")
    return rule


@functools.cache
def document() -> dict[str, Any]:
    path = data_dir("checks") / "risks.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(str(path), f"cannot read the risk catalogue: {exc}") from None
    return raw if isinstance(raw, dict) else {}


@functools.cache
def catalogue() -> tuple[Rule, ...]:
    path = data_dir("checks") / "risks.yaml"
    out = []
    for i, e in enumerate(document().get("rules") or []):
        try:
            out.append(_rule(e))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(str(path), f"rule {i}: {exc}", key=f"rules[{i}]") from None
    if len({r.id for r in out}) != len(out):
        raise InputError(str(path), "risk rule ids must be unique")
    return tuple(out)


def rule_for_signature(signature_id: str) -> str | None:
    """The risk rule whose failure a `why` signature recognises (the same id on both sides)."""
    return next((r.id for r in catalogue() if signature_id in r.signatures), None)


def _version_at_least(value: str, floor: str) -> bool | None:
    def nums(s: str) -> tuple[int, ...] | None:
        m = re.match(r"^v?(\d+(?:\.\d+)*)", s.strip())
        return tuple(int(x) for x in m.group(1).split(".")) if m else None

    v, f = nums(value), nums(floor)
    if v is None or f is None:
        return None
    width = max(len(v), len(f))
    return v + (0,) * (width - len(v)) >= f + (0,) * (width - len(f))


def _clause(c: dict[str, Any], facts: ImageFacts, go_version: str | None, goamd64: str | None) -> str | None:
    """What in the image satisfies every key of `c`, or None when one does not hold."""
    said: list[str] = []
    osr = facts.os_release
    for key, want in c.items():
        if key in ("os_id", "os_version_major", "platform_id"):
            if osr is None:
                return None
            have = {
                "os_id": osr.get("ID"),
                "os_version_major": str(os_version_major(osr)),
                "platform_id": osr.get("PLATFORM_ID"),
            }[key]
            if have not in _strs(want):
                return None
            if not said or not said[0].startswith(str(facts.os_release_path)):
                pretty = " ".join(f"{k}={osr[k]}" for k in ("ID", "VERSION_ID", "PLATFORM_ID") if k in osr)
                said.insert(0, f"{facts.os_release_path}: {pretty}")
        elif key == "isa_needed":
            if facts.isa_needed not in _strs(want):
                return None
            said.append(f"x86 ISA needed: x86-64-{facts.isa_needed}")
        elif key == "goamd64":
            if goamd64 not in _strs(want):
                return None
            said.append(f"GOAMD64={goamd64}")
        elif key in ("go_below", "go_at_least"):
            v = go_version_tuple(go_version)
            bound = go_version_tuple("go" + str(want))
            if v is None or bound is None or (v >= bound if key == "go_below" else v < bound):
                return None
            said.append(f"built with {go_version}")
        elif key == "runtime":
            if facts.runtime not in _strs(want):
                return None
            said.append(f"entrypoint runs {facts.runtime}")
        elif key == "env":
            for name, cond in dict(want).items():
                value = facts.env.get(str(name))
                if value is None or (str(cond) != "*" and not _version_at_least(value, str(cond).lstrip(">="))):
                    return None
                said.append(f"{name}={value}")
        elif key == "repository":
            if not re.search(str(want), facts.repository):
                return None
            said.append(f"repository {facts.repository}")
        elif key == "argv":
            line = " ".join(facts.argv)
            if not re.search(str(want), line):
                return None
            said.append(f"command `{line[:80]}`")
    return ", ".join(dict.fromkeys(said)) or None


def _feature_effect(feature: str, emulator: str) -> tuple[str, str]:
    e = feature_entry(feature)
    if e is None:
        return "unknown", f"kdoctor has no facts on {feature}"
    provides = str((e.get("provides") or {}).get(emulator, "unknown"))
    return PROVIDES_EFFECT.get(provides, "unknown"), " ".join(str(e.get(emulator, "unknown")).split())


def _effect(rule: Rule, emulator: str, level: str | None) -> tuple[str, str]:
    if emulator not in EMULATORS:
        # Which emulator runs it is not known: the worst of the two (as the Go rule always assumed).
        both = [_effect(rule, e, level) for e in EMULATORS]
        worst = min(both, key=lambda x: EFFECTS.index(x[0]))
        return worst[0], "; ".join(f"under {name}: {w}" for name, (_, w) in zip(("QEMU", "Rosetta"), both, strict=True))
    if rule.needs is None:
        return rule.effects[emulator]
    feature = rule.needs if rule.needs not in ("isa-level", "goamd64") else f"x86-64-{level}"
    return _feature_effect(feature, emulator)


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def assess(
    facts: ImageFacts, emulator: str, *, path: str | None, go_version: str | None, goamd64: str | None
) -> list[Risk]:
    """Every rule the image matches, with its effect under `emulator` (rules that just run are left out)."""
    out = []
    for rule in catalogue():
        evidence = next((e for c in rule.identify if (e := _clause(c, facts, go_version, goamd64)) is not None), None)
        if evidence is None:
            continue
        level = facts.isa_needed if rule.needs == "isa-level" else goamd64 if rule.needs == "goamd64" else None
        effect, why = _effect(rule, emulator, level)
        if effect == "runs":
            continue
        values = {
            "path": path or "?",
            "go_version": go_version or "?",
            "goamd64": goamd64 or "?",
            "level": level or "?",
            "evidence": evidence,
        }
        out.append(Risk(rule, effect, why, evidence, _fill(rule.reason, values)))
    out.sort(key=lambda r: EFFECTS.index(r.effect))
    return out


def fixes(risk: Risk, emulator: str) -> list[str]:
    emu = emulator if emulator in EMULATORS else "unknown"
    return [text for text, when in risk.rule.fixes if not when or emu in when]
