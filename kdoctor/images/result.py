"""One image's result: its platforms, verdict, entrypoint, risks and where it is used (the images/v1 entry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kdoctor.images.inputs.uses import ImageUse, Origin
from kdoctor.images.inspect.entrypoint import Entrypoint
from kdoctor.images.judge import verdict as V
from kdoctor.images.judge.risks import Risk


@dataclass
class ImageResult:
    ref: str
    resolved: str | None = None
    digest: str | None = None
    kind: str | None = None  # "index" | "manifest"
    platforms: list[str] = field(default_factory=list)
    verdict: str = V.UNKNOWN
    reason: str = ""
    suggestion: str | None = None
    pull_error: str | None = None
    entrypoint: Entrypoint | None = None
    sources: list[str] = field(default_factory=list)
    command: list[str] | None = None
    args: list[str] | None = None
    risks: list[Risk] = field(default_factory=list)  # risk-catalogue rules the image matches (checks/risks.yaml)
    platform_override: str | None = None  # a Compose `platform:`: another image than the default pull
    written: str | None = None  # the reference as written when a variable in it is unset (`ref` is interpolated)
    origins: list[Origin] = field(default_factory=list)
    registry: str | None = None  # the host asked, for grouping unknowns
    answered_by: str | None = None  # a mirror that answered for the image's own registry (--registry-mirror)
    source: str | None = None  # the verdict file that answered (--verdicts), None: the registry or the cache

    @classmethod
    def for_use(cls, use: ImageUse, **fields: Any) -> ImageResult:
        """A result that starts from what the use says (its reference, command, platform and where it is used)."""
        return cls(
            ref=use.ref,
            sources=list(use.sources),
            command=use.command,
            args=use.args,
            platform_override=use.platform,
            origins=list(use.origins),
            written=use.written,
            **fields,
        )

    def to_json(self) -> dict[str, Any]:
        ep = self.entrypoint
        return {
            "ref": self.ref,
            "written": self.written,
            "resolved": self.resolved,
            "digest": self.digest,
            "kind": self.kind,
            "platforms": self.platforms,
            "verdict": self.verdict,
            "go": ep.go_json() if ep else None,
            "reason": self.reason,
            "suggestion": self.suggestion,
            "pull_error": self.pull_error,
            "entrypoint": None
            if ep is None
            else {
                "argv": ep.argv,
                "path": ep.path,
                "kind": ep.kind,
                "machine": ep.machine,
                "static": ep.static,
                "interpreter": ep.interpreter,
                "interpreter_found": ep.interpreter_found,
                "note": ep.note,
                "runtime": ep.runtime,
                "isa_needed": ep.isa_needed,
                "os_release": ep.os_release
                and {k: v for k, v in ep.os_release.items() if k in ("ID", "VERSION_ID", "PLATFORM_ID")},
            },
            "sources": self.sources,
            "risks": [r.to_json() for r in self.risks],
            "answered_by": self.answered_by,
            "source": self.source,
        }
