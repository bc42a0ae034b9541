"""exo-install support-bundle on the sandbox: the archive is read back with
Python's tarfile (a reader independent of ours), holds what a maintainer
needs, and the project's secrets audit (e2e/audit/secrets_audit.py) finds
none of the namespace's secrets in it, although they were planted where a
careless install would leak them (a ConfigMap, an annotation)."""
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile

import pytest

from common import INSTALL, ROOT

sys.path.insert(0, str(ROOT / "e2e"))
import controller_harness as ch  # noqa: E402

CONTROLLER = os.environ.get("EXO_CONTROLLER", str(ROOT / "build/controller/exo-controller"))
AUDIT = str(ROOT / "e2e/audit/secrets_audit.py")
NS = "exo"
TOKEN = "tok-" + secrets.token_urlsafe(24)
PASSWORD = "pw-" + secrets.token_urlsafe(12)


@pytest.fixture(scope="module")
def cluster():
    with ch.controller_on_sandbox(CONTROLLER, NS, "bundle-sandbox.") as (sb, ctl):
        ch.create_ecps(sb, NS, 1)
        ch.wait_converged(sb, NS, 1, timeout=120, ctl=ctl)
        sb.k("-n", NS, "create", "secret", "generic", "exo-bootstrap",
             f"--from-literal=token={TOKEN}")
        sb.k("-n", NS, "create", "secret", "generic", "exo-postgres",
             f"--from-literal=dsn=postgres://exo:{PASSWORD}@exo-postgres:5432/exo")
        # Leaks planted where the bundle reads: it must hide them all the same.
        sb.k("-n", NS, "create", "configmap", "leaky",
             f"--from-literal=note=token {TOKEN} and password {PASSWORD}")
        sb.k("-n", NS, "annotate", "exocontrolplane", "cp000", f"debug=dsn password={PASSWORD}")
        yield sb


@pytest.fixture(scope="module")
def bundle(cluster, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    f = out / "bundle.tar.gz"
    p = subprocess.run([INSTALL, "support-bundle", "--kubeconfig", cluster.kubeconfig,
                        "--namespace", NS, "--tail", "50", "-o", str(f)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "secrets redacted" in p.stderr and str(f) in p.stderr
    unpacked = out / "unpacked"
    with tarfile.open(f, "r:gz") as t:
        names = t.getnames()
        t.extractall(unpacked, filter="data")
    return f, unpacked / "exo-support-bundle", names


def test_archive_holds_versions_status_resources_and_errors(bundle):
    f, d, names = bundle
    assert oct(f.stat().st_mode & 0o777) == "0o600"
    for member in ("README.txt", "version.json", "status.txt", "status.json", "errors.txt",
                   "resources/exocontrolplanes.json", "resources/deployments.json",
                   "resources/events.json", "resources/configmaps.json",
                   "resources/secrets.json", "resources/pods.json"):
        assert "exo-support-bundle/" + member in names, member
    version = json.loads((d / "version.json").read_text())
    assert version["exoInstall"] and version["kubernetes"]["gitVersion"]
    ecps = json.loads((d / "resources/exocontrolplanes.json").read_text())
    assert [e["metadata"]["name"] for e in ecps] == ["cp000"]
    assert ecps[0]["status"]["observedGeneration"] >= 1
    deployments = json.loads((d / "resources/deployments.json").read_text())
    assert deployments and "managedFields" not in deployments[0]["metadata"]
    assert "exo" in (d / "status.txt").read_text()


def test_secrets_keep_their_keys_and_lose_their_values(bundle):
    _, d, _ = bundle
    by_name = {s["metadata"]["name"]: s for s in
               json.loads((d / "resources/secrets.json").read_text())}
    assert by_name["exo-bootstrap"]["data"] == {"token": "REDACTED"}
    assert by_name["exo-postgres"]["data"] == {"dsn": "REDACTED"}
    text = "".join(p.read_text() for p in d.rglob("*") if p.is_file())
    assert TOKEN not in text and PASSWORD not in text
    cms = json.loads((d / "resources/configmaps.json").read_text())
    leaky = next(c for c in cms if c["metadata"]["name"] == "leaky")
    assert leaky["data"]["note"] == "token REDACTED and password REDACTED"


def test_the_projects_secrets_audit_finds_no_secret_in_the_bundle(cluster, bundle, tmp_path):
    _, d, _ = bundle
    harvest = tmp_path / "harvest"
    subprocess.run([sys.executable, AUDIT, "--kubeconfig", cluster.kubeconfig, "--work",
                    str(harvest), "harvest"], check=True, capture_output=True, text=True)
    needles = json.loads((harvest / "needles.json").read_text())
    assert TOKEN in needles.values() and PASSWORD in needles.values()
    # A clean work directory: the harvest's own snapshots hold the planted leaks.
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(harvest / "needles.json", work / "needles.json")
    p = subprocess.run([sys.executable, AUDIT, "--work", str(work), "scan", str(d)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    # The same audit does find them where they were not redacted.
    leak = tmp_path / "control"
    leak.mkdir()
    (leak / "x.txt").write_text(f"token {TOKEN}\n")
    p = subprocess.run([sys.executable, AUDIT, "--work", str(work), "scan", str(leak)],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "LEAK" in p.stdout


def test_bad_flags_are_one_line_errors():
    p = subprocess.run([INSTALL, "support-bundle"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "-o FILE is required" in p.stderr
    p = subprocess.run([INSTALL, "support-bundle", "-o", "x.tgz", "--tail", "0"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "--tail" in p.stderr
