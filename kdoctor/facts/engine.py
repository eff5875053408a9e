"""The container engine: reachable or not, which product, and the VM's size and architecture.

python-on-whales resolves the docker binary, context and host flags and parses `docker info`;
the call itself goes through kdoctor's runner so it has a timeout like every other process.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from kdoctor.facts import lima, podman, products
from kdoctor.facts.files import read_yaml_mapping
from kdoctor.facts.model import ColimaConfig, DockerDesktopSettings, EngineFacts, Product
from kdoctor.facts.values import whole_number
from kdoctor.platforms import facts_arch
from kdoctor.runner import Runner
from kdoctor.tools.docker import run_docker


def fingerprint(
    name: str | None,
    operating_system: str | None,
    kernel: str | None,
    *,
    server_version: str | None = None,
    platform: str | None = None,
) -> Product:
    """The product behind an engine that answered (rules and sources: checks/engines.yaml)."""
    return products.fingerprint(
        {
            "name": name,
            "operating_system": operating_system,
            "kernel": kernel,
            "server_version": server_version,
            "platform": platform,
        }
    )


def parse_info(stdout: str) -> dict[str, Any]:
    data = json.loads(stdout.strip().splitlines()[0] if stdout.strip() else "")
    if not isinstance(data, dict):
        raise ValueError("docker info did not print a JSON object")
    return data


def engine_from_info(data: dict[str, Any], platform: str | None = None) -> EngineFacts:
    """The fields kdoctor needs, read from `docker info`'s JSON directly. (python-on-whales' SystemInfo model
    rejects an answer with fields a newer engine added, which would turn a healthy engine into "no engine".)
    A `docker` that is podman answers with podman's own document: read as such."""
    if podman.is_podman_info(data):
        return podman.engine_from_podman_info(data)

    def text(key: str) -> str | None:
        v = data.get(key)
        return v if isinstance(v, str) and v else None

    def number(key: str) -> int | None:
        # The engine answered (it gave a server version): a size of the wrong type is unknown, and the checks
        # that need it skip; it does not turn a working engine into "no engine".
        return whole_number(data.get(key))

    security = data.get("SecurityOptions")
    sec = " ".join(str(s) for s in security) if isinstance(security, list) else ""
    name, operating_system, kernel = text("Name"), text("OperatingSystem"), text("KernelVersion")
    return EngineFacts(
        reachable=True,
        server_version=text("ServerVersion"),
        name=name,
        operating_system=operating_system,
        kernel_version=kernel,
        arch=facts_arch(text("Architecture")),
        ncpu=number("NCPU"),
        mem_total=number("MemTotal"),
        rootless="rootless" in sec,
        product=fingerprint(name, operating_system, kernel, server_version=text("ServerVersion"), platform=platform),
    )


def _bool(d: dict[str, Any], *keys: str) -> bool | None:
    lowered = {k.lower(): v for k, v in d.items()}
    for k in keys:
        v = lowered.get(k.lower())
        if isinstance(v, dict):  # admin-settings.json shape {"locked": .., "value": ..}
            v = v.get("value")
        if isinstance(v, bool):
            return v
    return None


def _int(d: dict[str, Any], *keys: str) -> int | None:
    lowered = {k.lower(): v for k, v in d.items()}
    for k in keys:
        v = lowered.get(k.lower())
        if isinstance(v, dict):
            v = v.get("value")
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None


def read_docker_desktop_settings(home: Path) -> DockerDesktopSettings | None:
    base = home / "Library" / "Group Containers" / "group.com.docker"
    # settings-store.json since Docker Desktop 4.35; settings.json before (lower-camel keys).
    for candidate in (
        base / "settings-store.json",
        base / "settings.json",
        home / ".docker/desktop/settings-store.json",
    ):
        if not candidate.is_file():
            continue
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("top level is not a JSON object")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            return DockerDesktopSettings(path=str(candidate), error=f"cannot parse: {exc}")
        return DockerDesktopSettings(
            path=str(candidate),
            use_virtualization_framework=_bool(data, "UseVirtualizationFramework"),
            use_rosetta=_bool(data, "UseVirtualizationFrameworkRosetta"),
            use_libkrun=_bool(data, "UseLibkrun"),
            cpus=_int(data, "Cpus"),
            memory_mib=_int(data, "MemoryMiB"),
        )
    return None


def colima_home(home: Path) -> Path:
    if os.environ.get("COLIMA_HOME"):
        return Path(os.environ["COLIMA_HOME"])
    return home / ".colima"


def read_colima_config(home: Path, engine_name: str | None) -> ColimaConfig | None:
    profile = "default"
    if engine_name and engine_name.startswith("colima-"):
        profile = engine_name[len("colima-") :]
    path = colima_home(home) / profile / "colima.yaml"
    if not path.is_file():
        return None
    data, error = read_yaml_mapping(path)
    if data is None:
        return ColimaConfig(path=str(path), error=error)
    mem = data.get("memory")
    return ColimaConfig(
        path=str(path),
        vm_type=str(data["vmType"]) if data.get("vmType") else None,
        rosetta=data.get("rosetta") if isinstance(data.get("rosetta"), bool) else None,
        binfmt=data.get("binfmt") if isinstance(data.get("binfmt"), bool) else None,
        arch=str(data["arch"]) if data.get("arch") else None,
        cpu=data.get("cpu") if isinstance(data.get("cpu"), int) else None,
        memory_gib=float(mem) if isinstance(mem, (int, float)) and not isinstance(mem, bool) else None,
    )


def probe_engine(runner: Runner, *, home: Path | None = None, timeout: float = 8.0) -> EngineFacts:
    from concurrent.futures import ThreadPoolExecutor

    home = home or Path.home()
    with ThreadPoolExecutor(2) as pool:
        # The platform name ("Docker Desktop 4.43.2 (…)") is only in `docker version`; ask at once.
        ver_f = pool.submit(run_docker, runner, ["version", "--format", "{{json .Server.Platform.Name}}"], timeout)
        res = run_docker(runner, ["system", "info", "--format", "{{json .}}"], timeout=timeout)
        ver = ver_f.result()
    platform = _platform_name(ver.stdout) if ver.ok else None
    facts = _docker_answer(res, platform)
    facts.docker_desktop = read_docker_desktop_settings(home)
    if facts.product == "colima" or not facts.reachable:
        facts.colima = read_colima_config(home, facts.name)
    if facts.product == "docker-desktop" and platform:
        m = re.search(r"Docker Desktop (\d+\.\d+\.\d+)", platform)
        facts.product_version = m.group(1) if m else None
    _read_lima(facts, home)
    if not facts.reachable or facts.product == "podman":
        # Podman's own CLI, when there, says what the docker CLI could not: the machine's provider and size.
        own = podman.probe_podman(runner)
        if own is not None and facts.reachable:
            facts.vm_type = facts.vm_type or own.vm_type
        elif own is not None and (own.reachable or own.ncpu or facts.product in ("unknown", "podman")):
            own.docker_desktop, own.colima = facts.docker_desktop, facts.colima
            facts = own
    return facts


def _read_lima(facts: EngineFacts, home: Path) -> None:
    """Rancher Desktop's or a Lima instance's lima.yaml: VM type, Rosetta, size (see kdoctor/facts/lima.py)."""
    if facts.product == "lima":
        facts.lima = lima.read_lima_instance(home, facts.name)
    elif facts.product == "rancher-desktop" or (not facts.reachable and facts.product == "unknown"):
        rd = lima.read_rancher_desktop(home)
        if rd is not None:
            facts.lima, facts.product = rd, "rancher-desktop"
            if not facts.reachable and rd.container_engine == "containerd":
                # containerd mode has no docker socket: nerdctl talks to it, docker cannot.
                facts.error = (
                    f"{facts.error or 'no docker engine'}; Rancher Desktop runs containerd (use nerdctl), so "
                    "the docker CLI, minikube's docker driver and kind have no engine"
                )
    if facts.lima is not None and facts.lima.error is None:
        facts.vm_type = facts.vm_type or facts.lima.vm_type


def _platform_name(stdout: str) -> str | None:
    try:
        value = json.loads(stdout.strip().splitlines()[0]) if stdout.strip() else None
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, str) and value else None


def _docker_answer(res: Any, platform: str | None) -> EngineFacts:
    """EngineFacts from `docker system info`: reachable when the server said anything about itself."""
    if res.not_found or res.timed_out:
        # `docker version` may have answered where `docker info` hung: its platform name still names the product.
        product = products.fingerprint({"platform": platform}, answered=False)
        return EngineFacts(reachable=False, error=res.why(), product=product)
    try:
        data = parse_info(res.stdout)
    except ValueError:
        data = {}
    client = data.get("ClientInfo")
    context = client.get("Context") if isinstance(client, dict) and isinstance(client.get("Context"), str) else None
    # With no engine the CLI still prints client JSON, with ServerErrors, and exits 1.
    server_errors = data.get("ServerErrors")
    server_fields = ("ServerVersion", "OperatingSystem", "KernelVersion")
    said = podman.is_podman_info(data) or any(data.get(k) for k in server_fields)
    if not res.ok or server_errors or not said:
        reason = "; ".join(str(e) for e in server_errors) if server_errors else res.why()
        if res.ok and not server_errors:
            reason = "docker info printed no server information"
        # Only the CLI's context, and `docker version`'s platform name when it answered, are left to say which
        # product was expected to answer.
        product = products.fingerprint({"context": context, "platform": platform}, answered=False)
        return EngineFacts(reachable=False, error=reason[:300], context=context, product=product)
    try:
        facts = engine_from_info(data, platform)
    except Exception as exc:  # a future or garbled format must not crash the run
        return EngineFacts(reachable=False, error=f"unrecognised docker info output: {type(exc).__name__}")
    facts.context = context
    if facts.product == "unknown" and not facts.name and not facts.operating_system and context:
        # The engine answered without a name or an operating system to tell its product by (a short answer, or a
        # product that leaves them out): the CLI's context then says where it looked, and that is what answered.
        facts.product = products.fingerprint({"context": context}, answered=False)
    return facts
