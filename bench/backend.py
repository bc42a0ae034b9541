"""exo-backend benchmarks against a real PostgreSQL 16 (started here, as in
the tests). Prints figures and ratios; asserts nothing about time.

    python3 bench/backend.py BUILD_DIR      (make bench)
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend/tests/integration"))
from pgserver import PgServer  # noqa: E402

build = Path(sys.argv[1] if len(sys.argv) > 1 else "build").resolve()
BIN = build / "backend/exo-backend"
EVENTS = build / "bench/events_bench"
KEY = base64.b64encode(os.urandom(32)).decode()


def backend(server, db, *args, **env):
    e = dict(os.environ, EXO_DATABASE_DSN=server.dsn(db), EXO_ENCRYPTION_KEY=KEY, **env)
    start = time.perf_counter()
    p = subprocess.run([str(BIN), *args], env=e, capture_output=True, text=True, check=True)
    return json.loads(p.stdout), time.perf_counter() - start


def timed(conn, sql):
    start = time.perf_counter()
    conn.execute(sql)
    return time.perf_counter() - start


def vm_hwm_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def cast_run(api, session_id, pid, casts, rounds=5):
    """A 64 MiB recording uploaded with curl, against cp of the same file on
    the same disk followed by an fsync of the copy (what the upload does
    before its rename); the backend's peak resident memory before and after.
    Both replace the previous round's file. Rounds alternate, so both see
    the same moments of a shared machine; the ratio is of the best times,
    and the per-round ratios show the spread."""
    src = casts.parent / "bench-64mib.cast"
    with open(src, "wb") as f:
        f.write(b'{"version": 2, "width": 80, "height": 24}\n')
        i = 0
        while f.tell() < 64 * 1024 * 1024 - 200:
            f.write(b'[%d.5, "o", "line %d of a long build log, more or less like this\\r\\n"]\n'
                    % (i, i))
            i += 1
        # Not part of either side's time: the first round's sync must not
        # write the source too.
        f.flush()
        os.fsync(f.fileno())
    size = src.stat().st_size
    before = vm_hwm_kib(pid)
    ups, cps = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        p = subprocess.run(["curl", "-sS", "-f", "-T", str(src), "-H",
                            f"Authorization: Bearer {api.token}",
                            f"{api.base}/api/v1/sessions/{session_id}/cast"],
                           capture_output=True, text=True)
        ups.append(time.perf_counter() - start)
        if p.returncode != 0:
            print(f"cast:      upload failed: {p.stderr.strip()}")
            return
        start = time.perf_counter()
        subprocess.run(["cp", str(src), str(casts / "copy.cast")], check=True)
        subprocess.run(["sync", str(casts / "copy.cast")], check=True)
        cps.append(time.perf_counter() - start)
    after = vm_hwm_kib(pid)
    mib = size / 1048576
    best_up, best_cp = min(ups), min(cps)
    ratios = sorted(u / c for u, c in zip(ups, cps))
    print(f"baseline:  cp + fsync of a {mib:.0f} MiB recording on the same disk: "
          f"{best_cp:.3f} s = {mib / best_cp:.0f} MiB/s (best of {rounds}; "
          f"{min(cps):.3f}-{max(cps):.3f} s)")
    print(f"cast:      PUT /sessions/{{id}}/cast with curl: {best_up:.3f} s = "
          f"{mib / best_up:.0f} MiB/s (best of {rounds}; {min(ups):.3f}-{max(ups):.3f} s), "
          f"{best_up / best_cp:.2f}x cp's time (goal: within 1.5x; round by round "
          f"{ratios[0]:.2f}-{ratios[-1]:.2f}x)")
    print(f"memory:    backend peak RSS {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB "
          f"after {rounds} 64 MiB uploads")
    src.unlink()


def api_run(server):
    """Events through the API against COPY, and a bounded load run with a
    small pool: the pool's open connections, sampled from /metrics during
    the run, never exceed EXO_DB_MAX_OPEN_CONNS."""
    import threading
    import urllib.request
    sys.path.insert(0, str(ROOT / "backend/tests/integration"))
    from pgserver import free_port
    from test_api import Api
    db = server.createdb("bench_api")
    port, token, max_open = free_port(), "bench-" + "t" * 40, 4
    env = dict(os.environ, EXO_DATABASE_DSN=server.dsn(db), EXO_ENCRYPTION_KEY=KEY,
               EXO_HTTP_ADDR=f"127.0.0.1:{port}", EXO_BOOTSTRAP_TOKEN=token,
               EXO_DB_MAX_OPEN_CONNS=str(max_open), EXO_DB_MAX_IDLE_CONNS="2",
               EXO_MAINTENANCE_INTERVAL="1h")
    casts = Path(tempfile.mkdtemp(prefix="exo-bench-casts-", dir=str(build)))
    env["EXO_CAST_STORAGE_DIR"] = str(casts)
    proc = subprocess.Popen([str(BIN), "serve"], env=env, stderr=subprocess.DEVNULL)
    try:
        api = Api(port, token)
        for _ in range(300):
            try:
                urllib.request.urlopen(api.base + "/readyz", timeout=2)
                break
            except OSError:
                time.sleep(0.05)
        dep = api.call("POST", "/api/v1/deployments", {"name": "bench"})[1]
        session = api.call("POST", "/api/v1/sessions", {"deployment_id": dep["id"]})[1]
        peak, stop = [0, 0.0], threading.Event()

        def sample():
            while not stop.is_set():
                text = urllib.request.urlopen(api.base + "/metrics", timeout=5).read().decode()
                for line in text.splitlines():
                    if line.startswith("exo_db_pool_open "):
                        peak[0] = max(peak[0], int(line.split()[1]))
                    if line.startswith("exo_db_pool_waits_total "):
                        peak[1] = float(line.split()[1])
                time.sleep(0.02)
        t = threading.Thread(target=sample)
        t.start()
        p = subprocess.run([str(build / "bench/api_bench"), api.base, token, str(session["id"]),
                            server.dsn(db), "200000", "16", "500"], capture_output=True,
                           text=True)
        stop.set()
        t.join()
        print(p.stdout, end="")
        if p.returncode != 0:
            print(p.stderr, end="")
        print(f"pool:      {max_open} connections at most: peak open seen {peak[0]}, "
              f"{peak[1]:.0f} waits for a connection")
        rows = server.admin(db).execute("SELECT count(*) FROM session_events").fetchone()[0]
        print(f"rows:      {rows} stored = 200000 by COPY + 200000 through the API: "
              f"{'none lost' if rows == 400000 else 'LOST ' + str(400000 - rows)}")
        cast_run(api, session["id"], proc.pid, casts)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    server = PgServer(extra_conf={"log_statement": "'none'", "max_wal_size": "'4GB'"}).start()
    try:
        db = server.createdb("bench_boot")
        out, wall = backend(server, db, "migrate")
        print(f"fresh migrate: {out['ddl_statements']} DDL statements, boot {out['boot_ms']} ms "
              f"({wall * 1000:.0f} ms for the whole process)")
        noop = [backend(server, db, "migrate") for _ in range(5)]
        best = min(noop, key=lambda r: r[0]["boot_ms"])
        print(f"no-op boot: 0 DDL, boot {best[0]['boot_ms']} ms (best of 5; "
              f"{best[1] * 1000:.0f} ms for the whole process)")

        # 36 months of partitions, then one pass that rolls a month forward
        # and drops the oldest.
        db = server.createdb("bench_months")
        backend(server, db, "migrate", "--now", "2026-11-15T00:00:00Z")
        for i in range(36):
            y, m = divmod(2026 * 12 + 10 + i, 12)
            backend(server, db, "maintain", "--now", f"{y:04d}-{m + 1:02d}-15T00:00:00Z",
                    EXO_RETENTION_DAYS="36500", EXO_PARTITION_PREMAKE="0")
        with server.admin(db) as c:
            n = c.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = "
                          "'session_events'::regclass").fetchone()[0]
        y, m = divmod(2026 * 12 + 10 + 36, 12)
        out, wall = backend(server, db, "maintain", "--now", f"{y:04d}-{m + 1:02d}-15T00:00:00Z",
                            EXO_RETENTION_DAYS="1000", EXO_PARTITION_PREMAKE="0")
        print(f"maintenance pass over {n - 1} monthly partitions per table: "
              f"{out['duration_ms']} ms (created {out['partitions_created']}, "
              f"dropped {out['partitions_dropped']})")

        # Retention of one month of 1,000,000 events: DROP its partition
        # against DELETE of its rows.
        with server.admin(db) as c:
            c.execute("INSERT INTO deployments (name) VALUES ('bench')")
            c.execute("INSERT INTO sessions (deployment_id) VALUES (1)")
            part = c.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = "
                             "i.inhrelid WHERE i.inhparent = 'session_events'::regclass AND "
                             "c.relname <> 'session_events_default' ORDER BY 1 LIMIT 1"
                             ).fetchone()[0]
            bound = c.execute("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE "
                              "relname = %s", (part,)).fetchone()[0]
            lo = bound.split("'")[1]
            c.execute("INSERT INTO session_events (session_id, deployment_id, created_at, kind, "
                      "data) SELECT 1, 1, %s::timestamptz + g * interval '2 seconds', 'o', "
                      "jsonb_build_object('data', 'x' || g) FROM generate_series(1, 1000000) g",
                      (lo,))
            c.execute("VACUUM ANALYZE session_events")
            c.execute("BEGIN")
            delete = timed(c, f"DELETE FROM session_events WHERE created_at >= '{lo}' AND "
                              f"created_at < '{lo}'::timestamptz + interval '1 month'")
            c.execute("ROLLBACK")
            drop = timed(c, f"DROP TABLE {part}")
        print(f"retention of one month of 1,000,000 events: DROP partition {drop * 1000:.1f} ms, "
              f"DELETE {delete * 1000:.0f} ms: DELETE is {delete / drop:.0f}x slower")

        db = server.createdb("bench_events")
        backend(server, db, "migrate")
        p = subprocess.run([str(EVENTS), server.dsn(db), "200000", "8"], capture_output=True,
                           text=True, check=True)
        print(p.stdout, end="")
        api_run(server)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
