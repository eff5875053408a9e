"""Where each image is written (issue 27, item 1): every use read from a real manifest or Compose file carries the
1-based line and column of the scalar that names the image, in the file that holds it (an extended or included
Compose file's own), checked against an independent reading of the file's raw text, not the YAML parser's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kdoctor.images.inputs.sources import read_inputs

CORPORA = [Path(__file__).parent / "corpus" / c for c in ("manifests", "manifests-operators")]
CASES = sorted(d for root in CORPORA for d in root.iterdir() if (d / "expected.yaml").exists())


def inputs(case: Path) -> list[str]:
    doc = yaml.safe_load((case / "expected.yaml").read_text())
    entry = doc.get("entrypoint")
    if entry:
        return [str(case / entry)]
    return [str(case / f["path"]) for f in doc["files"] if Path(f["path"]).suffix in (".yaml", ".yml", ".json")]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_use_points_at_the_scalar_that_names_its_image(case: Path) -> None:
    report = read_inputs(inputs(case), environ={})
    checked = json_uses = 0
    for use in report.uses:
        for o in use.origins:
            path = Path(o.written_in or o.file)
            if path.suffix == ".json":
                assert o.line is None  # JSON is read by the json module: no positions (said in README)
                json_uses += 1
                continue
            assert o.line is not None and o.column is not None, (o, use.ref)
            raw = path.read_text(encoding="utf-8-sig").splitlines()[o.line - 1][o.column - 1 :]
            scalar = raw.lstrip("\"'")
            # The scalar names the image: the reference itself, the text it was interpolated or cut from.
            named = use.written or use.ref
            assert scalar.startswith(named) or named in scalar or "$" in scalar, (o, named, raw)
            checked += 1
    assert checked + json_uses == sum(len(u.origins) for u in report.uses)
