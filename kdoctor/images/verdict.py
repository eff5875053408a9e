"""Verdicts: what happens on the node, decided from the image's shape, its entrypoint and the emulator.

Pure functions; the public words are native, emulated, crash, unsupported, unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kdoctor.versions import GO_QEMU_FIXED, go_version_tuple

NATIVE, EMULATED, CRASH, UNSUPPORTED, UNKNOWN = "native", "emulated", "crash", "unsupported", "unknown"
VERDICTS = (NATIVE, EMULATED, CRASH, UNSUPPORTED, UNKNOWN)
SEVERITY_ORDER = {NATIVE: 0, EMULATED: 1, UNKNOWN: 2, UNSUPPORTED: 3, CRASH: 3}


@dataclass
class Entrypoint:
    """What kdoctor learnt about the process the container starts."""

    argv: list[str] = field(default_factory=list)
    path: str | None = None  # resolved path in the image
    kind: str | None = None  # "elf", "script", "missing", "indeterminate", "unreadable" (registry/layer error)
    machine: str | None = None  # ELF machine: amd64, arm64...
    static: bool | None = None
    go_version: str | None = None
    go_module: str | None = None
    go_path: str | None = None
    goamd64: str | None = None
    cgo: bool | None = None
    note: str | None = None
    interpreter: str | None = None  # PT_INTERP of a dynamic ELF entrypoint
    interpreter_found: bool | None = None  # whether the image holds it (looked for only with --deep)

    def go_json(self) -> dict[str, Any] | None:
        if not self.go_version:
            return None
        return {
            "version": self.go_version,
            "path": self.path,
            "module": self.go_module,
            "main": self.go_path,
            "goamd64": self.goamd64,
            "cgo": self.cgo,
        }


def go_affected(go_version: str | None) -> bool | None:
    v = go_version_tuple(go_version)
    return None if v is None else v < GO_QEMU_FIXED


def emulated_verdict(ep: Entrypoint | None, emulator: str, arch: str) -> tuple[str, str]:
    """A foreign single-arch image that will be pulled: how does its process fare?"""
    if emulator == "none":
        return UNSUPPORTED, f"a {arch} image on this node needs an emulator and none is registered: `exec format error`"
    where = {"qemu": "QEMU", "rosetta": "Rosetta"}.get(emulator, "an emulator (which one kdoctor could not tell)")
    if ep is not None and ep.kind == "unreadable":
        return (
            UNKNOWN,
            f"a {arch}-only image that would run under {where}; whether its entrypoint crashes is unknown: {ep.note}",
        )
    if ep is None or ep.kind in (None, "missing", "indeterminate"):
        note = f" ({ep.note})" if ep and ep.note else ""
        return EMULATED, f"a {arch}-only image: it runs under {where}, slowly; its entrypoint was not analysed{note}"
    if ep.go_version:
        affected = go_affected(ep.go_version)
        if arch == "amd64" and ep.goamd64 in ("v3", "v4") and emulator == "rosetta":
            return CRASH, (
                f"its entrypoint {ep.path} is a Go binary built with GOAMD64={ep.goamd64}; Rosetta does not "
                "advertise AVX, so it exits at start: `This program can only be run on AMD64 processors with "
                f"{ep.goamd64} microarchitecture support`"
            )
        if arch == "amd64" and affected and emulator in ("qemu", "unknown", "auto", "fex"):
            crash_text = (
                "taggedPointerPack" if (go_version_tuple(ep.go_version) or (0, 0, 0))[:2] == (1, 25) else "lfstack.push"
            )
            prefix = "under QEMU" if emulator == "qemu" else f"under {where} (assumed QEMU: the worst case)"
            return CRASH, (
                f"its entrypoint {ep.path} is an amd64 Go binary built with {ep.go_version}; {prefix} Go older "
                f"than 1.25.4 crashes at start with `fatal error: {crash_text}` (golang/go#69255)"
            )
        if arch == "amd64" and affected and emulator == "rosetta":
            return EMULATED, (
                f"its entrypoint {ep.path} is an amd64 Go binary built with {ep.go_version}, under Rosetta: it runs, "
                "slower; the Go pointer-packing crash is rare under Rosetta but not ruled out (only Go >= 1.25.4 or "
                "arm64 does)"
            )
        return (
            EMULATED,
            f"its entrypoint {ep.path} is a {arch} Go binary built with {ep.go_version}; it runs under {where}, slower",
        )
    if ep.kind == "script":
        return (
            EMULATED,
            f"its entrypoint {ep.path} is a script ({ep.note or 'interpreter not Go'}); it runs under {where}",
        )
    return EMULATED, f"its entrypoint {ep.path} is not a Go program; it runs under {where}, slower"


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
        if loader_missing and emulator in ("qemu", "rosetta"):
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
