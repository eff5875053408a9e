"""Tool binaries on PATH: where, which version, and for which CPU they were built."""

from __future__ import annotations

import json
import os
import re

from kdoctor.facts.binaries import binary_arch
from kdoctor.facts.model import ToolFacts
from kdoctor.runner import Runner

TOOLS = ("minikube", "kind", "kubectl", "docker")

# Each tool asked for JSON where it has it; kind only prints a line.
_VERSION_ARGV: dict[str, list[str]] = {
    "minikube": ["version", "-o", "json"],
    "kind": ["version"],
    "kubectl": ["version", "--client", "-o", "json"],
    "docker": ["version", "--format", "{{json .Client}}"],
}
_SEMVER = re.compile(r"v?\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?")


def parse_version(name: str, stdout: str) -> str | None:
    text = stdout.strip()
    if not text:
        return None
    if name == "kind":
        # "kind v0.32.0 go1.24.4 darwin/arm64"
        m = _SEMVER.search(text)
        return m.group(0) if m else None
    try:
        data = json.loads(text.splitlines()[0] if name == "docker" else text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    if name == "minikube":
        v = data.get("minikubeVersion")
    elif name == "kubectl":
        v = (data.get("clientVersion") or {}).get("gitVersion")
    else:
        v = data.get("Version")
    return str(v) if v else None


def probe_tool(runner: Runner, name: str, timeout: float = 5.0) -> ToolFacts:
    path = runner.which(name)
    if path is None:
        return ToolFacts(name=name)
    facts = ToolFacts(name=name, path=path, binary_arch=binary_arch(os.path.realpath(path)))
    res = runner.run([path, *_VERSION_ARGV[name]], timeout=timeout, env={"MINIKUBE_IN_STYLE": "false"})
    # docker prints its client JSON and exits 1 when no engine answers; the version is still good.
    facts.version = parse_version(name, res.stdout)
    if facts.version is None:
        facts.error = res.why() if not res.ok else f"unrecognised `{name} version` output"
    return facts


def probe_tools(runner: Runner) -> dict[str, ToolFacts]:
    return {name: probe_tool(runner, name) for name in TOOLS}
