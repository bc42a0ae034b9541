"""exo session, recording and token against a real exo-backend on a real
PostgreSQL 16: tables and JSON as the API answers them, pages, filters,
recordings streamed both ways in flat memory, tokens listed without their
secret and revoked, and a one-line error with its exit status for every
refusal."""
import json
import os
import re
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from cli_harness import EXO, TOKEN, WRAPPER, run_exo

HEADER = b'{"version": 2, "width": 80, "height": 24}\n'


def one_line_error(p, status):
    assert p.returncode == status, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.startswith("exo: ") and p.stderr.count("\n") == 1, p.stderr
    assert not p.stdout
    return p.stderr.strip()


def rows(text):
    """A table's rows as lists of cells, cut at the header's column starts
    (headers may hold one space, as LAST USED)."""
    lines = text.splitlines()
    starts = [m.start() for m in re.finditer(r"(?<!\S)\S+(?: \S+)?(?=\s{2,}|$)", lines[0])]
    return [[line[s:e].strip() for s, e in zip(starts, starts[1:] + [None])]
            for line in lines[1:]]


def session(backend, dep):
    return backend.api("POST", "/api/v1/sessions", {"deployment_id": dep})["id"]


def recording(size):
    out = bytearray(HEADER)
    i = 0
    line = b'[%d.5, "o", "%s\\r\\n"]\n'
    while len(out) + 200 < size:
        out += line % (i, b"x" * 100)
        i += 1
    pad = size - len(out) - len(b'[99999999.5, "o", ""]\n')
    out += b'[99999999.5, "o", "' + b"y" * pad + b'"]\n'
    assert len(out) == size
    return bytes(out)


def test_session_list_and_get_as_tables_and_json(backend):
    dep = backend.api("POST", "/api/v1/deployments", {"name": "prod"})["id"]
    sids = [session(backend, dep) for _ in range(3)]
    p = backend.exo("session", "list")
    assert p.returncode == 0 and not p.stderr, p.stderr
    assert p.stdout.splitlines()[0].split() == ["ID", "DEPLOYMENT", "USER", "STARTED", "ENDED",
                                                "RECORDING"]
    got = rows(p.stdout)
    assert [r[0] for r in got] == [str(s) for s in sids[::-1]]
    assert got[0][1:3] == [str(dep), "1"] and got[0][4:] == ["-", "none"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", got[0][3])
    p = backend.exo("session", "list", "-o", "json")
    assert json.loads(p.stdout) == backend.api("GET", "/api/v1/sessions")
    p = backend.exo("session", "get", str(sids[0]))
    assert p.returncode == 0 and rows(p.stdout)[0][0] == str(sids[0])
    p = backend.exo("session", "get", str(sids[0]), "-o", "json")
    assert json.loads(p.stdout) == backend.api("GET", f"/api/v1/sessions/{sids[0]}")
    p = backend.exo("session", "get", "999")
    assert one_line_error(p, 1) == "exo: no session 999"


def test_session_list_pages_and_filters(backend):
    a = backend.api("POST", "/api/v1/deployments", {"name": "a"})["id"]
    b = backend.api("POST", "/api/v1/deployments", {"name": "b"})["id"]
    in_a = [session(backend, a) for _ in range(3)]
    in_b = session(backend, b)
    p = backend.exo("session", "list", "--limit", "2")
    assert p.returncode == 0
    assert [r[0] for r in rows(p.stdout)] == [str(in_b), str(in_a[2])]
    cursor = re.fullmatch(r"exo: more sessions follow: add --cursor (\d+) for the next page\n",
                          p.stderr)[1]
    p = backend.exo("session", "list", "--limit", "2", "--cursor", cursor)
    assert [r[0] for r in rows(p.stdout)] == [str(in_a[1]), str(in_a[0])] and not p.stderr
    p = backend.exo("session", "list", "--deployment", str(a), "-o", "json")
    assert [s["id"] for s in json.loads(p.stdout)["sessions"]] == in_a[::-1]
    now = datetime.now(timezone.utc)
    future = (now + timedelta(hours=1)).isoformat()  # "+00:00": escaped in the URL
    past = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    p = backend.exo("session", "list", "--since", future)
    assert (p.returncode, p.stdout) == (0, "No sessions.\n"), p.stderr
    p = backend.exo("session", "list", "--since", past, "--until", future, "-o", "json")
    assert len(json.loads(p.stdout)["sessions"]) == 4
    p = backend.exo("session", "list", "--until", past, "-o", "json")
    assert json.loads(p.stdout) == {"sessions": [], "next_cursor": None}


@pytest.mark.parametrize("args,line", [
    (["session", "list", "--since", "yesterday"],
     'exo: --since must be an RFC 3339 time such as 2027-01-15T10:00:00Z, not "yesterday"'),
    (["session", "list", "--until", "2027-02-30T00:00:00Z"],
     'exo: --until must be an RFC 3339 time such as 2027-01-15T10:00:00Z, not '
     '"2027-02-30T00:00:00Z"'),
    (["session", "list", "--since", "2027-01-02T00:00:00Z", "--until", "2027-01-01T00:00:00Z"],
     "exo: --since is after --until"),
    (["session", "list", "--limit", "1001"],
     'exo: --limit must be a number of sessions from 1 to 1000, not "1001"'),
    (["session", "list", "--deployment", "x"],
     'exo: --deployment must be a positive whole number, not "x"'),
    (["session", "list", "--cursor", "0"], 'exo: --cursor must be a positive whole number, not "0"'),
    (["session", "get", "abc"], 'exo: session ID must be a positive whole number, not "abc"'),
    (["session", "get", "1", "--since", "2027-01-01T00:00:00Z"],
     "exo: --since is only for exo session list"),
    (["session", "get"], "exo: session get: missing ID"),
    (["session", "drop"], 'exo: unknown command "session drop" (see exo session --help)'),
    (["recording", "upload", "1"], "exo: recording upload: missing FILE"),
    (["recording", "upload", "x", "f"], 'exo: SESSION must be a positive whole number, not "x"'),
    (["recording", "upload", "1", "/nonexistent/cast"],
     "exo: cannot read /nonexistent/cast: No such file or directory"),
    (["recording", "upload", "1", "/"],
     "exo: / is not a regular file (its size must be known)"),
    (["recording", "upload", "1", "f", "-o", "x"],
     "exo: -o/--output FILE is only for exo recording download (give table|json before the "
     "command)"),
    (["token", "create", "--expires-in", "soon"],
     'exo: --expires-in must be whole days (90d) or a duration (720h, 1h30m) from 1s to 3650 '
     'days, not "soon"'),
    (["token", "create", "--expires-in", "3651d"],
     'exo: --expires-in must be whole days (90d) or a duration (720h, 1h30m) from 1s to 3650 '
     'days, not "3651d"'),
    (["token", "revoke", "0"], 'exo: token ID must be a positive whole number, not "0"'),
    (["token", "list", "--name", "x"], "exo: --name is only for exo token create"),
    (["token", "list", "--limit", "0"],
     'exo: --limit must be a number of tokens from 1 to 1000, not "0"'),
])
def test_usage_errors_send_nothing(args, line):
    # Nothing listens on port 9: a request sent would be a different error.
    p = run_exo(*args, env={"EXO_URL": "http://127.0.0.1:9", "EXO_TOKEN": "t"})
    assert one_line_error(p, 2) == line


def test_recording_upload_and_download_round_trip(backend, tmp_path):
    dep = backend.api("POST", "/api/v1/deployments", {"name": "prod"})["id"]
    sid = session(backend, dep)
    cast = tmp_path / "in.cast"
    cast.write_bytes(recording(300_000))
    p = backend.exo("recording", "upload", str(sid), str(cast))
    assert p.returncode == 0 and not p.stderr, p.stderr
    assert rows(p.stdout) == [[str(sid), "300000"]]
    p = backend.exo("-o", "json", "recording", "upload", str(sid), str(cast))
    assert json.loads(p.stdout) == {"session_id": sid, "bytes": 300000}
    out = tmp_path / "out.cast"
    p = backend.exo("recording", "download", str(sid), "-o", str(out))
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    assert out.read_bytes() == cast.read_bytes()
    p = subprocess.run([*WRAPPER, EXO, "recording", "download", str(sid)], env=dict(
        os.environ, **backend.env()), capture_output=True)
    assert p.returncode == 0 and p.stdout == cast.read_bytes()
    p = backend.exo("session", "get", str(sid))
    assert rows(p.stdout)[0][5] == "300000 bytes"


def test_recording_refusals_are_one_line_and_leave_no_file(backend, tmp_path):
    dep = backend.api("POST", "/api/v1/deployments", {"name": "prod"})["id"]
    sid = session(backend, dep)
    bad = tmp_path / "bad.cast"
    bad.write_bytes(HEADER + b'[1.0, "o", "ok"]\n[0.5, "o", "back in time"]\n')
    line = one_line_error(backend.exo("recording", "upload", str(sid), str(bad)), 1)
    assert line.startswith("exo: ") and "line 3" in line
    out = tmp_path / "dl" / "out.cast"
    out.parent.mkdir()
    p = backend.exo("recording", "download", str(sid), "-o", str(out))
    assert one_line_error(p, 1) == f"exo: session {sid} has no recording"
    assert list(out.parent.iterdir()) == []
    p = backend.exo("recording", "download", "999", "-o", str(out))
    assert one_line_error(p, 1) == "exo: no session 999"
    assert list(out.parent.iterdir()) == []
    p = backend.exo("recording", "upload", "999", str(bad))
    assert one_line_error(p, 1) == "exo: no session 999"
    p = backend.exo("recording", "download", str(sid), "-o", "/nonexistent/dir/x.cast")
    assert one_line_error(p, 1).startswith("exo: cannot write /nonexistent/dir/x.cast: ")


def max_rss_kib(args, env):
    """Runs exo under GNU time; its peak resident set in KiB."""
    p = subprocess.run(["/usr/bin/time", "-f", "%M", EXO, *args], env=dict(os.environ, **env),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return int(p.stderr.strip().splitlines()[-1])


@pytest.mark.skipif(bool(WRAPPER) or not os.path.exists("/usr/bin/time"),
                    reason="RSS is measured on the binary alone")
def test_64_mib_streams_both_ways_in_flat_memory_and_one_byte_more_is_413(backend, tmp_path):
    dep = backend.api("POST", "/api/v1/deployments", {"name": "prod"})["id"]
    sid = session(backend, dep)
    big = tmp_path / "big.cast"
    big.write_bytes(recording(64 * 1024 * 1024))
    small = tmp_path / "small.cast"
    small.write_bytes(recording(1000))
    env = backend.env()
    base = max_rss_kib(["recording", "upload", str(sid), str(small)], env)
    up = max_rss_kib(["recording", "upload", str(sid), str(big), "--timeout", "60"], env)
    out = tmp_path / "out.cast"
    down = max_rss_kib(["recording", "download", str(sid), "-o", str(out)], env)
    assert out.stat().st_size == big.stat().st_size
    # Flat: a 64 MiB transfer needs no more than a 1 KB one, within 8 MiB.
    assert up < base + 8192 and down < base + 8192, (base, up, down)
    print(f"exo max RSS: 1 KB upload {base} KiB, 64 MiB upload {up} KiB, download {down} KiB")
    over = tmp_path / "over.cast"
    over.write_bytes(recording(64 * 1024 * 1024 + 1))
    p = backend.exo("recording", "upload", str(sid), str(over), "--timeout", "60")
    assert one_line_error(p, 1) == "exo: the recording is larger than 67108864 bytes"
    # The stored recording is still the 64 MiB one.
    assert backend.api("GET", f"/api/v1/sessions/{sid}")["cast_bytes"] == 64 * 1024 * 1024


def test_tokens_create_list_revoke(backend):
    p = backend.exo("token", "create", "--name", "laptop", "--expires-in", "90d")
    assert p.returncode == 0 and not p.stderr, p.stderr
    assert p.stdout.splitlines()[0].split() == ["ID", "USER", "NAME", "EXPIRES", "TOKEN"]
    [[tid, user, name, expires, secret]] = rows(p.stdout)
    assert (user, name) == ("1", "laptop") and secret.startswith("exo_")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", expires)
    # The new token works, and makes one for its own user.
    p = backend.exo("token", "create", "-o", "json", EXO_TOKEN=secret)
    made = json.loads(p.stdout)
    assert made["user_id"] == 1 and made["expires_at"] is None and made["token"]

    p = backend.exo("token", "list")
    assert p.returncode == 0
    assert p.stdout.splitlines()[0].split() == ["ID", "USER", "NAME", "CREATED", "EXPIRES",
                                                "LAST", "USED"]
    listed = rows(p.stdout)
    assert [r[0] for r in listed] == [str(made["id"]), tid, listed[2][0]]
    assert listed[1][4] == expires and listed[0][4] == "never"
    for out in (p.stdout, backend.exo("token", "list", "-o", "json").stdout):
        assert secret not in out and made["token"] not in out and TOKEN not in out
    def used_dropped(out):  # each request moves its token's last_used_at
        return [dict(t, last_used_at=None) for t in out["tokens"]]
    assert used_dropped(json.loads(backend.exo("token", "list", "-o", "json").stdout)) == \
        used_dropped(backend.api("GET", "/api/v1/tokens"))

    p = backend.exo("token", "revoke", tid)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].split() == ["ID", "USER", "NAME", "REVOKED"]
    assert rows(p.stdout)[0][:3] == [tid, "1", "laptop"]
    p = backend.exo("deployment", "list", EXO_TOKEN=secret)
    assert one_line_error(p, 1) == ("exo: the server refused the token (401): unknown, expired "
                                    "or revoked token — check EXO_TOKEN")
    assert secret not in p.stderr
    p = backend.exo("token", "revoke", tid)
    assert one_line_error(p, 1) == f"exo: no token {tid} (or it was revoked already)"
    events = backend.api("GET", "/api/v1/audit-events")["events"]
    assert [e["detail"] for e in events if e["action"] == "token.revoke"] == [
        {"token_id": int(tid), "token_user_id": 1, "token_name": "laptop"}]


def test_token_list_pages_and_marks_expired(backend):
    for i in range(3):
        assert backend.exo("token", "create", "--name", f"t{i}", "--expires-in", "1h").returncode == 0
    p = backend.exo("token", "list", "--limit", "2")
    assert len(rows(p.stdout)) == 2
    cursor = re.fullmatch(r"exo: more tokens follow: add --cursor (\d+) for the next page\n",
                          p.stderr)[1]
    p = backend.exo("token", "list", "--limit", "2", "--cursor", cursor)
    assert len(rows(p.stdout)) == 2 and not p.stderr
    short = json.loads(backend.exo("token", "create", "--name", "short", "--expires-in", "1s",
                                   "-o", "json").stdout)
    time.sleep(1.5)
    p = backend.exo("deployment", "list", EXO_TOKEN=short["token"])
    assert one_line_error(p, 1).startswith("exo: the server refused the token (401)")
    [row] = [r for r in rows(backend.exo("token", "list").stdout) if r[2] == "short"]
    assert row[4].endswith(" UTC (expired)"), row


def test_every_help_is_true_to_the_binary():
    for group, words in {
        "session": ["list", "get ID", "--deployment", "--since", "--until", "--limit",
                    "--cursor"],
        "recording": ["upload SESSION FILE", "download SESSION [-o FILE]", "64 MiB"],
        "token": ["create", "list", "revoke ID", "--name", "--expires-in", "--user", "--limit",
                  "--cursor"],
    }.items():
        p = run_exo(group, "--help")
        assert p.returncode == 0 and not p.stderr
        for w in words + ["--url", "--token", "--output", "--timeout", "Exit status"]:
            assert w in p.stdout, (group, w)
        assert run_exo(group, "list", "--help").stdout == p.stdout
        for flag in set(re.findall(r"(--[a-z][a-z-]+)", p.stdout)) - {"--help", "--insecure"}:
            p2 = run_exo(group, "x", flag, "1", env={"EXO_URL": "http://127.0.0.1:9",
                                                     "EXO_TOKEN": "t"})
            assert "unknown flag" not in p2.stderr, (group, flag, p2.stderr)
    top = run_exo("--help").stdout
    # Every flag the top-level help names is taken by some group.
    for flag in set(re.findall(r"(--[a-z][a-z-]+)", top)) - {"--help", "--version", "--insecure"}:
        taken = [g for g in ("deployment", "session", "recording", "token")
                 if "unknown flag" not in run_exo(g, "x", flag, "1", env={
                     "EXO_URL": "http://127.0.0.1:9", "EXO_TOKEN": "t"}).stderr]
        assert taken, flag
    for w in ("session list", "session get ID", "recording upload SESSION FILE",
              "recording download SESSION [-o FILE]", "token create", "token list",
              "token revoke ID"):
        assert w in top, w


def test_a_stalled_download_fails_and_leaves_no_file(tmp_path):
    """A server that sends part of a recording, then nothing: the stall is
    the error (the transfer as a whole has no limit), and FILE is not made."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    url = f"http://127.0.0.1:{srv.getsockname()[1]}"

    def serve():
        c, _ = srv.accept()
        c.recv(65536)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-asciicast\r\n"
                  b"Content-Length: 1000\r\n\r\n" + HEADER)
        done.wait(60)  # silent until exo has given up, however long that takes
        c.close()

    done = threading.Event()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    out = tmp_path / "out.cast"
    p = run_exo("recording", "download", "1", "-o", str(out), "--timeout", "1",
                env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
    done.set()
    t.join()
    srv.close()
    assert one_line_error(p, 1) == f"exo: the transfer with {url} stalled for 1s (--timeout " \
                                   "waits longer)"
    assert list(tmp_path.iterdir()) == []
