"""The GitHub Actions workflow: valid YAML, the triggers and jobs CI relies
on, scripts it calls exist, and actionlint (with shellcheck over every `run:`
block) accepts it. actionlint is installed by scripts/install-deps.sh; the
test needs no network."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.y*ml"))
CI = ROOT / ".github/workflows/ci.yml"


def load(p):
    return yaml.safe_load(p.read_text())


def actionlint():
    found = shutil.which("actionlint")
    if found:
        return found
    go = shutil.which("go")
    if go:
        gopath = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True).stdout.strip()
        p = Path(gopath) / "bin" / "actionlint"
        if p.exists():
            return str(p)
    return None


@pytest.mark.parametrize("wf", WORKFLOWS, ids=lambda p: p.name)
def test_valid_yaml_mapping(wf):
    doc = load(wf)
    assert isinstance(doc, dict) and "jobs" in doc
    assert not re.search(r"^\t", wf.read_text(), re.M), "tabs in YAML"


def test_triggers_and_jobs():
    doc = load(CI)
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in on
    assert on["push"]["branches"] == ["main"]
    jobs = doc["jobs"]
    assert set(jobs) == {"test", "kind-e2e"}
    for job in jobs.values():
        assert job["runs-on"] == "ubuntu-latest"
        assert job["timeout-minutes"] <= 90  # the project's CI time limit
    runs = lambda j: "\n".join(s.get("run", "") for s in jobs[j]["steps"])
    assert "scripts/install-deps.sh" in runs("test") and re.search(r"\bmake test\b", runs("test"))
    assert "kind/e2e.sh" in runs("kind-e2e")


def test_actions_are_pinned_to_a_version():
    for wf in WORKFLOWS:
        for job in load(wf)["jobs"].values():
            for step in job["steps"]:
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+(\.\d+)*|[0-9a-f]{40})", step["uses"]), step["uses"]


def test_repository_paths_in_run_steps_exist():
    for wf in WORKFLOWS:
        for job in load(wf)["jobs"].values():
            for step in job["steps"]:
                for path in re.findall(r"(?<![\w/$.-])((?:scripts|kind|e2e|\.ci)/[\w./-]+)", step.get("run", "")):
                    assert (ROOT / path).exists(), f"{wf.name}: {path} does not exist"
                    assert os.access(ROOT / path, os.X_OK) or path.endswith((".mod", ".sum")), path
    doc = load(CI)
    for job in doc["jobs"].values():
        for step in job["steps"]:
            with_ = step.get("with", {})
            for k in ("go-version-file", "cache-dependency-path"):
                if k in with_:
                    assert (ROOT / with_[k]).exists(), with_[k]


def test_actionlint():
    exe = actionlint()
    assert exe, "actionlint is missing: scripts/install-deps.sh installs it (go install, pinned)"
    r = subprocess.run([exe, "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
