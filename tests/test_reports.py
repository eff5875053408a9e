"""The text reports as a person sees them (issue 26): the real command in a real terminal (tmux) at 80, 120 and 200
columns, and in a pipe. One line per image, no reference broken, no line over the width, each image's verdict on
the line of its reference, and the same content at every width.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.cli import KDOCTOR, run_kdoctor
from tests.support.imagebuilder import Pusher
from tests.support.registry_fixtures import Images
from tests.support.terminal import Tmux

CORPUS = Path(__file__).parent / "corpus" / "manifests"
DEMO_DIR = CORPUS / "microservices-demo-release-v0106"  # Google's microservices-demo release manifest, 13 images
DEMO = DEMO_DIR / "kubernetes-manifests.yaml"
DEMO_REFS = [r["ref"] for r in yaml.safe_load((DEMO_DIR / "expected.yaml").read_text())["expected"]["references"]]
ARM64_QEMU = ["--platform", "linux/arm64", "--emulator", "qemu"]
MARKS = {"native": "✓", "emulated": "!", "crash": "✗", "unsupported": "✗", "unknown": "?"}
WIDTHS = [80, 120, 200]


def offline_env(tmp: Path) -> dict[str, str]:
    """Every registry behind a proxy that refuses: the same answer (unknown, connection refused) on any machine,
    networked or not. kdoctor's HTTP client honours HTTPS_PROXY as users' proxies are honoured."""
    dead = "http://127.0.0.1:9"
    return {
        "HTTPS_PROXY": dead,
        "HTTP_PROXY": dead,
        "NO_PROXY": "",
        "KDOCTOR_CACHE_DIR": str(tmp / "cache"),
        "TERM": "xterm-256color",
    }


def short(ref: str) -> str:
    """The rule the report states: a digest shown by its first 12 hex characters (whole in -v, wide and JSON)."""
    return re.sub(r"@(sha256:[0-9a-f]{12})[0-9a-f]{52}", r"@\1", ref)


def verdicts_by_ref(lines: list[str]) -> dict[str, tuple[str, str]]:
    """{reference: (mark, verdict)} read off the table the way a reader does: a line `M ref … verdict`; a heading
    `host/path/` followed by `M …/name:tag … verdict` rows; or a reference alone on its line with its columns on
    the next. A reference that is split any other way is not found."""
    out: dict[str, tuple[str, str]] = {}
    heading = None
    table = lines[2 : lines.index("")] if "" in lines else lines[2:]
    i = 0
    while i < len(table):
        line = table[i]
        if line.startswith("  ") and line.strip().endswith("/") and " " not in line.strip():
            heading = line.strip()
            i += 1
            continue
        mark, _, rest = line.partition(" ")
        fields = rest.split()
        if len(fields) == 1 and i + 1 < len(table) and table[i + 1].startswith("  "):
            fields += table[i + 1].split()  # the reference alone, its columns below
            i += 1
        ref = fields[0]
        if ref.startswith("…/"):
            assert heading is not None, f"a shortened row without a heading: {line!r}"
            ref = heading + ref[2:]
        else:
            heading = None
        verdict = next(f for f in fields[1:] if f in MARKS)
        out[ref] = (mark, verdict)
        i += 1
    return out


@pytest.mark.parametrize("width", WIDTHS)
def test_the_demo_manifest_in_a_terminal_is_one_line_per_image(tmux: Tmux, tmp_path: Path, width: int) -> None:
    lines = tmux.run([*KDOCTOR, "images", "-f", str(DEMO), *ARM64_QEMU], width=width, env=offline_env(tmp_path),
                     cwd=tmp_path)  # fmt: skip
    screen = "\n".join(lines)
    assert len(lines) <= 25, screen  # today's box table printed about 200 at 80 columns
    assert all(len(line) <= width for line in lines), screen  # tmux had to wrap nothing
    found = verdicts_by_ref(lines)
    assert set(found) == {short(r) for r in DEMO_REFS}, screen
    assert set(found.values()) == {("?", "unknown")}
    # The reason once per registry host, not once per image.
    assert sum("connection refused" in line for line in lines) == 2, screen


def test_the_same_content_in_a_pipe_and_at_every_width(tmux: Tmux, tmp_path: Path) -> None:
    piped = run_kdoctor("images", "-f", str(DEMO), *ARM64_QEMU, env=offline_env(tmp_path))
    lines = piped.stdout.splitlines()
    assert piped.returncode == 3 and len(lines) <= 25
    in_pipe = verdicts_by_ref(lines)
    # In a pipe no line is broken: every reference is whole on its own row, as kubectl prints.
    assert all(short(r) in piped.stdout for r in DEMO_REFS) and "…/" not in piped.stdout
    for width in WIDTHS:
        shot = tmux.run([*KDOCTOR, "images", "-f", str(DEMO), *ARM64_QEMU], width=width, env=offline_env(tmp_path),
                        cwd=tmp_path)  # fmt: skip
        assert verdicts_by_ref(shot) == in_pipe
        # Below the table, the same words: only where lines break differs.
        below = " ".join(" ".join(shot[shot.index("") :]).split())
        assert re.sub(r"in \d+\.\d+s", "", below) == re.sub(
            r"in \d+\.\d+s", "", " ".join(" ".join(lines[lines.index("") :]).split())
        )


def push_app_images(images: Images) -> dict[str, str]:
    """Images with every verdict for an arm64 node under QEMU, some under long repository paths as real registries
    have them (us-central1-docker.pkg.dev/<project>/<repo>/<name>)."""
    p = Pusher(images.host)
    bins = images.bins
    hello = "/usr/local/bin/hello"
    deep = "online-boutique-ci/microservices-demo"
    amd = p.image(f"{deep}/recommendationservice", None, arch="amd64", layers=[p.layer({hello: bins["go-amd64"]})],
                  entrypoint=[hello])  # fmt: skip
    arm = p.image(f"{deep}/recommendationservice", None, arch="arm64", variant="v8",
                  layers=[p.layer({hello: bins["go-arm64"]})], entrypoint=[hello])  # fmt: skip
    p.index(f"{deep}/recommendationservice", "v0.10.6", [amd, arm])
    p.image(f"{deep}/productcatalogservice", "v0.10.6", arch="amd64", layers=[p.layer({hello: bins["go-amd64"]})],
            entrypoint=[hello])  # fmt: skip
    return {
        "native": images.ref("multi"),
        "crash": images.ref("amd64only"),
        "emulated": images.ref("c"),
        "native-long": f"{images.host}/{deep}/recommendationservice:v0.10.6",
        "crash-long": f"{images.host}/{deep}/productcatalogservice:v0.10.6",
    }


def manifest(refs: list[str]) -> str:
    docs = [
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app{i}}}\nspec:\n  template:\n    spec:\n"
        f"      containers:\n      - name: main\n        image: {ref}\n"
        for i, ref in enumerate(refs)
    ]
    return "---\n".join(docs)


def test_every_verdict_on_the_line_of_its_reference_at_80_columns(tmux: Tmux, images: Images, tmp_path: Path) -> None:
    refs = push_app_images(images)
    (tmp_path / "app.yaml").write_text(manifest(list(refs.values())))
    env = {"KDOCTOR_CACHE_DIR": str(tmp_path / "cache"), "TERM": "xterm-256color"}
    lines = tmux.run([*KDOCTOR, "images", "-f", "app.yaml", *ARM64_QEMU], width=80, env=env, cwd=tmp_path)
    screen = "\n".join(lines)
    assert all(len(line) <= 80 for line in lines), screen
    found = verdicts_by_ref(lines)
    want = {"native": "native", "crash": "crash", "emulated": "emulated", "native-long": "native",
            "crash-long": "crash"}  # fmt: skip
    assert {k: found[ref] for k, ref in refs.items()} == {k: (MARKS[v], v) for k, v in want.items()}, screen
    # What to act on is below, once each: the two crashes with their reason and first use, the emulated image's
    # reason; nothing for the native ones.
    below = "\n".join(lines[lines.index("") :])
    assert below.count("✗ crash: ") == 2 and re.search(
        r"used by app\.yaml:\d+ \(Deployment/app1 container main\)", below
    )
    assert "! emulated, 1 image(s): " in below and "native" not in below.split("\n\n")[0]


def test_a_clean_run_is_as_many_lines_as_images_and_a_few(tmux: Tmux, images: Images, tmp_path: Path) -> None:
    refs = [images.ref("multi"), images.ref("arm64only"), images.ref("multi-attest"), images.ref("dockerlist")]
    (tmp_path / "ok.yaml").write_text(manifest(refs))
    env = {"KDOCTOR_CACHE_DIR": str(tmp_path / "cache"), "TERM": "xterm-256color"}
    lines = tmux.run([*KDOCTOR, "images", "-f", "ok.yaml", *ARM64_QEMU], width=80, env=env, cwd=tmp_path)
    assert set(verdicts_by_ref(lines).values()) == {("✓", "native")}
    assert len(lines) <= len(refs) + 4, "\n".join(lines)  # title, header, a blank line, the summary


def test_wide_output_is_the_whole_table_whatever_the_width(tmp_path: Path) -> None:
    ran = run_kdoctor("images", "-f", str(DEMO), *ARM64_QEMU, "-o", "wide", env=offline_env(tmp_path))
    lines = ran.stdout.splitlines()
    rows = [line for line in lines if line[:2] == "? "]
    assert len(rows) == 13 and all(any(line.split()[1] == ref for line in rows) for ref in DEMO_REFS)
    assert all("connection refused" in line for line in rows)  # the reason on each row: nothing below to read
