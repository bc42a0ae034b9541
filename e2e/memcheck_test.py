"""exo-install's cluster commands and exo-controller's loop under a memory
checker, on the sandbox API server (e2e/sandbox; no kubelet, so pods stay
Pending and nothing becomes Ready).

    python3 e2e/memcheck_test.py BUILD_DIR [WRAPPER...]

WRAPPER is the checker's command line (valgrind memcheck with leak checking
and --error-exitcode, as ctest registers it); without one the binaries are
expected to be the sanitizer build's, which report through their exit
status (ASAN_OPTIONS/UBSAN_OPTIONS exitcode, cmake/SanitizerEnv.cmake). A
report of the checker makes the command's exit status differ from the one
asserted here; its text is on the command's stderr, printed on failure.

Steps: exo-install install --wait=false (bundled Postgres); exo-controller
--leader-elect in that namespace reconciles the installed ExoControlPlane
and 20 more through two rounds of churn (e2e/controller_harness.py: spec
changes, annotations, deleted Deployments and Services, a Secret change),
then exits 0 on SIGTERM; exo-install status (exit 1: installed, not ready);
key export (exit 0, the key); install again, waiting, --timeout=8s (exit
1: nothing can become ready without a kubelet); uninstall --purge (exit 0,
the namespace gone).
"""
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from controller_harness import (Controller, Sandbox, churn, create_ecps,  # noqa: E402
                                wait_converged)
sys.path.insert(0, str(Path(__file__).resolve().parent / "audit"))
import secrets_audit  # noqa: E402  (the secrets audit, as e2e_suite's)

NS = "exo"
EXTRA = 20


def converge(ctl, sb):
    """wait_converged; when it gives up, the end of the controller's log."""
    try:
        wait_converged(sb, NS, EXTRA + 1, timeout=300, ctl=ctl)
    except AssertionError as e:
        raise AssertionError(f"{e}\nexo-controller's log ends:\n{ctl.log_tail(80)}") from None


def main():
    build = Path(sys.argv[1])
    wrapper = sys.argv[2:]
    install = [*wrapper, str(build / "installer/exo-install")]
    sb = Sandbox(prefix="memcheck.")
    audit = secrets_audit.Work(Path(sb.dir) / "audit")
    ctl = None
    failed = []

    def run(what, args, want, timeout=600):
        t = time.monotonic()
        p = subprocess.run([*install, *args, "--kubeconfig", sb.kubeconfig],
                           capture_output=True, text=True, timeout=timeout)
        took = time.monotonic() - t
        # What it printed, for the audit; key export's key is its job.
        shown = "(the key)" if args[:2] == ["key", "export"] else p.stdout
        (audit.path / f"{len(list(audit.path.glob('exo-install-*')))}-exo-install-{args[0]}.txt") \
            .write_text(f"{shown}\n{p.stderr}")
        secrets_audit.harvest(audit, sb.kubeconfig)
        if p.returncode != want:
            failed.append(what)
            print(f"FAIL - {what}: exit {p.returncode}, want {want} ({took:.1f} s)\n"
                  f"{p.stdout}\n{p.stderr}")
        else:
            print(f"ok   - {what}: exit {want} ({took:.1f} s)")
        return p

    try:
        run("exo-install install --wait=false", ["install", "--wait=false"], 0)
        t = time.monotonic()
        ctl = Controller(build / "controller/exo-controller", sb, NS,
                         Path(sb.dir) / "controller.log", args=["--leader-elect"],
                         wrapper=wrapper, ready_timeout=180)
        create_ecps(sb, NS, EXTRA, replicas=0)
        converge(ctl, sb)
        for rnd in (1, 2):
            churn(sb, NS, EXTRA, rnd)
            ctl.settle(quiet_s=2)
        converge(ctl, sb)
        n = ctl.reconciles()
        rc = ctl.stop(timeout=120)
        ctl_log = ctl.log_tail(60)
        ctl = None
        took = time.monotonic() - t
        if rc != 0:
            failed.append("exo-controller")
            print(f"FAIL - exo-controller: {n} reconciles, exit {rc} on SIGTERM, want 0 "
                  f"({took:.1f} s)\n{ctl_log}")
        else:
            print(f"ok   - exo-controller --leader-elect: {n} reconciles, exit 0 on SIGTERM "
                  f"({took:.1f} s)")
        run("exo-install status", ["status"], 1)
        p = run("exo-install key export", ["key", "export"], 0)
        if p.returncode == 0 and len(p.stdout.strip()) != 44:
            failed.append("key export")
            print(f"FAIL - key export printed {len(p.stdout.strip())} characters, want 44")
        # Again, waiting this time: changes nothing, then gives up on the
        # readiness nothing here can reach (no kubelet), naming what is not ready.
        p = run("exo-install install --timeout=8s (times out)", ["install", "--timeout=8s"], 1)
        if p.returncode == 1 and "timed out (--timeout 8s) waiting for" not in p.stderr:
            failed.append("install timeout message")
            print(f"FAIL - install --timeout: no 'timed out' line in\n{p.stdout}{p.stderr}")
        sb.k("-n", NS, "delete", "exocontrolplanes", *[f"cp{i:03d}" for i in range(EXTRA)])
        run("exo-install uninstall --purge", ["uninstall", "--purge", "--timeout=5m"], 0)
        left = subprocess.run(["kubectl", "--kubeconfig", sb.kubeconfig, "get", "namespace", NS],
                              capture_output=True, text=True)
        if left.returncode == 0:
            failed.append("namespace left")
            print(f"FAIL - namespace {NS} still there after uninstall --purge")
        # Every Secret value, in nothing the run wrote (the controller's log,
        # the sandbox's, exo-install's output, Events, status).
        if secrets_audit.scan(audit, [sb.dir]) != 0:
            failed.append("secrets audit")
    finally:
        if ctl:
            ctl.stop()
        sb.stop()
    print(f"{len(failed)} failed" if failed else "ok - no memory errors, no leaks")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
