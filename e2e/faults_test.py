#!/usr/bin/env python3
"""exo-install and exo-controller under API faults (e2e/sandbox's fault
injection, e2e/README.md): one sandbox and process kubelet, a sweep of fault
rates changed at run time through DIR/faults, and at each rate an
`exo-install install` (waiting for Ready) with the controller running in the
cluster under the same faults.

Rows:
  fresh   the first install, with half of the POSTs failing (500, or the
          answer cut mid-body after the server made the object): the
          Secrets' creates are retried and read back, never made twice;
  0 .. 0.3 re-installs with that fraction of requests failing, of every kind
          (500, 429, 503, answers cut mid-body, watches ended early or 410).

An install that fails must fail with one line; it is then run again, with
the same faults, until it succeeds (at most 3 runs a row). After each row:
the ExoControlPlane is Ready; there is one ReplicaSet per Deployment and the
backend Deployment's generation has not moved since the first row (no
spurious rollout); one pod per workload; every exo Secret's data is
byte-identical to what the first install stored; the controller container
never exited (restartCount 0); the retries exo-install
reports (stderr) are > 0 when faults were injected into a successful run and
never more, per cause, than the retryable answers it got (injected, plus the
real ones the sandbox counts as real-N); the controller's reported retries
(both pods of the row) are never more than what was injected into it (its
watch counters are not bounded so: a watch refused with a 500 counts an error
and a relist), and retries + watch restarts/relists/errors are > 0 over the
sweep.

Prints the outcome table. Needs root (the process kubelet), kubectl, curl.
EXO_E2E_NET=N as for the other e2e tests; EXO_BUILD_DIR (default build/).
Exit status 0 only when every check passed."""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "e2e/audit"))
import secrets_audit  # noqa: E402  (the secrets audit of the run, as e2e_suite's)
BUILD = Path(os.environ.get("EXO_BUILD_DIR", ROOT / "build"))
INSTALL = os.environ.get("EXO_INSTALL", str(BUILD / "installer/exo-install"))
BACKEND = os.environ.get("EXO_BACKEND", str(BUILD / "backend/exo-backend"))
CONTROLLER = os.environ.get("EXO_CONTROLLER", str(BUILD / "controller/exo-controller"))
NS = "exo"
ROWS = [("fresh", "rate=0.5,seed=11,kinds=500+drop,methods=POST"),
        ("0", "rate=0"),
        ("0.05", "rate=0.05,seed=5"),
        ("0.1", "rate=0.1,seed=10"),
        ("0.2", "rate=0.2,seed=20"),
        ("0.3", "rate=0.3,seed=30")]
API_KINDS = ("500", "429", "503", "drop")
CAUSE_OF = {"500": "500", "429": "429", "503": "503", "drop": "dropped"}

failures = []


def check(ok, what):
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def run(*args, timeout=300, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


class Cluster:
    def __init__(self, d):
        self.dir = d
        self.kc = str(d / "kubeconfig")

    def kubectl(self, *args):
        p = run("kubectl", "--kubeconfig", self.kc, "--request-timeout=30s", *args)
        if p.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {p.stderr.strip()}")
        return p.stdout

    def kjson(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json"))

    def faults(self, spec):
        (self.dir / "faults").write_text(spec + "\n")
        # The sandbox re-reads the file within 200 ms and says so in its counters.
        for _ in range(50):
            if self.injected().get("spec") == spec:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the sandbox did not take faults {spec!r}")

    def injected(self):
        try:
            return json.loads((self.dir / "faults-injected.json").read_text())
        except (OSError, ValueError):
            return {}


def by_agent(snap, agent):
    return dict(snap.get("byAgent", {}).get(agent, {}))


def delta(after, before):
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def secrets_data(c):
    out = {}
    for s in c.kjson("-n", NS, "get", "secrets")["items"]:
        if s["metadata"]["name"].startswith("exo-"):
            out[s["metadata"]["name"]] = s.get("data", {})
    return out


def controller_metrics(c):
    """The controller's API counters from /metrics on its pod IP, or None."""
    pods = [p for p in c.kjson("-n", NS, "get", "pods", "-l",
                               "app.kubernetes.io/name=exo-controller")["items"]
            if p["status"].get("podIP") and not p["metadata"].get("deletionTimestamp")]
    if len(pods) != 1:
        return None
    try:
        with urllib.request.urlopen(f"http://{pods[0]['status']['podIP']}:8081/metrics",
                                    timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = {}
    for line in text.splitlines():
        g = re.match(r'exo_controller_(api_retries_total\{cause="(\w+)"\}|'
                     r'(watch_restarts|watch_relists|watch_errors)_total) (\d+)$', line)
        if g:
            m[g.group(2) or g.group(3)] = int(g.group(4))
    return m


def other_real(inj):
    """Real 5xx answers other than 500 and 503 (the client's "other 5xx")."""
    return sum(v for k, v in inj.items()
               if k.startswith("real-") and k not in ("real-429", "real-500", "real-503"))


def controller_pod(c, running=False):
    for p in c.kjson("-n", NS, "get", "pods", "-l", "app.kubernetes.io/name=exo-controller")["items"]:
        if p["metadata"].get("deletionTimestamp"):
            continue
        if running and p["status"].get("phase") != "Running":
            continue
        return p["metadata"]["name"]
    return None


def controller_restarts(c):
    return sum(cs.get("restartCount", 0)
               for p in c.kjson("-n", NS, "get", "pods", "-l",
                                "app.kubernetes.io/name=exo-controller")["items"]
               for cs in p["status"].get("containerStatuses", []))


def service_back(c):
    try:
        c.kubectl("-n", NS, "get", "service", "exo-backend")
        return True
    except RuntimeError:
        return False


def lease_holder(c):
    try:
        return c.kjson("-n", NS, "get", "lease", "exo-controller")["spec"].get("holderIdentity")
    except RuntimeError:
        return None


def ready(c):
    try:
        ecp = c.kjson("-n", NS, "get", "exocontrolplane", "exo")
    except RuntimeError:
        return False
    return any(x["type"] == "Ready" and x["status"] == "True"
               for x in ecp.get("status", {}).get("conditions", []))


def wait(what, fn, timeout=90):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.5)
    return None


def reported_retries(stderr):
    """exo-install's 'retried N API requests: 2x 500, 1 dropped connection' line."""
    m = re.search(r"^exo-install: retried (\d+) API requests?: (.*)$", stderr, re.M)
    if not m:
        return 0, {}
    causes = {}
    for part in m.group(2).split(", "):
        g = re.match(r"(\d+)x (500|429|503)$", part) or re.match(r"(\d+) (dropped) connections?$",
                                                                   part)
        if g:
            causes[g.group(2)] = int(g.group(1))
        else:
            g = re.match(r"(\d+)", part)
            causes["other"] = causes.get("other", 0) + int(g.group(1))
    return int(m.group(1)), causes


def workload_state(c):
    rs = c.kjson("-n", NS, "get", "replicasets")["items"]
    owners = {}
    for r in rs:
        for o in r["metadata"].get("ownerReferences", []):
            owners[o["name"]] = owners.get(o["name"], 0) + 1
    pods = [p["metadata"]["name"] for p in c.kjson("-n", NS, "get", "pods")["items"]
            if not p["metadata"].get("deletionTimestamp")]
    gen = c.kjson("-n", NS, "get", "deployment", "exo-backend")["metadata"]["generation"]
    return owners, pods, gen


def main():
    for b in (INSTALL, BACKEND, CONTROLLER):
        if not os.access(b, os.X_OK):
            print(f"missing {b}: build first (make build)")
            return 2
    t_start = time.time()
    d = Path(tempfile.mkdtemp(prefix="exo-faults-e2e."))
    env = dict(os.environ)
    c = Cluster(d)
    audit = secrets_audit.Work(d / "audit")
    rows = []
    try:
        p = run(str(ROOT / "e2e/sandbox/up.sh"), str(d), timeout=200, env=env)
        if not check(p.returncode == 0, f"sandbox up in {d}"):
            print(p.stderr[-2000:])
            return 1
        p = run(str(ROOT / "e2e/kubelet/run.sh"), str(d), "--backend", BACKEND,
                "--controller", CONTROLLER, timeout=120, env=env)
        if not check(p.returncode == 0, "kubelet up"):
            print(p.stderr[-2000:])
            return 1
        print(f"setup {time.time() - t_start:.1f}s", flush=True)
        first_secrets, first_gen = None, None
        totals = {"ctl_inj": 0, "ctl_rep": 0}
        for name, spec in ROWS:
            c.faults(spec)
            before = c.injected()
            m0 = controller_metrics(c) or {}  # the running controller's, if any
            runs, t0 = [], time.time()
            for attempt in range(3):
                p = run(INSTALL, "install", "--kubeconfig", c.kc, "--timeout", "3m", timeout=240)
                runs.append(p)
                (audit.path / f"install-{name}-{attempt}.txt").write_text(p.stdout + p.stderr)
                if p.returncode == 0:
                    break
                lines = p.stderr.strip().splitlines()
                check(p.returncode == 1 and len(lines) == 1 and lines[0].startswith(
                    "exo-install install: "), f"[{name}] a failed install says why in one line: "
                    f"{p.stderr.strip()[:300]}")
            took = time.time() - t0
            confirmed = sum(r.stdout.count("(confirmed by reading it back") for r in runs)
            if confirmed:
                print(f"[{name}] {confirmed} Secret create(s) whose answer was lost, "
                      "confirmed by reading back", flush=True)
            ok = check(runs[-1].returncode == 0, f"[{name}] install converged in {len(runs)} run(s)")
            is_ready = wait("Ready", lambda: ready(c)) is not None
            check(is_ready, f"[{name}] ExoControlPlane Ready")
            inj_i = delta(by_agent(c.injected(), "exo-install"), by_agent(before, "exo-install"))
            # Retries exo-install reported in its successful run, against the
            # retryable answers it got in this row (injected, and real ones:
            # a new CRD's storage answers 429 until its cache is ready).
            n_rep, rep = reported_retries(runs[-1].stderr)
            got = {k: inj_i.get(k, 0) + (inj_i.get("real-" + k, 0) if k != "drop" else 0)
                   for k in API_KINDS}
            if ok:
                check(n_rep <= sum(got.values()) + other_real(inj_i),
                      f"[{name}] install retries reported {n_rep} <= retryable answers "
                      f"{sum(got.values()) + other_real(inj_i)}")
                for k in API_KINDS:
                    check(rep.get(CAUSE_OF[k], 0) <= got[k],
                          f"[{name}] install retries after {k}: {rep.get(CAUSE_OF[k], 0)} <= "
                          f"{got[k]}")
                if len(runs) == 1 and sum(inj_i.get(k, 0) for k in API_KINDS):
                    check(n_rep > 0, f"[{name}] install reported its retries")
            # The controller under the same faults: a new pod (the old one
            # releases the Lease on SIGTERM) lists, watches, takes the Lease
            # and makes again the Service deleted meanwhile.
            # Until here the first controller pod's counters (all of them
            # for the fresh install, which started it); then the new pod's.
            m1 = controller_metrics(c) or {}
            ctl_rep, ctl_s = {k: v - m0.get(k, 0) for k, v in m1.items()}, 0.0
            if name != "fresh":
                t1 = time.time()
                old = controller_pod(c)
                c.kubectl("-n", NS, "delete", "pod", old, "--wait=false")
                c.kubectl("-n", NS, "delete", "service", "exo-backend")
                new = wait("new controller", lambda: (lambda p: p if p and p != old else None)(
                    controller_pod(c, running=True)), timeout=60)
                check(new is not None, f"[{name}] a new controller pod runs")
                healed = wait("Service and Lease", lambda: service_back(c) and
                              lease_holder(c) == new, timeout=90)
                check(bool(healed), f"[{name}] the new controller took the Lease and made the "
                      f"Service again")
                check(wait("Ready", lambda: ready(c)) is not None,
                      f"[{name}] ExoControlPlane Ready after the controller restart")
                ctl_s = time.time() - t1
                for k, v in (controller_metrics(c) or {}).items():
                    ctl_rep[k] = ctl_rep.get(k, 0) + v
            inj_c = delta(by_agent(c.injected(), "exo-controller"),
                          by_agent(before, "exo-controller"))
            ctl_total = sum(ctl_rep.values())
            # Retries answer one fault each; the watch counters do not: a
            # watch refused with a 500 counts an error and then a relist.
            ctl_retries = sum(v for k, v in ctl_rep.items() if not k.startswith("watch_"))
            if ctl_rep:
                check(ctl_retries <= sum(inj_c.values()),
                      f"[{name}] controller retries {ctl_retries} <= injected and real error "
                      f"answers {sum(inj_c.values())}")
            totals["ctl_inj"] += sum(v for k, v in inj_c.items() if not k.startswith("real-"))
            totals["ctl_rep"] += ctl_total
            owners, pods, gen = workload_state(c)
            dup = {k: v for k, v in owners.items() if v != 1}
            check(not dup, f"[{name}] one ReplicaSet per Deployment: {owners}")
            check(len(pods) == 3, f"[{name}] one pod per workload: {pods}")
            restarts = controller_restarts(c)
            check(restarts == 0, f"[{name}] the controller did not exit (container restarts: "
                  f"{restarts})")
            secrets = secrets_data(c)
            if first_secrets is None:
                first_secrets, first_gen = secrets, gen
                check({"exo-encryption", "exo-postgres", "exo-database", "exo-bootstrap"}
                      <= set(secrets), f"[{name}] the generated Secrets exist")
            same = secrets == first_secrets
            check(same, f"[{name}] every exo Secret byte-identical to the first install's")
            check(gen == first_gen, f"[{name}] backend Deployment generation {gen} unchanged")
            secrets_audit.harvest(audit, c.kc)
            rows.append((name, inj_i, inj_c, [r.returncode for r in runs], took, n_rep, rep,
                         ctl_rep, ctl_s, is_ready, len(dup), same))
        check(totals["ctl_rep"] > 0 or totals["ctl_inj"] == 0,
              f"the controller reported retries ({totals['ctl_rep']}) for the "
              f"{totals['ctl_inj']} faults injected into it")
        c.faults("rate=0")
        p = run(INSTALL, "install", "--kubeconfig", c.kc, timeout=240)
        check(p.returncode == 0 and "0 created, 0 configured" in p.stdout,
              "a last install without faults changes nothing")
    finally:
        run(str(ROOT / "e2e/kubelet/stop.sh"), str(d), timeout=120)
        run(str(ROOT / "e2e/sandbox/down.sh"), str(d), timeout=120)
    # Retries and faults must not put a secret into any message either.
    check(secrets_audit.scan(audit, [str(d)]) == 0,
          "secrets audit: no Secret value in any log, Event, status or output of the run")
    fmt = lambda m: " ".join(f"{k}:{v}" for k, v in sorted(m.items())) or "-"  # noqa: E731
    print()
    print("| rate | injected into install (real-N: real answers) | injected into controller | "
          "install exit(s) | install time | install retries reported | controller retries and "
          "watch ends (both pods) | Ready | duplicates | Secrets unchanged |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (name, inj_i, inj_c, exits, took, n_rep, rep, ctl, ctl_s, rdy, dup, same) in rows:
        ctl = {k: v for k, v in ctl.items() if v}
        print(f"| {name} | {fmt(inj_i)} | {fmt(inj_c)} | {','.join(map(str, exits))} | "
              f"{took:.1f}s | {n_rep} ({fmt(rep)}) | {fmt(ctl)}"
              f"{f' (restart healed in {ctl_s:.1f}s)' if ctl_s else ''} | {'yes' if rdy else 'NO'} | "
              f"{dup} | {'yes' if same else 'NO'} |")
    print(f"\nwall time {time.time() - t_start:.0f}s")
    print(f"{'FAILED: ' + str(len(failures)) if failures else 'all checks passed'}")
    if failures:
        print(f"logs kept in {d}")
    else:
        subprocess.run(["rm", "-rf", str(d)])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
