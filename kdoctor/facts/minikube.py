"""minikube profiles: from `minikube profile list -o json`, else from the profiles' config.json files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kdoctor.facts.model import MinikubeFacts, MinikubeProfile
from kdoctor.facts.values import whole_number
from kdoctor.runner import Runner

MINIKUBE_ENV = {"MINIKUBE_IN_STYLE": "false"}


def minikube_home(home: Path) -> Path:
    # MINIKUBE_HOME may name either the .minikube directory or its parent.
    env = os.environ.get("MINIKUBE_HOME")
    if env:
        p = Path(env)
        return p if p.name == ".minikube" else p / ".minikube"
    return home / ".minikube"


def profile_from_config(cfg: dict[str, Any], *, status: str | None = None, source: str) -> MinikubeProfile:
    # Legacy nested shape {"ClusterConfig": {...}, "KubernetesConfig": {...}} is tolerated.
    if "ClusterConfig" in cfg and isinstance(cfg["ClusterConfig"], dict):
        merged = dict(cfg["ClusterConfig"])
        merged.setdefault("KubernetesConfig", cfg.get("KubernetesConfig") or {})
        cfg = merged
    kc = cfg.get("KubernetesConfig") or {}
    nodes = cfg.get("Nodes") or []
    addons = cfg.get("Addons") or {}

    return MinikubeProfile(
        name=str(cfg.get("Name") or kc.get("ClusterName") or "?"),
        status=status,
        driver=cfg.get("Driver") or None,
        cpus=whole_number(cfg.get("CPUs")),
        memory_mb=whole_number(cfg.get("Memory")),
        disk_mb=whole_number(cfg.get("DiskSize")),
        kubernetes_version=kc.get("KubernetesVersion") or None,
        container_runtime=kc.get("ContainerRuntime") or None,
        nodes=max(1, len(nodes)) if isinstance(nodes, list) else 1,
        rosetta=bool(cfg.get("Rosetta")),
        addons=sorted(k for k, v in addons.items() if v is True) if isinstance(addons, dict) else [],
        source=source,
    )


def parse_profile_list(stdout: str) -> list[MinikubeProfile]:
    data = json.loads(stdout)
    if not isinstance(data, dict):
        raise ValueError("`minikube profile list -o json` did not print an object")
    out = []
    for entry in data.get("valid") or []:
        if isinstance(entry, dict) and isinstance(entry.get("Config"), dict):
            out.append(profile_from_config(entry["Config"], status=entry.get("Status"), source="profile list"))
    return out


def read_profile_files(home: Path) -> tuple[list[MinikubeProfile], list[str]]:
    profiles: list[MinikubeProfile] = []
    errors: list[str] = []
    root = minikube_home(home) / "profiles"
    if not root.is_dir():
        return profiles, errors
    for cfg_path in sorted(root.glob("*/config.json")):
        try:
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
            if not isinstance(cfg, dict):
                raise ValueError("top level is not a JSON object")
            profiles.append(profile_from_config(cfg, source=str(cfg_path)))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            errors.append(f"{cfg_path}: cannot parse: {exc}")
    return profiles, errors


def probe_minikube(runner: Runner, *, home: Path | None = None, timeout: float = 10.0) -> MinikubeFacts:
    home = home or Path.home()
    facts = MinikubeFacts()
    listed: list[MinikubeProfile] | None = None
    if runner.which("minikube"):
        res = runner.run(["minikube", "profile", "list", "-o", "json"], timeout=timeout, env=MINIKUBE_ENV)
        # No profiles: exit 85 with {"error": ...}; that is a fact, not a failure.
        try:
            listed = parse_profile_list(res.stdout) if res.stdout.strip() else None
        except (ValueError, TypeError) as exc:
            facts.errors.append(f"`minikube profile list -o json` printed unparseable output ({exc})")
        if listed is None and not res.ok and not res.stdout.strip():
            facts.errors.append(res.why())
    files, file_errors = read_profile_files(home)
    facts.errors.extend(file_errors)
    if listed is not None:
        known = {p.name for p in listed}
        facts.profiles = listed + [p for p in files if p.name not in known]
    else:
        facts.profiles = files
        if facts.errors and not files and not file_errors and runner.which("minikube"):
            facts.failed = facts.errors[0]  # the list failed and no profile file was there to read instead
    return facts
