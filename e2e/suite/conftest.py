"""Shared by the e2e tests: the cluster (KUBECONFIG, set by e2e/suite.sh),
the binaries, kubectl, and what differs between the two targets."""
import base64
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = os.environ.get("EXO_E2E_TARGET", "sandbox")
KUBECONFIG = os.environ["KUBECONFIG"]
EXO_INSTALL = os.environ["EXO_INSTALL"]
# The controller runs only when the process kubelet has a binary for its
# image (sandbox) or its image was loaded (kind).
HAVE_CONTROLLER = TARGET == "kind" or bool(os.environ.get("EXO_CONTROLLER"))


def kubectl(*args, check=True, input=None):
    p = subprocess.run(["kubectl", "--kubeconfig", KUBECONFIG, "--request-timeout=30s", *args],
                       capture_output=True, text=True, input=input)
    if check and p.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {p.stderr.strip()}")
    return p


def kjson(*args):
    return json.loads(kubectl(*args, "-o", "json").stdout)


# Flags for every install, e.g. kind/e2e.sh's image references.
INSTALL_FLAGS = os.environ.get("EXO_INSTALL_FLAGS", "").split()

# The secrets audit (e2e/audit/secrets_audit.py): what every exo-install
# printed goes to AUDIT/outputs, and the cluster's secrets, Events, status and
# pod logs are harvested after each command and each test, while the
# namespaces still exist; test_secrets_audit.py, last, looks for the secrets.
sys.path.insert(0, str(ROOT / "e2e/audit"))
import secrets_audit  # noqa: E402

AUDIT = secrets_audit.Work(os.environ.get("EXO_E2E_AUDIT") or
                           (Path(os.environ["EXO_E2E_DIR"]) / "audit" if "EXO_E2E_DIR" in os.environ
                            else tempfile.mkdtemp(prefix="exo-audit.")))
_outputs = itertools.count()


def audit_output(what, p):
    """Keeps what a command printed (never its arguments: they hold the
    test's own secrets) for the audit."""
    out = AUDIT.path / "outputs"
    out.mkdir(exist_ok=True)
    (out / f"{next(_outputs):04d}-{what}.txt").write_text(f"{p.stdout}\n--- stderr\n{p.stderr}")


def audit_needle(name, value):
    """A secret the test gave that no Secret holds (a refused password)."""
    AUDIT.add(name, value)


def audit_harvest():
    secrets_audit.harvest(AUDIT, KUBECONFIG)


def exo_install(*args, kubeconfig=None, timeout=900):
    extra = INSTALL_FLAGS if args and args[0] == "install" else []
    p = subprocess.run([EXO_INSTALL, *args, *extra, "--kubeconfig", kubeconfig or KUBECONFIG],
                       capture_output=True, text=True, timeout=timeout)
    if args[:2] == ("key", "export"):  # printing the key is its job: keep the rest
        p_audit = subprocess.CompletedProcess(p.args, p.returncode, "(the key)", p.stderr)
    else:
        p_audit = p
    audit_output("-".join(a for a in args[:2] if not a.startswith("-")), p_audit)
    audit_harvest()
    return p


@pytest.fixture(autouse=True)
def _audit_after_each_test():
    yield
    audit_harvest()


def secret_value(ns, name, key):
    data = kjson("-n", ns, "get", "secret", name)["data"]
    return base64.b64decode(data[key]).decode()


def wait_for(what, fn, timeout=180):
    end = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(1)


def psql(ns, password, sql):
    """Runs sql as the bundled database's user with password, from where the
    target allows: the pod IP from the host (sandbox), kubectl exec (kind)."""
    if TARGET == "kind":
        p = kubectl("-n", ns, "exec", "exo-postgres-0", "--", "env", f"PGPASSWORD={password}",
                    "psql", "-h", "127.0.0.1", "-U", "exo", "-d", "exo", "-XAtqc", sql,
                    check=False)
    else:
        ip = kjson("-n", ns, "get", "pod", "exo-postgres-0")["status"]["podIP"]
        p = subprocess.run(["psql", "-h", ip, "-U", "exo", "-d", "exo", "-XAtqc", sql],
                           capture_output=True, text=True,
                           env={**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"})
    return p


def install_footprint(ns):
    """kind/name -> what a change by exo-install would move, for everything
    in ns and the CRD: the resourceVersion of objects without a generation
    (Secrets, Services, ...), and of the others their generation and the time
    of exo-install's managed-fields entry. Not their resourceVersion: the
    Deployment and StatefulSet controllers update status whenever they like
    (a pod turning ready after install's wait), which moves it."""
    out = {}
    items = kjson("-n", ns, "get",
                  "secrets,configmaps,pvc,serviceaccounts,services,statefulsets,deployments,"
                  "roles,rolebindings,exocontrolplanes")["items"]
    items.append(kjson("get", "crd", "exocontrolplanes.exo.dev"))
    items.append(kjson("get", "namespace", ns))
    for it in items:
        md = it["metadata"]
        if "generation" in md:
            mine = [f.get("time") for f in md.get("managedFields", [])
                    if f.get("manager") == "exo-install"]
            out[f"{it['kind']}/{md['name']}"] = f"generation {md['generation']}, applied {mine}"
        else:
            out[f"{it['kind']}/{md['name']}"] = md["resourceVersion"]
    return out


@pytest.fixture
def scratch_kubeconfig(tmp_path):
    """A kubeconfig like the user's, with one field changed by the test."""
    cfg = json.loads(kubectl("config", "view", "--raw", "--flatten", "-o", "json").stdout)

    def make(server=None, token=None):
        c = json.loads(json.dumps(cfg))
        if server:
            c["clusters"][0]["cluster"]["server"] = server
        if token:
            c["users"][0]["user"] = {"token": token}
        path = tmp_path / "kubeconfig"
        path.write_text(json.dumps(c))
        return str(path)
    return make
