"""Cluster profiles: the YAML schema, where profiles are found, and errors that name file, line and key."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kdoctor.data import data_dir
from kdoctor.errors import InputError, UsageError
from kdoctor.yamlkeys import line_for

API_VERSION: Final = "kdoctor.dev/v1alpha1"
_QTY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(gib|gi|g|gb|mib|mi|m|mb)?\s*$", re.I)
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$")


def kebab(name: str) -> str:
    """kubelet settings are written camelCase in profiles (maxPods) and passed as flags (max-pods)."""
    return re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()


def to_mb(value: int | float | str) -> int:
    """ "8GiB", "8g", "4096MiB", "4096" (MB) -> megabytes (MiB, as minikube counts them)."""
    if isinstance(value, bool):
        raise ValueError("a size, not a boolean")
    if isinstance(value, (int, float)):
        return int(value)
    m = _QTY.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a size such as 8GiB, 4096MiB or 2g")
    n, unit = float(m.group(1)), (m.group(2) or "m").lower()
    return int(n * 1024) if unit.startswith("g") else int(n)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Share(_Strict):
    share: float = Field(gt=0, le=1, description="fraction of the engine VM")
    min: int | str | None = None
    max: int | str | None = None


class Resources(_Strict):
    cpus: int | Share = 2
    memory: int | str | Share = "4GiB"
    disk: int | str | None = None

    @field_validator("memory", "disk")
    @classmethod
    def _size(cls, v: Any) -> Any:
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            to_mb(v)
        if isinstance(v, Share):
            for bound in (v.min, v.max):
                if bound is not None:
                    to_mb(bound)
        return v


class RegistrySpec(_Strict):
    enabled: bool = False
    port: int = Field(5001, ge=1024, le=65535)
    name: str = "kdoctor-registry"
    image: str = "registry:2"

    @property
    def host(self) -> str:
        return f"localhost:{self.port}"

    @property
    def in_cluster(self) -> str:
        # The registry container listens on 5000; nodes reach it by name on the cluster's docker network.
        return f"{self.name}:5000"


class KindSpec(_Strict):
    node_image: str | None = Field(None, alias="nodeImage")

    @field_validator("node_image")
    @classmethod
    def _pinned(cls, v: str | None) -> str | None:
        if v is not None and "@sha256:" not in v:
            raise ValueError("pin the kind node image by digest (kindest/node:vX.Y.Z@sha256:…)")
        return v


class Port(_Strict):
    container_port: int = Field(alias="containerPort", ge=1, le=65535)
    host_port: int = Field(alias="hostPort", ge=1, le=65535)
    listen_address: str = Field("127.0.0.1", alias="listenAddress")
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


class Profile(_Strict):
    api_version: Literal["kdoctor.dev/v1alpha1"] = Field(API_VERSION, alias="apiVersion")
    kind: Literal["Profile"] = "Profile"
    name: str
    description: str = ""
    provider: Literal["minikube", "kind"]  # the names in providers.PROVIDERS (a test keeps them in step)
    cluster: str | None = None
    kubernetes: str = "stable"
    resources: Resources = Field(default_factory=Resources)
    nodes: int = Field(1, ge=1, le=10)
    runtime: Literal["containerd", "docker", "cri-o"] = "containerd"
    addons: list[str] = Field(default_factory=list)
    registry: RegistrySpec = Field(default_factory=RegistrySpec)
    kubelet: dict[str, str | int | bool] = Field(default_factory=dict)
    kind_config: KindSpec = Field(default_factory=KindSpec, alias="kind_")
    ports: list[Port] = Field(default_factory=list)
    source: str = Field("", exclude=True)

    @field_validator("kubernetes")
    @classmethod
    def _version(cls, v: str) -> str:
        if v != "stable" and not re.fullmatch(r"v\d+\.\d+\.\d+", v):
            raise ValueError("use `stable` or a pinned version such as v1.35.1")
        return v

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, v: str | None) -> str | None:
        if v is not None and not _NAME.match(v):
            raise ValueError("cluster names are lowercase letters, digits and '-' (at most 50)")
        return v

    @property
    def cluster_name(self) -> str:
        return self.cluster or f"kdoctor-{self.name}"

    def kubelet_flags(self) -> list[tuple[str, str | int | bool]]:
        """The kubelet settings as flag names and values, in a stable order (both products pass them on)."""
        return [(kebab(k), v) for k, v in sorted(self.kubelet.items())]

    def spec(self, *, sections: Collection[str]) -> dict[str, Any]:
        """The resolved profile as it is recorded in the cluster and printed by `profiles show`. A product's
        own section is kept (and hashed into the record) only when its product reads it: `sections` is
        the product's `Provider.profile_sections`."""
        doc = self.model_dump(mode="json", by_alias=True, exclude={"source"})
        doc["kind"] = "Profile"
        doc["cluster"] = self.cluster_name
        own = {"kindConfig": doc.pop("kind_", None)}
        doc.update((name, value) for name, value in own.items() if name in sections)
        return doc


_UNION_TAGS = {"int", "str", "float", "bool", "Share"}
ALLOWED = {
    "provider": "minikube, kind",
    "runtime": "containerd, docker, cri-o",
    "protocol": "TCP, UDP, SCTP",
    "apiVersion": API_VERSION,
    "kind": "Profile",
}


def parse_profile(text: str, source: str) -> Profile:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            source, f"invalid YAML: {getattr(exc, 'problem', None) or exc}", line=mark.line + 1 if mark else None
        ) from None
    if not isinstance(raw, dict):
        raise InputError(source, "a profile is a YAML mapping", line=1)
    if "kind" in raw and isinstance(raw.get("kind"), dict):
        raise InputError(
            source,
            "`kind` is the document kind (Profile); kind settings go under `kindConfig`",
            line=line_for(text, ("kind",)),
            key="kind",
        )
    data = dict(raw)
    if "kindConfig" in data:
        data["kind_"] = data.pop("kindConfig")
    try:
        prof = Profile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        # Drop pydantic's union-member tags ("int", "Share", "function-after[…]") from the location.
        loc = tuple(
            "kindConfig" if p == "kind_" else p
            for p in err["loc"]
            if isinstance(p, int) or ("[" not in p and p not in _UNION_TAGS)
        )
        key = ".".join(str(p) for p in loc) or None
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        last = str(loc[-1]) if loc else ""
        if last in ALLOWED:
            msg += f" (allowed: {ALLOWED[last]})"
        raise InputError(source, msg, line=line_for(text, loc), key=key) from None
    prof.source = source
    return prof


def user_profile_dir() -> Path:
    import os

    if os.environ.get("KDOCTOR_PROFILE_DIR"):
        return Path(os.environ["KDOCTOR_PROFILE_DIR"])
    from platformdirs import user_config_dir

    return Path(user_config_dir("kdoctor")) / "profiles"


def profile_dirs() -> list[Path]:
    return [user_profile_dir(), data_dir("profiles")]


def find_profile(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or "/" in name_or_path:
        if not p.is_file():
            raise UsageError(f"profile file {name_or_path} does not exist")
        return p
    for d in profile_dirs():
        for suffix in (".yaml", ".yml"):
            candidate = d / f"{name_or_path}{suffix}"
            if candidate.is_file():
                return candidate
    names = ", ".join(sorted({n for n, _ in list_profiles()})) or "none"
    raise UsageError(f"unknown profile {name_or_path!r}; available: {names}")


def load_profile(name_or_path: str) -> Profile:
    path = find_profile(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None
    return parse_profile(text, str(path))


def list_profiles() -> list[tuple[str, Path]]:
    seen: dict[str, Path] = {}
    for d in reversed(profile_dirs()):  # user profiles shadow the shipped ones
        if d.is_dir():
            for p in sorted(d.glob("*.y*ml")):
                seen[p.stem] = p
    return sorted(seen.items())
