"""exo-backend serve: ready only after boot, health on its port, a clean
exit on SIGTERM; keyring rotation from the command line."""
import json
import signal
import urllib.error
import urllib.request



def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


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
