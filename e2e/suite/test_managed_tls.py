"""A managed database over TLS, end to end on the sandbox (the process
kubelet): PostgreSQL 16 on the host with ssl=on and a certificate for the
bridge's gateway address (10.244.N.1, EXO_E2E_NET=N), which both the
installer on the host and the pods reach; a CA made by the test.

`install --postgres=false --db-dsn '…sslmode=verify-full' --db-ca-file
ca.crt` passes the pre-check, and the backend in its pod connects verifying
that CA, which it has from the ConfigMap (PGSSLROOTCERT): every connection
of it is encrypted. Before that, a CA that did not sign the server and a
certificate for another host than the DSN's are refused by the pre-check in
one line (the host named), and nothing is written. Then the DSN without
sslmode: the pre-check and the backend verify it as verify-full."""
import os
import sys

import pytest

from conftest import (HAVE_CONTROLLER, ROOT, TARGET, exo_install, kjson, kubectl, secret_value,
                      wait_for)

NS = "exo"


def one_line_error(p):
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 1, p.stdout + p.stderr
    assert len(lines) == 1, p.stderr
    return lines[0]


def backend_tls_connections(server, db, subnet, application=None):
    """(connections from the pods' network to db, of which encrypted);
    application: only those with this application_name."""
    with server.admin(db) as c:
        return c.execute("SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a "
                         "JOIN pg_stat_ssl s USING (pid) WHERE a.datname = %s "
                         "AND a.client_addr << %s::inet "
                         "AND (%s::text IS NULL OR a.application_name = %s::text)",
                         (db, subnet, application, application)).fetchone()


@pytest.mark.skipif(TARGET != "sandbox" or not HAVE_CONTROLLER,
                    reason="the pods reach the host's PostgreSQL only on the sandbox, and the "
                           "backend runs only with the controller")
def test_managed_database_over_verified_tls():
    sys.path.insert(0, str(ROOT / "backend/tests/integration"))
    from pgserver import PgServer
    net = int(open(f"{os.environ['EXO_E2E_DIR']}/kubelet.net").read() or 0)
    gateway, subnet = f"10.244.{net}.1", f"10.244.{net}.0/24"
    server = PgServer(tls_names=[gateway],
                      extra_conf={"listen_addresses": f"'127.0.0.1,{gateway}'"}).start()
    try:
        with open(server.data / "pg_hba.conf", "a") as f:
            f.write(f"hostssl all all {subnet} scram-sha-256\n")
        server.pg_ctl("reload")
        db = server.createdb("exo_tls")
        verified = server.dsn(db, host=gateway, sslmode="verify-full")

        p = exo_install("install", "--postgres=false", "--wait=false", "--db-dsn", verified,
                        "--db-ca-file", str(server.other_ca))
        line = one_line_error(p)
        assert "--db-dsn: the database refused the connection: " in line, line
        assert "certificate verify failed" in line, line
        p = exo_install("install", "--postgres=false", "--wait=false", "--db-dsn",
                        server.dsn(db, host="127.0.0.1", sslmode="verify-full"),
                        "--db-ca-file", str(server.ca))
        line = one_line_error(p)
        assert f'server certificate for "{gateway}" does not match host name "127.0.0.1"' \
            in line, line
        assert server.APP_PASSWORD not in p.stdout + p.stderr
        assert kubectl("get", "namespace", NS, check=False).returncode != 0  # nothing written

        p = exo_install("install", "--postgres=false", "--db-dsn", verified,
                        "--db-ca-file", str(server.ca))
        assert p.returncode == 0, p.stdout + p.stderr
        assert "managed database: PostgreSQL 16." in p.stdout, p.stdout
        assert server.APP_PASSWORD not in p.stdout + p.stderr
        ca = kjson("-n", NS, "get", "configmap", "exo-database-ca")["data"]["ca.crt"]
        assert ca == server.ca.read_text()
        pod = wait_for("a backend pod", lambda: [
            it for it in kjson("-n", NS, "get", "pods", "-l",
                               "app.kubernetes.io/name=exo-backend")["items"]
            if it["status"].get("phase") == "Running"])[0]
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0].get("env", [])}
        assert env.get("PGSSLROOTCERT"), env
        open_, encrypted = wait_for("the backend connected from its pod",
                                    lambda: (lambda r: r if r[0] else None)(
                                        backend_tls_connections(server, db, subnet)))
        assert open_ == encrypted, (open_, encrypted)
        assert secret_value(NS, "exo-database", "dsn") == verified

        # No sslmode: verify-full all the same (the pre-check refuses the
        # wrong CA); with the right one the backend rolls out (the Secret's
        # checksum changed) and its new pod connects. Only hostssl admits
        # the pods' network, and the pod has no CA but the test's: the
        # connections it makes are encrypted and verified.
        bare = server.dsn(db, host=gateway, sslmode=None) + " application_name=exo-bare"
        p = exo_install("install", "--postgres=false", "--wait=false", "--db-dsn", bare,
                        "--db-ca-file", str(server.other_ca))
        assert "certificate verify failed" in one_line_error(p)
        p = exo_install("install", "--postgres=false", "--db-dsn", bare,
                        "--db-ca-file", str(server.ca))
        assert p.returncode == 0, p.stdout + p.stderr
        assert secret_value(NS, "exo-database", "dsn") == bare
        open_, encrypted = wait_for("the rolled-out backend connected", lambda: (
            lambda r: r if r[0] else None)(backend_tls_connections(server, db, subnet,
                                                                    "exo-bare")))
        assert open_ == encrypted, (open_, encrypted)
    finally:
        exo_install("uninstall", "--purge")
        server.stop()
