"""KD7xx: Kubernetes versions, skew, reachability, node architecture and failing pods."""

from __future__ import annotations

from collections.abc import Iterator

from kdoctor import versions
from kdoctor.checks.catalogue import Ctx, check
from kdoctor.facts.model import Facts
from kdoctor.report.model import Finding, Severity


@check("KD701", needs=("minikube", "tools.minikube"))
def minikube_k8s_version(facts: Facts, c: Ctx) -> Iterator[Finding]:
    mk = facts.minikube
    assert mk is not None
    tool = facts.tools.get("minikube")
    rng = versions.minikube_supported_range(tool.version if tool else None)
    if rng is None:
        if tool and tool.version:
            # Read, but older than every release in kdoctor's table (kdoctor/versions.py).
            yield c.info(
                f"minikube {tool.version} predates kdoctor's table of supported Kubernetes versions; "
                "supported Kubernetes range not checked"
            )
        else:
            yield c.info("the installed minikube version is unknown; supported Kubernetes range not checked")
        return
    oldest, newest, exact = rng
    lo, hi = versions.parse(oldest), versions.parse(newest)
    assert lo and hi
    found = False
    for p in mk.profiles:
        v = versions.parse(p.kubernetes_version)
        if v is None or v == (0, 0, 0):  # --no-kubernetes
            continue
        data = {"profile": p.name, "kubernetes_version": p.kubernetes_version, "oldest": oldest, "newest": newest}
        if v < lo:
            found = True
            yield c.problem(
                f"profile {p.name!r} pins Kubernetes {p.kubernetes_version}, older than the oldest "
                f"minikube {tool.version if tool else '?'} supports ({oldest})",
                subject=p.name,
                data=data,
            )
        elif v > hi and exact:
            found = True
            yield c.problem(
                f"profile {p.name!r} pins Kubernetes {p.kubernetes_version}, newer than the newest "
                f"minikube {tool.version if tool else '?'} supports ({newest})",
                subject=p.name,
                data=data,
            )
    if not found:
        yield c.ok(f"minikube supports Kubernetes {oldest} to {newest}" + ("" if exact else " or newer"))


@check("KD702", needs=("kubectl.server",))
def kubectl_skew(facts: Facts, c: Ctx) -> Iterator[Finding]:
    k = facts.kubectl
    assert k is not None
    cv, sv = versions.parse(k.client_version), versions.parse(k.server_version)
    if cv is None or sv is None:
        # Both answered but a version did not parse: not looked at, so not "ok".
        yield c.info(f"kubectl {k.client_version or '?'} vs server {k.server_version or '?'}: versions not compared")
        return
    skew = cv[1] - sv[1] if cv[0] == sv[0] else 99
    data = {"client": k.client_version, "server": k.server_version, "skew": skew}
    if abs(skew) > 1:
        yield c.problem(
            f"kubectl {k.client_version} is {abs(skew)} minor versions "
            f"{'newer' if skew > 0 else 'older'} than the API server {k.server_version}; "
            "kubectl is supported within one minor version",
            data=data,
        )
    else:
        yield c.ok(f"kubectl {k.client_version} vs server {k.server_version}", data=data)


@check("KD703", needs=("kind", "tools.kind"))
def kind_node_image(facts: Facts, c: Ctx) -> Iterator[Finding]:
    kd = facts.kind
    assert kd is not None
    tool = facts.tools.get("kind")
    default = versions.kind_default_image(tool.version if tool else None)
    dv = versions.parse(default.split(":", 1)[1]) if default else None
    found = False
    for cl in kd.clusters:
        for n in cl.nodes:
            if not n.image:
                continue
            tag = n.image.split("@")[0].rsplit(":", 1)[-1]
            nv = versions.parse(tag)
            if dv and nv and nv[:2] > dv[:2]:
                found = True
                yield c.problem(
                    f"kind cluster {cl.name!r} runs {n.image}, built for a newer kind than the installed "
                    f"{tool.version if tool else '?'} (default {default.split('@')[0] if default else '?'})",
                    subject=cl.name,
                    data={"cluster": cl.name, "image": n.image},
                )
                break
    if found:
        return
    if any(n.image for cl in kd.clusters for n in cl.nodes) and dv is None:
        yield c.info("the installed kind's version (or its default node image) is unknown: node images not compared")
    else:
        yield c.ok("kind node images match the installed kind" if kd.clusters else "no kind clusters")


@check("KD704", needs=("kubectl",))
def context_unreachable(facts: Facts, c: Ctx) -> Iterator[Finding]:
    k = facts.kubectl
    assert k is not None
    if not k.current_context:
        yield c.info("no current kube context: no cluster to check")
    elif k.server_reachable:
        yield c.ok(f"context {k.current_context!r} answers (Kubernetes {k.server_version})")
    else:
        ctx = k.current_context
        cmds: list[str] = []
        if ctx.startswith("kind-"):
            cmds.append(f"docker start {ctx[5:]}-control-plane")
        elif facts.minikube and any(p.name == ctx for p in facts.minikube.profiles):
            cmds.append(f"minikube start -p {ctx}")
        yield c.problem(
            f"the current context {ctx!r} does not answer: {k.server_error or 'no reply'}",
            subject=ctx,
            commands=cmds or None,
            data={"context": ctx},
        )


@check("KD705", needs=("host", "kubectl.nodes"))
def node_arch(facts: Facts, c: Ctx) -> Iterator[Finding]:
    k = facts.kubectl
    assert k is not None
    if not k.nodes:
        yield c.ok("no nodes to check")
        return
    if not facts.apple_silicon():
        yield c.ok(f"node architectures: {', '.join(sorted({n.arch or '?' for n in k.nodes}))}")
        return
    bad = [n for n in k.nodes if n.arch and n.arch != "arm64"]
    for n in bad:
        yield c.problem(
            f"node {n.name!r} is {n.arch}: on this Apple Silicon Mac everything it runs is emulated",
            subject=n.name,
            data={"node": n.name, "arch": n.arch},
        )
    unknown = [n.name for n in k.nodes if not n.arch]
    if not bad and unknown:
        yield c.info(f"node(s) {', '.join(unknown)} did not report an architecture")
    elif not bad:
        yield c.ok(f"{len(k.nodes)} node(s), all arm64")


@check("KD706", needs=("kubectl.pods",))
def failing_pods(facts: Facts, c: Ctx) -> Iterator[Finding]:
    k = facts.kubectl
    assert k is not None
    for p in k.failing_pods:
        yield c.problem(
            f"pod {p.namespace}/{p.name} is in {p.reason}"
            + (f" (container {p.container}, image {p.image})" if p.container else ""),
            subject=f"{p.namespace}/{p.name}",
            severity=Severity.WARNING,
            commands=(f"kdoctor why {p.name} -n {p.namespace}",),
            data=p.model_dump(),
        )
    if not k.failing_pods:
        yield c.ok("no pod is crash-looping or failing to pull")
