"""Every shell script in the repository passes `bash -n` and shellcheck; and
kind/e2e.sh, which needs Docker and kind that this machine lacks, is run
against stand-ins of docker, kind and kubectl that record what they are asked:
the order of its steps, the image references it builds and loads (the ones
exo-install renders by default), the kubeconfig it installs and tests with,
and what it says when a tool is missing."""
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BASH = shutil.which("bash")


def shell_scripts():
    r = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"],
                       capture_output=True, text=True)
    if r.returncode == 0:
        files = [ROOT / f for f in r.stdout.split() if (ROOT / f).is_file()]
    else:  # not a git checkout: every file but build trees and caches
        skip = re.compile(r"^(build[^/]*|\.git|e2e/sandbox/\.bin)(/|$)|/node_modules/")
        files = [p for p in ROOT.rglob("*") if p.is_file() and not skip.search(str(p.relative_to(ROOT)))]
    scripts = [f for f in files if f.suffix == ".sh" or
               (f.suffix == "" and f.read_bytes()[:32].startswith(b"#!/usr/bin/env bash"))]
    return sorted(set(scripts))


SCRIPTS = shell_scripts()


def test_the_scripts_we_mean_are_found():
    names = {str(p.relative_to(ROOT)) for p in SCRIPTS}
    for must in ("kind/e2e.sh", "scripts/build-images.sh", "scripts/install-deps.sh", ".ci/run",
                 "e2e/sandbox/up.sh", "e2e/kubelet/run.sh", "bench/render.sh"):
        assert must in names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_bash_n(script):
    r = subprocess.run([BASH, "-n", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_shellcheck_all():
    sc = shutil.which("shellcheck")
    assert sc, "shellcheck is missing: scripts/install-deps.sh installs it (Debian package shellcheck)"
    r = subprocess.run([sc, "--shell=bash", "--external-sources", "--format=gcc", *map(str, SCRIPTS)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_scripts_are_executable():
    for s in SCRIPTS:
        assert os.access(s, os.X_OK), f"{s.relative_to(ROOT)} is not executable"


# ---------------------------------------------------------------- kind/e2e.sh

STUB = r"""#!/usr/bin/env bash
# Stand-in: records its argv (and the variables the e2e script passes).
name=$(basename "$0")
{ printf '%s' "$name"; printf ' %q' "$@"; printf '\n'; } >>"$STUB_LOG"
state=$STUB_DIR/clusters
case "$name $1 $2" in
  "docker info"*) [ -z "${STUB_NO_DAEMON:-}" ] || exit 1 ;;
  "kind get clusters") cat "$state" 2>/dev/null ;;
  "kind create cluster")
    shift 2
    while [ $# -gt 0 ]; do
      case $1 in --name) n=$2 ;; --kubeconfig) k=$2 ;; esac; shift
    done
    echo "$n" >>"$state"; echo "apiVersion: v1 # kind $n" >"$k" ;;
  "kind get kubeconfig") echo "apiVersion: v1 # kind reused" ;;
  "kind delete cluster") : >"$state" ;;
esac
exit 0
"""

RECORD = r"""#!/usr/bin/env bash
{ printf '%s' "$(basename "$0")"; printf ' %q' "$@"; printf ' KUBECONFIG=%s' "$KUBECONFIG";
  printf ' EXO_E2E_TARGET=%s EXO_INSTALL=%s' "${EXO_E2E_TARGET:-}" "${EXO_INSTALL:-}";
  printf ' EXO_INSTALL_FLAGS=%s' "${EXO_INSTALL_FLAGS:-}";
  printf ' kubeconfig-says=%s\n' "$(cat "$KUBECONFIG")"; } >>"$STUB_LOG"
exit "${STUB_RC:-0}"
"""


def write_exe(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def kindenv(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for t in ("docker", "kind", "kubectl"):
        write_exe(bindir / t, STUB)
    write_exe(tmp_path / "exo-install", RECORD)
    write_exe(tmp_path / "suite.sh", RECORD)
    env = dict(os.environ)
    env.update(PATH=f"{bindir}:{env['PATH']}", STUB_LOG=str(tmp_path / "log"), STUB_DIR=str(tmp_path),
               EXO_INSTALL=str(tmp_path / "exo-install"), EXO_E2E_SUITE=str(tmp_path / "suite.sh"),
               TMPDIR=str(tmp_path))
    env.pop("KIND_CLUSTER_NAME", None)
    env.pop("KUBECONFIG", None)

    def run(*args, **extra):
        e = dict(env, **extra)
        r = subprocess.run([BASH, str(ROOT / "kind/e2e.sh"), *args], env=e, capture_output=True, text=True,
                           timeout=60)
        log = (tmp_path / "log").read_text().splitlines() if (tmp_path / "log").exists() else []
        return r, log

    run.dir = tmp_path
    return run


def rendered_images():
    """The images exo-install renders by default (ctest gives the binary)."""
    bin_ = os.environ.get("EXO_INSTALL")
    if not bin_:
        pytest.skip("EXO_INSTALL not set (ctest sets it)")
    docs = list(yaml.safe_load_all(subprocess.run([bin_, "render"], capture_output=True, text=True,
                                                  check=True).stdout))
    dep = next(d for d in docs if d and d["kind"] == "Deployment" and d["metadata"]["name"] == "exo-controller")
    ecp = next(d for d in docs if d and d["kind"] == "ExoControlPlane")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    return ecp["spec"]["backend"]["image"], c["image"], c["imagePullPolicy"]


def test_kind_e2e_runs_every_step_in_order(kindenv):
    backend, controller, policy = rendered_images()
    # kind load puts the image on the node; a policy that pulls would ignore it.
    assert policy == "IfNotPresent"
    r, log = kindenv()
    assert r.returncode == 0, r.stderr
    want = ["kind create cluster", "docker build", "docker build", "kind load docker-image",
            "kind load docker-image", "suite.sh", "kind delete cluster"]
    order = [w for line in log for w in dict.fromkeys(want) if line.startswith(w)]
    assert order == want, "\n".join(log)
    create = next(l for l in log if l.startswith("kind create cluster"))
    assert "--name exo-e2e" in create and f"--config {ROOT}/kind/cluster.yaml" in create
    builds = [l for l in log if l.startswith("docker build")]
    assert "--target exo-backend" in builds[0] and f"-t {backend}" in builds[0]
    assert "--target exo-controller" in builds[1] and f"-t {controller}" in builds[1]
    version = backend.rsplit(":", 1)[1]
    assert all(f"--build-arg EXO_VERSION={version}" in b for b in builds)
    loads = [l.split()[-1] for l in log if l.startswith("kind load docker-image")]
    assert loads == [backend, controller]
    assert all("--name exo-e2e" in l for l in log if l.startswith("kind load"))
    # The suite installs, with the loaded images.
    suite = next(l for l in log if l.startswith("suite.sh"))
    assert f"EXO_INSTALL_FLAGS=--backend-image {backend} --controller-image {controller}" in suite
    assert "EXO_E2E_TARGET=kind" in suite and "kubeconfig-says=apiVersion: v1 # kind exo-e2e" in suite
    assert f"EXO_INSTALL={kindenv.dir}/exo-install" in suite
    # The user's own kubeconfig is never touched, the temporary one is removed.
    assert not any("exo-kind." in p.name for p in kindenv.dir.iterdir())


def test_kind_e2e_keep_and_reuse(kindenv):
    r, log = kindenv("--keep", KIND_CLUSTER_NAME="mine")
    assert r.returncode == 0, r.stderr
    assert any(l.startswith("kind create cluster --name mine") for l in log)
    assert not any(l.startswith("kind delete") for l in log)
    assert "kept cluster mine" in r.stderr
    (kindenv.dir / "log").unlink()
    r, log = kindenv(KIND_CLUSTER_NAME="mine")
    assert r.returncode == 0, r.stderr
    assert "reusing cluster mine" in r.stderr
    assert not any(l.startswith("kind create") for l in log)
    assert any("kubeconfig-says=apiVersion: v1 # kind reused" in l for l in log if l.startswith("suite.sh"))
    assert log[-1].startswith("kind delete cluster --name mine")


def test_kind_e2e_suite_failure_fails_and_still_cleans_up(kindenv):
    r, log = kindenv(STUB_RC="1")
    assert r.returncode != 0
    assert "failed (exit" in r.stderr
    assert any(l.startswith("kubectl") and "get" in l for l in log)  # cluster state for the log
    assert log[-1].startswith("kind delete cluster --name exo-e2e")


def only_basics(tmp_path):
    d = tmp_path / "basics"
    d.mkdir()
    for t in ("dirname", "sed", "mktemp", "rm", "cat", "grep"):
        os.symlink(shutil.which(t), d / t)
    return str(d)


def test_kind_e2e_says_what_is_missing(kindenv, tmp_path):
    r, log = kindenv(PATH=only_basics(tmp_path), EXO_INSTALL="")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert [re.match(r"kind/e2e.sh: (\S+) is missing", l).group(1) for l in lines] == \
        ["docker", "kind", "kubectl", "cmake"], r.stderr
    assert log == []


def test_kind_e2e_needs_a_docker_daemon(kindenv):
    r, log = kindenv(STUB_NO_DAEMON="1")
    assert r.returncode == 2
    assert "no Docker daemon answers" in r.stderr
    assert not any(l.startswith("kind create") for l in log)


def test_kind_e2e_bad_argument(kindenv):
    r, _ = kindenv("--kep")
    assert r.returncode == 2 and 'unknown argument "--kep"' in r.stderr
    r, _ = kindenv("--help")
    assert r.returncode == 0 and "--keep" in r.stdout


def test_build_images_print_matches_the_rendering():
    backend, controller, _ = rendered_images()
    out = subprocess.run([str(ROOT / "scripts/build-images.sh"), "--print"], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [backend, controller]
