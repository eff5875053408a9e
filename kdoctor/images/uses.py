"""The input of a scan: an image as a workload uses it. Every image source (sources.py) produces these."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImageUse:
    """An image as a workload uses it: the reference as written, and the process it is asked to run."""

    ref: str
    command: list[str] | None = None
    args: list[str] | None = None
    platform: str | None = None  # a Compose `platform:` override
    sources: list[str] = field(default_factory=list)

    def key(self) -> tuple[str, tuple[str, ...] | None, tuple[str, ...] | None, str | None]:
        return (
            self.ref,
            tuple(self.command) if self.command is not None else None,
            tuple(self.args) if self.args is not None else None,
            self.platform,
        )
