"""Verdicts: what happens on the node, decided from the image's shape, its entrypoint and the emulator.

Pure functions; the public words are native, emulated, crash, unsupported, unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kdoctor.images.inspect.entrypoint import Entrypoint
from kdoctor.images.inspect.identify import ImageFacts
from kdoctor.images.judge.risks import Risk, assess
from kdoctor.images.judge.risks import fixes as risk_fixes
from kdoctor.versions import GO_QEMU_FIXED, go_version_tuple
from kdoctor.vocabulary import TRANSLATORS, Verdict

# Short names for the pipeline's many comparisons; the words themselves live in kdoctor/vocabulary.py.
NATIVE, EMULATED, CRASH, UNSUPPORTED, UNKNOWN = Verdict
VERDICTS = tuple(Verdict)


def go_affected(go_version: str | None) -> bool | None:
    v = go_version_tuple(go_version)
    return None if v is None else v < GO_QEMU_FIXED


@dataclass
class Judgement:
    verdict: str
    reason: str
    suggestion: str | None = None
    risks: list[Risk] = field(default_factory=list)


def _base_reason(ep: Entrypoint, arch: str, where: str) -> str:
    if ep.go_version:
        return (
            f"its entrypoint {ep.path} is a {arch} Go binary built with {ep.go_version}; it runs under {where}, slower"
        )
    if ep.kind == "script":
        return f"its entrypoint {ep.path} is a script ({ep.note or 'interpreter not Go'}); it runs under {where}"
    if ep.kind == "elf":
        return f"its entrypoint {ep.path} is not a Go program; it runs under {where}, slower"
    note = f" ({ep.note})" if ep.note else ""
    return f"a {arch}-only image: it runs under {where}, slowly; its entrypoint was not analysed{note}"


def judge(ep: Entrypoint | None, emulator: str, arch: str, facts: ImageFacts | None = None) -> Judgement:
    """A foreign single-arch image that will be pulled: how does its process fare?"""
    if emulator == "none":
        return Judgement(
            UNSUPPORTED, f"a {arch} image on this node needs an emulator and none is registered: `exec format error`"
        )
    where = {"qemu": "QEMU", "rosetta": "Rosetta"}.get(emulator, "an emulator (which one kdoctor could not tell)")
    if ep is not None and ep.kind == "unreadable":
        return Judgement(
            UNKNOWN,
            f"a {arch}-only image that would run under {where}; whether its entrypoint crashes is unknown: {ep.note}",
        )
    if ep is not None and ep.kind in ("missing", "loop"):
        # The runtime cannot exec what is not there (or loops): never "it runs". A volume may still provide it.
        what, error = (
            ("its entrypoint is a symlink loop", "too many levels of symbolic links")
            if ep.kind == "loop"
            else ("its entrypoint is not in the image", "no such file or directory")
        )
        return Judgement(
            UNKNOWN,
            f"{what} ({ep.note}): the container fails to start anywhere (`exec: {error}`) unless a volume mounted "
            "over that path provides the program",
            "check the image's ENTRYPOINT/CMD (or the pod's command) against the files in the image",
        )
    ep = ep or Entrypoint()
    risks: list[Risk] = []
    if arch == "amd64":  # the catalogue describes amd64 images under emulation
        risks = assess(facts or ImageFacts(), emulator, path=ep.path, go_version=ep.go_version, goamd64=ep.goamd64)
    crash = next((r for r in risks if r.effect == "crash"), None)
    if crash is not None:
        prefix = "" if emulator in TRANSLATORS else f"under {where} (assumed the worst case): "
        return Judgement(CRASH, prefix + crash.reason, "; or ".join(risk_fixes(crash, emulator)) or None, risks)
    reason = _base_reason(ep, arch, where)
    if facts is not None and facts.os_release is None and (facts.os_release_note or "").startswith("not read"):
        reason += f"; its os-release was {facts.os_release_note}, so the distribution rules were not applied"
    for r in risks:
        label = "unknown risk" if r.effect == "unknown" else f"risk ({r.effect})"
        reason += f"; {label} {r.rule.id}: {r.reason} — under {where}: {r.why}"
    suggestion = "; or ".join(risk_fixes(risks[0], emulator)) if risks else None
    return Judgement(EMULATED, reason, suggestion, risks)


def wants_os_release(ep: Entrypoint, emulator: str, arch: str, facts: ImageFacts) -> bool:
    """Whether reading the image's os-release (often in its bottom layer: a walk to the end) can change the
    verdict: only for an amd64 image that would run under an emulator and is not already a certain crash."""
    if emulator == "none" or arch != "amd64" or ep.kind not in ("elf", "script", "indeterminate"):
        return False
    return judge(ep, emulator, arch, facts).verdict != CRASH


def emulated_verdict(ep: Entrypoint | None, emulator: str, arch: str) -> tuple[str, str]:
    j = judge(ep, emulator, arch)
    return j.verdict, j.reason


def mislabel_verdict(ep: Entrypoint | None, emulator: str, target_arch: str, claimed: str) -> tuple[str, str] | None:
    """--deep on an image whose manifest names the node's platform: does the program inside agree?

    None when it does (or when kdoctor could not tell: the manifest's word then stands, with a note added by
    the caller). The foreign-binary rules are the ones `emulated_verdict` applies to foreign images.
    """
    if ep is None or ep.kind != "elf" or not ep.machine:
        return None
    loader_missing = bool(ep.interpreter) and ep.interpreter_found is False
    if ep.machine != target_arch:
        label = f"the manifest says {claimed}, but the program inside is {ep.machine}"
        if emulator == "none":
            return UNSUPPORTED, f"{label} ({ep.path}) and no emulator is registered: `exec format error`"
        if loader_missing and emulator in TRANSLATORS:
            # The emulator loads the foreign program's dynamic loader from the image; without it nothing runs.
            message = {
                "rosetta": f"rosetta error: failed to open elf at {ep.interpreter}",
                "qemu": f"qemu-{_QEMU_NAME.get(ep.machine, ep.machine)}: Could not open '{ep.interpreter}'",
            }[emulator]
            return CRASH, (
                f"{label}: {ep.path} needs the loader {ep.interpreter}, which the image does not contain, so it dies "
                f"at start: `{message}`"
            )
        verdict, reason = emulated_verdict(ep, emulator, ep.machine)
        return verdict, f"{label}: {reason}"
    if loader_missing:
        return UNKNOWN, (
            f"its entrypoint {ep.path} is a dynamic {ep.machine} program whose loader {ep.interpreter} the image does "
            f"not contain: it fails at start with `exec {ep.path}: no such file or directory`"
        )
    return None


_QEMU_NAME = {"amd64": "x86_64", "arm64": "aarch64", "386": "i386", "arm": "arm"}
