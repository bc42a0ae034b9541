"""exo-controller against the sandbox API server (e2e/sandbox; no kubelet: the
controller only talks to the API), shared by bench/controller.py,
e2e/controller_soak.py and e2e/memcheck_test.py: the sandbox, the namespace
an ExoControlPlane needs, the controller process and what it exposes
(/metrics, VmRSS, CPU), a small REST client for writes faster than kubectl,
and the churn that makes the controller reconcile."""
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CRD = ROOT / "manifests/01-customresourcedefinition-exocontrolplanes.exo.dev.yaml"


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid):
    """User + system CPU seconds of pid so far."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def writes(m):
    return sum(v for k, v in m.items() if k.startswith("exo_controller_api_writes_total"))


def ecp(i, ns, replicas=1):
    return {
        "apiVersion": "exo.dev/v1alpha1", "kind": "ExoControlPlane",
        "metadata": {"name": f"cp{i:03d}", "namespace": ns},
        "spec": {
            "backend": {"image": "ghcr.io/exo-dev/exo-backend:0.1.0", "replicas": replicas},
            "database": {"dsnSecretRef": {"name": "exo-database", "key": "dsn"}},
            "encryption": {"keySecretRef": {"name": "exo-encryption", "key": "key"}},
            "casts": {"claimName": "exo-casts"},
        },
    }


class Api:
    """JSON over one kept-alive HTTPS connection, as the sandbox's
    token user (cluster-admin through RBAC)."""

    def __init__(self, sandbox_dir):
        env = dict(line.split("=", 1) for line in
                   Path(sandbox_dir, "env").read_text().split())
        env = {k: v.strip("'") for k, v in env.items()}
        kc = yaml.safe_load(Path(sandbox_dir, "kubeconfig-token").read_text())
        self.token = kc["users"][0]["user"]["token"]
        self.host, self.port = env["SANDBOX_APISERVER_HOST"], int(env["SANDBOX_APISERVER_PORT"])
        self.ctx = ssl.create_default_context(cafile=env["SANDBOX_CA_FILE"])
        self.conn = None

    def call(self, method, path, body=None, ctype="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = ctype
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                                        timeout=60)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                text = r.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        return r.status, (json.loads(text) if text else None)

    def merge_patch(self, path, body):
        return self.call("PATCH", path, body, "application/merge-patch+json")


class Sandbox:
    """e2e/sandbox/up.sh in a fresh directory; stop() stops it and removes
    the directory."""

    def __init__(self, prefix="controller-sandbox."):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.kubeconfig = sh(str(ROOT / "e2e/sandbox/up.sh"), self.dir).strip()
        self.api = Api(self.dir)

    def k(self, *args, **kw):
        return sh("kubectl", "--kubeconfig", self.kubeconfig, "--request-timeout=60s", *args, **kw)

    def stop(self):
        subprocess.run([str(ROOT / "e2e/sandbox/down.sh"), self.dir], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def prepare_namespace(sb, ns):
    """The CRD, the namespace, and the Secrets and volume ecp() refers to."""
    sb.k("create", "namespace", ns)
    sb.k("apply", "--server-side", "-f", str(CRD))
    sb.k("wait", "--for=condition=Established", "crd/exocontrolplanes.exo.dev")
    sb.k("-n", ns, "create", "secret", "generic", "exo-database",
         "--from-literal=dsn=host=db user=exo password=bench dbname=exo")
    sb.k("-n", ns, "create", "secret", "generic", "exo-encryption",
         "--from-literal=key=" + "A" * 43 + "=")
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": "exo-casts", "namespace": ns},
           "spec": {"accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}}}}
    sb.k("apply", "-f", "-", input=json.dumps(pvc))


def create_ecps(sb, ns, n, replicas=1):
    docs = {"apiVersion": "v1", "kind": "List",
            "items": [ecp(i, ns, replicas) for i in range(n)]}
    sb.k("apply", "--server-side", "-f", "-", input=json.dumps(docs))


def converged(sb, ns, n):
    """(resources whose status.observedGeneration is their generation,
    Deployments), as kubectl sees them."""
    items = json.loads(sb.k("-n", ns, "get", "exocontrolplanes", "-o", "json"))["items"]
    done = sum(1 for it in items if it.get("status", {}).get("observedGeneration")
               == it["metadata"]["generation"])
    deps = len(sb.k("-n", ns, "get", "deployments", "-o", "name").split())
    return done, deps


def wait_converged(sb, ns, n, timeout=600, ctl=None):
    """Seconds until n resources are reconciled; given a Controller, fails
    as soon as it has exited (nothing will reconcile them then)."""
    start = time.monotonic()
    while True:
        done, deps = converged(sb, ns, n)
        if done >= n and deps >= n:
            return time.monotonic() - start
        if ctl and ctl.p.poll() is not None:
            raise AssertionError(f"exo-controller exited {ctl.p.returncode} after "
                                 f"{time.monotonic() - start:.0f} s: {done}/{n} status, "
                                 f"{deps} Deployments")
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not reconciled after {timeout} s: {done}/{n} status, "
                                 f"{deps} Deployments")
        time.sleep(0.5)


class Controller:
    """exo-controller on the sandbox, optionally under a wrapper (valgrind);
    its log goes to a file."""

    def __init__(self, binary, sb, ns, log_path, args=(), wrapper=(), ready_timeout=60):
        self.port = free_port()
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.p = subprocess.Popen([*wrapper, str(binary), "--kubeconfig", sb.kubeconfig,
                                   "--namespace", ns, "--health-addr",
                                   f"127.0.0.1:{self.port}", *args], stderr=self.log)
        deadline = time.monotonic() + ready_timeout
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz",
                                          timeout=2).status == 200:
                    break
            except OSError:
                pass
            if self.p.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("exo-controller did not become ready:\n" + self.log_tail())
            time.sleep(0.1)

    @property
    def pid(self):
        return self.p.pid

    def metrics(self):
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics",
                                      timeout=30).read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def reconciles(self):
        return int(self.metrics()["exo_controller_reconcile_total"])

    def settle(self, quiet_s=1.0, timeout=120):
        """Waits until the queue is empty and no reconcile happened for
        quiet_s; returns the reconcile count."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            m = self.metrics()
            n = int(m["exo_controller_reconcile_total"])
            if n != last or m["exo_controller_queue_depth"] > 0:
                last, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return n
            time.sleep(0.2)
        return last

    def log_tail(self, lines=30):
        if not self.log.closed:
            self.log.flush()
        return "\n".join(Path(self.log_path).read_text().splitlines()[-lines:])

    def stop(self, timeout=60):
        """SIGTERM; returns the exit status (SIGKILL and None after timeout)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                self.log.close()
                return None
        self.log.close()
        return self.p.returncode


@contextlib.contextmanager
def controller_on_sandbox(binary, ns, prefix, args=()):
    """A fresh sandbox, the namespace prepared, exo-controller watching it;
    yields (sandbox, controller) and stops both."""
    sb = Sandbox(prefix=prefix)
    ctl = None
    try:
        prepare_namespace(sb, ns)
        ctl = Controller(binary, sb, ns, Path(sb.dir) / "controller.log", args=args)
        yield sb, ctl
    finally:
        if ctl:
            ctl.stop()
        sb.stop()


def churn(sb, ns, n, rnd):
    """One round of changes to resources cp000..cp(n-1), each of which makes
    the controller reconcile, turning by round so that every resource gets
    each kind: the database Secret's annotation (every resource refers to it:
    n reconciles from one write, no change to apply); an annotation on every
    tenth resource (a watch event, no new generation); a spec change on
    another tenth (a new generation: the Deployment is applied, the status
    written); the Deployment or the Service of every 25th deleted (the
    controller recreates it). Returns the number of API writes sent."""
    base = f"/apis/exo.dev/v1alpha1/namespaces/{ns}/exocontrolplanes"
    status, got = sb.api.merge_patch(f"/api/v1/namespaces/{ns}/secrets/exo-database",
                                     {"metadata": {"annotations": {"soak.exo.dev/round":
                                                                   str(rnd)}}})
    assert status == 200, (status, got)
    sent = 1
    for i in range(n):
        body = None
        if (i + rnd) % 10 == 0:
            body = {"metadata": {"annotations": {"soak.exo.dev/round": str(rnd)}}}
        elif (i + rnd) % 10 == 5:
            body = {"spec": {"retention": {"defaultDays": 30 + rnd % 50}}}
        if body:
            status, got = sb.api.merge_patch(f"{base}/cp{i:03d}", body)
            assert status == 200, (status, got)
            sent += 1
        if (i + rnd) % 25 == 12:
            what = ("apis/apps/v1", "deployments") if (i + rnd) % 2 else ("api/v1", "services")
            status, got = sb.api.call("DELETE", f"/{what[0]}/namespaces/{ns}/{what[1]}/"
                                      f"cp{i:03d}-backend")
            assert status in (200, 202, 404), (status, got)
            sent += 1
    return sent
