#!/usr/bin/env python3
"""The secrets audit of an e2e run: every secret the run made is looked for
in everything the run produced that is not a Secret's own storage.

  secrets_audit.py --kubeconfig K --work W harvest
      reads the values of the exo Secrets in every namespace (the database
      DSN and its password, the encryption key, the bootstrap token, the
      Postgres password) into W/needles.json, and snapshots what the cluster
      shows about them: Events, ExoControlPlane status, workloads, ConfigMaps
      and the logs of the exo pods, into W/snapshots/. Run it while the
      namespaces exist (after each install or test): a purge deletes them.
  secrets_audit.py --work W needle NAME VALUE
      adds a secret the test used that never reached a Secret (a refused
      password, say).
  secrets_audit.py --work W scan PATH...
      looks for every needle (as is, base64, percent-encoded) in every file
      under PATH and W, except where secrets are meant to be (see SKIP);
      prints the hits as file:line and the needle's NAME, never the value.
      Exit status 1 on any hit, 2 when there is nothing to look for.

The e2e suite (e2e/suite/conftest.py) and e2e/controller_test.sh call it;
both targets (sandbox, kind) run the same audit: on the sandbox the process
kubelet's container logs and the sandbox's own logs are files under the run's
directory as well.
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

# Where secrets belong, so they are not hits: etcd's data (the API server's
# storage), the PKI, kubeconfigs, the process kubelet's container configs
# (*.run.json hold the environment, as a container runtime's config does)
# and volumes (Secret volumes, and the databases' files), pytest's cache.
SKIP_DIRS = {"etcd", "pki", "volumes", "pvs", "kubelet-etc", "__pycache__", ".pytest_cache"}
SKIP_FILE = re.compile(r"(^kubeconfig.*|.*\.run\.json|.*\.(crt|key|pem|sock|pid))$")
MIN_LEN = 8  # shorter values (a user name) would match by chance
# Secret data keys that hold a DSN (its password is a needle of its own).
DSN_KEYS = ("dsn",)
SNAPSHOT_KINDS = "events,exocontrolplanes,deployments,statefulsets,replicasets,pods,configmaps,services"


def kubectl(kubeconfig, *args, check=True):
    p = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "--request-timeout=30s", *args],
                       capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"secrets_audit: kubectl {' '.join(args)}: {p.stderr.strip()}")
    return p


def dsn_password(dsn):
    """The password of a libpq DSN, URL or key=value form, as libpq reads it
    (psycopg hands the text to libpq's own parser); None if none or if libpq
    cannot read the DSN."""
    try:
        return conninfo_to_dict(dsn).get("password")
    except psycopg.Error:
        return None


class Work:
    def __init__(self, path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.file = self.path / "needles.json"

    def needles(self):
        return json.loads(self.file.read_text()) if self.file.exists() else {}

    def add(self, name, value):
        if value is None or len(value) < MIN_LEN:
            return
        n = self.needles()
        if value not in n.values():
            n[name if name not in n else f"{name}#{len(n)}"] = value
            tmp = self.file.with_suffix(".tmp")
            tmp.write_text(json.dumps(n))
            tmp.replace(self.file)


def harvest(work, kubeconfig):
    secrets = json.loads(kubectl(kubeconfig, "get", "secrets", "-A", "-o", "json").stdout)
    namespaces = set()
    for s in secrets["items"]:
        md = s["metadata"]
        if not md["name"].startswith("exo-"):
            continue
        namespaces.add(md["namespace"])
        for key, b64 in (s.get("data") or {}).items():
            value = base64.b64decode(b64).decode(errors="replace")
            where = f"Secret {md['namespace']}/{md['name']} key {key}"
            work.add(where, value)
            if key in DSN_KEYS:
                work.add(f"password in {where}", dsn_password(value))
    snaps = work.path / "snapshots"
    snaps.mkdir(exist_ok=True)
    seq = len(list(snaps.iterdir()))
    # What the cluster shows: Events, status, specs, ConfigMaps. Not Secrets.
    p = kubectl(kubeconfig, "get", SNAPSHOT_KINDS, "-A", "-o", "json", check=False)
    (snaps / f"{seq:04d}-objects.json").write_text(p.stdout + p.stderr)
    for ns in sorted(namespaces):
        p = kubectl(kubeconfig, "-n", ns, "logs", "-l", "app.kubernetes.io/part-of=exo",
                    "--all-containers", "--prefix", "--tail=-1", "--max-log-requests=20",
                    check=False)
        (snaps / f"{seq:04d}-logs-{ns}.txt").write_text(p.stdout + p.stderr)


def forms(value):
    """The ways a value could show up in text: as is, base64 (a Secret's
    data copied somewhere), percent-encoded (inside a URL DSN), JSON-escaped."""
    out = {value, base64.b64encode(value.encode()).decode(),
           urllib.parse.quote(value, safe=""), json.dumps(value)[1:-1]}
    return [f.encode() for f in out if len(f) >= MIN_LEN]


def files_under(path):
    path = Path(path)
    if path.is_file():
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for f in files:
            if not SKIP_FILE.match(f) and f != "needles.json":
                yield Path(root) / f


def scan(work, paths):
    needles = work.needles()
    if not needles:
        print("secrets_audit: no secrets harvested: nothing to look for", file=sys.stderr)
        return 2
    pats = [(name, f) for name, v in needles.items() for f in forms(v)]
    hits, nfiles, nbytes = [], 0, 0
    seen = set()
    for p in [*paths, work.path]:
        for f in files_under(p):
            if f.resolve() in seen:
                continue
            seen.add(f.resolve())
            try:
                data = f.read_bytes()
            except OSError:
                continue  # a socket or a file removed meanwhile
            nfiles += 1
            nbytes += len(data)
            for name, pat in pats:
                i = data.find(pat)
                if i >= 0:
                    line = data.count(b"\n", 0, i) + 1
                    hits.append(f"{f}:{line}: {name}")
    print(f"secrets audit: {len(needles)} secrets, looked for in {nfiles} files "
          f"({nbytes / 1e6:.1f} MB): {len(hits)} hits")
    for h in hits:
        print(f"  LEAK {h}")
    return 1 if hits else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"))
    ap.add_argument("--work", required=True, help="the audit's directory")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("harvest")
    n = sub.add_parser("needle")
    n.add_argument("name")
    n.add_argument("value")
    s = sub.add_parser("scan")
    s.add_argument("paths", nargs="*")
    a = ap.parse_args()
    work = Work(a.work)
    if a.cmd == "harvest":
        if not a.kubeconfig:
            ap.error("harvest needs --kubeconfig or KUBECONFIG")
        harvest(work, a.kubeconfig)
        return 0
    if a.cmd == "needle":
        work.add(a.name, a.value)
        return 0
    return scan(work, a.paths)


if __name__ == "__main__":
    sys.exit(main())
