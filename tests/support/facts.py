"""One way to make `Facts` for a unit test, without probing anything.

- `mac_facts(**parts)`: an Apple Silicon MacBook (arm64, 12 CPUs, 32 GiB) with the parts given, and the probes of
  the parts a check usually needs recorded as answered (a check whose probe did not answer says "skipped").
- `scenario_facts(name, engine=…, tools=…)`: a recorded scenario (tests/scenarios/NAME.json), edited.
- `tool(name, arch, version)`: an installed tool (arch None: not installed).
"""

from __future__ import annotations

import json
from typing import Any

from kdoctor.facts.model import GIB, Facts, HostFacts, ProbeRecord, ProbeStatus, ToolFacts
from tests.conftest import SCENARIOS

APPLE_SILICON_MAC = HostFacts(os="darwin", arch="arm64", apple_silicon=True, memory_total=32 * GIB, cpus=12)
ANSWERED = ("host", "tools", "engine", "minikube", "kind", "tools.minikube", "tools.kind")


def mac_facts(*, answered: tuple[str, ...] = ANSWERED, **parts: Any) -> Facts:
    facts = Facts(**{"host": APPLE_SILICON_MAC, **parts})
    facts.probes = {n: ProbeRecord(status=ProbeStatus.OK) for n in answered}
    return facts


def scenario_facts(
    name: str, *, engine: dict[str, Any] | None = None, tools: dict[str, dict[str, Any]] | None = None
) -> Facts:
    doc = json.loads((SCENARIOS / f"{name}.json").read_text(encoding="utf-8"))
    doc["engine"].update(engine or {})
    for tool_name, changes in (tools or {}).items():
        doc["tools"][tool_name].update(changes)
    return Facts.model_validate(doc)


def tool(name: str, arch: str | None, version: str | None = None) -> ToolFacts:
    path = f"/opt/homebrew/bin/{name}" if arch else None
    return ToolFacts(name=name, path=path, binary_arch=arch, version=version)
