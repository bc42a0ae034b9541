"""exo-backend serve: ready only after boot, health on its port, a clean
exit on SIGTERM; keyring rotation from the command line."""
import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

from pgserver import free_port


def get(port, path):
    return get_text(port, path)[0]


def get_text(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


class Relay:
    """A TCP relay from a port of its own to the database, opened only when
    told: until then nothing listens there, as when a fresh install's
    backend starts before its database's pod."""

    def __init__(self, target_port):
        self.port, self.target = free_port(), target_port
        self.stop = threading.Event()

    def open(self):
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.sock.settimeout(0.2)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stop.is_set():
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        if hasattr(self, "sock"):
            self.sock.close()


def wait_until(what, check, seconds=60):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not {what} after {seconds} s")


def test_serve_is_ready_after_boot_and_stops_on_sigterm(db):
    p, port = db.serve()
    try:
        assert get(port, "/readyz") == 200
        assert get(port, "/healthz") == 200
        assert get(port, "/nope") == 404
        assert db.query("SELECT count(*) FROM exo_boot_ledger")[0][0] == 1
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
        logs = [json.loads(line) for line in p.stderr.read().splitlines()]
        msgs = [entry["msg"] for entry in logs]
        assert "boot done" in msgs and "maintenance done" in msgs and "stopping" in msgs
        assert all({"ts", "level", "msg"} <= set(entry) for entry in logs)
        assert db.server.APP_PASSWORD not in json.dumps(logs)
    finally:
        if p.poll() is None:
            p.kill()


def test_serve_waits_for_a_database_that_is_not_there_yet(db):
    """No server answers at first (a fresh install: the database's pod is
    not up): serve keeps trying with backoff, /readyz says why, and when the
    database appears it boots and is ready, never having exited."""
    relay = Relay(db.server.port)
    port = free_port()
    p = db.popen("serve", EXO_HTTP_ADDR=f"127.0.0.1:{port}", EXO_MAINTENANCE_INTERVAL="1h",
                 EXO_DATABASE_DSN=db.server.dsn(db.name, port=relay.port))
    try:
        wait_until("saying why it is not ready",
                   lambda: "waiting for the database" in get_text(port, "/readyz")[1])
        status, body = get_text(port, "/readyz")
        assert status == 503 and "Connection refused" in body, body
        assert db.server.APP_PASSWORD not in body
        assert get(port, "/healthz") == 200
        relay.open()
        wait_until("ready", lambda: get(port, "/readyz") == 200)
        assert p.poll() is None
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
        msgs = [json.loads(line)["msg"] for line in p.stderr.read().splitlines()]
        assert "database not reachable yet; retrying" in msgs and "boot done" in msgs
    finally:
        relay.close()
        if p.poll() is None:
            p.kill()


def test_serve_gives_up_after_its_startup_wait(db):
    port = free_port()
    p = db.popen("serve", EXO_HTTP_ADDR=f"127.0.0.1:{port}", EXO_DB_STARTUP_WAIT="2s",
                 EXO_DATABASE_DSN=db.server.dsn(db.name, port=free_port()))
    try:
        assert p.wait(timeout=60) == 1
        last = p.stderr.read().splitlines()[-1]
        assert "no database server answered for 2 s (EXO_DB_STARTUP_WAIT=2s)" in last, last
        assert db.server.APP_PASSWORD not in last
    finally:
        if p.poll() is None:
            p.kill()


def test_serve_does_not_wait_on_a_refusal(db):
    """A wrong password will not change by waiting: one try, exit 1."""
    port = free_port()
    dsn = db.server.dsn(db.name).replace(db.server.APP_PASSWORD, "wrong-password")
    p = db.popen("serve", EXO_HTTP_ADDR=f"127.0.0.1:{port}", EXO_DATABASE_DSN=dsn)
    try:
        assert p.wait(timeout=60) == 1
        errs = p.stderr.read()
        assert "retrying" not in errs and "password authentication failed" in errs, errs
        assert "wrong-password" not in errs
    finally:
        if p.poll() is None:
            p.kill()


def test_sigterm_while_waiting_for_the_database_exits_0(db):
    port = free_port()
    p = db.popen("serve", EXO_HTTP_ADDR=f"127.0.0.1:{port}",
                 EXO_DATABASE_DSN=db.server.dsn(db.name, port=free_port()))
    try:
        wait_until("waiting", lambda: "waiting for the database" in get_text(port, "/readyz")[1])
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
    finally:
        if p.poll() is None:
            p.kill()


def test_readyz_fails_while_the_database_is_away(db):
    p, port = db.serve()
    try:
        assert get(port, "/readyz") == 200
        with db.server.admin() as c:  # the server goes away for this database
            c.execute("ALTER DATABASE %s ALLOW_CONNECTIONS false" % db.name)
            c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (db.name,))
        assert get(port, "/readyz") == 503
        assert get(port, "/healthz") == 200
        with db.server.admin() as c:
            c.execute("ALTER DATABASE %s ALLOW_CONNECTIONS true" % db.name)
        assert get(port, "/readyz") == 200
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
    finally:
        if p.poll() is None:
            p.kill()


def test_keyring_rotate_reencrypts_and_verify_counts(db):
    db.run("migrate")
    with db.connect() as c:
        c.execute("INSERT INTO deployments (name) VALUES ('d')")
        c.execute("INSERT INTO runtime_statuses (deployment_id, tool_status) "
                  "SELECT 1, 'plain-' || g FROM generate_series(1, 1200) g")
    db.run("migrate")  # the boot's backfill encrypts the plaintext
    v = json.loads(db.run("keyring", "verify").stdout)
    assert (v["active_key_id"], v["values_decrypted"], v["values_plaintext"]) == (1, 1200, 0)
    r = json.loads(db.run("keyring", "rotate").stdout)
    assert r["active_key_id"] == 2 and r["values_reencrypted"] == 1200
    assert db.query("SELECT count(*) FROM runtime_statuses WHERE tool_status "
                    "LIKE 'exo:v1:2:%'")[0][0] == 1200
    v = json.loads(db.run("keyring", "verify").stdout)
    assert (v["values_decrypted"], v["values_failed"]) == (1200, 0)
    # One flipped character in one value is noticed.
    with db.connect() as c:
        c.execute("UPDATE runtime_statuses SET tool_status = left(tool_status, 11) || "
                  "CASE WHEN substr(tool_status, 12, 1) = 'A' THEN 'B' ELSE 'A' END || "
                  "substr(tool_status, 13) WHERE id = 7")
    p = db.run("keyring", "verify", check=False)
    assert p.returncode == 1 and json.loads(p.stdout)["values_failed"] == 1
    assert "do not decrypt" in p.stderr
