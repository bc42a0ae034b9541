#!/usr/bin/env python3
"""Install against a baseline on the same API server: API requests and wall
time of `exo-install install --wait=false` (fresh, then a no-op re-install)
next to `kubectl apply --server-side` of the same rendered manifests (fresh,
then again). Apply only: no waiting for pods, so no kubelet is needed.
A fresh run starts without the CRD for both tools; kubectl gets a fresh
discovery cache on its fresh run and a warm one on its re-run, as a user has.

Usage: bench/install.py EXO_INSTALL [KUBECONFIG]
Without KUBECONFIG, starts a sandbox (e2e/sandbox/up.sh) and stops it after.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("RUNS", "3"))


def run(cmd, **kw):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return p, time.perf_counter() - t


def kubectl(kc, *args, cache=None, verbose=False):
    cmd = ["kubectl", "--kubeconfig", kc, *args]
    if cache:
        cmd += ["--cache-dir", cache]
    if verbose:
        cmd += ["-v=6"]
    p, dt = run(cmd)
    if p.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)}: {p.stderr[-2000:]}")
    # -v=6 logs one line per HTTP response.
    return dt, len(re.findall(r'"Response"|\] (GET|POST|PATCH|PUT|DELETE) https', p.stderr))


def drop_crd(kc):
    subprocess.run(["kubectl", "--kubeconfig", kc, "delete", "crd", "exocontrolplanes.exo.dev",
                    "--ignore-not-found", "--wait=true"], check=True, capture_output=True)


def exo(bin_, kc, ns):
    p, dt = run([bin_, "install", "--kubeconfig", kc, "--namespace", ns, "--wait=false"])
    if p.returncode != 0:
        raise SystemExit(p.stdout + p.stderr)
    n = int(re.search(r"\((\d+) API requests", p.stdout).group(1))
    return dt, n


def kubectl_install(kc, ns, tmp, fresh_cache):
    d = Path(tmp) / f"m-{ns}"
    subprocess.run([sys.argv[1], "render", "--namespace", ns, "--include-secrets", "-o", str(d)],
                   check=True, capture_output=True)
    files = sorted(str(f) for f in d.glob("*.yaml") if f.name != "kustomization.yaml")
    cr = [f for f in files if "\nkind: ExoControlPlane\n" in "\n" + Path(f).read_text()]
    rest = [f for f in files if f not in cr]
    cache = tempfile.mkdtemp(prefix="kcache-", dir=tmp) if fresh_cache else os.path.join(tmp, "warm")
    t, n = 0.0, 0
    # The CR's kind exists only once the CRD is established: kubectl needs
    # three commands where exo-install needs one.
    for args in (["apply", "--server-side", "--field-manager", "bench"] + sum((["-f", f] for f in rest), []),
                 ["wait", "--for=condition=Established", "crd/exocontrolplanes.exo.dev", "--timeout=60s"],
                 ["apply", "--server-side", "--field-manager", "bench"] + sum((["-f", f] for f in cr), [])):
        dt, k = kubectl(kc, *args, cache=cache, verbose=True)
        t, n = t + dt, n + k
    return t, n


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    bin_ = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="bench-install-")
    sandbox = None
    if len(sys.argv) > 2:
        kc = sys.argv[2]
    else:
        sandbox = os.path.join(tmp, "sandbox")
        kc = subprocess.run([str(ROOT / "e2e/sandbox/up.sh"), sandbox], check=True,
                            capture_output=True, text=True).stdout.strip()
    try:
        rows = {"exo fresh": [], "exo no-op": [], "kubectl fresh": [], "kubectl again": []}
        for i in range(RUNS):
            drop_crd(kc)
            rows["exo fresh"].append(exo(bin_, kc, f"bench-e{i}"))
            rows["exo no-op"].append(exo(bin_, kc, f"bench-e{i}"))
            drop_crd(kc)
            rows["kubectl fresh"].append(kubectl_install(kc, f"bench-k{i}", tmp, True))
            rows["kubectl again"].append(kubectl_install(kc, f"bench-k{i}", tmp, False))
        med = {k: (sorted(x[0] for x in v)[len(v) // 2], sorted(x[1] for x in v)[len(v) // 2])
               for k, v in rows.items()}
        print(f"install on the sandbox API server, median of {RUNS} runs (apply only, no pods)")
        print(f"{'':34s} {'wall':>9s} {'requests':>9s}")
        for k, label in (("exo fresh", "exo-install install (fresh)"),
                         ("kubectl fresh", "kubectl apply --server-side (fresh)"),
                         ("exo no-op", "exo-install install (no-op)"),
                         ("kubectl again", "kubectl apply --server-side (again)")):
            print(f"{label:34s} {med[k][0] * 1000:7.0f}ms {med[k][1]:9d}")
        print(f"ratio kubectl/exo-install: fresh {med['kubectl fresh'][0] / med['exo fresh'][0]:.1f}x "
              f"time, {med['kubectl fresh'][1] / med['exo fresh'][1]:.1f}x requests; "
              f"re-run {med['kubectl again'][0] / med['exo no-op'][0]:.1f}x time, "
              f"{med['kubectl again'][1] / med['exo no-op'][1]:.1f}x requests")
        print("exo-install's requests include its preflight (permission reviews), the Secret "
              "reads, the ApplySet listing for pruning and the CRD wait; kubectl's include "
              "discovery.")
    finally:
        for i in range(RUNS):  # the bench's namespaces, on a cluster it did not start
            for ns in (f"bench-e{i}", f"bench-k{i}"):
                subprocess.run(["kubectl", "--kubeconfig", kc, "delete", "namespace", ns,
                                "--ignore-not-found", "--wait=false"], capture_output=True)
        if sandbox:
            subprocess.run([str(ROOT / "e2e/sandbox/down.sh"), sandbox], capture_output=True)


if __name__ == "__main__":
    main()
