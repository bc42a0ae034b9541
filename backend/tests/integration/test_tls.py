"""exo-backend against a PostgreSQL 16 that offers TLS with a certificate
for "localhost" signed by a CA the test made, the CA given as the pod gets
it from the ConfigMap (PGSSLROOTCERT): a DSN without sslmode connects as
verify-full, every connection encrypted; a certificate for another host
than the DSN's and a CA that did not sign the server are refused at once,
in one line, the host named."""
import signal
import uuid

import pytest

from conftest import Db, ready
from pgserver import PgServer, free_port


@pytest.fixture(scope="module")
def tls_pg():
    server = PgServer(tls_names=["localhost"]).start()
    yield server
    server.stop()


@pytest.fixture
def tls_db(tls_pg):
    return Db(tls_pg, tls_pg.createdb("t_" + uuid.uuid4().hex[:12]))


def test_no_sslmode_connects_verified_and_encrypted(tls_db):
    srv = tls_db.server
    p, port = tls_db.serve(EXO_DATABASE_DSN=srv.dsn(tls_db.name, host="localhost", sslmode=None),
                           PGSSLROOTCERT=str(srv.ca))
    try:
        assert ready(port)
        rows = tls_db.query("SELECT count(*), bool_and(s.ssl) FROM pg_stat_activity a "
                            "JOIN pg_stat_ssl s USING (pid) WHERE a.datname = %s "
                            "AND a.usename = %s", tls_db.name, srv.APP_USER)
        assert rows[0][0] >= 1 and rows[0][1] is True, rows
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 0


@pytest.mark.parametrize("host,sslmode,ca,want", [
    ("127.0.0.1", None, "ca",
     'server certificate for "localhost" (and 1 other name) does not match host name '
     '"127.0.0.1"'),
    ("127.0.0.1", "verify-full", "ca", 'does not match host name "127.0.0.1"'),
    ("localhost", None, "other_ca", "certificate verify failed"),
    ("localhost", "verify-full", "other_ca", "certificate verify failed"),
])
def test_a_wrong_host_or_ca_is_refused_in_one_line(tls_db, host, sslmode, ca, want):
    srv = tls_db.server
    # serve, as in the pod: a refusal ends it at once (no waiting for a
    # database that answers but will not be trusted).
    p = tls_db.run("serve", check=False, timeout=60, EXO_HTTP_ADDR=f"127.0.0.1:{free_port()}",
                   EXO_DATABASE_DSN=srv.dsn(tls_db.name, host=host, sslmode=sslmode),
                   PGSSLROOTCERT=str(getattr(srv, ca)))
    assert p.returncode == 1
    last = p.stderr.strip().splitlines()[-1]
    assert want in last, last
    assert srv.APP_PASSWORD not in p.stderr
