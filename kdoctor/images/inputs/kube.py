"""Images in Kubernetes objects: pod templates wherever they are, catalogued operator fields, image volumes.

A pod template is found by its shape, not by the kind that holds it, so Argo Rollouts, Knative, KEDA,
Tekton, Crossplane... are read like Deployments. Every use carries the path where it was found. Shared
(aliased) YAML subtrees are visited once: the walk costs what the text costs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from kdoctor.data import data_dir
from kdoctor.images.inputs.uses import ImageUse, Origin, Skipped

# Lists whose items are containers when they have an `image` (Tekton names them steps and sidecars).
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers", "sidecars", "steps")
POD_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
SINGLE_CONTAINERS = ("container", "script")  # Argo Workflows templates
MAX_DEPTH = 200
BUILTIN_GROUPS = {"", "apps", "batch", "policy", "autoscaling"}
TEMPLATE_HINT = "an unrendered template expression ({{ … }}): render it first (helm template … | kdoctor images -f -)"


@dataclass(frozen=True)
class Field:
    group: str
    kinds: tuple[str, ...]
    path: tuple[str, ...]
    source: str


@cache
def image_fields() -> tuple[Field, ...]:
    """The operator image fields of checks/image-fields.yaml."""
    raw = yaml.safe_load((data_dir("checks") / "image-fields.yaml").read_text(encoding="utf-8")) or []
    return tuple(Field(e["group"], tuple(e["kinds"]), tuple(e["path"].split(".")), e["source"]) for e in raw)


def scalars(v: Any) -> list[str] | None:
    """A command/args list as strings; None unless every item is a scalar (a nested list is never stringified:
    that is how an alias bomb turned into gigabytes)."""
    if not isinstance(v, list) or not all(isinstance(x, str | int | float | bool) for x in v):
        return None
    return [str(x) for x in v]


def _group(doc: dict[str, Any]) -> str:
    api = doc.get("apiVersion")
    return api.rsplit("/", 1)[0] if isinstance(api, str) and "/" in api else ""


def _name(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata")
    if isinstance(meta, dict):
        for key in ("name", "generateName"):
            if isinstance(meta.get(key), str):
                return str(meta[key])
    return "?"


class _Walk:
    def __init__(self, file: str, workload: str, skipped: list[Skipped]) -> None:
        self.file, self.workload, self.skipped = file, workload, skipped
        self.seen: set[int] = set()
        self.uses: list[ImageUse] = []

    def use(self, image: str, path: str, container: dict[str, Any] | None) -> None:
        name = container.get("name") if container else None
        ref = image.strip()
        self.uses.append(
            ImageUse(
                ref,
                scalars(container.get("command")) if container else None,
                scalars(container.get("args")) if container else None,
                origins=[Origin(self.file, self.workload, str(name) if name is not None else None, path)],
                problem=TEMPLATE_HINT if "{{" in ref else None,
            )
        )

    def walk(self, node: Any, path: str, depth: int = 0) -> None:
        if not isinstance(node, dict | list) or id(node) in self.seen or depth > MAX_DEPTH:
            return
        self.seen.add(id(node))
        if isinstance(node, list):
            for i, item in enumerate(node):
                self.walk(item, f"{path}[{i}]", depth + 1)
            return
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if key in CONTAINER_LISTS and isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and isinstance(item.get("image"), str) and item["image"].strip():
                        self.use(item["image"], f"{where}[{i}].image", item)
                        self.seen.add(id(item))
                    elif isinstance(item, dict) and key in POD_CONTAINER_LISTS and "image" not in item:
                        self.skipped.append(
                            Skipped(
                                self.file,
                                f"{self.workload} {where}[{i}]",
                                "no-image",
                                f"container {item.get('name', '?')} has no image (its controller fills it in)",
                            )
                        )
            elif key in SINGLE_CONTAINERS and isinstance(value, dict) and isinstance(value.get("image"), str):
                self.use(value["image"], f"{where}.image", value)
                self.seen.add(id(value))
                continue
            elif key == "volumes" and isinstance(value, list):
                for i, vol in enumerate(value):
                    img = vol.get("image") if isinstance(vol, dict) else None
                    if isinstance(img, dict) and isinstance(img.get("reference"), str) and img["reference"].strip():
                        self.use(img["reference"], f"{where}[{i}].image.reference", None)
            self.walk(value, where, depth + 1)


def kube_uses(doc: dict[str, Any], file: str, skipped: list[Skipped], prefix: str = "") -> Iterator[ImageUse]:
    """The image uses of one Kubernetes object (a `List` is read item by item)."""
    kind = str(doc.get("kind"))
    items = doc.get("items")
    if kind.endswith("List") and isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("kind"), str):
                yield from kube_uses(item, file, skipped, f"{prefix}items[{i}] ")
        return
    workload = f"{prefix}{kind}/{_name(doc)}"
    w = _Walk(file, workload, skipped)
    group = _group(doc)
    for f in image_fields():
        if f.group == group and kind in f.kinds:
            cur: Any = doc
            for key in f.path:
                cur = cur.get(key) if isinstance(cur, dict) else None
            if isinstance(cur, str) and cur.strip():
                w.use(cur, ".".join(f.path), None)
    w.walk(doc, "")
    if not w.uses and group not in BUILTIN_GROUPS and not group.endswith(".k8s.io"):
        skipped.append(
            Skipped(
                file,
                workload,
                "no-pod-template",
                f"a {group} resource with no pod template and no catalogued image field (checks/image-fields.yaml)",
            )
        )
    yield from w.uses
