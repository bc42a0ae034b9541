"""Session recordings through the API: streamed to EXO_CAST_STORAGE_DIR,
validated as they arrive, 64 MiB accepted and one byte more refused with
nothing left behind, a client that goes away leaves nothing, identifiers
cannot escape the directory, retention removes them."""
import http.client
import json
import socket
import time

from test_api import TOKEN, api  # noqa: F401  (the fixture)

HEADER = b'{"version": 2, "width": 80, "height": 24}\n'


def recording(size):
    """A valid asciicast v2 body of exactly `size` bytes."""
    out = bytearray(HEADER)
    i = 0
    while len(out) < size:
        line = b'[%d.5, "o", "line %d of output\\r\\n"]\n' % (i, i)
        out += line
        i += 1
    if len(out) > size:  # end on one event whose text pads to the exact size
        while len(out) > size - 100:
            out = out[:out.rfind(b"\n", 0, len(out) - 1) + 1]
        pad = size - len(out) - len(b'[99999999.5, "o", ""]\n')
        out += b'[99999999.5, "o", "' + b"x" * pad + b'"]\n'
    assert len(out) == size
    return bytes(out)


def put(api, sid, body, chunk=1 << 20):
    c = http.client.HTTPConnection("127.0.0.1", int(api.base.rsplit(":", 1)[1]), timeout=120)
    c.putrequest("PUT", f"/api/v1/sessions/{sid}/cast")
    c.putheader("Authorization", f"Bearer {TOKEN}")
    c.putheader("Content-Length", str(len(body)))
    c.endheaders()
    for i in range(0, len(body), chunk):
        try:
            c.send(body[i:i + chunk])
        except (BrokenPipeError, ConnectionResetError):
            break
    r = c.getresponse()
    out = (r.status, json.loads(r.read()))
    c.close()
    return out


def new_session(api):
    d = api.call("POST", "/api/v1/deployments", {"name": f"d{time.monotonic_ns()}"})[1]
    return api.call("POST", "/api/v1/sessions", {"deployment_id": d["id"]})[1]["id"]


def files(api):
    return sorted(p.name for p in api.casts.iterdir())


def test_recording_round_trips(api):
    sid = new_session(api)
    body = recording(200_000)
    assert put(api, sid, body) == (201, {"session_id": sid, "bytes": len(body)})
    req = __import__("urllib.request").request.Request(
        f"{api.base}/api/v1/sessions/{sid}/cast", headers={"Authorization": f"Bearer {TOKEN}"})
    with __import__("urllib.request").request.urlopen(req) as r:
        assert r.read() == body
        assert r.headers["Content-Type"] == "application/x-asciicast"
    assert api.call("GET", f"/api/v1/sessions/{sid}")[1]["cast_bytes"] == len(body)
    assert files(api) == [f"{sid}.cast"]


def test_64_mib_accepted_and_one_byte_more_refused_leaving_nothing(api):
    sid = new_session(api)
    limit = 64 * 1024 * 1024
    assert put(api, sid, recording(limit))[0] == 201
    sid2 = new_session(api)
    st, e = put(api, sid2, recording(limit + 1))
    assert st == 413 and e["error"]["code"] == "too_large"
    assert files(api) == [f"{sid}.cast"]


def test_invalid_recording_is_refused_naming_the_line(api):
    sid = new_session(api)
    st, e = put(api, sid, HEADER + b'[1.0, "o", "ok"]\n[0.5, "o", "back in time"]\n')
    assert st == 400 and "line 3" in e["error"]["message"]
    st, e = put(api, sid, b'{"version": 7}\n')
    assert st == 400 and "line 1" in e["error"]["message"]
    assert files(api) == []


def test_client_that_disconnects_halfway_leaves_nothing(api):
    sid = new_session(api)
    body = recording(8 * 1024 * 1024)
    s = socket.create_connection(("127.0.0.1", int(api.base.rsplit(":", 1)[1])))
    s.sendall(b"PUT /api/v1/sessions/%d/cast HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
              b"Content-Length: %d\r\n\r\n" % (sid, TOKEN.encode(), len(body)))
    s.sendall(body[: len(body) // 2])
    time.sleep(0.5)
    assert any(n.endswith(".tmp") for n in files(api))  # it was streaming to disk
    s.close()
    for _ in range(100):
        if not files(api):
            break
        time.sleep(0.05)
    assert files(api) == []


def test_identifiers_cannot_escape_the_directory(api):
    for path in ["/api/v1/sessions/..%2F..%2Fetc%2Fpasswd/cast", "/api/v1/sessions/0/cast",
                 "/api/v1/sessions/-1/cast", "/api/v1/sessions/1%2F..%2F2/cast",
                 "/api/v1/sessions/99999999999999999999/cast"]:
        st, _ = api.call("PUT", path, raw=HEADER)
        assert st == 404, path
        st, _ = api.call("GET", path)
        assert st == 404, path
    assert files(api) == []
    assert api.call("PUT", f"/api/v1/sessions/{new_session(api)}/cast", raw=HEADER,
                    token="wrong")[0] == 401


def test_retention_removes_the_recordings_of_sessions_it_expires(api):
    sid, keep = new_session(api), new_session(api)
    assert put(api, sid, recording(1000))[0] == 201
    assert put(api, keep, recording(1000))[0] == 201
    with api.db.connect() as c:
        c.execute("UPDATE sessions SET started_at = now() - interval '200 days' WHERE id = %s",
                  (sid,))
    out = json.loads(api.db.run("maintain", EXO_CAST_STORAGE_DIR=str(api.casts)).stdout)
    assert out["sessions_expired"] == 1
    assert files(api) == [f"{keep}.cast"]
    assert api.call("GET", f"/api/v1/sessions/{sid}")[0] == 404
