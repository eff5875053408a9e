"""The crash log an internal error leaves: traceback, version and argv, with secrets masked.

The user sees one line and the path; the file is what a bug report attaches.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import sys
import traceback
from pathlib import Path

from kdoctor import __version__

# user:password@ in URLs, and the values of options and variables that name a secret.
_SECRETS = (
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
    re.compile(r"(?i)((?:password|passwd|token|secret|auth)[\w-]*[=:]\s*)\S+"),
)


def redact(text: str) -> str:
    text = _SECRETS[0].sub("***", text)
    return _SECRETS[1].sub(r"\1***", text)


def crash_dir() -> Path:
    override = os.environ.get("KDOCTOR_LOG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_log_dir

    return Path(user_log_dir("kdoctor", appauthor=False))


def write_crash_log(exc: BaseException) -> str:
    """Write the log and return its path (or, when it cannot be written, a note saying so)."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    body = "\n".join(
        [
            f"kdoctor {__version__} crashed at {stamp}",
            f"python {sys.version.split()[0]} on {platform.platform()}",
            "argv: " + redact(" ".join(sys.argv)),
            "",
            redact("".join(traceback.format_exception(exc))),
        ]
    )
    try:
        directory = crash_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"crash-{stamp}-{os.getpid()}.log"
        path.write_text(body, encoding="utf-8")
        return str(path)
    except OSError as err:
        return f"(no crash log: {err.strerror or err})"
