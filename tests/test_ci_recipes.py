"""The CI recipes (issue 27, item 5): the GitHub Action (action.yml), the GitLab CI template
(ci/gitlab/kdoctor.gitlab-ci.yml) and the Tekton Task (ci/tekton/kdoctor-images-task.yaml). Neither CI service runs
here, so each recipe's own commands run in order on this machine, with the same inputs, in a fresh virtualenv that
installs kdoctor from this checkout as the recipes do; the steps that are GitHub's own actions (setup-python, cache,
upload-sarif) are named and not run. The Task is validated against Tekton's own Task CRD schema.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import junitparser
import pytest
import yaml

from tests.support.registry_fixtures import Images
from tests.test_ci_outputs import SCHEMA as SARIF_SCHEMA
from tests.test_reports import manifest

CHECKOUT = Path(__file__).resolve().parent.parent
ACTION = CHECKOUT / "action.yml"
GITLAB = CHECKOUT / "ci" / "gitlab" / "kdoctor.gitlab-ci.yml"
TEKTON = CHECKOUT / "ci" / "tekton" / "kdoctor-images-task.yaml"
TEKTON_CRD = Path(__file__).parent / "data" / "tekton" / "300-task.yaml"
GITHUB_ACTIONS = {"actions/setup-python", "actions/cache", "github/codeql-action/upload-sarif"}


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A new virtualenv first on PATH, as setup-python (or a python image) leaves a runner: `python -m pip` in
    a recipe installs into it."""
    venv = tmp_path_factory.mktemp("runner") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    return {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(venv)}


def workspace(tmp_path: Path, images: Images) -> Path:
    ws = tmp_path / "ws"
    (ws / "deploy").mkdir(parents=True)
    (ws / ".git").mkdir()
    (ws / "deploy" / "app.yaml").write_text(manifest([images.ref("amd64only"), images.ref("multi")]))
    (ws / ".kdoctor.yaml").write_text("platforms: [linux/arm64]\nemulator: qemu\nfail_on: crash\n")
    return ws


def sarif_ok(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)
    return doc


@pytest.mark.slow
def test_the_github_action_steps_in_order(images: Images, tmp_path: Path, fresh_env: dict[str, str]) -> None:
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    ws = workspace(tmp_path, images)
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    inputs["files"] = "deploy"
    output = tmp_path / "github_output"
    output.touch()
    outputs: dict[str, str] = {}
    skipped = []
    for step in action["runs"]["steps"]:
        if "uses" in step:
            skipped.append(step["uses"].split("@")[0])
            continue
        condition = step.get("if", "")
        if condition and "inputs.chart != ''" in condition and not inputs["chart"]:
            continue
        script = step["run"]
        script = script.replace("${{ github.action_path }}", str(CHECKOUT))
        script = re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: inputs[m.group(1)], script)
        script = re.sub(r"\$\{\{ steps\.gate\.outputs\.([\w-]+) \}\}", lambda m: outputs.get(m.group(1), ""), script)
        env = {**fresh_env, "GITHUB_OUTPUT": str(output), "KDOCTOR_CACHE_DIR": str(tmp_path / "cache")}
        ran = subprocess.run(["bash", "-e", "-c", script], cwd=ws, env=env, capture_output=True, text=True,
                             timeout=900)  # fmt: skip
        outputs.update(dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line))
        if step.get("name") == "Gate":
            assert ran.returncode == 1  # the crash fails the job, after the report was uploaded
        else:
            assert ran.returncode == 0, ran.stderr
        if step.get("id") == "gate":
            assert "::error file=deploy/app.yaml,line=" in ran.stdout
    assert set(skipped) == GITHUB_ACTIONS and outputs["exit-code"] == "1"
    doc = sarif_ok(ws / inputs["sarif-file"])
    (result,) = doc["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deploy/app.yaml"


@pytest.mark.slow
def test_the_gitlab_template_script_in_order(images: Images, tmp_path: Path, fresh_env: dict[str, str]) -> None:
    job = yaml.safe_load(GITLAB.read_text())["kdoctor-images"]
    ws = workspace(tmp_path, images)
    variables = {k: str(v) for k, v in job["variables"].items()}
    variables.update(KDOCTOR_PIP_SPEC=str(CHECKOUT), KDOCTOR_FILES="deploy", KDOCTOR_CACHE_DIR=str(tmp_path / "c"))
    env = {**fresh_env, **variables, "CI_PROJECT_DIR": str(ws)}
    # GitLab runs the script lines in one shell and stops at the first that fails.
    ran = subprocess.run(["sh", "-e", "-c", "\n".join(job["script"])], cwd=ws, env=env, capture_output=True,
                         text=True, timeout=900)  # fmt: skip
    assert ran.returncode == 1, ran.stderr  # the job fails on the crash; its reports are still written
    assert job["artifacts"]["reports"]["junit"] == "kdoctor-junit.xml" and job["artifacts"]["when"] == "always"
    (suite,) = list(junitparser.JUnitXml.fromfile(str(ws / "kdoctor-junit.xml")))
    assert suite.tests == 2 and suite.failures == 1
    sarif_ok(ws / "kdoctor.sarif")


def _strict(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """The keys a schema does not know, as the API server's strict field validation (kubectl apply
    --validate=strict) reports them; the structural schema alone would drop them silently."""
    out = []
    if isinstance(value, dict) and schema.get("type") == "object" and "properties" in schema:
        for k, v in value.items():
            if k not in schema["properties"]:
                if not schema.get("x-kubernetes-preserve-unknown-fields"):
                    out.append(f"{path}.{k}")
                continue
            out += _strict(v, schema["properties"][k], f"{path}.{k}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += _strict(item, schema["items"], f"{path}[{i}]")
    return out


def test_the_tekton_task_validates_against_tektons_crd() -> None:
    crd = yaml.safe_load(TEKTON_CRD.read_text())
    (v1,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = v1["schema"]["openAPIV3Schema"]
    task = yaml.safe_load(TEKTON.read_text())
    assert task["apiVersion"] == f"{crd['spec']['group']}/v1" and task["kind"] == crd["spec"]["names"]["kind"]
    jsonschema.Draft7Validator(schema).validate(task)
    assert _strict(task, schema) == []
    # The schema catches a misspelt field.
    broken = json.loads(json.dumps(task))
    broken["spec"]["steps"][0]["scirpt"] = "x"
    assert _strict(broken, schema) == [".spec.steps[0].scirpt"]


@pytest.mark.slow
def test_the_tekton_step_script(images: Images, tmp_path: Path, fresh_env: dict[str, str]) -> None:
    task = yaml.safe_load(TEKTON.read_text())
    (step,) = task["spec"]["steps"]
    ws = workspace(tmp_path, images)
    params = {p["name"]: str(p.get("default", "")) for p in task["spec"]["params"]}
    params.update({"pip-spec": str(CHECKOUT), "files": "deploy"})
    results = {r["name"]: tmp_path / f"result-{r['name']}" for r in task["spec"]["results"]}
    script = step["script"].replace("$(workspaces.source.path)", str(ws))
    script = re.sub(r"\$\(params\.([\w-]+)\)", lambda m: params[m.group(1)], script)
    script = re.sub(r"\$\(results\.([\w-]+)\.path\)", lambda m: str(results[m.group(1)]), script)
    env = {**fresh_env, **{e["name"]: e["value"].replace("$(workspaces.source.path)", str(ws)) for e in step["env"]}}
    ran = subprocess.run(["sh", "-c", script], cwd=ws, env=env, capture_output=True, text=True, timeout=900)
    assert ran.returncode == 1, ran.stderr
    assert results["exit-code"].read_text() == "1"
    assert re.fullmatch(r"2 image\(s\) in 2 use\(s\): 1 crash, 1 native in \d+\.\d\ds", results["summary"].read_text())
    sarif_ok(ws / "kdoctor.sarif")
