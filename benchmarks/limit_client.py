"""The baseline for platform lookup: a minimal client that does one manifest GET per reference over 16
keep-alive connections, and nothing else (no auth, no parsing, no verification). Run as its own process."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
from common import ACCEPT, read_refs  # the sibling module: this runs as a script from benchmarks/


def main() -> int:
    refs = read_refs(sys.argv[1])
    client = httpx.Client(limits=httpx.Limits(max_connections=16, max_keepalive_connections=16))

    def get(ref: str) -> int:
        host, _, rest = ref.partition("/")
        repo, _, tag = rest.rpartition(":")
        return client.get(f"http://{host}/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT}).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(get, refs))
    bad = [c for c in codes if c != 200]
    print(f"{len(codes)} GETs, {len(bad)} not 200")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
