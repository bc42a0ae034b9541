"""Maintenance: months rolled forward, months past every retention dropped,
rows of deployments with a shorter retention deleted, and no insert ever
failing or vanishing for want of its month."""
import contextlib
import json
import subprocess
import threading
import time

from datetime import datetime, timezone

import pytest

from conftest import BIN


# Every test here migrates and maintains as of a fixed instant, never the
# calendar's: its dated rows must land in months whose partitions exist, or
# do not, by design on any date the suite runs (a test that migrated "now"
# and wrote November 2026 rows broke on 1 December 2026).
MIGRATED_AT = "2026-11-20T00:00:00Z"


def migrate(db):
    return db.run("migrate", "--now", MIGRATED_AT)


def parts(db, table="session_events"):
    return sorted(r[0] for r in db.query(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass", table))


def insert_event(c, session, deployment, when):
    return c.execute(
        "INSERT INTO session_events (session_id, deployment_id, created_at, kind) "
        "VALUES (%s, %s, %s, 'o') RETURNING id", (session, deployment, when)).fetchone()[0]


def where(db, event_id):
    rows = db.query("SELECT tableoid::regclass::text FROM session_events WHERE id = %s", event_id)
    return rows[0][0] if rows else None


def test_fourteen_months_later(db):
    migrate(db)
    start = parts(db)
    assert "session_events_default" in start and len(start) == 5
    with db.connect() as c:
        a = c.execute("INSERT INTO deployments (name, retention_days) VALUES ('a', 30) "
                      "RETURNING id").fetchone()[0]
        b = c.execute("INSERT INTO deployments (name) VALUES ('b') RETURNING id").fetchone()[0]
        sa = c.execute("INSERT INTO sessions (deployment_id) VALUES (%s) RETURNING id",
                       (a,)).fetchone()[0]
        sb = c.execute("INSERT INTO sessions (deployment_id) VALUES (%s) RETURNING id",
                       (b,)).fetchone()[0]
        utc = timezone.utc
        ev = {
            "a_now": insert_event(c, sa, a, datetime(2026, 11, 20, tzinfo=utc)),
            "b_now": insert_event(c, sb, b, datetime(2026, 11, 20, tzinfo=utc)),
            # Months with no partition yet: they land in DEFAULT, never fail.
            "a_may": insert_event(c, sa, a, datetime(2027, 5, 10, tzinfo=utc)),
            "b_jun": insert_event(c, sb, b, datetime(2027, 6, 10, tzinfo=utc)),
            "b_2031": insert_event(c, sb, b, datetime(2031, 1, 1, tzinfo=utc)),
            "a_dec": insert_event(c, sa, a, datetime(2027, 12, 1, tzinfo=utc)),
            "b_dec": insert_event(c, sb, b, datetime(2027, 12, 1, tzinfo=utc)),
            # December in UTC, January in the server's Europe/Berlin zone.
            "b_dec_late": insert_event(c, sb, b, datetime(2027, 12, 31, 23, 30, tzinfo=utc)),
            "a_jan": insert_event(c, sa, a, datetime(2028, 1, 10, tzinfo=utc)),
        }
        c.execute("INSERT INTO audit_events (action, created_at) VALUES ('x', '2026-12-05Z')")
    assert where(db, ev["a_may"]) == "session_events_default"

    out = json.loads(db.run("maintain", "--now", "2028-01-15T00:00:00Z").stdout)
    # Longest retention 90 days: everything before 2027-10-17 is past it.
    assert out["partitions_dropped"] == 8  # 2026-11 .. 2027-02, both tables
    assert out["rows_moved"] == 4          # the December and January rows
    assert out["rows_deleted"] == 3        # a_may, b_jun (past 90 days), a_dec (past 30)
    now = parts(db)
    for m in ["2027_12", "2028_01", "2028_02", "2028_03", "2028_04"]:
        assert f"session_events_p{m}" in now, now
    assert not [p for p in now if "_p" in p and p < "session_events_p2027_12"]
    assert where(db, ev["b_dec"]) == "session_events_p2027_12"
    assert where(db, ev["b_dec_late"]) == "session_events_p2027_12"
    assert where(db, ev["a_jan"]) == "session_events_p2028_01"
    assert where(db, ev["b_2031"]) == "session_events_default"
    for gone in ["a_now", "b_now", "a_may", "b_jun", "a_dec"]:
        assert where(db, ev[gone]) is None, gone
    assert db.query("SELECT count(*) FROM audit_events")[0][0] == 0

    # A second pass as of the same instant has nothing to do.
    again = json.loads(db.run("maintain", "--now", "2028-01-15T00:00:00Z").stdout)
    assert (again["partitions_created"], again["partitions_dropped"],
            again["rows_deleted"], again["rows_moved"]) == (0, 0, 0, 0)


def test_a_month_with_no_partition_gets_one_and_keeps_its_rows(db):
    migrate(db)
    with db.connect() as c:
        d = c.execute("INSERT INTO deployments (name) VALUES ('d') RETURNING id").fetchone()[0]
        s = c.execute("INSERT INTO sessions (deployment_id) VALUES (%s) RETURNING id",
                      (d,)).fetchone()[0]
        ids = [insert_event(c, s, d, f"2027-0{m}-15T12:00:00Z") for m in (6, 7, 7)]
    out = json.loads(db.run("maintain", "--now", "2027-07-20T00:00:00Z").stdout)
    assert out["rows_moved"] == 3
    assert [where(db, i) for i in ids] == ["session_events_p2027_06",
                                           "session_events_p2027_07",
                                           "session_events_p2027_07"]


def test_maintenance_runs_one_replica_at_a_time(db):
    migrate(db)
    with db.connect() as c:
        c.execute("INSERT INTO exo_leases VALUES ('maintenance', 'another-replica', "
                  "now() + interval '5 minutes')")
    assert json.loads(db.run("maintain", "--now", MIGRATED_AT).stdout)["skipped"] is True
    with db.connect() as c:  # the other replica died: its lease expires
        c.execute("UPDATE exo_leases SET expires_at = now() - interval '1 second'")
    assert json.loads(db.run("maintain", "--now", MIGRATED_AT).stdout)["skipped"] is False
    assert db.query("SELECT count(*) FROM exo_leases")[0][0] == 0


def test_default_retention_comes_from_the_environment(db):
    migrate(db)
    with db.connect() as c:
        d = c.execute("INSERT INTO deployments (name) VALUES ('d') RETURNING id").fetchone()[0]
        s = c.execute("INSERT INTO sessions (deployment_id) VALUES (%s) RETURNING id",
                      (d,)).fetchone()[0]
        old = insert_event(c, s, d, "2026-11-02T00:00:00Z")
    out = json.loads(db.run("maintain", "--now", "2026-11-25T00:00:00Z",
                            EXO_RETENTION_DAYS="7").stdout)
    assert out["rows_deleted"] == 1 and where(db, old) is None


@contextlib.contextmanager
def lock_held(db, sql, at_most):
    """Runs the body while another connection holds the lock sql takes, for
    at most at_most seconds; yields a function that says whether it is still
    held."""
    held, done = threading.Event(), threading.Event()

    def hold():
        with db.connect() as c:
            with c.transaction():
                c.execute(sql)
                held.set()
                # Polled, not done.wait(at_most): a timed wait on a condition
                # never times out under libfaketime, which moves the clock to
                # check that these tests pass on any date.
                deadline = time.monotonic() + at_most
                while not done.is_set() and time.monotonic() < deadline:
                    time.sleep(0.05)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert held.wait(10), "the lock was not taken"
        yield lambda: not done.is_set() and t.is_alive()
    finally:
        done.set()
        t.join()


@pytest.mark.lock_timeout
def test_a_busy_table_is_retried_not_waited_on(db):
    """Creating a month waits at most lock_timeout (2 s) for the parent's
    lock, then retries: a long reader delays the new month, and is never
    queued behind for long."""
    migrate(db)
    with lock_held(db, "LOCK TABLE session_events IN SHARE MODE", 3.5):
        out = json.loads(db.run("maintain", "--now", "2027-09-10T00:00:00Z").stdout)
    assert out["lock_retries"] >= 1
    assert "session_events_p2027_09" in parts(db)


@pytest.mark.lock_timeout
def test_a_pass_waits_for_no_lock_for_ever(db):
    """A table held in ACCESS EXCLUSIVE (a migration, a manual LOCK) fails
    the pass after the pass's lock_timeout (10 s) with a message saying so,
    instead of holding it, and the server's shutdown with it, until the
    holder lets go (here 40 s later: the pass must have ended well before)."""
    migrate(db)
    with lock_held(db, "LOCK TABLE session_events_default IN ACCESS EXCLUSIVE MODE", 40) as held:
        p = db.run("maintain", "--now", MIGRATED_AT, check=False, timeout=35)
        assert held()  # the pass ended while the lock was still held
    assert p.returncode == 1, p.stderr
    assert "lock timeout" in p.stderr, p.stderr


def wait_for(what, check, seconds=20):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not {what} after {seconds} s")


def execute(db, sql):
    with db.connect() as c:
        c.execute(sql)


def lease_row(db):
    rows = db.query("SELECT holder, expires_at > now() FROM exo_leases WHERE name = 'maintenance'")
    return rows[0] if rows else None


@contextlib.contextmanager
def slow_pass(db):
    """A pass made slow on purpose: the parent of the month it makes first
    is held in SHARE mode, so it retries for as long as the body runs (up
    to ten 2 s lock timeouts); yields the running exo-backend maintain."""
    with lock_held(db, "LOCK TABLE session_events IN SHARE MODE", 20):
        p = subprocess.Popen([BIN, "maintain", "--now", "2027-09-10T00:00:00Z"],
                             env=db.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        wait_for("holding the lease", lambda: lease_row(db) is not None)
        yield p
    # The lock is gone: the pass finishes, or has stopped.
    p.out, p.errs = p.communicate(timeout=60)


@pytest.mark.lock_timeout
def test_a_pass_longer_than_its_lease_renews_it(db):
    """A pass that outlives its lease's term (made here by expiring the
    lease under it) renews it between units of work, so that a second
    replica skips instead of running a pass of its own alongside."""
    migrate(db)
    with slow_pass(db) as p:
        execute(db, "UPDATE exo_leases SET expires_at = now() - interval '1 second'")
        wait_for("renewed", lambda: lease_row(db)[1])
        second = json.loads(db.run("maintain", "--now", "2027-09-10T00:00:00Z").stdout)
        assert second["skipped"] is True
        assert p.poll() is None
    # (Whether the held lock made it retry depends on when the body let go:
    # that is test_a_busy_table_is_retried_not_waited_on's to assert.)
    assert p.returncode == 0, p.errs
    assert json.loads(p.out)["partitions_created"] > 0
    assert lease_row(db) is None


@pytest.mark.lock_timeout
def test_a_pass_whose_lease_was_taken_stops(db):
    """When another replica took the lease (this one held it unrenewed past
    its term), the pass stops at its next renewal with one line saying so,
    and leaves the other replica's lease alone."""
    migrate(db)
    with slow_pass(db) as p:
        execute(db, "UPDATE exo_leases SET holder = 'another-replica', "
                "expires_at = now() + interval '5 minutes'")
        wait_for("stopped", lambda: p.poll() is not None)
    assert p.returncode == 1
    assert "taken by another replica" in p.errs, p.errs
    assert lease_row(db) == ("another-replica", True)
    assert "session_events_p2027_09" not in parts(db)


def test_inserts_into_a_month_being_made_never_fail(db):
    """Rows keep arriving for months that have no partition yet (in DEFAULT)
    while maintenance makes those months: no insert fails, none is lost,
    and every pass makes its month."""
    import psycopg
    migrate(db)
    with db.connect() as c:
        d = c.execute("INSERT INTO deployments (name) VALUES ('d') RETURNING id").fetchone()[0]
    stop = threading.Event()
    errors, written = [], []

    def insert():
        with db.connect() as c:
            n = 0
            while not stop.is_set():
                n += 1
                try:  # a row in each of the months the passes below make
                    c.execute("INSERT INTO audit_events (deployment_id, action, created_at) "
                              "SELECT %s, 'x', make_timestamptz(2030, m, 10, 0, 0, 0, 'UTC') "
                              "FROM generate_series(1, 12) m", (d,))
                    written.append(12)
                except psycopg.Error as e:
                    errors.append(str(e))

    threads = [threading.Thread(target=insert) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        created = 0
        for month in range(1, 13):  # premake 3: as of 2029-MM, 2030-MM becomes due
            y, m = divmod(2029 * 12 + 9 + month - 1, 12)
            out = json.loads(db.run("maintain", "--now", f"{y}-{m + 1:02d}-01T00:00:00Z",
                                    EXO_RETENTION_DAYS="36500").stdout)
            created += out["partitions_created"]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert created == 2 * (4 + 11)  # 2029-10 .. 2030-01 first, then a month a pass
    assert db.query("SELECT count(*) FROM audit_events")[0][0] == sum(written)
    assert db.query("SELECT count(*) FROM audit_events_default")[0][0] == 0
    print(f"{sum(written)} rows inserted while {created} partitions were made")
