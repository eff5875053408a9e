"""KD2xx: the command-line tools on PATH."""

from __future__ import annotations

from collections.abc import Iterator

from kdoctor.checks.catalogue import Ctx, check
from kdoctor.facts.model import Facts
from kdoctor.report.model import Finding

NATIVE = ("arm64", "universal")


@check("KD201", needs=("host", "tools"))
def tool_binary_arch(facts: Facts, c: Ctx) -> Iterator[Finding]:
    """kubectl, kind and docker built for x86_64 on an arm64 Mac (minikube is KD502)."""
    if not facts.apple_silicon():
        yield c.ok("not an Apple Silicon host")
        return
    found = False
    native, unsure, absent = [], [], []
    for name in ("kubectl", "kind", "docker"):
        t = facts.tools.get(name)
        if t is None or not t.path:
            absent.append(name)
        elif t.binary_arch == "x86_64":
            found = True
            yield c.problem(
                f"{name} at {t.path} is an x86_64 binary and runs under Rosetta",
                subject=name,
                data={"path": t.path, "binary_arch": t.binary_arch},
            )
        elif t.binary_arch in NATIVE:
            native.append(f"{name} {t.binary_arch}")
        else:
            # A shell-script shim (asdf, mise, a wrapper) or an unreadable file says nothing about the binary it runs.
            unsure.append(f"{name} at {t.path} is {'a script (a shim)' if t.binary_arch == 'script' else 'unreadable'}")
    if found:
        return
    tail = f"; not installed: {', '.join(absent)}" if absent else ""
    if unsure:
        yield c.info(f"{'; '.join(unsure)}: the binary it runs was not checked" + tail)
    elif native:
        yield c.ok(", ".join(native) + tail)
    else:
        yield c.info(f"not installed: {', '.join(absent)}")


@check("KD202", needs=("tools",))
def tools_missing(facts: Facts, c: Ctx) -> Iterator[Finding]:
    def present(name: str) -> bool:
        t = facts.tools.get(name)
        return bool(t and t.path)

    missing = []
    if not present("kubectl"):
        missing.append("kubectl")
    if not present("minikube") and not present("kind"):
        missing.append("minikube or kind")
    if not present("docker"):
        missing.append("docker (the CLI)")
    if missing:
        yield c.problem(f"not on PATH: {', '.join(missing)}", data={"missing": missing})
    else:
        versions = ", ".join(
            f"{n} {facts.tools[n].version or '?'}" for n in ("kubectl", "minikube", "kind", "docker") if present(n)
        )
        yield c.ok(versions)


@check("KD203", needs=("tools",))
def tools_answer(facts: Facts, c: Ctx) -> Iterator[Finding]:
    """A tool that is installed but does not answer sensibly (hangs, fails, prints garbage)."""
    problems = [(t.name, t.error) for t in facts.tools.values() if t.path and t.error]
    if facts.kind:
        problems += [("kind", e) for e in facts.kind.errors]
    for name, error in problems:
        yield c.problem(f"{name}: {error}", subject=name, data={"tool": name})
    if not problems:
        yield c.ok("every installed tool answered")
