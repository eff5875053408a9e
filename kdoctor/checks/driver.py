"""KD5xx: the minikube driver and binary on Apple Silicon."""

from __future__ import annotations

from collections.abc import Iterator

from kdoctor.checks.catalogue import Ctx, check
from kdoctor.facts.model import Facts
from kdoctor.report.model import Finding, Severity

# minikube's supportedDrivers for darwin/arm64 (pkg/minikube/driver/driver_darwin.go).
ARM64_DRIVERS = {"docker", "podman", "qemu2", "qemu", "vfkit", "krunkit", "parallels", "ssh"}
VM_DRIVERS_NO_AMD64 = {"qemu2", "qemu", "krunkit", "parallels"}


@check("KD501", needs=("host", "minikube"))
def minikube_driver(facts: Facts, c: Ctx) -> Iterator[Finding]:
    mk = facts.minikube
    assert mk is not None
    if not mk.profiles:
        yield c.ok("no minikube profiles")
        return
    if not facts.apple_silicon():
        yield c.ok("not an Apple Silicon host")
        return
    for p in mk.profiles:
        drv = (p.driver or "?").lower()
        data = {"driver": drv, "profile": p.name}
        if not p.driver:
            yield c.info(f"profile {p.name!r} does not name its driver: not judged", subject=p.name, data=data)
        elif drv not in ARM64_DRIVERS:
            yield c.problem(
                f"profile {p.name!r} uses the {drv} driver, which minikube does not support on Apple Silicon",
                subject=p.name,
                severity=Severity.ERROR,
                data=data,
            )
        elif drv in VM_DRIVERS_NO_AMD64 or (drv == "vfkit" and not p.rosetta):
            yield c.problem(
                f"profile {p.name!r} uses the {drv} driver{' without --rosetta' if drv == 'vfkit' else ''}: "
                "its VM has no amd64 emulator, so amd64-only images fail with `exec format error`",
                subject=p.name,
                data=data,
            )
        else:
            how = "vfkit with Rosetta" if drv == "vfkit" else drv
            yield c.ok(f"profile {p.name!r} uses {how}", subject=p.name, data=data)


@check("KD502", needs=("host", "tools.minikube"))
def minikube_binary_arch(facts: Facts, c: Ctx) -> Iterator[Finding]:
    t = facts.tools.get("minikube")
    if t is None or not t.path:
        yield c.ok("minikube is not installed")
    elif facts.apple_silicon() and t.binary_arch == "x86_64":
        yield c.problem(
            f"minikube at {t.path} is an x86_64 binary; on Apple Silicon minikube refuses the docker "
            "driver from it (PROVIDER_DOCKER_INCORRECT_ARCH)",
            subject=t.path,
            data={"path": t.path, "binary_arch": t.binary_arch},
        )
    elif t.binary_arch in ("arm64", "universal"):
        yield c.ok(f"minikube binary is {t.binary_arch}")
    else:
        # A script shim says nothing about the binary it runs.
        what = "a script (a shim)" if t.binary_arch == "script" else "not readable"
        yield c.info(f"minikube at {t.path} is {what}: the binary it runs was not checked", subject=t.path)


@check("KD503", needs=("minikube",))
def minikube_profiles_readable(facts: Facts, c: Ctx) -> Iterator[Finding]:
    mk = facts.minikube
    assert mk is not None
    for problem in mk.errors:
        yield c.problem(problem, subject=problem.split(":", 1)[0])
    if not mk.errors:
        yield c.ok(f"{len(mk.profiles)} minikube profile(s) read")
