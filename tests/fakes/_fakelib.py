"""Shared helpers for the fake tools on PATH. Stdlib only: the fakes run under any python3."""
# Imports _fakelib from this folder: Python puts the script's real directory (symlinks resolved) first on sys.path.

from __future__ import annotations

import json
import os
import sys
import time


def log_call(tool: str) -> None:
    path = os.environ.get("FAKE_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"tool": tool, "argv": sys.argv[1:]}) + "\n")
    if os.environ.get("FAKE_REPLAY"):
        replay(tool)
    delay = float(os.environ.get("FAKE_DELAY", "0") or 0)
    delayed = os.environ.get("FAKE_DELAY_TOOLS")  # default: every fake
    if delay and (not delayed or tool in delayed.split(",")):
        time.sleep(delay)
    hang = os.environ.get("FAKE_HANG", "")
    if tool in hang.split(",") or _broken(tool) == "hang":
        time.sleep(3600)


def _broken(tool: str) -> str | None:
    """FAKE_BREAK=tool:mode[,tool:mode]: make this fake misbehave (hang, exit, garbage, truncated, future)."""
    for item in os.environ.get("FAKE_BREAK", "").split(","):
        name, _, mode = item.partition(":")
        if name == tool:
            return mode
    return None


TOOL = os.path.basename(sys.argv[0])


def out(text: str, code: int = 0) -> None:
    mode = _broken(TOOL)
    if mode == "exit":
        sys.stderr.write(f"{TOOL}: something went badly wrong (fake failure)\n")
        raise SystemExit(3)
    if mode == "garbage":
        text = "\x00\x1b[31mPANIC\x1b[0m <html>not json at all</html>\n\ufffd\n"
    elif mode == "truncated":
        text = text[: len(text) // 2]
    elif mode == "future":
        import json

        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            doc["FutureField"] = {"added": "in a later release", "nested": [1, 2, 3]}
            for v in doc.values():
                if isinstance(v, dict):
                    v["futureKey"] = True
            text = json.dumps(doc) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()
    raise SystemExit(code)


def err(text: str, code: int = 1) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    raise SystemExit(code)


def read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def state_dir(tool: str) -> str:
    base = os.environ.get("FAKE_STATE") or os.path.join(os.environ.get("HOME", "/tmp"), ".fake-state")
    path = os.path.join(base, tool)
    os.makedirs(path, exist_ok=True)
    return path


def replay(tool: str) -> None:
    """FAKE_REPLAY=file.json: answer exactly what a real machine printed (the diagnose corpus).

    The file maps a tool to rows {"argv": [words...], "stdout": "...", "stderr": "...", "code": n}; a row
    answers a call whose arguments start with its words (kubectl's --request-timeout is ignored). A call of a
    captured tool with no capture fails, saying so, rather than making an answer up; a tool absent from the file
    behaves as its fake always does."""
    with open(os.environ["FAKE_REPLAY"], encoding="utf-8") as fh:
        captured = json.load(fh)
    if tool not in captured:
        return  # a tool the case has no captures for (the host's uname/sysctl) answers as it always does
    rows = captured[tool]
    args = [a for a in sys.argv[1:] if not a.startswith("--request-timeout")]
    for row in rows:
        words = row["argv"]
        if args[: len(words)] == words:
            sys.stdout.write(row.get("stdout", ""))
            sys.stderr.write(row.get("stderr", ""))
            raise SystemExit(int(row.get("code", 0)))
    sys.stderr.write(f"replay: no capture of `{tool} {' '.join(args)}` in this case\n")
    raise SystemExit(1)
