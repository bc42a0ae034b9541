"""exo-install against a real API server: install (bundled and managed),
re-install as a no-op, status, key export, uninstall keeping the data,
--purge, and the one-line errors for an unreachable server, a bad token and
a forbidden verb. The tests run in file order and share the cluster."""
import json
import socket
import subprocess
import sys

from conftest import (HAVE_CONTROLLER, ROOT, TARGET, audit_needle, exo_install, kjson, kubectl,
                      install_footprint, psql, secret_value, wait_for)

NS = "exo"
WAIT = [] if HAVE_CONTROLLER else ["--wait=false"]


def one_line_error(p):
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 1, p.stderr
    assert len(lines) == 1, p.stderr
    return lines[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_is_one_line(scratch_kubeconfig):
    port = free_port()
    p = exo_install("install", kubeconfig=scratch_kubeconfig(server=f"https://127.0.0.1:{port}"),
                    timeout=60)
    line = one_line_error(p)
    assert f"127.0.0.1:{port}" in line and "refused" in line, line


def test_bad_token_is_one_line(scratch_kubeconfig):
    p = exo_install("install", kubeconfig=scratch_kubeconfig(token="not-a-valid-token"),
                    timeout=60)
    line = one_line_error(p)
    assert "401 Unauthorized" in line and "not-a-valid-token" not in line, line


def test_forbidden_verb_is_named_before_anything_is_written(scratch_kubeconfig):
    # A service account that may do everything in its namespace except RBAC.
    kubectl("create", "namespace", "exo-limited")
    kubectl("-n", "exo-limited", "create", "serviceaccount", "installer")
    # A manifest, not `kubectl create role`: that checks the resources
    # through discovery, and the CRD may not exist yet.
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "most", "namespace": "exo-limited"},
            "rules": [{"apiGroups": [""], "verbs": ["*"],
                       "resources": ["secrets", "configmaps", "persistentvolumeclaims",
                                     "serviceaccounts", "services"]},
                      {"apiGroups": ["apps"], "verbs": ["*"],
                       "resources": ["statefulsets", "deployments"]},
                      {"apiGroups": ["exo.dev"], "verbs": ["*"],
                       "resources": ["exocontrolplanes"]}]}
    kubectl("apply", "-f", "-", input=json.dumps(role))
    kubectl("-n", "exo-limited", "create", "rolebinding", "most", "--role=most",
            "--serviceaccount=exo-limited:installer")
    kubectl("create", "clusterrole", "exo-limited-cluster", "--verb=get,create,patch",
            "--resource=namespaces,customresourcedefinitions.apiextensions.k8s.io")
    kubectl("create", "clusterrolebinding", "exo-limited-cluster",
            "--clusterrole=exo-limited-cluster", "--serviceaccount=exo-limited:installer")
    token = kubectl("-n", "exo-limited", "create", "token", "installer").stdout.strip()
    try:
        p = exo_install("install", "--namespace", "exo-limited",
                        kubeconfig=scratch_kubeconfig(token=token), timeout=60)
        line = one_line_error(p)
        assert "you may not create roles.rbac.authorization.k8s.io in namespace exo-limited" \
            in line, line
        assert token not in p.stderr + p.stdout
        left = kjson("-n", "exo-limited", "get", "secrets,deployments,statefulsets")["items"]
        assert left == [], [i["metadata"]["name"] for i in left]
    finally:
        kubectl("delete", "namespace", "exo-limited", "--wait=false", check=False)
        kubectl("delete", "clusterrolebinding,clusterrole", "exo-limited-cluster", check=False)


def test_bundled_install_reaches_a_ready_postgres_16_with_the_generated_password():
    p = exo_install("install", "--timeout", "10m", *WAIT)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    for step in ("preflight passed", "CustomResourceDefinition exocontrolplanes.exo.dev ",
                 ", established", "Secret exo-encryption created", "StatefulSet exo-postgres created",
                 "ExoControlPlane exo created", "exo-install key export --namespace exo"):
        assert step in out, out
    if HAVE_CONTROLLER:
        assert "ExoControlPlane exo ready" in out, out
        # The backend starts before the database's pod answers; it waits
        # for it (EXO_DB_STARTUP_WAIT) instead of exiting and restarting.
        pods = kjson("-n", NS, "get", "pods", "-l", "app.kubernetes.io/name=exo-backend")
        restarts = [cs.get("restartCount", 0) for pod in pods["items"]
                    for cs in pod["status"].get("containerStatuses", [])]
        assert restarts and restarts == [0] * len(restarts), restarts
    else:  # what install would have waited for, less the controller
        kubectl("-n", NS, "rollout", "status", "statefulset/exo-postgres", "--timeout=300s")
    password = secret_value(NS, "exo-postgres", "password")
    assert password not in out + p.stderr
    q = wait_for("psql", lambda: (lambda r: r if r.returncode == 0 else None)(
        psql(NS, password, "show server_version_num")), timeout=60)
    assert q.stdout.strip().startswith("16"), q.stdout
    dsn = secret_value(NS, "exo-database", "dsn")
    assert f"password={password}" in dsn and "host=exo-postgres.exo.svc" in dsn
    assert psql(NS, "wrong-password", "select 1").returncode != 0
    psql(NS, password, "create table if not exists kept(v text); insert into kept values ('x')")


def test_reinstall_changes_nothing():
    before = install_footprint(NS)
    key = secret_value(NS, "exo-encryption", "key")
    p = exo_install("install", *WAIT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 created, 0 configured" in p.stdout, p.stdout
    after = install_footprint(NS)
    changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
    # The backend Deployment and Service belong to the controller; everything
    # install owns must be untouched.
    changed = {k: v for k, v in changed.items()
               if k not in ("Deployment/exo-backend", "Service/exo-backend")}
    assert changed == {}, changed
    assert secret_value(NS, "exo-encryption", "key") == key


def test_status_table_and_json():
    p = exo_install("status")
    assert "postgres     StatefulSet/exo-postgres     1/1     Ready" in p.stdout, p.stdout
    assert "exo-casts" in p.stdout
    j = json.loads(exo_install("status", "--output", "json").stdout)
    assert j["installed"] is True and j["namespace"] == NS
    pg = [c for c in j["components"] if c["component"] == "postgres"][0]
    assert pg["ready"] == 1 and pg["status"] == "Ready"
    if HAVE_CONTROLLER:
        assert p.returncode == 0 and j["ready"] is True, p.stdout
        assert any(c["type"] == "Ready" and c["status"] == "True" for c in j["conditions"])


def test_key_export_prints_the_key_only():
    p = exo_install("key", "export", "--namespace", NS)
    assert p.returncode == 0, p.stderr
    assert p.stdout == secret_value(NS, "exo-encryption", "key") + "\n"


def test_uninstall_keeps_the_data_and_install_brings_it_back():
    key = secret_value(NS, "exo-encryption", "key")
    password = secret_value(NS, "exo-postgres", "password")
    p = exo_install("uninstall")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Kept (the data" in p.stdout and "Secret exo-encryption" in p.stdout, p.stdout
    assert kubectl("-n", NS, "get", "statefulset/exo-postgres", check=False).returncode != 0
    assert kubectl("-n", NS, "get", "exocontrolplane/exo", check=False).returncode != 0
    names = {i["metadata"]["name"] for i in kjson("-n", NS, "get", "secrets,pvc")["items"]}
    assert {"exo-encryption", "exo-postgres", "exo-database", "exo-bootstrap", "exo-casts",
            "data-exo-postgres-0"} <= names, names
    p = exo_install("install", *WAIT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert secret_value(NS, "exo-encryption", "key") == key
    if not HAVE_CONTROLLER:
        kubectl("-n", NS, "rollout", "status", "statefulset/exo-postgres", "--timeout=300s")
    q = wait_for("psql", lambda: (lambda r: r if r.returncode == 0 else None)(
        psql(NS, password, "select v from kept")), timeout=120)
    assert q.stdout.strip() == "x"


def test_purge_removes_everything():
    p = exo_install("uninstall", "--purge")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Namespace exo deleted" in p.stdout, p.stdout
    assert kubectl("get", "namespace", NS, check=False).returncode != 0
    assert kubectl("get", "crd", "exocontrolplanes.exo.dev", check=False).returncode != 0
    # The claims went; their volumes (reclaim policy Delete) go after them.
    wait_for("the volumes of the claims deleted", lambda: not [
        pv for pv in kjson("get", "pv")["items"]
        if pv["spec"].get("claimRef", {}).get("namespace") == NS], timeout=60)


def test_switching_to_a_managed_database_prunes_the_bundled_one(tmp_path):
    sys.path.insert(0, str(ROOT / "backend/tests/integration"))
    from pgserver import PgServer, fake_server
    # Reachable from the installer and, on the sandbox, from the pods (the
    # bridge's gateway address is the host).
    gateway = None
    if TARGET == "sandbox":
        net = int(open(f"{__import__('os').environ['EXO_E2E_DIR']}/kubelet.net").read() or 0)
        gateway = f"10.244.{net}.1"
    listen = "'127.0.0.1" + (f",{gateway}'" if gateway else "'")
    server = PgServer(extra_conf={"listen_addresses": listen}).start()
    try:
        if gateway:
            with open(server.data / "pg_hba.conf", "a") as f:
                f.write(f"host all all {gateway.rsplit('.', 1)[0]}.0/24 scram-sha-256\n")
            server.pg_ctl("reload")
        host = gateway or "127.0.0.1"
        db = server.createdb("exo_managed")
        good = f"host={host} port={server.port} user=exo password={server.APP_PASSWORD} " \
               f"dbname={db} sslmode=disable"
        bad = good.replace(server.APP_PASSWORD, "Wr0ng-pw-123")
        audit_needle("the refused password of --db-dsn", "Wr0ng-pw-123")
        old = fake_server("15.4")
        try:
            p = exo_install("install", "--postgres=false", "--wait=false", "--db-dsn",
                            f"host=127.0.0.1 port={old.getsockname()[1]} user=exo "
                            "password=x dbname=exo sslmode=disable")
        finally:
            old.close()
        line = one_line_error(p)
        assert "the database server is PostgreSQL 15.4; Exo needs PostgreSQL 16 or newer" in line, line
        p = exo_install("install", "--postgres=false", "--db-dsn", bad, "--wait=false")
        line = one_line_error(p)
        assert "password authentication failed" in line and "Wr0ng-pw-123" not in line, line
        assert kubectl("get", "namespace", NS, check=False).returncode != 0  # nothing written

        p = exo_install("install", "--wait=false")  # bundled first, then switch
        assert p.returncode == 0, p.stdout + p.stderr
        # On kind the pods cannot reach a server on the host's loopback: the
        # install is then checked as applied, not waited for.
        p = exo_install("install", "--postgres=false", "--db-dsn", good,
                        *(WAIT if gateway else ["--wait=false"]))
        assert p.returncode == 0, p.stdout + p.stderr
        assert "managed database: PostgreSQL 16." in p.stdout, p.stdout
        assert "StatefulSet.apps exo-postgres pruned" in p.stdout, p.stdout
        assert "Secret exo-postgres kept" in p.stdout, p.stdout
        assert server.APP_PASSWORD not in p.stdout + p.stderr
        assert secret_value(NS, "exo-database", "dsn") == good
        assert kubectl("-n", NS, "get", "statefulset/exo-postgres", check=False).returncode != 0
        if gateway and HAVE_CONTROLLER:  # the backend (in a pod) migrated the managed database
            with server.admin(db) as c:
                n = c.execute("select count(*) from pg_tables where schemaname = 'public'") \
                    .fetchone()[0]
            assert n > 0
    finally:
        exo_install("uninstall", "--purge")
        server.stop()
