"""A recorded Kubernetes API server on loopback, for driving the real kubectl in tests.

It answers from fixtures taken from real sources (fixtures/SOURCES.md): discovery documents from the
kubernetes/kubernetes repository and real `kubectl get -o json` objects. HTTPS with a throwaway CA; clients
authenticate with a client certificate (user = CN) or a bearer token.

What it speaks: /version, /readyz, /livez, /healthz; discovery (/api, /apis, /api/v1, /apis/{group}[/{version}],
aggregated discovery v2 when asked, or plain discovery only); list/get of nodes, pods, events, configmaps,
namespaces, deployments, statefulsets, daemonsets, replicasets, jobs and cronjobs (field and label selectors);
pods/{name}/log; create (POST), update (PUT), patch (merge, strategic merge, server-side apply) and delete of any
of them; Tables for `kubectl get` without -o. Not: watch, exec/attach/port-forward, OpenAPI documents (404, as
a server without them answers; kubectl falls back to its built-in schemas), protobuf.

Faults are set per server from the test and are thread-safe: forbid(), delay(), not_found(), drop(), down(),
unready(). Every request is logged in `requests`.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime
import fnmatch
import json
import socket
import ssl
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.apiserver import openapi
from tests.apiserver.pki import CertificateAuthority

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DISCOVERY = FIXTURES / "discovery"

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
TABLE_V1 = "application/json;as=Table;v=v1;g=meta.k8s.io"

DEFAULT_USER = "kdoctor-admin"
DEFAULT_TOKEN = "kdoctor-test-token"
DEFAULT_TOKEN_USER = "system:serviceaccount:default:kdoctor"
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")

Obj = dict[str, Any]


# --- the resources it serves -----------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How the API server names it in messages: `pods`, `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def details(self, name: str | None = None) -> Obj:
        d: Obj = {}
        if name:
            d["name"] = name
        if self.group:
            d["group"] = self.group
        d["kind"] = self.plural
        return d


RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "nodes", "Node", False),
    Resource("", "v1", "namespaces", "Namespace", False),
    Resource("", "v1", "pods", "Pod", True),
    Resource("", "v1", "events", "Event", True),
    Resource("", "v1", "configmaps", "ConfigMap", True),
    Resource("apps", "v1", "deployments", "Deployment", True),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True),
    Resource("batch", "v1", "jobs", "Job", True),
    Resource("batch", "v1", "cronjobs", "CronJob", True),
)
BY_PATH: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND: dict[tuple[str, str], Resource] = {(r.api_version, r.kind): r for r in RESOURCES}

# Field selectors the real API server accepts for these resources (besides metadata.name/namespace).
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "pods": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "nodes": ("spec.unschedulable",),
    "jobs": ("status.successful",),
}

READYZ_CHECKS = (
    "ping",
    "log",
    "etcd",
    "etcd-readiness",
    "informer-sync",
    "poststarthook/start-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/start-kube-apiserver-admission-initializer",
    "poststarthook/bootstrap-controller",
    "poststarthook/rbac/bootstrap-roles",
    "shutdown",
)


def status(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
    """A metav1.Status failure body, field order as the API server writes it."""
    doc: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message}
    if reason:
        doc["reason"] = reason
    if details is not None:
        doc["details"] = details
    doc["code"] = code
    return doc


class ApiError(Exception):
    def __init__(self, body: Obj) -> None:
        super().__init__(body.get("message", ""))
        self.body = body
        self.code = int(body["code"])


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.UTC)
    except ValueError:
        return None


def human_duration(since: str | None) -> str:
    """kubectl/apimachinery HumanDuration, for Table cells."""
    t = _parse_time(since)
    if t is None:
        return "<unknown>"
    s = int((datetime.datetime.now(datetime.UTC) - t).total_seconds())
    if s < 0:
        return "<invalid>"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    if h < 24 * 365 * 8:
        days = h // 24
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{h // 24 // 365}y"


# --- requests, faults ------------------------------------------------------------------------------

HEADERS_OF_INTEREST = ("Accept", "Content-Type", "User-Agent", "Kubectl-Command", "Kubectl-Session")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    user: str | None
    status: int = 0
    body: bytes = b""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def __str__(self) -> str:
        q = "&".join(f"{k}={v}" for k, vs in sorted(self.query.items()) for v in vs)
        return f"{self.method} {self.path}{'?' + q if q else ''} -> {self.status}"


@dataclass
class _Rule:
    pattern: str
    remaining: int | None  # None: forever

    def take(self, path: str) -> bool:
        if not fnmatch.fnmatchcase(path, self.pattern):
            return False
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@dataclass
class _Faults:
    forbidden: set[tuple[str, str, str | None]] = field(default_factory=set)  # (resource, verb, namespace)
    delays: list[tuple[_Rule, float]] = field(default_factory=list)
    drops: list[_Rule] = field(default_factory=list)
    unready: dict[str, str] = field(default_factory=dict)  # check -> reason


# --- merge helpers (patch) -------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge patch as far as these objects need it: maps merge, `$patch: delete|replace` and the
    `$setElementOrder/` and `$retainKeys` directives are honoured, lists of maps with a `name` merge by name
    (containers, env, ports, volumes), other lists are replaced."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list) and _named_list(value, result[key]):
            result[key] = _merge_named(result[key], value)
        else:
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _named_list(a: list[Any], b: list[Any]) -> bool:
    return all(isinstance(x, dict) and "name" in x for x in [*a, *b]) and bool(a or b)


def _merge_named(current: list[Obj], patch: list[Obj]) -> list[Obj]:
    out = [copy.deepcopy(x) for x in current]
    for item in patch:
        idx = next((i for i, x in enumerate(out) if x.get("name") == item.get("name")), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
        elif idx is None:
            out.append({k: v for k, v in item.items() if not k.startswith("$")})
        else:
            out[idx] = strategic_merge_patch(out[idx], item)
    return out


def _prune(current: Any, old_applied: Any, new_applied: Any) -> Any:
    """Server-side apply's removal rule, for maps: fields this manager applied before and no longer applies go."""
    if not (isinstance(current, dict) and isinstance(old_applied, dict)):
        return current
    out = dict(current)
    new = new_applied if isinstance(new_applied, dict) else {}
    for key, old_value in old_applied.items():
        if key not in new:
            out.pop(key, None)
        elif key in out:
            out[key] = _prune(out[key], old_value, new[key])
    return out


def _deep_merge(base: Any, overlay: Any) -> Any:
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for k, v in overlay.items():
            out[k] = _deep_merge(base.get(k), v)
        return out
    return copy.deepcopy(overlay)


# --- selectors -------------------------------------------------------------------------------------


def _lookup(obj: Obj, dotted: str) -> str:
    cur: Any = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, dict):
        return str(cur.get("component", ""))  # events' `source` field selector matches source.component
    return str(cur)


def parse_field_selector(res: Resource, selector: str) -> list[tuple[str, str, str]]:
    terms: list[tuple[str, str, str]] = []
    for raw in filter(None, (t.strip() for t in selector.split(","))):
        for op in ("!=", "==", "="):
            if op in raw:
                key, value = raw.split(op, 1)
                break
        else:
            raise ApiError(status(400, "BadRequest", f"invalid selector: '{selector}'; can't understand '{raw}'"))
        key = key.strip()
        allowed = ("metadata.name", "metadata.namespace", *FIELD_LABELS.get(res.plural, ()))
        if key not in allowed:
            raise ApiError(status(400, "BadRequest", f"field label not supported: {key}"))
        terms.append((key, "!=" if op == "!=" else "=", value.strip()))
    return terms


def _match_labels(labels: Mapping[str, str], selector: str) -> bool:
    for raw in filter(None, (t.strip() for t in _split_label_selector(selector))):
        if " in " in raw or " notin " in raw:
            key, _, rest = raw.partition(" notin " if " notin " in raw else " in ")
            values = {v.strip() for v in rest.strip().strip("()").split(",")}
            hit = labels.get(key.strip()) in values
            if hit == (" notin " in raw):
                return False
        elif "!=" in raw:
            key, value = raw.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in raw:
            key, value = raw.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif raw.startswith("!"):
            if raw[1:].strip() in labels:
                return False
        elif raw not in labels:
            return False
    return True


def _split_label_selector(selector: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


# --- Tables ----------------------------------------------------------------------------------------


def _col(name: str, typ: str, desc: str, priority: int = 0, fmt: str = "") -> Obj:
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


def _pod_row(pod: Obj) -> list[Any]:
    spec, st = pod.get("spec") or {}, pod.get("status") or {}
    statuses = st.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    reason = st.get("reason") or st.get("phase") or "Unknown"
    restarts, last_restart = 0, None
    for c in statuses:
        restarts += int(c.get("restartCount") or 0)
        finished = ((c.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished
    for c in reversed(statuses):
        state = c.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    restart_cell = f"{restarts} ({human_duration(last_restart)} ago)" if restarts and last_restart else str(restarts)
    return [
        pod["metadata"]["name"],
        f"{ready}/{len(spec.get('containers') or [])}",
        reason,
        restart_cell,
        human_duration(pod["metadata"].get("creationTimestamp")),
        st.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        st.get("nominatedNodeName") or "<none>",
        "<none>",
    ]


def _node_row(node: Obj) -> list[Any]:
    meta, st = node["metadata"], node.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
    state = "Ready" if conditions.get("Ready") == "True" else "NotReady" if "Ready" in conditions else "Unknown"
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (meta.get("labels") or {}) if k.startswith("node-role.kubernetes.io/"))
    addrs = {a.get("type"): a.get("address") for a in st.get("addresses") or []}
    info = st.get("nodeInfo") or {}
    return [
        meta["name"],
        state,
        ",".join(roles) or "<none>",
        human_duration(meta.get("creationTimestamp")),
        info.get("kubeletVersion", ""),
        addrs.get("InternalIP", "<none>"),
        addrs.get("ExternalIP", "<none>"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


def _event_row(ev: Obj) -> list[Any]:
    obj = ev.get("involvedObject") or {}
    src = ev.get("source") or {}
    first = ev.get("firstTimestamp") or (ev.get("metadata") or {}).get("creationTimestamp")
    last = ev.get("lastTimestamp") or first
    return [
        human_duration(last),
        ev.get("type", ""),
        ev.get("reason", ""),
        f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}",
        obj.get("fieldPath", ""),
        ", ".join(x for x in (src.get("component"), src.get("host")) if x),
        ev.get("message", ""),
        human_duration(first),
        int(ev.get("count") or 1),
        ev["metadata"]["name"],
    ]


TABLE_COLUMNS: dict[str, list[Obj]] = {
    "events": [
        _col("Last Seen", "string", "The last time the event was observed."),
        _col("Type", "string", "Type of this event (Normal, Warning)."),
        _col("Reason", "string", "Short, machine understandable string that gives the reason for the transition."),
        _col("Object", "string", "The object this Event is about."),
        _col("Subobject", "string", "The subobject (fieldPath) this Event is about.", 1),
        _col("Source", "string", "The component reporting this event.", 1),
        _col("Message", "string", "A human-readable description of the status of this operation."),
        _col("First Seen", "string", "The time at which the event was first recorded.", 1),
        _col("Count", "string", "The number of times this event has occurred.", 1),
        _col("Name", "string", "Name must be unique within a namespace.", 1, "name"),
    ],
    "pods": [
        _col("Name", "string", "Name must be unique within a namespace.", 0, "name"),
        _col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        _col("Status", "string", "The aggregate status of the containers in this pod."),
        _col("Restarts", "string", "The number of times the containers in this pod have been restarted."),
        _col(
            "Age",
            "string",
            "CreationTimestamp is a timestamp representing the server time when this object was created.",
        ),
        _col("IP", "string", "IP address allocated to the pod.", 1),
        _col("Node", "string", "Name of the Node this pod is assigned to.", 1),
        _col("Nominated Node", "string", "Name of the node nominated to preempt the pod.", 1),
        _col("Readiness Gates", "string", "Pod readiness gates.", 1),
    ],
    "nodes": [
        _col("Name", "string", "Name must be unique within a namespace.", 0, "name"),
        _col("Status", "string", "The status of the node"),
        _col("Roles", "string", "The roles of the node"),
        _col(
            "Age",
            "string",
            "CreationTimestamp is a timestamp representing the server time when this object was created.",
        ),
        _col("Version", "string", "Kubelet Version reported by the node."),
        _col("Internal-IP", "string", "List of addresses reachable to the node. Queried from cloud provider.", 1),
        _col("External-IP", "string", "List of addresses reachable to the node. Queried from cloud provider.", 1),
        _col("OS-Image", "string", "OS Image reported by the node from /etc/os-release.", 1),
        _col("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r'.", 1),
        _col("Container-Runtime", "string", "Container runtime version reported by the node.", 1),
    ],
}
DEFAULT_COLUMNS = [
    _col("Name", "string", "Name must be unique within a namespace.", 0, "name"),
    _col(
        "Created At",
        "date",
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    ),
]


def table(res: Resource, items: list[Obj], resource_version: str, include: str) -> Obj:
    rows = []
    for obj in items:
        if res.plural == "pods":
            cells = _pod_row(obj)
        elif res.plural == "nodes":
            cells = _node_row(obj)
        elif res.plural == "events":
            cells = _event_row(obj)
        else:
            cells = [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp")]
        row: Obj = {"cells": cells}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": copy.deepcopy(obj["metadata"]),
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": TABLE_COLUMNS.get(res.plural, DEFAULT_COLUMNS),
        "rows": rows,
    }


# --- discovery -------------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def legacy_to_aggregated(resource_list: Obj) -> Obj:
    """One APIVersionDiscovery (apidiscovery.k8s.io/v2) from a legacy APIResourceList, as the API server builds it:
    subresources under their parent, responseKind group/version empty when they are the parent's own."""
    resources: list[Obj] = []
    by_name: dict[str, Obj] = {}
    for r in resource_list["resources"]:
        if "/" in r["name"]:
            continue
        d: Obj = {}
        if r.get("categories"):
            d["categories"] = r["categories"]
        d["resource"] = r["name"]
        d["responseKind"] = {"group": r.get("group", ""), "kind": r["kind"], "version": r.get("version", "")}
        d["scope"] = "Namespaced" if r["namespaced"] else "Cluster"
        if r.get("shortNames"):
            d["shortNames"] = r["shortNames"]
        d["singularResource"] = r["singularName"]
        d["verbs"] = r["verbs"]
        resources.append(d)
        by_name[r["name"]] = d
    for r in resource_list["resources"]:
        if "/" not in r["name"]:
            continue
        parent, sub = r["name"].split("/", 1)
        if parent not in by_name:
            continue
        entry = {
            "responseKind": {"group": r.get("group", ""), "kind": r["kind"], "version": r.get("version", "")},
            "subresource": sub,
            "verbs": r["verbs"],
        }
        by_name[parent].setdefault("subresources", []).append(entry)
    for d in resources:  # key order as the API server serialises it
        if "subresources" in d:
            verbs = d.pop("verbs")
            d["subresources"].sort(key=lambda s: s["subresource"])
            d["verbs"] = verbs
    return {"freshness": "Current", "resources": resources, "version": resource_list["groupVersion"].split("/")[-1]}


class Discovery:
    """The discovery documents, loaded from fixtures/discovery."""

    def __init__(self) -> None:
        self.api = _read_json(DISCOVERY / "api.json")
        self.apis = _read_json(DISCOVERY / "apis.json")
        self.core_v1 = _read_json(DISCOVERY / "api__v1.json")
        self.group_versions: dict[str, Obj] = {
            "apps/v1": _read_json(DISCOVERY / "apis__apps__v1.json"),
            "batch/v1": _read_json(DISCOVERY / "apis__batch__v1.json"),
        }
        self.aggregated_apis = _read_json(DISCOVERY / "aggregated_v2.json")

    def aggregated_api(self) -> Obj:
        return {
            "apiVersion": "apidiscovery.k8s.io/v2",
            "items": [{"metadata": {"creationTimestamp": None}, "versions": [legacy_to_aggregated(self.core_v1)]}],
            "kind": "APIGroupDiscoveryList",
            "metadata": {},
        }

    def group(self, name: str) -> Obj | None:
        for g in self.apis["groups"]:
            if g["name"] == name:
                return {"kind": "APIGroup", "apiVersion": "v1", **g}
        return None


# --- the server ------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, api: ApiServer, address: tuple[str, int], context: ssl.SSLContext) -> None:
        self.api = api
        self.context = context
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs in the connection's own thread, so one slow client never blocks accept().
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.api._track(tls, True)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            self.api._track(tls, False)

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: clients hang up on purpose
        pass


class ApiServer:
    """The recorded API server. Start with start(), stop with stop(); or use as a context manager."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        aggregated_discovery: bool = True,
        tables: bool = True,
        openapi_v3: bool = True,
        version: Obj | None = None,
        tokens: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="kd-apiserver-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig: Path = self.workdir / "kubeconfig"  # written by write_kubeconfig() / the fixture
        self.home: Path = self.workdir / "home"  # HOME for kubectl subprocesses: its caches live there
        self.aggregated_discovery = aggregated_discovery
        self.tables = tables
        self.openapi = openapi_v3
        self.version: Obj = version or _read_json(FIXTURES / "version.json")
        self.tokens: dict[str, str] = dict(tokens or {DEFAULT_TOKEN: DEFAULT_TOKEN_USER})
        self.discovery = Discovery()
        self.ca = CertificateAuthority()
        self._server_pair = self.ca.server_cert()
        self._client_pairs: dict[str, tuple[bytes, bytes]] = {}
        self.requests: list[RecordedRequest] = []
        self._lock = threading.RLock()
        self._store: dict[tuple[str, str, str], Obj] = {}  # (plural, namespace, name) -> object
        self._logs: dict[tuple[str, str, str, bool], str] = {}
        self._applied: dict[tuple[str, str, str, str], Obj] = {}  # SSA: last applied config per field manager
        self._rv = 1000
        self._faults = _Faults()
        self._stop = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self.port = 0
        for ns in SYSTEM_NAMESPACES:
            self._put_namespace(ns)

    # lifecycle

    def _context(self) -> ssl.SSLContext:
        cert, key = self.workdir / "apiserver.crt", self.workdir / "apiserver.key"
        cert.write_bytes(self._server_pair.cert_pem)
        key.write_bytes(self._server_pair.key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.load_verify_locations(cadata=self.ca.cert_pem.decode())
        ctx.verify_mode = ssl.CERT_OPTIONAL  # client certificates are verified when sent; tokens work without
        ctx.set_alpn_protocols(["http/1.1"])  # no h2: kubectl falls back to HTTP/1.1
        return ctx

    def start(self) -> ApiServer:
        ctx = self._context()
        self._httpd = _Server(self, ("127.0.0.1", self.port), ctx)
        self.port = self._httpd.server_address[1]
        self._stop.clear()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.down()

    def down(self) -> None:
        """Stop answering: close the listening socket (new connections are refused) and every open connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def up(self) -> None:
        """Answer again on the same port after down()."""
        if self._httpd is None:
            self._stop.clear()
            self.start()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # kubeconfig

    def client_cert(self, user: str = DEFAULT_USER, group: str | None = "system:masters") -> tuple[bytes, bytes]:
        key = f"{user}|{group}"
        if key not in self._client_pairs:
            pair = self.ca.client_cert(user, group)
            self._client_pairs[key] = (pair.cert_pem, pair.key_pem)
        return self._client_pairs[key]

    def write_kubeconfig(
        self,
        path: Path,
        contexts: Mapping[str, Mapping[str, Any]] | Iterable[str] | None = None,
        *,
        current: str | None = None,
    ) -> Path:
        """Write a kubeconfig whose contexts point at this server.

        `contexts`: names, or name -> options: `auth` ("cert", default; "token"; "none"), `user` (the client
        certificate's CN), `token`, `namespace`, `server` (another URL, e.g. a closed port), `ca` (False: no CA
        data, so TLS verification fails). The first context is the current one unless `current` says otherwise.
        """
        if contexts is None:
            contexts = {"kdoctor-test": {}}
        if not isinstance(contexts, Mapping):
            contexts = {name: {} for name in contexts}
        ca_data = base64.b64encode(self.ca.cert_pem).decode()
        clusters, users, ctxs = [], [], []
        for name, opts in contexts.items():
            cluster: Obj = {"server": opts.get("server", self.url)}
            if opts.get("ca", True):
                cluster["certificate-authority-data"] = ca_data
            clusters.append({"name": name, "cluster": cluster})
            auth = opts.get("auth", "cert")
            user: Obj = {}
            if auth == "cert":
                cert, key = self.client_cert(opts.get("user", DEFAULT_USER), opts.get("group", "system:masters"))
                user = {
                    "client-certificate-data": base64.b64encode(cert).decode(),
                    "client-key-data": base64.b64encode(key).decode(),
                }
            elif auth == "token":
                user = {"token": opts.get("token", DEFAULT_TOKEN)}
            users.append({"name": name, "user": user})
            context: Obj = {"cluster": name, "user": name}
            if opts.get("namespace"):
                context["namespace"] = opts["namespace"]
            ctxs.append({"name": name, "context": context})
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": clusters,
            "contexts": ctxs,
            "current-context": current or next(iter(contexts), ""),
            "preferences": {},
            "users": users,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    # state

    def _next_rv(self) -> str:
        with self._lock:
            self._rv += 1
            return str(self._rv)

    def _put_namespace(self, name: str) -> None:
        if ("namespaces", "", name) not in self._store:
            self._store[("namespaces", "", name)] = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "creationTimestamp": _now(),
                    "labels": {"kubernetes.io/metadata.name": name},
                    "name": name,
                    "resourceVersion": self._next_rv(),
                    "uid": str(uuid.uuid4()),
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }

    def put(self, obj: Obj) -> Obj:
        """Store one object as-is (kind and apiVersion pick the resource); its namespace comes into being."""
        res = BY_KIND.get((obj.get("apiVersion", ""), obj.get("kind", "")))
        if res is None:
            raise ValueError(f"this server does not serve {obj.get('apiVersion')}/{obj.get('kind')}")
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "default") if res.namespaced else ""
        if res.namespaced:
            meta["namespace"] = ns
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("resourceVersion", self._next_rv())
        meta.setdefault("creationTimestamp", _now())
        with self._lock:
            if ns:
                self._put_namespace(ns)
            self._store[(res.plural, ns, meta["name"])] = obj
        return obj

    def set_log(self, namespace: str, pod: str, container: str, text: str, *, previous: bool = False) -> None:
        with self._lock:
            self._logs[(namespace, pod, container, previous)] = text

    def load(self, *sources: str | Path | Obj | list[Any]) -> ApiServer:
        """Add objects: a fixture set name ("default": every fixture), a fixture file ("pods/imagepullbackoff"),
        a path, an object, a `List`/`XList`, a list of these, or a logs map {"ns/pod/container": {"previous": …}}."""
        for src in sources:
            self._load_one(src)
        return self

    def _load_one(self, src: str | Path | Obj | list[Any]) -> None:
        if isinstance(src, list):
            for item in src:
                self._load_one(item)
            return
        if isinstance(src, dict):
            if "kind" not in src and src and all(isinstance(v, dict) and "/" in k for k, v in src.items()):
                for key, texts in src.items():
                    ns, pod, container = key.split("/")
                    for which, text in texts.items():
                        self.set_log(ns, pod, container, text, previous=which == "previous")
            elif str(src.get("kind", "")).endswith("List") and "items" in src:
                list_kind = str(src["kind"])[: -len("List")]
                for item in src["items"]:
                    if list_kind and "kind" not in item:
                        item = {"apiVersion": src.get("apiVersion", "v1"), "kind": list_kind, **item}
                    self._load_one(item)
            else:
                self.put(src)
            return
        path = Path(src)
        if not path.is_absolute():
            if str(src) == "default":
                for sub in ("nodes", "pods", "workloads", "events", "logs"):
                    for f in sorted((FIXTURES / sub).glob("*.json")):
                        self._load_one(f)
                return
            path = FIXTURES / path
            if not path.suffix and not path.is_dir():
                path = path.with_suffix(".json")
        if path.is_dir():
            for f in sorted(path.glob("*.json")):
                self._load_one(f)
            return
        text = path.read_text()
        self._load_one(json.loads(text) if path.suffix == ".json" else yaml.safe_load(text))

    def objects(self, plural: str, namespace: str | None = None) -> list[Obj]:
        with self._lock:
            return [
                copy.deepcopy(o)
                for (p, ns, _), o in sorted(self._store.items())
                if p == plural and (namespace is None or ns == namespace)
            ]

    def get(self, plural: str, name: str, namespace: str = "") -> Obj | None:
        with self._lock:
            obj = self._store.get((plural, namespace, name))
            return copy.deepcopy(obj) if obj else None

    @property
    def configmaps(self) -> dict[tuple[str, str], Obj]:
        """The ConfigMaps the server holds, by (namespace, name)."""
        with self._lock:
            return {(ns, n): copy.deepcopy(o) for (p, ns, n), o in self._store.items() if p == "configmaps"}

    # faults

    def forbid(self, resource: str, verb: str = "*", namespace: str | None = None) -> None:
        """Answer 403 for `verb` (list, get, create, update, patch, delete, watch or *) on `resource` ("nodes",
        "pods/log", "deployments"), in `namespace` only if given."""
        with self._lock:
            self._faults.forbidden.add((resource, verb, namespace))

    def delay(self, path: str, seconds: float, times: int | None = None) -> None:
        """Hold requests whose path matches the glob `path` for `seconds` before answering."""
        with self._lock:
            self._faults.delays.append((_Rule(path, times), seconds))

    def drop(self, path: str, times: int | None = None) -> None:
        """Close the connection half-way through the body of responses to paths matching `path`."""
        with self._lock:
            self._faults.drops.append(_Rule(path, times))

    def not_found(self, pod: str, namespace: str | None = None) -> None:
        """The pod is gone (deleted): get, log and list see no such pod any more."""
        with self._lock:
            for key in [k for k in self._store if k[0] == "pods" and k[2] == pod and namespace in (None, k[1])]:
                del self._store[key]

    def unready(self, check: str = "etcd", reason: str = "etcd client connection not yet established") -> None:
        """Make /readyz (and /livez, /healthz for ping-level checks) fail on `check`."""
        with self._lock:
            self._faults.unready[check] = reason

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = _Faults()

    def _is_forbidden(self, plural: str, verb: str, namespace: str | None) -> bool:
        with self._lock:
            return any(
                r == plural and v in (verb, "*") and ns in (None, namespace) for r, v, ns in self._faults.forbidden
            )

    def _delay_for(self, path: str) -> float:
        with self._lock:
            return sum(seconds for rule, seconds in self._faults.delays if rule.take(path))

    def _should_drop(self, path: str) -> bool:
        with self._lock:
            return any(rule.take(path) for rule in self._faults.drops)

    def wait(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def openapi_documents(self) -> dict[str, Obj]:
        by_gv: dict[str, list[tuple[str, str, bool]]] = {}
        for r in RESOURCES:
            by_gv.setdefault(r.api_version, []).append((r.plural, r.kind, r.namespaced))
        return {gv: openapi.document(gv, rs) for gv, rs in by_gv.items()}

    # request log helpers

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if fnmatch.fnmatchcase(r.path, path) and method in (None, r.method)]


# --- request handling ------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = ""
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def version_string(self) -> str:
        return ""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # plumbing

    def _user(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return self.server.api.tokens.get(auth[len("Bearer ") :].strip())
        cert = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        if cert:
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        return str(value)
        return None

    def _serve(self, method: str) -> None:
        api = self.server.api
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rec = RecordedRequest(
            method=method,
            path=parts.path,
            query=query,
            headers={h: self.headers[h] for h in HEADERS_OF_INTEREST if self.headers.get(h) is not None},
            user=self._user(),
            body=body,
        )
        with api._lock:
            api.requests.append(rec)
        pause = api._delay_for(parts.path)
        if pause:
            api.wait(pause)
            if api._stop.is_set():
                self.close_connection = True
                return
        try:
            # No credentials: system:anonymous, which may read only the public info paths (as with RBAC's
            # system:public-info-viewer). Credentials that do not authenticate: 401 everywhere.
            public = parts.path in ("/healthz", "/livez", "/readyz", "/version")
            if rec.user is None and (self.headers.get("Authorization") or not public):
                raise ApiError(status(401, "Unauthorized", "Unauthorized"))
            code, ctype, payload = _Router(api, rec, self.headers).route()
        except ApiError as err:
            code, ctype, payload = err.code, "application/json", json.dumps(err.body).encode()
        except Exception as exc:  # a bug here should read as a server error, not a hang
            body500 = status(500, "InternalError", f"an error on the server ({exc!r}) has prevented the request")
            code, ctype, payload = 500, "application/json", json.dumps(body500).encode()
        rec.status = code
        self._respond(code, ctype, payload, drop=api._should_drop(parts.path))

    def _respond(self, code: int, ctype: str, payload: bytes, *, drop: bool = False) -> None:
        self.send_response_only(code)  # no Server header: the API server sends none
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", ctype)
        self.send_header("X-Kubernetes-Pf-Flowschema-Uid", "c3ef7e0e-0bd5-4b0e-9b3a-6bc8e1a4e8d0")
        self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", "4d5a3f2c-6a36-4a5c-8e0e-6e5b8e2b7f11")
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if drop:
            self.wfile.write(payload[: max(1, len(payload) // 2)])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(payload)


def _json_bytes(doc: Any) -> bytes:
    return json.dumps(doc).encode()


class _Router:
    def __init__(self, api: ApiServer, rec: RecordedRequest, headers: Any) -> None:
        self.api = api
        self.rec = rec
        self.method = rec.method
        self.accept = str(headers.get("Accept") or "")
        self.ctype = str(headers.get("Content-Type") or "")

    def param(self, name: str, default: str | None = None) -> str | None:
        v = self.rec.param(name)
        return default if v is None else v

    def ok(self, doc: Any, code: int = 200, ctype: str = "application/json") -> tuple[int, str, bytes]:
        return code, ctype, _json_bytes(doc)

    def route(self) -> tuple[int, str, bytes]:
        path = self.rec.path.rstrip("/") or "/"
        api = self.api
        if path == "/version":
            return self.ok(api.version)
        if path in ("/readyz", "/livez", "/healthz") or path.startswith(("/readyz/", "/livez/", "/healthz/")):
            return self.health(path)
        if path == "/openapi/v3" and api.openapi:
            return self.ok(openapi.root(api.openapi_documents()))
        if path.startswith("/openapi/v3/") and api.openapi:
            gv = path[len("/openapi/v3/") :].removeprefix("api/").removeprefix("apis/")
            doc = api.openapi_documents().get(gv)
            if doc is not None:
                return self.ok(doc)
        if path.startswith("/openapi/"):
            raise self.not_found_path()
        if path == "/":
            paths = ["/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/apis/batch", "/apis/batch/v1"]
            paths += ["/healthz", "/livez", "/readyz", "/version"]
            return self.ok({"paths": paths})
        segs = path.strip("/").split("/")
        if segs[0] == "api":
            if len(segs) == 1:
                if self.wants_aggregated():
                    return self.ok(api.discovery.aggregated_api(), ctype=AGGREGATED_V2)
                return self.ok(api.discovery.api)
            if segs[1] != "v1":
                raise self.not_found_path()
            if len(segs) == 2:
                return self.ok(api.discovery.core_v1)
            return self.resource("", "v1", segs[2:])
        if segs[0] == "apis":
            if len(segs) == 1:
                if self.wants_aggregated():
                    return self.ok(api.discovery.aggregated_apis, ctype=AGGREGATED_V2)
                return self.ok(api.discovery.apis)
            group = api.discovery.group(segs[1])
            if group is None:
                raise self.not_found_path()
            if len(segs) == 2:
                return self.ok(group)
            gv = f"{segs[1]}/{segs[2]}"
            if gv not in api.discovery.group_versions:
                raise self.not_found_path()
            if len(segs) == 3:
                return self.ok(api.discovery.group_versions[gv])
            return self.resource(segs[1], segs[2], segs[3:])
        raise self.not_found_path()

    def wants_aggregated(self) -> bool:
        return self.api.aggregated_discovery and "as=APIGroupDiscoveryList" in self.accept and "v=v2;" in self.accept

    def wants_table(self) -> bool:
        return self.api.tables and "as=Table" in self.accept

    @staticmethod
    def not_found_path() -> ApiError:
        return ApiError(status(404, "NotFound", "the server could not find the requested resource", {}))

    def health(self, path: str) -> tuple[int, str, bytes]:
        with self.api._lock:
            unready = dict(self.api._faults.unready)
        checks = (
            READYZ_CHECKS if path.startswith("/readyz") else tuple(c for c in READYZ_CHECKS if c != "informer-sync")
        )
        if "/" in path.strip("/"):  # /readyz/etcd: one check
            name = path.strip("/").split("/", 1)[1]
            if name not in checks:
                raise self.not_found_path()
            if name in unready:
                return 500, "text/plain; charset=utf-8", f"internal server error: {unready[name]}\n".encode()
            return 200, "text/plain; charset=utf-8", b"ok"
        what = path.strip("/")
        failed = [c for c in checks if c in unready]
        verbose = "verbose" in self.rec.query
        if not failed and not verbose:
            return 200, "text/plain; charset=utf-8", b"ok"
        lines = [f"[-]{c} failed: reason withheld" if c in unready else f"[+]{c} ok" for c in checks]
        if failed:
            lines.append(f"{what} check failed")
            return 500, "text/plain; charset=utf-8", ("\n".join(lines) + "\n").encode()
        lines.append(f"{what} check passed")
        return 200, "text/plain; charset=utf-8", ("\n".join(lines) + "\n").encode()

    # resources

    def resource(self, group: str, version: str, segs: list[str]) -> tuple[int, str, bytes]:
        namespace: str | None = None
        if segs[0] == "namespaces" and len(segs) >= 3:
            namespace, segs = segs[1], segs[2:]
        res = BY_PATH.get((group, version, segs[0]))
        if res is None:
            raise self.not_found_path()
        if namespace is not None and not res.namespaced:
            raise self.not_found_path()
        name = segs[1] if len(segs) > 1 else None
        sub = "/".join(segs[2:]) or None
        if res.namespaced and name is not None and namespace is None:
            raise self.not_found_path()
        verb = self.verb(name)
        full = f"{res.plural}/{sub}" if sub else res.plural
        if self.api._is_forbidden(full, verb, namespace):
            raise self.forbidden(res, full, verb, name, namespace)
        if sub == "log" and res.plural == "pods" and self.method == "GET":
            assert name is not None and namespace is not None
            return self.pod_log(namespace, name)
        if sub is not None:
            raise self.not_found_path()
        if verb == "watch":
            raise ApiError(status(405, "MethodNotAllowed", "watch is not supported by this recorded API server"))
        if verb == "list":
            return self.list(res, namespace)
        if verb == "get":
            assert name is not None
            return self.get(res, name, namespace or "")
        if verb == "create":
            return self.create(res, namespace or "")
        if verb == "update":
            assert name is not None
            return self.update(res, name, namespace or "")
        if verb == "patch":
            assert name is not None
            return self.patch(res, name, namespace or "")
        if verb == "delete":
            assert name is not None
            return self.delete(res, name, namespace or "")
        raise ApiError(
            status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        )

    def verb(self, name: str | None) -> str:
        if self.method == "GET":
            if self.param("watch") in ("true", "1"):
                return "watch"
            return "get" if name else "list"
        return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(self.method, "unknown")

    def forbidden(self, res: Resource, full: str, verb: str, name: str | None, ns: str | None) -> ApiError:
        user = self.rec.user or "system:anonymous"
        where = f'in the namespace "{ns}"' if ns else "at the cluster scope"
        what = f'{res.qualified} "{name}"' if name else res.qualified
        message = (
            f'{what} is forbidden: User "{user}" cannot {verb} resource "{full}" in API group "{res.group}" {where}'
        )
        return ApiError(status(403, "Forbidden", message, res.details(name)))

    def not_found(self, res: Resource, name: str) -> ApiError:
        return ApiError(status(404, "NotFound", f'{res.qualified} "{name}" not found', res.details(name)))

    def list(self, res: Resource, namespace: str | None) -> tuple[int, str, bytes]:
        items = self.api.objects(res.plural, namespace)
        if sel := self.param("fieldSelector"):
            terms = parse_field_selector(res, sel)
            items = [o for o in items if all((_lookup(o, k) == v) == (op == "=") for k, op, v in terms)]
        if sel := self.param("labelSelector"):
            items = [o for o in items if _match_labels(o["metadata"].get("labels") or {}, sel)]
        with self.api._lock:
            rv = str(self.api._rv)
        if self.wants_table():
            return self.ok(table(res, items, rv, self.param("includeObject", "Metadata") or ""), ctype=TABLE_V1)
        for item in items:  # items of a list carry no kind/apiVersion, as from the real API server
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return self.ok(
            {
                "kind": f"{res.kind}List",
                "apiVersion": res.api_version,
                "metadata": {"resourceVersion": rv},
                "items": items,
            }
        )

    def get(self, res: Resource, name: str, namespace: str) -> tuple[int, str, bytes]:
        obj = self.api.get(res.plural, name, namespace)
        if obj is None:
            raise self.not_found(res, name)
        if self.wants_table():
            rv = obj["metadata"].get("resourceVersion", "")
            return self.ok(table(res, [obj], rv, self.param("includeObject", "Metadata") or ""), ctype=TABLE_V1)
        return self.ok(obj)

    # writes

    def body(self) -> Obj:
        raw = self.rec.body
        try:
            doc = json.loads(raw) if raw.lstrip()[:1] in (b"{", b"[") else yaml.safe_load(raw)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise ApiError(
                status(400, "BadRequest", f"the body of the request was in an unknown format: {exc}")
            ) from None
        if not isinstance(doc, dict):
            raise ApiError(status(400, "BadRequest", "the body of the request was in an unknown format"))
        return doc

    def check_namespace(self, res: Resource, namespace: str, obj: Obj) -> None:
        if not res.namespaced:
            return
        meta = obj.setdefault("metadata", {})
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise ApiError(
                status(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            )
        meta["namespace"] = namespace
        if self.api.get("namespaces", namespace) is None:
            ns_res = BY_PATH[("", "v1", "namespaces")]
            raise ApiError(status(404, "NotFound", f'namespaces "{namespace}" not found', ns_res.details(namespace)))

    def check_kind(self, res: Resource, obj: Obj) -> None:
        if obj.get("kind") not in (None, res.kind) or obj.get("apiVersion") not in (None, res.api_version):
            raise ApiError(
                status(
                    400,
                    "BadRequest",
                    f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API version "
                    f"({res.api_version})",
                )
            )
        obj["kind"], obj["apiVersion"] = res.kind, res.api_version
        if self.param("fieldValidation") == "Strict" and res.plural == "configmaps":
            unknown = sorted(set(obj) - {"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"})
            if unknown:
                raise ApiError(
                    status(
                        400,
                        "BadRequest",
                        f'{res.kind} in version "{res.version}" cannot be handled as a '
                        f'{res.kind}: strict decoding error: unknown field "{unknown[0]}"',
                    )
                )

    def stamp(self, obj: Obj, *, fresh: bool) -> None:
        meta = obj.setdefault("metadata", {})
        if fresh:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _now()
        meta["resourceVersion"] = self.api._next_rv()

    def store(self, res: Resource, namespace: str, obj: Obj) -> None:
        if self.param("dryRun") == "All":
            return
        with self.api._lock:
            if res.plural == "namespaces":
                self.api._put_namespace(obj["metadata"]["name"])
            self.api._store[(res.plural, namespace, obj["metadata"]["name"])] = copy.deepcopy(obj)

    def create(self, res: Resource, namespace: str) -> tuple[int, str, bytes]:
        obj = self.body()
        self.check_kind(res, obj)
        self.check_namespace(res, namespace, obj)
        name = (obj.get("metadata") or {}).get("name")
        if not name:
            generate = (obj.get("metadata") or {}).get("generateName")
            if not generate:
                raise ApiError(
                    status(
                        422,
                        "Invalid",
                        f'{res.kind} "" is invalid: metadata.name: Required value: name or generateName is required',
                        {"kind": res.kind},
                    )
                )
            name = obj["metadata"]["name"] = generate + uuid.uuid4().hex[:5]
        with self.api._lock:
            if self.api.get(res.plural, name, namespace) is not None:
                raise ApiError(
                    status(409, "AlreadyExists", f'{res.qualified} "{name}" already exists', res.details(name))
                )
            self.stamp(obj, fresh=True)
            self.store(res, namespace, obj)
        return self.ok(obj, 201)

    def update(self, res: Resource, name: str, namespace: str) -> tuple[int, str, bytes]:
        obj = self.body()
        self.check_kind(res, obj)
        self.check_namespace(res, namespace, obj)
        with self.api._lock:
            current = self.api.get(res.plural, name, namespace)
            if current is None:
                raise self.not_found(res, name)
            rv = obj["metadata"].get("resourceVersion")
            if rv and rv != current["metadata"].get("resourceVersion"):
                raise ApiError(
                    status(
                        409,
                        "Conflict",
                        f'Operation cannot be fulfilled on {res.qualified} "{name}": the '
                        "object has been modified; please apply your changes to the latest version and "
                        "try again",
                        res.details(name),
                    )
                )
            obj["metadata"]["uid"] = current["metadata"]["uid"]
            obj["metadata"]["creationTimestamp"] = current["metadata"]["creationTimestamp"]
            self.stamp(obj, fresh=False)
            self.store(res, namespace, obj)
        return self.ok(obj)

    def patch(self, res: Resource, name: str, namespace: str) -> tuple[int, str, bytes]:
        ctype = self.ctype.split(";")[0].strip()
        with self.api._lock:
            current = self.api.get(res.plural, name, namespace)
            if ctype == "application/apply-patch+yaml":
                return self.apply(res, name, namespace, current)
            if current is None:
                raise self.not_found(res, name)
            if ctype == "application/merge-patch+json":
                new = merge_patch(current, self.body())
            elif ctype == "application/strategic-merge-patch+json":
                new = strategic_merge_patch(current, self.body())
            elif ctype == "application/json-patch+json":
                raise ApiError(
                    status(415, "UnsupportedMediaType", "json-patch is not supported by this recorded API server")
                )
            else:
                raise ApiError(
                    status(
                        415,
                        "UnsupportedMediaType",
                        "the body of the request was in an unknown format - accepted media types include: "
                        + ", ".join(openapi.PATCH_TYPES),
                    )
                )
            new["metadata"]["uid"] = current["metadata"]["uid"]
            new["metadata"]["name"] = name
            if res.namespaced:
                new["metadata"]["namespace"] = namespace
            self.stamp(new, fresh=False)
            self.store(res, namespace, new)
        return self.ok(new)

    def apply(self, res: Resource, name: str, namespace: str, current: Obj | None) -> tuple[int, str, bytes]:
        applied = self.body()
        self.check_kind(res, applied)
        if res.namespaced:
            self.check_namespace(res, namespace, applied)
        if (applied.get("metadata") or {}).get("name") not in (None, name):
            raise ApiError(status(400, "BadRequest", "the name of the object does not match the name on the URL"))
        manager = self.param("fieldManager")
        if not manager:
            raise ApiError(status(400, "BadRequest", "PATCH requests with apply content type require fieldManager"))
        key = (res.plural, namespace, name, manager)
        if current is None:
            new = copy.deepcopy(applied)
            new["metadata"]["name"] = name
            self.stamp(new, fresh=True)
            code = 201
        else:
            base = _prune(current, self.api._applied.get(key), applied)
            new = _deep_merge(base, applied)
            new["metadata"]["uid"] = current["metadata"]["uid"]
            new["metadata"]["creationTimestamp"] = current["metadata"]["creationTimestamp"]
            self.stamp(new, fresh=False)
            code = 200
        if self.param("dryRun") != "All":
            self.api._applied[key] = copy.deepcopy(applied)
        self.store(res, namespace, new)
        return self.ok(new, code)

    def delete(self, res: Resource, name: str, namespace: str) -> tuple[int, str, bytes]:
        with self.api._lock:
            current = self.api.get(res.plural, name, namespace)
            if current is None:
                raise self.not_found(res, name)
            if self.param("dryRun") != "All":
                del self.api._store[(res.plural, namespace, name)]
        return self.ok(current)

    # logs

    def pod_log(self, namespace: str, name: str) -> tuple[int, str, bytes]:
        pods = BY_PATH[("", "v1", "pods")]
        pod = self.api.get("pods", name, namespace)
        if pod is None:
            raise self.not_found(pods, name)
        spec, st = pod.get("spec") or {}, pod.get("status") or {}
        names = [c["name"] for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])]
        container = self.param("container")
        if not container:
            main = [c["name"] for c in spec.get("containers") or []]
            if len(main) != 1:
                raise ApiError(
                    status(
                        400,
                        "BadRequest",
                        f"a container name must be specified for pod {name}, choose one of: [{' '.join(main)}]",
                    )
                )
            container = main[0]
        if container not in names:
            raise ApiError(status(400, "BadRequest", f"container {container} is not valid for pod {name}"))
        previous = self.param("previous") in ("true", "1")
        cstatus = next(
            (
                c
                for c in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or [])
                if c.get("name") == container
            ),
            {},
        )
        with self.api._lock:
            text = self.api._logs.get((namespace, name, container, previous))
        if previous and text is None:
            raise ApiError(
                status(400, "BadRequest", f'previous terminated container "{container}" in pod "{name}" not found')
            )
        waiting = (cstatus.get("state") or {}).get("waiting")
        if text is None and waiting is not None and not int(cstatus.get("restartCount") or 0):
            reason = waiting.get("reason") or "ContainerCreating"
            why = {
                "ImagePullBackOff": "trying and failing to pull image",
                "ErrImagePull": "trying and failing to pull image",
                "InvalidImageName": "image can't be pulled",
            }.get(reason, reason)
            raise ApiError(
                status(400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: {why}')
            )
        data = (text or "").encode()
        tail = self.param("tailLines")
        if tail is not None:
            n = int(tail)
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-n:]) if n > 0 else b""
        limit = self.param("limitBytes")
        if limit is not None:
            data = data[: int(limit)]
        return 200, "text/plain", data
