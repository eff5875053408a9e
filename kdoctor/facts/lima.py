"""Lima instances behind an engine: Rancher Desktop's VM and plain Lima (`limactl start template://docker`).

The instance's lima.yaml says what docker info cannot: the hypervisor (vmType vz/qemu), whether Rosetta runs
amd64 code (rosetta.enabled), and the configured size. Rancher Desktop keeps its instance "0" under its own
LIMA_HOME (rancher-sandbox/rancher-desktop#6470: ~/Library/Application Support/rancher-desktop/lima/0/lima.yaml;
#6261: ~/.local/share/rancher-desktop/lima on Linux) and its settings (containerEngine.name moby|containerd) in
settings.json; the lima.yaml fields are those of RD's LimaConfiguration (pkg/rancher-desktop/backend/lima.ts).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from kdoctor.facts.files import read_yaml_mapping
from kdoctor.facts.model import LimaConfig

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def rd_lima_dirs(home: Path) -> list[Path]:
    return [
        home / "Library" / "Application Support" / "rancher-desktop" / "lima" / "0",
        home / ".local" / "share" / "rancher-desktop" / "lima" / "0",
    ]


def rd_settings_paths(home: Path) -> list[Path]:
    return [
        home / "Library" / "Preferences" / "rancher-desktop" / "settings.json",
        home / ".config" / "rancher-desktop" / "settings.json",
    ]


def lima_home(home: Path) -> Path:
    return Path(os.environ["LIMA_HOME"]) if os.environ.get("LIMA_HOME") else home / ".lima"


def _bytes(v: Any) -> int | None:
    """lima.yaml memory: bytes (Rancher Desktop writes a number) or "4GiB" (Lima's own templates)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    m = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?)i?b?\s*", str(v or ""), re.I)
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()]) if m else None


def parse_lima_yaml(path: Path) -> LimaConfig:
    data, error = read_yaml_mapping(path)
    if data is None:
        return LimaConfig(path=str(path), error=error)
    rosetta = data.get("rosetta")
    enabled = rosetta.get("enabled") if isinstance(rosetta, dict) else None
    cpus = data.get("cpus")
    return LimaConfig(
        path=str(path),
        vm_type=str(data["vmType"]) if data.get("vmType") else None,
        rosetta=enabled if isinstance(enabled, bool) else None,
        arch=str(data["arch"]) if data.get("arch") else None,
        cpus=cpus if isinstance(cpus, int) and not isinstance(cpus, bool) else None,
        memory=_bytes(data.get("memory")),
    )


def _rd_engine(home: Path) -> str | None:
    for path in rd_settings_paths(home):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        name = (data.get("containerEngine") or {}).get("name") if isinstance(data, dict) else None
        if isinstance(name, str):
            return name
    return None


def read_rancher_desktop(home: Path) -> LimaConfig | None:
    """Rancher Desktop's VM config, or None when Rancher Desktop has never run here."""
    for d in rd_lima_dirs(home):
        if (d / "lima.yaml").is_file():
            cfg = parse_lima_yaml(d / "lima.yaml")
            cfg.container_engine = _rd_engine(home)
            return cfg
    return None


def read_lima_instance(home: Path, engine_name: str | None) -> LimaConfig | None:
    """The lima.yaml of the instance named by docker info's Name ("lima-<instance>")."""
    if not engine_name or not engine_name.startswith("lima-"):
        return None
    path = lima_home(home) / engine_name[len("lima-") :] / "lima.yaml"
    return parse_lima_yaml(path) if path.is_file() else None
