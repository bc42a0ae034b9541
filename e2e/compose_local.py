#!/usr/bin/env python3
"""Runs a rendered Compose stack (compose.yaml and .env in DIR) as local
processes, with the environment, users, volumes, dependencies and
healthchecks the file declares, and checks that the backend answers /readyz
on its published address. No Docker engine is needed: this is how the
project proves that the Compose file carries a working configuration.

    compose_local.py DIR --backend PATH/TO/exo-backend [--keep-running SECONDS]

Needs root: it makes its own network namespace (a loopback where port 5432
and the service names are its own) and mount namespace (volumes bind-mounted
at the paths the containers see, /etc/hosts naming the services, /etc/passwd
naming the images' users). Images are mapped to local programs:
postgres:16-alpine to e2e/images/postgres.py, the backend image to the
exo-backend binary given. Not emulated: read_only and tmpfs (the processes
write only to their volumes anyway), cap_drop, restart policies.

Prints one JSON line: each service's state and the /readyz status.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
USERS = {70: "postgres", 65532: "exo"}


def read_env_file(path):
    """.env as Compose reads it: NAME=value, '…' literal, "…" with escapes."""
    env = {}
    if not path.exists():
        return env
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
            v = v[1:-1]
        env[k.strip()] = v
    return env


def interpolate(value, env):
    """${VAR}, ${VAR:?message}, ${VAR:-default}, $$ — Compose's forms."""
    if not isinstance(value, str):
        return str(value) if value is not None else ""

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1), m.group(2), m.group(3)
        v = env.get(name, "")
        if op == ":?" and not v:
            raise SystemExit(f"compose: {name}: {arg}")
        if op == ":-" and not v:
            return arg
        return v
    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:\?|:-)([^}]*))?\}", sub, value)


def enter_namespaces():
    """Re-runs this script in new network and mount namespaces."""
    if os.environ.get("EXO_COMPOSE_LOCAL_INSIDE"):
        return
    if os.geteuid() != 0:
        raise SystemExit("compose_local: needs root (network and mount namespaces)")
    env = dict(os.environ, EXO_COMPOSE_LOCAL_INSIDE="1")
    sys.exit(subprocess.run(["unshare", "--net", "--mount", "--fork", sys.executable,
                             *sys.argv], env=env).returncode)


def bind(src, dst):
    dst = Path(dst)
    if Path(src).is_dir():
        dst.mkdir(parents=True, exist_ok=True)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.touch(exist_ok=True)
    subprocess.run(["mount", "--bind", str(src), str(dst)], check=True)


def set_up_host(state, services):
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    hosts = state / "hosts"
    hosts.write_text("127.0.0.1 localhost " + " ".join(services) + "\n::1 localhost\n")
    bind(hosts, "/etc/hosts")
    passwd, group = state / "passwd", state / "group"
    passwd.write_text(Path("/etc/passwd").read_text() + "".join(
        f"{n}:x:{u}:{u}::/nonexistent:/usr/sbin/nologin\n" for u, n in USERS.items()))
    group.write_text(Path("/etc/group").read_text() + "".join(
        f"{n}:x:{u}:\n" for u, n in USERS.items()))
    bind(passwd, "/etc/passwd")
    bind(group, "/etc/group")
    # The sockets directory the official image provides.
    run_pg = state / "run-postgresql"
    run_pg.mkdir()
    os.chown(run_pg, 70, 70)
    bind(run_pg, "/var/run/postgresql")


def command_for(image, backend):
    if image.startswith("postgres:16"):
        return [sys.executable, str(HERE / "images/postgres.py")]
    if "exo-backend" in image:
        return [backend, "serve"]
    raise SystemExit(f"compose_local: no local program for image {image}")


def healthcheck_argv(test, backend):
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    kind, argv = test[0], list(test[1:])
    if kind != "CMD":
        raise SystemExit(f"compose_local: healthcheck form {kind} not supported")
    if argv[0].endswith("exo-backend"):
        argv[0] = backend
    return argv


def seconds(d):
    m = re.fullmatch(r"(\d+)(ms|s|m)", str(d))
    n = int(m.group(1))
    return {"ms": n / 1000, "s": n, "m": n * 60}[m.group(2)]


def wait_healthy(name, svc, env, backend, procs):
    hc = svc.get("healthcheck")
    if not hc:
        return True
    argv = healthcheck_argv(hc["test"], backend)
    deadline = time.time() + seconds(hc.get("start_period", "0s")) + \
        seconds(hc.get("interval", "30s")) * int(hc.get("retries", 3))
    while time.time() < deadline:
        if procs[name].poll() is not None:
            return False
        if subprocess.run(argv, env=env, capture_output=True).returncode == 0:
            return True
        time.sleep(min(1.0, seconds(hc.get("interval", "30s"))))
    return False


def order(services):
    done, out = set(), []

    def visit(n):
        if n in done:
            return
        for dep in (services[n].get("depends_on") or {}):
            visit(dep)
        done.add(n)
        out.append(n)
    for n in services:
        visit(n)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--backend", required=True)
    ap.add_argument("--keep-running", type=float, default=0)
    args = ap.parse_args()
    enter_namespaces()

    d = Path(args.dir).resolve()
    compose = yaml.safe_load((d / "compose.yaml").read_text())
    dotenv = read_env_file(d / ".env")
    services = compose["services"]
    state = Path(tempfile.mkdtemp(prefix="exo-compose-"))
    os.chmod(state, 0o755)
    set_up_host(state, services)

    procs, result = {}, {"services": {}}
    try:
        for name in order(services):
            svc = services[name]
            uid = int(str(svc.get("user", "0")).split(":")[0])
            env = {"PATH": os.environ["PATH"]}
            env.update({k: interpolate(v, dotenv) for k, v in (svc.get("environment") or {}).items()})
            for spec in svc.get("volumes") or []:
                src, dst = spec.split(":")[0], spec.split(":")[1]
                if src.startswith("./") or src.startswith("/"):
                    bind((d / src).resolve(), dst)
                else:
                    vol = state / "volumes" / src
                    if not vol.exists():
                        vol.mkdir(parents=True)
                        os.chown(vol, uid, uid)  # as an image's own directory would be
                    bind(vol, dst)
            for dep, cond in (svc.get("depends_on") or {}).items():
                if cond.get("condition") == "service_healthy" and \
                        result["services"].get(dep) != "healthy":
                    raise SystemExit(f"compose_local: {name} depends on {dep}, not healthy")
            argv = command_for(svc["image"], args.backend)
            if uid:
                argv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                        "--", *argv]
            log = open(state / f"{name}.log", "w")
            procs[name] = subprocess.Popen(argv, env=env, stdout=log, stderr=log, cwd="/")
            healthy = wait_healthy(name, svc, env, args.backend, procs)
            result["services"][name] = "healthy" if healthy else "unhealthy"
            if not healthy:
                print((state / f"{name}.log").read_text()[-3000:], file=sys.stderr)
                break
        port = services.get("backend", {}).get("ports", ["127.0.0.1:8080:8080"])[0]
        host_port = port.rsplit(":", 1)[0]
        try:
            with urllib.request.urlopen(f"http://{host_port}/readyz", timeout=10) as r:
                result["readyz"] = r.status
        except (urllib.error.URLError, OSError) as e:
            result["readyz"] = str(e)
        time.sleep(args.keep_running)
    finally:
        for p in reversed(list(procs.values())):
            p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["umount", "-R", "/var/run/postgresql"], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)
    print(json.dumps(result))
    return 0 if result.get("readyz") == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
