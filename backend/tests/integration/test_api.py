"""The JSON API against a real PostgreSQL 16: every route's success and
refusal paths, strict bodies, tokens stored as hashes, runtime statuses
encrypted at rest and returned decrypted, /metrics."""
import json
import signal
import time
import urllib.error
import urllib.request

import pytest


TOKEN = "boot-" + "x" * 40


class Api:
    def __init__(self, port, token=TOKEN):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def call(self, method, path, body=None, token=None, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json"}
        tok = self.token if token is None else token
        if tok:
            h["Authorization"] = f"Bearer {tok}"
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, (json.loads(text) if text.startswith(b"{") else text.decode())


@pytest.fixture
def api(db, tmp_path):
    casts = tmp_path / "casts"
    casts.mkdir()
    p, port = db.serve(EXO_BOOTSTRAP_TOKEN=TOKEN, EXO_CAST_STORAGE_DIR=str(casts))
    a = Api(port)
    a.casts = casts
    a.db = db
    yield a
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 0
    a.logs = p.stderr.read()


def test_tokens_are_required_and_stored_hashed(api):
    assert api.call("GET", "/api/v1/deployments", token="")[0] == 401
    assert api.call("GET", "/api/v1/deployments", token="nope")[0] == 401
    assert api.call("GET", "/api/v1/deployments")[0] == 200
    hashes = api.db.query("SELECT encode(token_hash, 'hex') FROM tokens")
    assert len(hashes) == 1 and TOKEN not in hashes[0][0] and len(hashes[0][0]) == 64
    # A new user and its token.
    st, u = api.call("POST", "/api/v1/users", {"email": "Ada@Example.com", "name": "Ada"})
    assert st == 201 and u["role"] == "member"
    st, t = api.call("POST", f"/api/v1/users/{u['id']}/tokens", {"name": "laptop"})
    assert st == 201 and t["token"].startswith("exo_")
    assert api.call("GET", "/api/v1/deployments", token=t["token"])[0] == 200
    assert api.call("GET", "/api/v1/users", token=t["token"])[0] == 403
    stored = json.dumps(api.db.query("SELECT * FROM tokens"), default=str)
    assert t["token"] not in stored and TOKEN not in stored


def test_emails_are_unique_whatever_their_case(api):
    assert api.call("POST", "/api/v1/users", {"email": "bob@example.com"})[0] == 201
    st, e = api.call("POST", "/api/v1/users", {"email": "BOB@example.COM"})
    assert st == 409 and e["error"]["code"] == "conflict"


def test_deployments_and_retention(api):
    st, d = api.call("POST", "/api/v1/deployments", {"name": "prod"})
    assert st == 201 and d["retention_days"] is None and d["created_at"].endswith("Z")
    assert api.call("POST", "/api/v1/deployments", {"name": "prod"})[0] == 409
    st, d2 = api.call("PUT", f"/api/v1/deployments/{d['id']}/retention", {"days": 30})
    assert st == 200 and d2["retention_days"] == 30
    assert api.call("GET", f"/api/v1/deployments/{d['id']}")[1]["retention_days"] == 30
    assert api.call("PUT", f"/api/v1/deployments/{d['id']}/retention", {"days": None})[1][
        "retention_days"] is None
    st, lst = api.call("GET", "/api/v1/deployments")
    assert [x["name"] for x in lst["deployments"]] == ["prod"]
    assert api.call("GET", "/api/v1/deployments/999")[0] == 404
    assert api.call("GET", "/api/v1/deployments/abc")[0] == 404
    assert api.call("PUT", "/api/v1/deployments/999/retention", {"days": 5})[0] == 404
    assert api.call("DELETE", f"/api/v1/deployments/{d['id']}")[0] == 405


@pytest.mark.parametrize("body,word", [
    (b"{not json", 'not JSON'),
    (b'{"name": "x", "colour": "red"}', 'unknown field "colour"'),
    (b'{"name": 5}', '"name" must be a string'),
    (b'{"retention_days": 5}', '"name" is required'),
    (b'{"name": "x", "retention_days": 1.5}', 'retention_days'),
    (b'{"name": "x", "retention_days": 0}', 'retention_days'),
    (b'[1, 2]', 'JSON object'),
])
def test_bad_bodies_are_refused_and_write_nothing(api, body, word):
    st, e = api.call("POST", "/api/v1/deployments", raw=body)
    assert 400 <= st < 500 and word in e["error"]["message"], e
    assert api.db.query("SELECT count(*) FROM deployments")[0][0] == 0


def test_oversize_body_is_413(api):
    st, e = api.call("POST", "/api/v1/deployments", raw=b'{"name": "' + b"x" * (1 << 20) + b'"}')
    assert st == 413 and e["error"]["code"] == "too_large"


def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_413(api):
    """The cap is the request body buffer's (1 MiB, docs/api.md): a body of
    exactly 1 MiB is read (and then judged on its content), one byte more
    is refused with the limit named."""
    def body(n):
        head, tail = b'{"name": "', b'"}'
        return head + b"x" * (n - len(head) - len(tail)) + tail
    st, e = api.call("POST", "/api/v1/deployments", raw=body(1 << 20))
    assert st != 413, e
    st, e = api.call("POST", "/api/v1/deployments", raw=body((1 << 20) + 1))
    assert st == 413 and e["error"]["code"] == "too_large", e
    assert "1048576 bytes" in e["error"]["message"], e


def test_event_batches_are_all_or_nothing(api):
    d = api.call("POST", "/api/v1/deployments", {"name": "d"})[1]
    s = api.call("POST", "/api/v1/sessions", {"deployment_id": d["id"]})[1]
    events = [{"kind": "o", "data": {"text": f"line {i}"}} for i in range(500)]
    st, r = api.call("POST", f"/api/v1/sessions/{s['id']}/events", {"events": events})
    assert (st, r) == (201, {"accepted": 500})
    bad = events[:10] + [{"kind": "o", "time": "yesterday"}]
    st, e = api.call("POST", f"/api/v1/sessions/{s['id']}/events", {"events": bad})
    assert st == 400 and "events[10].time" in e["error"]["message"]
    assert api.db.query("SELECT count(*) FROM session_events")[0][0] == 500
    assert api.call("POST", "/api/v1/sessions/999/events", {"events": events[:1]})[0] == 404
    assert api.call("POST", "/api/v1/sessions", {"deployment_id": 999})[0] == 422
    st, lst = api.call("GET", f"/api/v1/sessions/{s['id']}/events")
    assert len(lst["events"]) == 500 and lst["events"][0]["data"] == {"text": "line 0"}
    st, r = api.call("POST", "/api/v1/audit-events",
                     {"events": [{"action": "login"}, {"action": "x", "deployment_id": d["id"],
                                                       "detail": {"a": 1}}]})
    assert (st, r) == (201, {"accepted": 2})
    assert api.call("POST", "/api/v1/audit-events",
                    {"events": [{"action": "x", "deployment_id": 999}]})[0] == 422
    assert len(api.call("GET", "/api/v1/audit-events")[1]["events"]) == 2


def test_runtime_status_is_encrypted_at_rest_and_returned_decrypted(api):
    d = api.call("POST", "/api/v1/deployments", {"name": "d"})[1]
    status = {"tools": [{"name": "git", "ok": True}], "note": "h\u00e9llo"}
    path = f"/api/v1/deployments/{d['id']}/runtime-statuses/docker"
    assert api.call("PUT", path, {"tool_status": status})[0] == 200
    assert api.call("PUT", path, {"tool_status": {"v": 2}})[0] == 200
    stored = api.db.query("SELECT tool_status, last_tool_status FROM runtime_statuses")
    assert all(v.startswith("exo:v1:") for v in stored[0])
    assert "git" not in json.dumps(stored)
    st, lst = api.call("GET", f"/api/v1/deployments/{d['id']}/runtime-statuses")
    item = lst["runtime_statuses"][0]
    assert (item["runtime"], item["tool_status"], item["last_tool_status"]) == (
        "docker", {"v": 2}, status)
    assert api.call("PUT", "/api/v1/deployments/999/runtime-statuses/x",
                    {"tool_status": 1})[0] == 404


def test_metrics_report_requests_pool_and_events(api):
    api.call("GET", "/api/v1/deployments")
    api.call("GET", "/api/v1/deployments/424242")
    api.call("GET", "/api/v1/no-such/1234567")
    with urllib.request.urlopen(api.base + "/metrics", timeout=5) as r:
        text = r.read().decode()
    # By route template and status code: ids stay out of the labels.
    for name in ['exo_http_requests_total{method="GET",route="/api/v1/deployments",code="200"} 1',
                 'exo_http_requests_total{method="GET",route="/api/v1/deployments/{id}",'
                 'code="404"} 1',
                 'exo_http_requests_total{method="other",route="other",code="404"} 1',
                 'exo_http_request_duration_seconds_bucket{method="GET",'
                 'route="/api/v1/deployments",le="+Inf"} 1',
                 "exo_ready 1", "exo_database_up 1", "exo_maintenance_interval_seconds ",
                 "exo_cast_volume_size_bytes ", "exo_boot_ddl_statements ",
                 "exo_db_pool_open", "exo_db_pool_idle", "exo_db_pool_in_use",
                 "exo_db_pool_max_open 100", "exo_db_pool_max_idle 10",
                 "exo_db_pool_waits_total", "exo_maintenance_runs_total",
                 "exo_partitions_dropped_total", "exo_cast_bytes_written_total",
                 "exo_schema_version 2", "exo_keyring_active_key_id 1",
                 'exo_partitions_months_ahead{table="session_events"} 3',
                 'exo_partitions_months_ahead{table="audit_events"} 3',
                 "exo_boot_duration_seconds ", "exo_cast_volume_free_bytes "]:
        assert name in text, name
    assert "424242" not in text and "1234567" not in text
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line and not line.startswith("#")}
    # The fixture waited for the first pass: it succeeded a moment ago.
    assert time.time() - 600 < values["exo_maintenance_last_success_timestamp_seconds"] \
        <= time.time() + 1
    assert values["exo_cast_volume_free_bytes"] > 0 and values["exo_cast_volume_used_bytes"] > 0


def test_sigterm_finishes_the_request_in_flight(db):
    import socket
    p, port = db.serve(EXO_BOOTSTRAP_TOKEN=TOKEN)
    body = json.dumps({"name": "in-flight"}).encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /api/v1/deployments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
              TOKEN.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n" + body[:5])
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    # Stopped accepting: a new connection is refused.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    s.sendall(body[5:])
    reply = s.recv(65536).decode()
    s.close()
    assert reply.startswith("HTTP/1.1 201"), reply
    assert p.wait(timeout=30) == 0
    assert db.query("SELECT name FROM deployments")[0][0] == "in-flight"
