"""Scan a set of image uses: platforms, entrypoint analysis, verdicts and fixes, concurrently."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import Any

from kdoctor.errors import KdoctorError
from kdoctor.images import DEFAULT_CONCURRENCY
from kdoctor.images.fixes import find_newer_tag
from kdoctor.images.inputs.uses import ImageUse
from kdoctor.images.inspect.analyse import entrypoint_for, image_facts
from kdoctor.images.inspect.entrypoint import Entrypoint
from kdoctor.images.inspect.layers import WalkStats
from kdoctor.images.judge import verdict as V
from kdoctor.images.registry import (
    TOKEN_THREADS,
    Cache,
    Mirrors,
    Reference,
    ReferenceError,
    RegistryClient,
    RegistryError,
    VerdictSources,
    fit_workers,
    image_deadline,
    parse_reference,
)
from kdoctor.images.result import ImageResult
from kdoctor.platforms import Platform, config_platform, index_entries, match
from kdoctor.runner import Runner


def pull_error_text(target: Platform) -> str:
    variant = "/v8" if target.arch == "arm64" else ""
    return (
        f"no matching manifest for {target.os}/{target.arch}{variant} in the manifest list entries "
        f"(containerd: no match for platform in manifest: not found)"
    )


@dataclass
class Scanner:
    client: RegistryClient
    target: Platform
    emulator: str  # qemu | rosetta | none | unknown
    suggest: bool = True
    deep: bool = False  # --deep: look inside images whose manifest names the target platform too
    mirrors: Mirrors = field(default_factory=Mirrors)  # registries answered by others (--registry-mirror, policy)
    walk: WalkStats = field(default_factory=WalkStats)
    notes: list[str] = field(default_factory=list)  # for the report (JSON `notes`)

    def _entry(
        self,
        ref: Reference,
        digest: str,
        use: ImageUse,
        arch: str = "",
        loaded: tuple[dict[str, Any], dict[str, Any]] | None = None,
    ) -> Entrypoint:
        """The entrypoint of manifest `digest` (with `arch`, also whether its os-release is wanted)."""

        def wants(cfg: dict[str, Any]) -> Callable[[Entrypoint], bool]:
            return lambda ep: V.wants_os_release(ep, self.emulator, arch, image_facts(ep, cfg, ref.repository))

        return entrypoint_for(
            self.client,
            ref,
            digest,
            command=use.command,
            args=use.args,
            cache=self.client.cache,
            loaded=loaded,
            stats=self.walk,
            wants_os_release=wants if arch else None,
            check_interpreter=self.deep,
        )

    def _look_inside(
        self,
        ref: Reference,
        digest: str,
        use: ImageUse,
        res: ImageResult,
        claimed: Any,
        loaded: tuple[dict[str, Any], dict[str, Any]] | None = None,
    ) -> None:
        """--deep on a native image: the manifest's platform is a claim; the entrypoint's ELF header is the truth."""
        ep = res.entrypoint = self._entry(ref, digest, use, loaded=loaded)
        judged = V.mislabel_verdict(ep, self.emulator, self.target.arch, str(claimed))
        if judged is not None:
            res.verdict, res.reason = judged
            res.suggestion = (
                f"rebuild the {claimed} image so it carries a {self.target.arch} {ep.path}: a download or COPY "
                "step that ignores TARGETARCH puts a foreign binary in it"
                if ep.machine != self.target.arch
                else f"add {ep.interpreter} to the image (its base image's libc), or build {ep.path} statically"
            )
        elif ep.kind == "elf":
            res.reason += f"; its entrypoint {ep.path} is {ep.machine} too (--deep)"
        else:
            detail = ep.note or ep.kind or "not analysed"
            res.reason += f"; --deep could not confirm the entrypoint's architecture ({detail})"

    def scan_one(self, use: ImageUse) -> ImageResult:
        res = ImageResult.for_use(use)
        if use.unset:  # Compose substituted "" for it: the file is not wrong, the environment is incomplete
            names = ", ".join(use.unset)
            res.reason = f"variable {names} is unset and has no default: {use.unset_hint}; the image was not looked up"
            return res
        if use.problem:
            res.reason = use.problem
            return res
        try:
            ref = parse_reference(use.ref)
        except ReferenceError as exc:
            res.reason = str(exc)
            return res
        res.resolved, res.registry = str(ref), ref.registry
        asked = self.mirrors.apply(ref)
        if asked != ref:  # the image keeps its name; the report says which host answered
            res.answered_by, res.registry, ref = asked.registry, asked.registry, asked
        try:
            with image_deadline(self.client.timeout):
                self._judge(ref, use, res)
        except RegistryError as exc:
            res.verdict, res.reason = V.UNKNOWN, exc.reason
        except KdoctorError as exc:
            res.verdict, res.reason = V.UNKNOWN, str(exc)
        except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
            # A registry that answers with well-formed JSON of the wrong shape must cost one image, not the run.
            res.verdict = V.UNKNOWN
            res.reason = f"the registry's answer has an unexpected shape ({type(exc).__name__})"
        if self.suggest and res.verdict in (V.EMULATED, V.CRASH, V.UNSUPPORTED):
            try:
                newer = find_newer_tag(self.client, ref, self.target)
            except KdoctorError:
                newer = None
            if newer:
                found = f"use {newer}: it has {self.target}"
                res.suggestion = f"{found}; otherwise {res.suggestion}" if res.suggestion else found
        return res

    def _judge(self, ref: Reference, use: ImageUse, res: ImageResult) -> None:
        m = self.client.manifest(ref)
        res.digest = m.digest
        override = Platform.parse(use.platform) if use.platform else None
        if m.is_index:
            res.kind = "index"
            entries = index_entries(m.data)
            res.platforms = sorted({str(e.platform) for e in entries})
            if override is not None:
                # Compose `platform:` pulls that entry: judge it like a single manifest of that platform.
                chosen, _ = match(entries, override)
                if chosen is None:
                    res.verdict = V.UNSUPPORTED
                    res.reason = f"the compose file asks for {override}, which the index does not have"
                    res.pull_error = pull_error_text(override)
                    return
                self._judge_single(ref, self.client.child(ref, chosen.digest), use, res, chosen.platform)
                return
            chosen, exact = match(entries, self.target)
            if chosen is not None and exact:
                res.verdict, res.reason = V.NATIVE, f"the index has {chosen.platform}"
                if self.deep:
                    self._look_inside(ref, chosen.digest, use, res, chosen.platform)
                return
            if chosen is not None:
                res.verdict = V.EMULATED
                res.reason = (
                    f"the index's only entry a {self.target} node accepts is 32-bit {chosen.platform}; "
                    "Apple Silicon has no AArch32, so it runs only under 32-bit Arm emulation"
                )
                return
            res.verdict = V.UNSUPPORTED
            res.pull_error = pull_error_text(self.target)
            res.reason = (
                f"the index has no {self.target} entry ({', '.join(res.platforms) or 'no platforms'}): "
                f"the pull fails with `{res.pull_error.split(' (')[0]}` (ImagePullBackOff), "
                "even though an emulator could run the amd64 entry"
            )
            amd = next((e for e in entries if e.platform.arch == "amd64"), entries[0] if entries else None)
            if amd is not None:
                try:
                    res.entrypoint = self._entry(ref, amd.digest, use)
                except RegistryError as exc:
                    res.entrypoint = Entrypoint(note=f"{amd.platform} entry not analysed: {exc.reason}")
                only_amd = {e.platform.arch for e in entries} == {"amd64"}
                res.suggestion = (
                    "rebuild for linux/arm64 (or multi-arch); if this index is one amd64 image plus a provenance "
                    "attestation, pushing it with `--provenance=false` makes it a single manifest that pulls and runs "
                    "under emulation"
                    if only_amd
                    else f"rebuild for {self.target}"
                )
            return
        res.kind = "manifest"
        self._judge_single(ref, m, use, res, None)

    def _judge_single(self, ref: Reference, m: Any, use: ImageUse, res: ImageResult, known: Platform | None) -> None:
        cfg = self.client.image_config(ref, m.data)
        plat = known or config_platform(cfg)
        if res.kind == "manifest":
            res.platforms = [str(plat)]
        if plat == self.target and use.platform is None:
            res.verdict, res.reason = V.NATIVE, f"a single {plat} manifest"
        elif plat.arch == self.target.arch and plat.os == self.target.os:
            res.verdict, res.reason = V.NATIVE, f"the {plat} variant runs natively"
        if res.verdict == V.NATIVE:
            if self.deep:
                self._look_inside(ref, m.digest, use, res, plat, loaded=(m.data, cfg))
            return
        ep = res.entrypoint = self._entry(ref, m.digest, use, plat.arch, loaded=(m.data, cfg))
        j = V.judge(ep, self.emulator, plat.arch, image_facts(ep, cfg, ref.repository))
        res.verdict, res.reason, res.suggestion, res.risks = j.verdict, j.reason, j.suggestion, j.risks

    def scan(
        self,
        uses: list[ImageUse],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        progress: Callable[[ImageResult], None] | None = None,
        budget: float | None = None,
    ) -> list[ImageResult]:
        groups: dict[tuple[Any, ...], ImageUse] = {}
        for u in uses:
            k = u.scan_key()
            if k in groups:
                g = groups[k]
                g.sources.extend(s for s in u.sources if s not in g.sources)
                g.origins.extend(o for o in u.origins if o not in g.origins)
            else:
                groups[k] = replace(u, sources=list(u.sources), origins=list(u.origins), unset=list(u.unset))
        planned = []
        for use in groups.values():
            with suppress(ReferenceError):  # reported by scan_one
                planned.append(parse_reference(use.ref))
        self.client.plan(planned)
        workers, note = fit_workers(max(1, concurrency), len({r.api_host for r in planned}), TOKEN_THREADS)
        if note:
            self.notes.append(note)
        results: list[ImageResult] = []
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image")
        futures = {pool.submit(self.scan_one, use): use for use in groups.values()}
        collected: set[Future[ImageResult]] = set()
        try:
            for fut in as_completed(futures, timeout=budget):
                collected.add(fut)
                r = fut.result()
                results.append(r)
                if progress:
                    progress(r)
        except FuturesTimeout:
            for fut, use in futures.items():
                if fut in collected:
                    continue
                if fut.done():
                    results.append(fut.result())
                    continue
                fut.cancel()
                results.append(
                    ImageResult.for_use(
                        use,
                        verdict=V.UNKNOWN,
                        reason=f"not resolved within the {budget:g}s time budget",
                    )
                )
        finally:
            # Workers still running are bounded by the HTTP timeouts; do not wait for them here.
            pool.shutdown(wait=budget is None, cancel_futures=True)
        return results


@contextmanager
def open_scanner(
    runner: Runner,
    target: Platform,
    emulator: str,
    *,
    use_cache: bool = True,
    insecure: set[str] | frozenset[str] = frozenset(),
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 10.0,
    retries: int = 3,
    max_age: float = 0.0,
    suggest: bool = True,
    deep: bool = False,
    max_pulls: int | None = None,
    mirrors: Mirrors | None = None,
    verdict_sources: VerdictSources | None = None,
    record: bool = False,
    offline: bool = False,
) -> Iterator[Scanner]:
    """The one place a registry client and a scanner are built; the client (and its cache) is closed after."""
    client = RegistryClient(
        runner=runner,
        cache=Cache(enabled=use_cache, overlay=verdict_sources, record=record),
        insecure=set(insecure) | (mirrors.plain_http_hosts() if mirrors else set()),
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        max_age=max_age,
        max_pulls=max_pulls,
        offline=offline,
    )
    try:
        yield Scanner(client, target, emulator, suggest=suggest, deep=deep, mirrors=mirrors or Mirrors())
    finally:
        client.close()
