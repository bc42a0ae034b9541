"""Chaos on the database: PostgreSQL stopped fast, stopped immediately (a
crash) and its postmaster killed with SIGKILL, for short and longer
outages, while writers post audit events through the API and the
maintenance daemon runs every second (with months to make: a churn thread
takes the furthest premade month away again and again, its rows going back
to DEFAULT). The backend never exits, fails requests cleanly meanwhile,
is not ready while the database is away, recovers without a restart; no
acknowledged event is lost and no partition is half made."""
import http.client
import json
import os
import signal
import subprocess
import threading
import time

import psycopg
import pytest

from conftest import maintenance_passes, metrics, month_ahead, ready
from test_api import TOKEN

WRITERS = 4
BATCH = 10
# (how, seconds away, writers quiet meanwhile: the pool's idle
# connections are dead when the first requests after it come)
OUTAGES = [("fast", 0.3, False), ("immediate", 0.3, False), ("kill9", 0.3, False),
           ("fast", 3.0, False), ("immediate", 3.0, False), ("kill9", 3.0, False),
           ("immediate", 1.0, True)]


def suffix(when):
    return f"{when.year:04d}_{when.month:02d}"


class Writer(threading.Thread):
    """Posts batches of audit events, each with a unique action, on one
    keep-alive connection; records every request's outcome."""

    def __init__(self, n, port, stop, future, quiet):
        super().__init__(daemon=True)
        self.n, self.port, self.stop, self.future, self.quiet = n, port, stop, future, quiet
        self.sent, self.acked = set(), set()
        self.log = []  # (start, seconds, status or exception text, body)

    def run(self):
        conn = None
        seq = 0
        while not self.stop.is_set():
            if self.quiet.is_set():
                time.sleep(0.01)
                continue
            ids = [f"chaos-{self.n}-{seq}-{j}" for j in range(BATCH)]
            seq += 1
            events = [{"action": i} for i in ids]
            if seq % 4 == 0:  # a month the churn thread takes away and back
                for e in events:
                    e["time"] = self.future
            body = json.dumps({"events": events})
            self.sent.update(ids)
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("POST", "/api/v1/audit-events", body,
                             {"Authorization": f"Bearer {TOKEN}",
                              "Content-Type": "application/json"})
                r = conn.getresponse()
                text = r.read()
                status = r.status
            except (OSError, http.client.HTTPException) as e:
                status, text = f"{type(e).__name__}: {e}", b""
                conn.close()
                conn = None
            self.log.append((t0, time.monotonic() - t0, status, text))
            if status == 201 and json.loads(text) == {"accepted": BATCH}:
                self.acked.update(ids)
            time.sleep(0.01)


class Churn(threading.Thread):
    """Takes the furthest premade month of both tables away, its rows back
    into DEFAULT, so that every maintenance pass has a month to make and
    rows to move."""

    def __init__(self, db, stop, when):
        super().__init__(daemon=True)
        self.db, self.stop, self.suffix = db, stop, suffix(when)
        self.done = 0

    def run(self):
        while not self.stop.wait(0.7):
            try:
                with self.db.connect() as c:
                    # One table a transaction, its parent locked first: the
                    # DETACH also locks the table its foreign keys point
                    # at, which an insert locks after the parent.
                    for t in ["session_events", "audit_events"]:
                        part = f"{t}_p{self.suffix}"
                        with c.transaction():
                            c.execute("SET LOCAL lock_timeout = '1s'")
                            c.execute(f"LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE")
                            if c.execute("SELECT to_regclass(%s)", (part,)).fetchone()[0]:
                                c.execute(f"ALTER TABLE {t} DETACH PARTITION {part}")
                                c.execute(f"INSERT INTO {t} SELECT * FROM {part}")
                                c.execute(f"DROP TABLE {part}")
                self.done += 1
            except psycopg.Error:
                pass  # the server is away, or the daemon holds the table


def postmaster_pid(pg):
    return int((pg.data / "postmaster.pid").read_text().split()[0])


def take_down(pg, how):
    if how == "kill9":
        os.kill(postmaster_pid(pg), signal.SIGKILL)
    else:
        pg.pg_ctl("stop", "-m", how, "-w")


def bring_up(pg):
    """Starts the server again. After a SIGKILL of the postmaster its
    backends notice and exit on their own; until they have, the shared
    memory is in use and the start is refused: try again."""
    for _ in range(120):
        try:
            pg.pg_ctl("start", "-w", "-t", "60", "-l", str(pg.log))
            return
        except subprocess.CalledProcessError:
            time.sleep(0.25)
    raise AssertionError("PostgreSQL did not start again")


def wait_for(what, cond, p, seconds=120):
    """Polls cond until it holds; fails if the backend exits meanwhile, or
    after `seconds` (a hang, not a slow machine)."""
    deadline = time.monotonic() + seconds
    while not cond():
        assert p.poll() is None, f"the backend exited waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {seconds}s"
        time.sleep(0.05)


def test_database_restarts_under_load_lose_nothing(db, new_db, tmp_path):
    pg = db.server
    log_path = tmp_path / "backend.log"
    future = month_ahead(3)
    with open(log_path, "w") as log:
        p, port = db.serve(stderr=log, EXO_BOOTSTRAP_TOKEN=TOKEN, EXO_MAINTENANCE_INTERVAL="1s",
                           EXO_CAST_STORAGE_DIR=str(tmp_path))
    stop, quiet = threading.Event(), threading.Event()
    writers = [Writer(i, port, stop, future.isoformat(), quiet) for i in range(WRITERS)]
    churn = Churn(db, stop, future)
    for t in writers + [churn]:
        t.start()
    opened_before = metrics(port)["exo_db_pool_opened_total"]
    report = []
    try:
        time.sleep(1.5)
        for how, away, hush in OUTAGES:
            if hush:
                quiet.set()
                time.sleep(0.2)
            passes = maintenance_passes(port)
            t_down = time.monotonic()
            take_down(pg, how)
            readyz_while_away = []  # (seconds since down, ready)
            while time.monotonic() - t_down < away:
                if not hush:  # /readyz would find the dead connections first
                    readyz_while_away.append((time.monotonic() - t_down, ready(port)))
                assert p.poll() is None, "the backend exited while the database was away"
                time.sleep(0.05)
            bring_up(pg)
            t_up = time.monotonic()
            quiet.clear()
            # Recovered: a writer's request acknowledged, ready again, and a
            # maintenance pass finished, all without restarting the backend.
            wait_for("acknowledged write", lambda: any(
                st == 201 and t0 > t_up for w in writers for t0, _, st, _ in w.log[-20:]), p)
            t_write = time.monotonic()
            wait_for("ready", lambda: ready(port), p)
            t_ready = time.monotonic()
            wait_for("maintenance pass", lambda: maintenance_passes(port) > passes, p)
            failed = sum(1 for w in writers for t0, _, st, _ in w.log
                         if t_down <= t0 < t_write and st != 201)
            failed_after_up = sum(1 for w in writers for t0, _, st, _ in w.log
                                  if t_up <= t0 < t_write and st != 201)
            oks = sum(ok for _, ok in readyz_while_away)
            report.append((how + (" quiet" if hush else ""), away, len(readyz_while_away), oks,
                           failed, failed_after_up, t_ready - t_up, t_write - t_up))
            if hush:  # the dead idle connections fail no request once it is back
                assert failed_after_up == 0
            # Not ready while away (after a SIGKILL of the postmaster, its
            # backends may answer for a moment still).
            assert not any(ok for t, ok in readyz_while_away if t > 0.5), (how, readyz_while_away)
            time.sleep(1.0)
    finally:
        stop.set()
        for t in writers + [churn]:
            t.join(timeout=90)
    # One more whole maintenance pass after the last outage and the churn:
    # every month back, every row of DEFAULT in its month.
    passes = maintenance_passes(port)
    wait_for("maintenance passes", lambda: maintenance_passes(port) >= passes + 2, p)
    m = metrics(port)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0
    logs = log_path.read_text()

    print("\nhow             away  readyz asked/ok  failed(from down)  failed(after up)  "
          "ready after  first write after")
    for how, away, asked, ok, failed, after_up, t_ready, t_write in report:
        print(f"{how:15s} {away:4.1f}s {asked:6d}/{ok:<6d}  {failed:17d}  {after_up:16d}  "
              f"{t_ready:10.2f}s  {t_write:16.2f}s")
    statuses = {}
    for w in writers:
        for _, _, st, _ in w.log:
            statuses[st] = statuses.get(st, 0) + 1
    slowest = max(s for w in writers for _, s, _, _ in w.log)
    sent = set().union(*(w.sent for w in writers))
    acked = set().union(*(w.acked for w in writers))
    found = db.query("SELECT action, count(*) FROM audit_events WHERE action LIKE 'chaos-%' "
                     "GROUP BY action")
    found_set = {a for a, _ in found}
    print(f"requests by status: {statuses}; slowest {slowest:.2f}s")
    seen = set()
    for w in writers:
        for t0, _, st, text in w.log:
            key = (st, text[:60])
            if st != 201 and key not in seen and len(seen) < 6:
                seen.add(key)
                print(f"  {st} {text[:300]}")
    print(f"events sent {len(sent)}, acknowledged {len(acked)}, found {len(found_set)} "
          f"(unacknowledged but committed: {len(found_set - acked)}); churn rounds {churn.done}")
    print(f"pool connections opened {m['exo_db_pool_opened_total'] - opened_before:.0f}, "
          f"maintenance passes {m['exo_maintenance_runs_total']:.0f} done, "
          f"{m['exo_maintenance_failures_total']:.0f} failed")

    # The churn's DETACH and DROP against the daemon's reads: a pass fails
    # now and then, and the next one does the work.
    print(f"deadlocks in the server's log: "
          f"{pg.log.read_text(errors='replace').count('ERROR:  deadlock detected')}")
    # Every request was answered (no hang, no dropped connection), with a
    # success or a clean 503 naming the database.
    for w in writers:
        for _, _, st, text in w.log:
            assert st in (201, 503), (st, text[:300])
            if st == 503:
                assert json.loads(text)["error"]["code"] == "database_unavailable"
    assert statuses.get(503, 0) > 0  # the outages were seen
    # Nothing acknowledged is lost, nothing is there twice or unsent.
    assert acked <= found_set, sorted(acked - found_set)[:20]
    assert found_set <= sent
    assert all(n == 1 for _, n in found)
    # Whole partitions: the same catalog as a fresh database's.
    assert db.half_made() == []
    fresh = new_db()
    fresh.run("migrate")
    assert db.schema() == fresh.schema()
    assert db.query(f"SELECT count(*) FROM audit_events_default WHERE created_at >= "
                    f"'{future.isoformat()}'::timestamptz - interval '1 day' "
                    f"AND created_at < '{month_ahead(4).isoformat()}'")[0][0] == 0
    # The pool reconnected: at least one connection per outage.
    assert m["exo_db_pool_opened_total"] - opened_before >= len(OUTAGES)
    assert pg.APP_PASSWORD not in logs
    assert not any(pg.APP_PASSWORD.encode() in text for w in writers for _, _, _, text in w.log)
    for line in logs.splitlines():
        json.loads(line)


def test_a_pass_cut_short_by_a_crash_does_not_stop_the_next(db, tmp_path):
    """The database crashes in the middle of a maintenance pass (held up on
    a lock, a month to make): the lease stays held by the pass that could
    not release it, and the same backend's next pass takes it up again
    instead of skipping for the lease's 15 minutes."""
    pg = db.server
    month = suffix(month_ahead(3))
    log_path = tmp_path / "backend.log"
    with open(log_path, "w") as log:
        p, port = db.serve(stderr=log, EXO_MAINTENANCE_INTERVAL="1s")
    try:
        blocker = db.connect()
        for _ in range(5):
            # The month gone, and the table held as an insert holds it: the
            # daemon's next pass waits for it (lock_timeout, retries) to
            # make the month.
            blocker.execute(f"DROP TABLE IF EXISTS audit_events_p{month}")
            blocker.execute("BEGIN")
            blocker.execute("LOCK TABLE audit_events IN ROW EXCLUSIVE MODE")
            if not db.query("SELECT to_regclass(%s)", f"audit_events_p{month}")[0][0]:
                break
            blocker.execute("ROLLBACK")  # a pass came in between
        for _ in range(300):
            waiting = db.query(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'LOCK TABLE \"audit_events\" IN SHARE%%'")[0][0]
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the daemon never came to make the month"
        holder = db.query("SELECT holder FROM exo_leases")[0][0]
        take_down(pg, "immediate")
        blocker.close()
        bring_up(pg)
        # The lease outlived the pass; the backend's next pass makes the month.
        assert db.query("SELECT holder FROM exo_leases") in ([(holder,)], [])
        wait_for(f"audit_events_p{month} made again", lambda: db.query(
            "SELECT to_regclass(%s)", f"audit_events_p{month}")[0][0], p, seconds=60)
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0
    reports = [json.loads(json.loads(line)["report"]) for line in log_path.read_text().splitlines()
               if json.loads(line)["msg"] == "maintenance done"]
    skipped = sum(r["skipped"] for r in reports)
    print(f"{len(reports)} passes, {skipped} skipped")
    assert skipped == 0
