"""Direction and attribution: which emulator (or registry) a failure implicates, and which way it ran.

Evidence in the log wins (a `qemu:` line, a `rosetta error:` line, the platforms a mismatch names); then
what the caller knows (`--emulator`, `--node-arch`/`--platform`, or in pod mode the node and the detected
emulator); then what the signature itself implies. What none of them says stays "unknown": kdoctor never
blames an emulator without evidence that one was in play.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kdoctor.platforms import arch_of, is_foreign
from kdoctor.vocabulary import TRANSLATORS
from kdoctor.why.signatures import Match

EMULATORS = TRANSLATORS


@dataclass(frozen=True)
class Known:
    """What the caller knows beyond the log."""

    node_arch: str | None = None  # --node-arch / --platform, or the pod's node
    image_arch: str | None = None  # pod mode: the architecture of the image the node runs (its registry lookup)
    emulator: str | None = None  # --emulator, or the emulator detected on the node: qemu | rosetta | none
    emulator_source: str = "none"  # "--emulator", "binfmt:<node>", "docker-desktop-settings", …


@dataclass
class Attribution:
    emulator: str  # qemu | rosetta | none | registry | unknown
    emulator_source: str  # log | --emulator | binfmt:… | none
    node_arch: str  # arm64 | amd64 | … | unknown
    image_arch: str
    direction_source: str  # where node_arch came from: log | given | signature | none
    notes: list[str] = field(default_factory=list)
    main: Match | None = None  # the explanation these were worked out for (not serialised: `explanation` is)
    image_source: str = "none"  # where image_arch came from: log | given | signature | emulator | none

    def known(self) -> dict[str, str]:
        return {"node_arch": self.node_arch, "image_arch": self.image_arch, "emulator": self.emulator}

    def to_json(self) -> dict[str, Any]:
        return {
            "emulator": self.emulator,
            "emulator_source": self.emulator_source,
            "direction": {
                "node_arch": self.node_arch,
                "image_arch": self.image_arch,
                "source": self.direction_source,
                "image_source": self.image_source,
            },
            "notes": self.notes,
        }


def primary(matches: list[Match], known: Known | None = None) -> Match | None:
    """The explanation: the most specific cause (evidence combined from more lines wins over one line), the first
    in catalogue order among equals, whose needs are met (a cause that `needs: [foreign]` explains only when the
    code is known to be foreign). Supporting lines explain nothing alone."""
    causes = sorted((m for m in matches if m.signature.role == "cause"), key=lambda m: -m.specificity)
    return next((m for m in causes if _needs_met(m, matches, known or Known())), None)


def _needs_met(m: Match, matches: list[Match], known: Known) -> bool:
    """Evidence other than the candidate itself: another line that shows an emulator, or the platforms the log
    (or the caller) gives — never the direction or emulator the candidate's own entry assumes."""
    if "foreign" in m.signature.needs:
        others = [x for x in matches if x is not m]
        if _log_emulator(others, None) is not None:
            return True
        node, image, _, _ = _direction(others, None, known)
        return node is not None and image is not None and is_foreign(image, node)
    return True


def _log_emulator(matches: list[Match], main: Match | None) -> str | None:
    if main is not None and main.signature.implicates in EMULATORS:
        return main.signature.implicates
    for m in matches:
        if m.signature.implicates in EMULATORS:
            return m.signature.implicates
    return None


def _direction(matches: list[Match], main: Match | None, known: Known) -> tuple[str | None, str | None, str, str]:
    """(node arch, image arch, where each came from). Named groups a signature captures: `host` (the
    machine's platform), `wanted` (the platform a pull asked for: the host's unless --platform was given) and
    `image` (the platform the image has)."""
    host = next((arch_of(m.groups.get("host")) for m in matches if m.groups.get("host")), None)
    wanted = next((arch_of(m.groups.get("wanted")) for m in matches if m.groups.get("wanted")), None)
    image = next((arch_of(m.groups.get("image")) for m in matches if m.groups.get("image")), None)
    node, source = host, "log" if host else "none"
    image_source = "log" if image else "none"
    if node is None and known.node_arch:
        node, source = arch_of(known.node_arch), "given"
    if image is None and known.image_arch:
        image, image_source = arch_of(known.image_arch), "given"
    if node is None and wanted and main is not None and main.signature.implicates == "registry":
        node, source = wanted, "log (the platform the pull asked for)"
    if main is not None:
        if node is None and main.signature.assumes.get("node_arch"):
            node, source = main.signature.assumes["node_arch"], "signature"
        if image is None and main.signature.assumes.get("image_arch"):
            image, image_source = main.signature.assumes["image_arch"], "signature"
    return node, image, source, image_source


def attribute(matches: list[Match], known: Known) -> Attribution:
    main = primary(matches, known)
    # A cause that needed evidence it did not get says nothing about the emulator or the direction either.
    matches = [m for m in matches if not m.signature.needs or m is main]
    node, image, dsource, isource = _direction(matches, main, known)
    notes: list[str] = []
    from_log = _log_emulator(matches, main)
    if main is not None and main.signature.implicates == "registry":
        emulator, esource = "registry", "log"
    elif main is not None and main.signature.implicates == "none":
        emulator, esource = "none", "log"
    elif from_log is not None:
        emulator, esource = from_log, "log"
        if known.emulator in EMULATORS and known.emulator != from_log:
            notes.append(f"the log shows {from_log}, not the {known.emulator} given ({known.emulator_source})")
    elif known.emulator:
        emulator, esource = known.emulator, known.emulator_source
    else:
        emulator, esource = "unknown", "none"
    if emulator == "unknown" and node == "amd64" and image and is_foreign(image, node):
        # Rosetta translates only amd64 code on arm64 Macs: foreign code that ran on an amd64 machine ran under QEMU.
        # (Not on 32-bit arm: armv7 code on an armv6 CPU runs under nothing and faults.)
        emulator, esource = "qemu", f"implied: only QEMU runs {image} code on {article(node)} {node} machine"
    if image is None and node is not None and emulator in EMULATORS:
        # Something foreign ran under emulation: on an arm64 node that is amd64 code (Rosetta only runs amd64).
        image = "amd64" if node == "arm64" or emulator == "rosetta" else None
        isource = "emulator" if image else isource
    if emulator == "unknown" and main is not None and main.signature.implicates in ("cpu", "emulator"):
        if node and image and node != image:
            notes.append(
                f"{article(image)} {image} program on {article(node)} {node} node runs under an emulator; "
                "which one is not known"
            )
        else:
            notes.append("whether an emulator ran this program is not known (pass --emulator and --node-arch)")
    return Attribution(emulator, esource, node or "unknown", image or "unknown", dsource, notes, main, isource)


def article(arch: str) -> str:
    """The article before an architecture's name as it is read aloud: an amd64, an arm64, a ppc64le, a riscv64."""
    return "an" if arch[:1] in "aeios" else "a"


def placeholders(att: Attribution, main: Match | None) -> dict[str, str]:
    # An unknown direction is said in words, never as "linux/unknown" (issue 25, class 11).
    return {
        "node_arch": att.node_arch if att.node_arch != "unknown" else "the node's architecture",
        "image_arch": att.image_arch if att.image_arch != "unknown" else "the image's architecture",
        "node_platform": f"linux/{att.node_arch}" if att.node_arch != "unknown" else "the node's platform",
        "emulator": att.emulator,
        "feature": (main.signature.feature if main else None) or "the missing instruction set",
    }


def fixes_for(matches: list[Match], att: Attribution) -> list[str]:
    """The fixes that fit what is known, primary signature first, each once."""
    main = att.main
    values = placeholders(att, main)
    ordered = ([main] if main else []) + [m for m in matches if m is not main and m.signature.role == "cause"]
    out: list[str] = []
    for m in ordered:
        for fix in m.signature.fixes:
            if fix.applies(att.known()):
                text = fix.text.format_map(values)
                if text not in out:
                    out.append(text)
    return out
