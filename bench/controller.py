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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from controller_harness import (controller_on_sandbox, cpu_s, create_ecps,  # noqa: E402
                                rss_kib, wait_converged, writes)

build = Path(sys.argv[1] if len(sys.argv) > 1 else "build")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 500
CTL = build / "controller/exo-controller"
NS = "bench"
RESYNC_S = 30


def main():
    with controller_on_sandbox(CTL, NS, "controller-bench.",
                               args=[f"--resync-period={RESYNC_S}s"]) as (sb, ctl):
        time.sleep(3)
        idle = rss_kib(ctl.pid)
        c0 = cpu_s(ctl.pid)
        time.sleep(10)
        idle_cpu = (cpu_s(ctl.pid) - c0) / 10

        start = time.perf_counter()
        create_ecps(sb, NS, N)
        created = time.perf_counter() - start
        reconciled = created + wait_converged(sb, NS, N)

        # Let the Deployment controller's status updates settle, then count
        # the writes across whole resyncs of every resource.
        last, stable_since = None, time.perf_counter()
        while time.perf_counter() - stable_since < 8:
            w = writes(ctl.metrics())
            if w != last:
                last, stable_since = w, time.perf_counter()
            time.sleep(1)
        m0 = ctl.metrics()
        time.sleep(RESYNC_S * 2 + 2)
        m1 = ctl.metrics()
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


if __name__ == "__main__":
    main()
