"""The floor for a registry behind token auth: one token GET and one manifest GET per reference, over N
keep-alive connections to each host, the realm known in advance, nothing parsed beyond the token.
Run as its own process: `floor_client.py REFS_FILE REALM CONNS` (prints the number of non-200 answers).

`floor_client.py REFS_FILE REALM CONNS TOKENS_JSON`: the warm floor instead, one HEAD per reference with a
token already held ({repository: token}, as a warm run's cached tokens are)."""

from __future__ import annotations

import http.client
import json
import sys
import threading
from urllib.parse import quote, urlsplit

from common import ACCEPT, read_refs  # the sibling module: this runs as a script from benchmarks/


def main() -> int:
    refs = read_refs(sys.argv[1])
    realm = urlsplit(sys.argv[2])
    conns = int(sys.argv[3])
    held: dict[str, str] | None = json.loads(open(sys.argv[4]).read()) if len(sys.argv) > 4 else None  # noqa: SIM115
    todo = iter(refs)
    lock = threading.Lock()
    bad: list[int] = []

    def worker() -> None:
        tok = http.client.HTTPConnection(realm.netloc, timeout=60)
        regs: dict[str, http.client.HTTPConnection] = {}
        while True:
            with lock:
                ref = next(todo, None)
            if ref is None:
                break
            host, _, rest = ref.partition("/")
            repo, _, tag = rest.rpartition(":")
            if held is None:
                tok.request("GET", f"{realm.path}?service=bench.registry&scope={quote(f'repository:{repo}:pull')}")
                resp = tok.getresponse()
                token = json.loads(resp.read())["token"]
            else:
                token = held[repo]
            reg = regs.setdefault(host, http.client.HTTPConnection(host, timeout=60))
            reg.request(
                "GET" if held is None else "HEAD",
                f"/v2/{repo}/manifests/{tag}",
                headers={"Accept": ACCEPT, "Authorization": f"Bearer {token}"},
            )
            resp = reg.getresponse()
            resp.read()
            if resp.status != 200:
                with lock:
                    bad.append(resp.status)

    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"{len(refs)} references, {len(bad)} not 200")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
