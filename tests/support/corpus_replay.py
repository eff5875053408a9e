"""Replay the labelled diagnose corpus (tests/corpus/diagnose/<case>/) through the fakes, and score kdoctor
against the expert conclusions that were written before any run.

Each case.yaml keeps its `expert:` labels untouched; the `replay:` section (added for issue 12) says
- `inputs`: which capture answers which tool call, and the conversion applied when kdoctor asks a format the
  capture lacks (each converter below says exactly what it does; none adds a value the capture does not show);
- `conclusions`: the expert conclusions kdoctor has a fact or a finding for, each as one assertion:
  `fact: <path>` + `expect:` (a fact's value), `finding: KDnnn` + `severity:` (a problem kdoctor should flag), or
  `not_flagged: KDnnn` (a `healthy` item kdoctor must not flag);
- `not_checked`: the conclusions kdoctor has no fact or finding for, with why.

A held-out case (tests/corpus/heldout-b/diagnose/<case>/, issue 25) keeps its case.yaml untouched: the same
section sits beside it as replay.yaml (plus `not_replayed`: the captures no converter can replay, with why), and
load_case merges it in under `replay`.

Run `python -m tests.support.corpus_replay` for the summary (conclusions reached X of Y, per case); `--root DIR`
replays another corpus (e.g. `--root tests/corpus/heldout-b/diagnose`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).parent.parent / "corpus" / "diagnose"
FAKES = Path(__file__).parent.parent / "fakes"
GIB = 1024**3

Rows = dict[str, list[dict[str, Any]]]


def _row(tool: str, argv: list[str], stdout: str = "", stderr: str = "", code: int = 0) -> Rows:
    return {tool: [{"argv": argv, "stdout": stdout, "stderr": stderr, "code": code}]}


def _size(text: str) -> int | None:
    """docker info's human size ("7.667GiB", "1.944GiB", "512MiB") in bytes."""
    m = re.match(r"([\d.]+)\s*([KMGT]i?B)", text.strip())
    if not m:
        return None
    unit = {"KiB": 1024, "MiB": 1024**2, "GiB": GIB, "TiB": 1024**4, "KB": 1000, "MB": 1000**2, "GB": 1000**3}
    return int(float(m.group(1)) * unit.get(m.group(2), 1))


def _pairs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and value.strip() and key not in out:
            out[key.strip()] = value.strip()
    return out


def docker_info_text(text: str) -> Rows:
    """Human `docker info` -> the JSON of `docker system info --format '{{json .}}'`: the fields kdoctor reads
    (ServerVersion, KernelVersion, OperatingSystem, OSType, Architecture, NCPU, MemTotal, Name, and the Client
    section's Context as ClientInfo.Context), copied from the text where the text has them; a field the excerpt
    lacks stays absent. An "ERROR:" under Server becomes ServerErrors (exit 1), as the CLI prints it."""
    client, _, server = text.partition("\nServer:")
    if not server:
        client, server = "", text
    ckv = _pairs(client)
    kv = _pairs(server)
    doc: dict[str, Any] = {}
    rows: Rows = {"docker": []}
    if ckv.get("Context"):
        doc["ClientInfo"] = {"Context": ckv["Context"]}
    if ckv.get("Version"):
        # The Client section's Version answers `docker version --format '{{json .Client}}'` too.
        client_json = json.dumps({"Version": ckv["Version"]}) + "\n"
        rows["docker"].append({"argv": ["version", "--format", "{{json .Client}}"], "stdout": client_json})
    errors = [ln.strip()[len("ERROR:") :].strip() for ln in server.splitlines() if ln.strip().startswith("ERROR:")]
    if errors:
        # The engine did not answer: the CLI prints client JSON with ServerErrors and exits 1.
        doc["ServerErrors"] = errors
        rows["docker"].append({"argv": ["system", "info"], "stdout": json.dumps(doc) + "\n", "code": 1})
        return rows
    for label, key in (
        ("Server Version", "ServerVersion"),
        ("Kernel Version", "KernelVersion"),
        ("Operating System", "OperatingSystem"),
        ("OSType", "OSType"),
        ("Architecture", "Architecture"),
        ("Name", "Name"),
    ):
        if label in kv:
            doc[key] = kv[label]
    if kv.get("CPUs", "").isdigit():
        doc["NCPU"] = int(kv["CPUs"])
    if "Total Memory" in kv and _size(kv["Total Memory"]):
        doc["MemTotal"] = _size(kv["Total Memory"])
    rows["docker"].append({"argv": ["system", "info"], "stdout": json.dumps(doc) + "\n"})
    return rows


def docker_version_text(text: str) -> Rows:
    """Human `docker version` -> the three answers kdoctor asks of it: `version --format '{{json .Client}}'`
    (Version, ApiVersion, Os/Arch of the Client section), `version --format '{{json .Server.Platform.Name}}'`
    (the text after "Server:"), and, because kdoctor asks `docker system info` which the thread did not paste,
    that JSON with only what the Server section shows (ServerVersion, OSType and Architecture from
    Engine's OS/Arch) and the Client section's `Context:` as ClientInfo.Context."""
    client, _, server = text.partition("\nServer:")
    ckv = _pairs(client)
    os_, _, arch = ckv.get("OS/Arch", "/").partition("/")
    cdoc = {"Version": ckv.get("Version"), "ApiVersion": ckv.get("API version"), "Os": os_, "Arch": arch}
    rows: Rows = {"docker": []}
    rows["docker"].append({"argv": ["version", "--format", "{{json .Client}}"], "stdout": json.dumps(cdoc) + "\n"})
    if server:
        platform = server.splitlines()[0].strip()
        rows["docker"].append(
            {"argv": ["version", "--format", "{{json .Server.Platform.Name}}"], "stdout": json.dumps(platform) + "\n"}
        )
        engine = server.split("Engine:", 1)[-1].split("containerd:", 1)[0]
        skv = _pairs(engine)
        doc: dict[str, Any] = {}
        if ckv.get("Context"):  # the Client section's `Context:` line is docker info's ClientInfo.Context
            doc["ClientInfo"] = {"Context": ckv["Context"]}
        if "Version" in skv:
            doc["ServerVersion"] = skv["Version"]
        if "/" in skv.get("OS/Arch", ""):
            doc["OSType"], _, doc["Architecture"] = skv["OS/Arch"].partition("/")
        rows["docker"].append({"argv": ["system", "info"], "stdout": json.dumps(doc) + "\n"})
    return rows


def kubectl_version_text(text: str) -> Rows:
    """`kubectl version` (--short or the old Go-struct form) -> `kubectl version -o json`: the gitVersion of
    each side shown; a WARNING line goes to stderr as kubectl prints it. With no server line the run is the
    failure kubectl prints after the client version (its stderr is not in the capture: an empty line)."""
    doc: dict[str, Any] = {}
    warn = []
    for line in text.splitlines():
        m = re.match(r"(Client|Server) Version: (?:version\.Info\{.*?GitVersion:\"([^\"]+)\".*|(\S+))", line)
        if m:
            doc["clientVersion" if m.group(1) == "Client" else "serverVersion"] = {
                "gitVersion": m.group(2) or m.group(3)
            }
        elif line.startswith("WARNING"):
            warn.append(line)
    code = 0 if "serverVersion" in doc else 1
    stderr = "\n".join(warn) + ("\n" if warn else "")
    return _row("kubectl", ["version", "-o", "json"], json.dumps(doc, indent=2) + "\n", stderr, code)


def kubectl_error(text: str) -> Rows:
    """kubectl's stderr as pasted, answering `kubectl version -o json` (exit 1, no stdout)."""
    return _row("kubectl", ["version", "-o", "json"], "", text, 1)


def replay_context(name: str) -> Callable[[str], Rows]:
    """`kubectl config current-context`: the threads do not paste it; the placeholder `replayed-context` lets
    kdoctor ask the server (it says nothing about the product)."""
    return lambda _text: _row("kubectl", ["config", "current-context"], name + "\n")


def plain(tool: str, *argv: str) -> Callable[[str], Rows]:
    """The capture is already the format kdoctor asks (e.g. `kind version`)."""
    return lambda text: _row(tool, list(argv), text if text.endswith("\n") else text + "\n")


def minikube_start(text: str) -> Rows:
    """A `minikube start` log -> `minikube version -o json` (from its first line) and, when the log shows the
    machine being created, `minikube profile list -o json` with what the log states: driver ("Using the X
    driver"), CPUs and Memory ("Creating X VM (CPUs=2, Memory=4000MB...)"), Kubernetes version and container
    runtime ("Preparing Kubernetes v1.25.1 on Docker ..."), profile name from "[name]" or "minikube"."""
    rows: Rows = {"minikube": []}
    first = re.search(r"(?:\[(\S+)\]\s+)?minikube (v\d+\.\d+\.\d+)", text)
    if first:
        rows["minikube"].append(
            {"argv": ["version", "-o", "json"], "stdout": json.dumps({"minikubeVersion": first.group(2)}) + "\n"}
        )
    drv = re.search(r"Using the (\w+)(?: \(experimental\))? driver", text)
    made = re.search(r"Creating (\w+) (?:VM|container) \(CPUs=(\d+), Memory=(\d+)MB", text)
    k8s = re.search(r"Preparing Kubernetes (v[\d.]+) on (\w+)", text)
    if drv and made:
        name = first.group(1) if first and first.group(1) else "minikube"
        cfg: dict[str, Any] = {
            "Name": name,
            "Driver": drv.group(1),
            "CPUs": int(made.group(2)),
            "Memory": int(made.group(3)),
            "Nodes": [{"Name": "", "ControlPlane": True}],
        }
        if k8s:
            cfg["KubernetesConfig"] = {"KubernetesVersion": k8s.group(1), "ContainerRuntime": k8s.group(2).lower()}
        doc = {"invalid": [], "valid": [{"Name": name, "Config": cfg}]}
        rows["minikube"].append({"argv": ["profile", "list", "-o", "json"], "stdout": json.dumps(doc) + "\n"})
    return rows


def podman_info_yaml(text: str) -> Rows:
    """`podman info` (its default YAML) -> `podman info --format json`: the same document re-serialised (podman
    prints the same keys in both)."""
    return _row("podman", ["info", "--format", "json"], json.dumps(yaml.safe_load(text)) + "\n")


def close_json(text: str) -> str:
    """Close the brackets a cut-off JSON paste left open (adds only closing brackets, after a trailing comma
    is dropped)."""
    stack: list[str] = []
    in_str = esc = False
    for ch in text:
        if in_str:
            esc, in_str = (False, in_str) if esc else (ch == "\\", ch != '"')
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            stack.append("]" if ch == "[" else "}")
        elif ch in "]}" and stack:
            stack.pop()
    body = text.rstrip().rstrip(",")
    return body + "".join(reversed(stack)) + "\n"


def podman_machine_inspect(text: str) -> Rows:
    """`podman machine inspect` JSON as pasted; when the paste was cut, its open brackets are closed
    (close_json), so the fields it does show parse."""
    return _row("podman", ["machine", "inspect"], close_json(text))


def _table(text: str) -> list[dict[str, str]]:
    """A fixed-width CLI table (header words start the columns; a blank cell stays blank)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    rows = []
    for ln in lines[1:]:
        cells = [ln[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


def _gib_bytes(v: str) -> int | None:
    return _size(v) if v else None


def colima_list_table(text: str) -> Rows:
    """`colima list` table -> `colima list --json` lines, with the keys `colima ls -j` prints (name, status, arch,
    cpus, memory and disk in bytes, runtime, address: corpus colima-x86_64-vz-label-m4-colima1304); a blank
    cell is left out."""
    out = []
    for r in _table(text):
        doc: dict[str, Any] = {"name": r["PROFILE"], "status": r["STATUS"], "arch": r["ARCH"]}
        if r.get("CPUS", "").isdigit():
            doc["cpus"] = int(r["CPUS"])
        for col, key in (("MEMORY", "memory"), ("DISK", "disk")):
            if _gib_bytes(r.get(col, "")):
                doc[key] = _gib_bytes(r[col])
        for col, key in (("RUNTIME", "runtime"), ("ADDRESS", "address")):
            if r.get(col):
                doc[key] = r[col]
        out.append(json.dumps(doc))
    return _row("colima", ["list", "--json"], "\n".join(out) + "\n")


def limactl_list_table(text: str) -> Rows:
    """`limactl list` table -> `limactl list --json` lines with Lima's keys for the columns shown (name, status,
    vmType, arch, cpus, memory and disk in bytes, dir)."""
    out = []
    for r in _table(text):
        doc: dict[str, Any] = {"name": r["NAME"], "status": r["STATUS"], "vmType": r["VMTYPE"], "arch": r["ARCH"]}
        if r.get("CPUS", "").isdigit():
            doc["cpus"] = int(r["CPUS"])
        for col, key in (("MEMORY", "memory"), ("DISK", "disk")):
            if _gib_bytes(r.get(col, "")):
                doc[key] = _gib_bytes(r[col])
        doc["dir"] = r.get("DIR")
        out.append(json.dumps(doc))
    return _row("limactl", ["list", "--json"], "\n".join(out) + "\n")


CONVERTERS: dict[str, Callable[[str], Rows]] = {
    "docker-info-text": docker_info_text,
    "docker-version-text": docker_version_text,
    "kubectl-version-text": kubectl_version_text,
    "kubectl-error": kubectl_error,
    "kubectl-context-placeholder": replay_context("replayed-context"),
    "kind-version": plain("kind", "version"),
    "minikube-start-log": minikube_start,
    "podman-info-yaml": podman_info_yaml,
    "podman-machine-inspect": podman_machine_inspect,
    "colima-list-json": plain("colima", "list", "--json"),
    "colima-list-table": colima_list_table,
    "limactl-list-table": limactl_list_table,
}


def load_case(case: Path) -> dict[str, Any]:
    doc = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    sidecar = case / "replay.yaml"
    if sidecar.is_file():
        # A held-out case's mapping, written beside its untouched case.yaml.
        if "replay" in doc:
            raise ValueError(f"{case.name}: both case.yaml and replay.yaml have a replay section")
        doc["replay"] = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    return doc


def cases(root: Path = CORPUS) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "case.yaml").is_file())


def replay_rows(case: Path) -> Rows:
    spec = load_case(case).get("replay") or {}
    rows: Rows = {}
    for item in spec.get("inputs") or []:
        text = (case / item["from"]).read_text(encoding="utf-8") if item.get("from") else ""
        for tool, more in CONVERTERS[item["convert"]](text).items():
            rows.setdefault(tool, []).extend(more)
    return rows


@dataclass
class Outcome:
    label: str
    reached: bool
    detail: str


def _get(obj: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if obj is None:
            return None
        if part.startswith("["):
            idx = int(part[1:-1])
            obj = obj[idx] if isinstance(obj, list) and len(obj) > idx else None
        elif isinstance(obj, dict):
            obj = obj.get(part)
        else:
            obj = getattr(obj, part, None)
    return obj


def fact_value(facts: Any, path: str) -> Any:
    if path.startswith("vms.running."):
        # The VM that is running (the corpus cases have one).
        vm = next((v for v in (_get(facts, "vms") or []) if (v.status or "").lower() == "running"), None)
        field = path[len("vms.running.") :]
        if field == "memory_gib":
            return round(vm.memory / GIB, 1) if vm and vm.memory else None
        return _get(vm, field)
    if path == "minikube.memory_gib":
        mb = _get(facts, "minikube.profiles[0].memory_mb")
        return round(mb / 1024, 1) if mb else None
    if path == "engine.memory_gib":
        mem = _get(facts, "engine.mem_total")
        return round(mem / GIB, 1) if mem else None
    return _get(facts, path)


def judge(facts: Any, findings: list[dict[str, Any]], conclusion: dict[str, Any]) -> Outcome:
    label = str(conclusion["label"])
    if "fact" in conclusion:
        got, want = fact_value(facts, conclusion["fact"]), conclusion["expect"]
        ok = abs(got - want) <= 0.15 if isinstance(want, float) and isinstance(got, (int, float)) else got == want
        return Outcome(label, ok, f"{conclusion['fact']} = {got!r} (expert: {want!r})")
    if "finding" in conclusion:
        sev = conclusion.get("severity", ["warning", "error"])
        sevs = [sev] if isinstance(sev, str) else list(sev)
        hits = [f for f in findings if f["id"] == conclusion["finding"] and f["severity"] in sevs]
        seen = [f"{f['severity']}: {f['message']}" for f in findings if f["id"] == conclusion["finding"]]
        return Outcome(label, bool(hits), f"{conclusion['finding']} {sevs}: {seen or 'no finding'}")
    cid = conclusion["not_flagged"]
    bad = [f for f in findings if f["id"] == cid and f["severity"] in ("warning", "error")]
    return Outcome(label, not bad, f"{cid} not flagged: {[f['message'] for f in bad] or 'ok'}")


def run_case(case: Path, workdir: Path) -> tuple[Any, list[dict[str, Any]]]:
    """Gather facts through the fakes (only the tools the case has captures for, plus the host's) and run the
    checks: kdoctor diagnose's own pipeline. The caller sets HOME/PATH to workdir's."""
    from kdoctor.checks.run import run_checks
    from kdoctor.facts.gather import gather
    from kdoctor.runner import SubprocessRunner

    rows = replay_rows(case)
    replay = workdir / "replay.json"
    replay.write_text(json.dumps(rows), encoding="utf-8")
    os.environ["FAKE_REPLAY"] = str(replay)
    bindir = workdir / "bin"
    for tool in ("uname", "sysctl", "sw_vers", *rows):
        target = bindir / tool
        if not target.exists():
            target.symlink_to(FAKES / tool)
    # The threads are Macs (most say which Apple chip); the host is the fakes' M2 Pro (uname, sysctl, sw_vers).
    facts = gather(SubprocessRunner(), home=workdir / "home")
    report = run_checks(facts)
    return facts, [f.to_json() for f in report.findings]


def score(case: Path, facts: Any, findings: list[dict[str, Any]]) -> list[Outcome]:
    spec = load_case(case).get("replay") or {}
    return [judge(facts, findings, c) for c in spec.get("conclusions") or []]


def setup_machine(root: Path) -> Path:
    """A HOME and a PATH holding only fakes (the same set-up as tests/conftest.py's machine fixture)."""
    for d in ("bin", "home", "state"):
        (root / d).mkdir(parents=True, exist_ok=True)
    py = root / "bin" / "python3"
    if not py.exists():
        py.symlink_to(sys.executable)
    os.environ.update(
        HOME=str(root / "home"),
        PATH=str(root / "bin"),
        FAKE_STATE=str(root / "state"),
        FAKE_SYSCTL_sysctl_proc_translated="0",
        FAKE_SYSCTL_hw_optional_arm64="1",
        FAKE_SYSCTL_machdep_cpu_brand_string="Apple M2 Pro",
        FAKE_SYSCTL_hw_memsize=str(32 * GIB),
        FAKE_SYSCTL_hw_ncpu="12",
    )
    for var in ("DOCKER_HOST", "DOCKER_CONTEXT", "KUBECONFIG", "MINIKUBE_HOME", "COLIMA_HOME", "FAKE_KUBE_DIR"):
        os.environ.pop(var, None)
    return root


def main(argv: list[str] | None = None) -> int:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m tests.support.corpus_replay")
    parser.add_argument("--root", type=Path, default=CORPUS, help="the corpus to replay (default: %(default)s)")
    corpus = parser.parse_args(argv).root
    total_x = total_y = 0
    for case in cases(corpus):
        with tempfile.TemporaryDirectory() as tmp:
            root = setup_machine(Path(tmp))
            facts, findings = run_case(case, root)
        outcomes = score(case, facts, findings)
        x = sum(o.reached for o in outcomes)
        total_x, total_y = total_x + x, total_y + len(outcomes)
        print(f"{x:3d}/{len(outcomes):<3d} {case.name}")
        for o in outcomes:
            if not o.reached:
                print(f"          miss {o.label}: {o.detail}")
    print(f"conclusions reached {total_x} of {total_y} in {len(cases(corpus))} cases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
