"""exo-controller benchmark on the sandbox control plane (e2e/sandbox; no
kubelet is needed: the controller only talks to the API). Prints figures;
asserts nothing about time.

    python3 bench/controller.py [BUILD_DIR] [N]      (default build, 500)

Figures:
  - resident memory (VmRSS) and CPU idle, with the caches synced and no
    resource;
  - time from creating N ExoControlPlane resources (one kubectl apply) to all
    reconciled: each has status.observedGeneration == metadata.generation
    and its backend Deployment exists;
  - resident memory with N resources (and their N Deployments, Services);
  - API writes per no-op resync of all N (from /metrics; goal 0).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
build = Path(sys.argv[1] if len(sys.argv) > 1 else "build")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 500
CTL = build / "controller/exo-controller"
NS = "bench"
RESYNC_S = 30


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


def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def writes(m):
    return sum(v for k, v in m.items() if k.startswith("exo_controller_api_writes_total"))


def ecp(i):
    return {
        "apiVersion": "exo.dev/v1alpha1", "kind": "ExoControlPlane",
        "metadata": {"name": f"cp{i:03d}", "namespace": NS},
        "spec": {
            "backend": {"image": "ghcr.io/exo-dev/exo-backend:0.1.0", "replicas": 1},
            "database": {"dsnSecretRef": {"name": "exo-database", "key": "dsn"}},
            "encryption": {"keySecretRef": {"name": "exo-encryption", "key": "key"}},
            "casts": {"claimName": "exo-casts"},
        },
    }


def main():
    d = tempfile.mkdtemp(prefix="controller-bench.")
    ctl = None
    try:
        kc = sh(str(ROOT / "e2e/sandbox/up.sh"), d).strip()

        def k(*args, **kw):
            return sh("kubectl", "--kubeconfig", kc, "--request-timeout=60s", *args, **kw)

        k("create", "namespace", NS)
        k("apply", "--server-side", "-f",
          str(ROOT / "manifests/01-customresourcedefinition-exocontrolplanes.exo.dev.yaml"))
        k("wait", "--for=condition=Established", "crd/exocontrolplanes.exo.dev")
        k("-n", NS, "create", "secret", "generic", "exo-database",
          "--from-literal=dsn=host=db user=exo password=bench dbname=exo")
        k("-n", NS, "create", "secret", "generic", "exo-encryption",
          "--from-literal=key=" + "A" * 43 + "=")
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "exo-casts", "namespace": NS},
               "spec": {"accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}}}}
        k("apply", "-f", "-", input=json.dumps(pvc))

        port = free_port()
        log = open(os.path.join(d, "controller.log"), "w")
        ctl = subprocess.Popen([str(CTL), "--kubeconfig", kc, "--namespace", NS,
                                "--health-addr", f"127.0.0.1:{port}",
                                f"--resync-period={RESYNC_S}s"], stderr=log)
        for _ in range(100):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        time.sleep(3)
        idle = rss_kib(ctl.pid)
        c0 = cpu_s(ctl.pid)
        time.sleep(10)
        idle_cpu = (cpu_s(ctl.pid) - c0) / 10

        docs = {"apiVersion": "v1", "kind": "List", "items": [ecp(i) for i in range(N)]}
        start = time.perf_counter()
        k("apply", "--server-side", "-f", "-", input=json.dumps(docs))
        created = time.perf_counter() - start
        while True:
            items = json.loads(k("-n", NS, "get", "exocontrolplanes", "-o", "json"))["items"]
            done = sum(1 for it in items if it.get("status", {}).get("observedGeneration")
                       == it["metadata"]["generation"])
            deps = len(k("-n", NS, "get", "deployments", "-o", "name").split())
            if done == N and deps == N:
                break
            if time.perf_counter() - start > 600:
                raise SystemExit(f"not reconciled after 600 s: {done}/{N} status, {deps} Deployments")
            time.sleep(0.5)
        reconciled = time.perf_counter() - start

        # Let the Deployment controller's status updates settle, then count
        # the writes across whole resyncs of every resource.
        last, stable_since = None, time.perf_counter()
        while time.perf_counter() - stable_since < 8:
            w = writes(metrics(port))
            if w != last:
                last, stable_since = w, time.perf_counter()
            time.sleep(1)
        m0 = metrics(port)
        time.sleep(RESYNC_S * 2 + 2)
        m1 = metrics(port)
        with_n = rss_kib(ctl.pid)
        recs = m1["exo_controller_reconcile_total"] - m0["exo_controller_reconcile_total"]
        resyncs = recs / N
        wdelta = writes(m1) - writes(m0)
        hist = m1["exo_controller_reconcile_duration_seconds_sum"] / \
            m1["exo_controller_reconcile_duration_seconds_count"]

        print(f"exo-controller, {N} ExoControlPlane resources, sandbox API server (Kubernetes 1.34)")
        print(f"  RSS idle (caches synced, 0 resources):   {idle / 1024:7.1f} MiB")
        print(f"  CPU idle (watches polled every 50 ms):    {idle_cpu * 100:7.2f} % of a core")
        print(f"  RSS with {N} resources (+{N} Deployments, Services): {with_n / 1024:7.1f} MiB")
        print(f"  kubectl apply of {N} resources:          {created:7.2f} s")
        print(f"  create -> all {N} reconciled:             {reconciled:7.2f} s "
              f"({N / reconciled:.0f} resources/s)")
        print(f"  mean reconcile duration:                 {hist * 1000:7.2f} ms "
              f"over {int(m1['exo_controller_reconcile_total'])} reconciles")
        print(f"  no-op resyncs observed: {resyncs:.1f} x {N} reconciles, API writes: {int(wdelta)} "
              f"({wdelta / max(resyncs, 1):.1f} per resync; goal 0)")
        print("  reference: no published figures for a comparable operator were found to print beside these")
    finally:
        if ctl:
            ctl.terminate()
            ctl.wait(timeout=30)
        subprocess.run([str(ROOT / "e2e/sandbox/down.sh"), d], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
