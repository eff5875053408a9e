"""Pull quotas: what a scan spends per registry, and stopping before it spends the user's pulls.

Docker Hub counts every manifest GET as a pull and says what is left in `RateLimit-Limit` and
`RateLimit-Remaining` (`100;w=21600`: 100 per 21600 s) on manifest answers, GET and HEAD alike; HEADs are
free; over the limit it answers `429 toomanyrequests` (docker/docs content/manuals/docker-hub/usage/pulls.md).
kdoctor reads what is left from the first answer and, by default, spends at most half of it: a scan
looks at the images a user is about to deploy, and deploying them costs about as many pulls again, so
half is what is left for that. `--max-pulls N` sets the allowance per registry instead (still never
more than what is left). After a 429 `toomanyrequests` no GET goes to that registry for the rest of the
run; HEADs, which do not count, still go.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from kdoctor.errors import RegistryError

PULL_LIMIT_MESSAGES = (b"pull rate limit", b"increase-rate-limit", b"download-rate-limit")
DEFAULT_SHARE = 0.5  # of the pulls left: the rest stays for the user's own pulls (see above)


def parse_count(value: str | None) -> tuple[int, int | None] | None:
    """`76;w=21600` -> (76, 21600); `76` -> (76, None); anything else -> None."""
    if not value:
        return None
    head, *params = (p.strip() for p in value.split(";"))
    if not head.isdigit():
        return None
    window = None
    for p in params:
        k, _, v = p.partition("=")
        if k.strip() == "w" and v.strip().isdigit():
            window = int(v)
    return int(head), window


@dataclass
class RegistryQuota:
    limit: int | None = None
    remaining: int | None = None
    window_s: int | None = None
    allowance: int | None = None  # GETs this run may still send; None: unlimited (no headers, no --max-pulls)
    used: int = 0  # manifest GETs answered (pulls spent by this run)
    inflight: int = 0
    spent: bool = False  # the registry answered 429 toomanyrequests

    def advice(self) -> str:
        hint = "`docker login`, or `--max-age` to answer from the cache"
        if self.remaining is None:
            return f"the registry does not say how many pulls are left; {hint}"
        hours = f" in the next {self.window_s / 3600:g} h" if self.window_s else ""
        if self.limit is None:
            return f"{self.remaining} pulls left{hours}; {hint}"
        return f"{self.remaining} of {self.limit} pulls left{hours}; {hint}"


class Quota:
    def __init__(self, max_pulls: int | None = None):
        self.max_pulls = max_pulls
        self._lock = threading.Lock()
        self._by_registry: dict[str, RegistryQuota] = {}
        self._raw: dict[str, dict[str, str]] = {}  # the headers as sent, for the JSON report's rate_limits

    def rate_limits(self) -> dict[str, dict[str, str]]:
        with self._lock:
            return {r: dict(v) for r, v in self._raw.items()}

    def _q(self, registry: str) -> RegistryQuota:
        q = self._by_registry.get(registry)
        if q is None:
            q = self._by_registry[registry] = RegistryQuota(allowance=self.max_pulls)
        return q

    def observe(self, registry: str, headers: Mapping[str, str]) -> None:
        """Read an answer's RateLimit headers (GET and HEAD carry them; HEADs are free)."""
        limit, remaining = headers.get("ratelimit-limit"), headers.get("ratelimit-remaining")
        if limit is None:
            return
        with self._lock:
            self._raw[registry] = {
                "limit": limit,
                "remaining": remaining or "",
                "source": headers.get("docker-ratelimit-source", ""),
            }
        lim, rem = parse_count(limit), parse_count(remaining)
        if lim is None and rem is None:
            return
        with self._lock:
            q = self._q(registry)
            first = q.remaining is None
            if lim:
                q.limit, q.window_s = lim[0], lim[1] or q.window_s
            if rem:
                q.remaining = rem[0] if q.remaining is None else min(q.remaining, rem[0])
                q.window_s = q.window_s or rem[1]
            if first and rem:
                # The first answer says what is left after the GETs already sent: the rest of the run's
                # allowance starts from it.
                sent = q.used + q.inflight
                if self.max_pulls is None:
                    q.allowance = sent + int(rem[0] * DEFAULT_SHARE)
                else:
                    q.allowance = min(self.max_pulls, sent + rem[0])

    def known(self, registry: str) -> bool:
        """Has the registry said it counts pulls (RateLimit headers) in this run?"""
        with self._lock:
            q = self._by_registry.get(registry)
            return q is not None and (q.limit is not None or q.remaining is not None)

    def reserve(self, registry: str, *, counted: bool) -> None:
        """Before a GET: refuse every GET once the registry said 429 toomanyrequests, and a manifest GET (a
        counted pull) once the allowance is used."""
        with self._lock:
            q = self._q(registry)
            if q.spent:
                raise RegistryError(
                    f"not looked up: 429 rate limited by {registry} earlier in this run "
                    f"(toomanyrequests: the pull quota is spent; {q.advice()})",
                    status=429,
                )
            if not counted:
                return
            if q.allowance is not None and q.used + q.inflight >= q.allowance:
                why = (
                    f"--max-pulls {self.max_pulls}"
                    if self.max_pulls is not None
                    else "by default a scan spends at most half of the pulls left (--max-pulls to change)"
                )
                raise RegistryError(f"not looked up: {why}; {q.advice()}", status=429)
            q.inflight += 1

    def settle(self, registry: str, *, spent: bool) -> None:
        """After a manifest GET `reserve` let through (`spent`: it was answered, so a pull was spent)."""
        with self._lock:
            q = self._q(registry)
            q.inflight = max(0, q.inflight - 1)
            if spent:
                q.used += 1

    def spent_by(self, registry: str, resp: httpx.Response) -> bool:
        """Is this 429 to a GET a spent pull quota (no more GETs this run) rather than a throttle (retry later)?

        Spent: the registry counts pulls (RateLimit headers in this run or in this answer), or its message
        is Docker Hub's pull-limit one ("toomanyrequests: You have reached your pull rate limit. … https://
        www.docker.com/increase-rate-limit", docker/docs#21908; older: "… Please see https://docs.docker.com/
        docker-hub/download-rate-limit/"). Any other 429 (Docker Hub's anti-abuse "Too Many Requests
        (HAP429)", docker/hub-feedback#1907, or another registry's throttle) is retried as before."""
        if self.known(registry) or parse_count(resp.headers.get("ratelimit-remaining")) is not None:
            return True
        try:
            small = int(resp.headers.get("content-length") or 0) <= 4096
            body = resp.read()[:4096].lower() if small else b""
        except (httpx.HTTPError, ValueError):
            body = b""
        return any(m in body for m in PULL_LIMIT_MESSAGES)

    def refuse(self, registry: str) -> RegistryError:
        """A 429 toomanyrequests: no more GETs to this registry in this run."""
        with self._lock:
            q = self._q(registry)
            q.spent = True
            q.remaining = 0
            return RegistryError(
                f"429 rate limited by {registry} (toomanyrequests: the pull quota is spent; no more GETs to it "
                f"in this run; {q.advice()})",
                status=429,
            )

    def report(self) -> dict[str, dict[str, object]]:
        """Per registry with a quota: the figures, for the JSON report and the closing line."""
        with self._lock:
            return {
                r: {
                    "pulls_left": q.remaining,
                    "pulls_limit": q.limit,
                    "window_hours": q.window_s / 3600 if q.window_s else None,
                    "pulls_used": q.used,
                    "spent": q.spent,
                    "advice": q.advice(),
                }
                for r, q in self._by_registry.items()
                if q.remaining is not None or q.spent
            }
