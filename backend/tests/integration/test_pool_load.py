"""The connection pool's default figures (100 open, 10 idle) on a real
PostgreSQL 16 whose max_connections is above 100, through the HTTP server:
100 concurrent slow API requests hold 100 connections and no more, the
101st waits in the pool and is served, and afterwards the pool keeps 10.

A request is made slow by a real path, not a hook: every API request first
checks its token with an UPDATE of the token's row, and the test holds that
row locked from a transaction of its own until it lets the load go."""
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import psycopg

from conftest import metrics
from test_api import TOKEN, Api

# Connections the HTTP server serves beyond max_open (backend/http.c).
SPARE_CONNECTIONS = 64


def wait_until(what, check, seconds=120):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not {what} after {seconds} s")


def backend_connections(db):
    """The backend's connections to the test's database, and how many of
    them wait on a lock."""
    rows = db.query("SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock') "
                    "FROM pg_stat_activity WHERE datname = %s AND usename = %s",
                    db.name, db.server.APP_USER)
    return rows[0]


def threads(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS: line")


def test_pool_holds_100_connections_queues_the_101st_and_keeps_10(db):
    assert int(db.query("SHOW max_connections")[0][0]) > 101
    # The defaults, as the seed documents them: no EXO_DB_MAX_*_CONNS.
    p, port = db.serve(EXO_BOOTSTRAP_TOKEN=TOKEN)
    api = Api(port)
    results, errors = [], []
    lock = psycopg.connect(host="127.0.0.1", port=db.server.port, user="postgres",
                           dbname=db.name)
    load = []
    try:
        m = metrics(port)
        assert (m["exo_db_pool_max_open"], m["exo_db_pool_max_idle"]) == (100, 10)
        assert api.call("GET", "/api/v1/deployments")[0] == 200
        baseline_threads = threads(p.pid)
        lock.execute("SELECT 1 FROM tokens FOR UPDATE")  # held until rollback

        def request():
            # Held until the test lets go, however slow the machine (under
            # valgrind, 100 connections take a while to open): no client
            # timeout of its own to race.
            req = urllib.request.Request(f"{api.base}/api/v1/deployments",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
            try:
                with urllib.request.urlopen(req, timeout=900) as r:
                    results.append(r.status)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        for _ in range(100):
            t = threading.Thread(target=request)
            t.start()
            load.append(t)
        wait_until("100 connections waiting on the lock",
                   lambda: backend_connections(db) == (100, 100), seconds=600)
        m = metrics(port)
        assert (m["exo_db_pool_open"], m["exo_db_pool_in_use"]) == (100, 100), m
        assert m["exo_db_pool_max_open"] == 100
        waits_before = m["exo_db_pool_waits_total"]

        # The 101st: it waits in the pool, not for a database connection of
        # its own, and not in the HTTP server's queue.
        t = threading.Thread(target=request)
        t.start()
        load.append(t)
        wait_until("the 101st waiting in the pool",
                   lambda: metrics(port).get("exo_db_pool_waits_total") == waits_before + 1)
        time.sleep(1)  # it would have opened a 101st connection by now
        assert backend_connections(db) == (100, 100)
        m = metrics(port)
        assert (m["exo_db_pool_open"], m["exo_db_pool_in_use"]) == (100, 100), m
        assert not results and not errors
        # The probes still answer while every connection is taken.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.status == 200

        # Bounded: connections beyond max_open + the spares are closed at
        # once and get no thread, so clients cannot make the server start
        # threads without end; nor does the pool open more.
        extra = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
        try:
            time.sleep(2)
            closed = 0
            for s in extra:
                s.settimeout(0.05)
                try:
                    closed += s.recv(1) == b""
                except TimeoutError:
                    pass
                except ConnectionResetError:
                    closed += 1
            assert closed >= 101 + len(extra) - (100 + SPARE_CONNECTIONS), closed
            loaded_threads = threads(p.pid)
            assert loaded_threads <= baseline_threads + 100 + SPARE_CONNECTIONS
            assert backend_connections(db) == (100, 100)
            loaded_rss = rss_kib(p.pid)
        finally:
            for s in extra:
                s.close()

        lock.rollback()
        for t in load:
            t.join(timeout=120)
        assert not errors, errors
        assert results == [200] * 101

        # After the load: 10 idle connections kept, the other 90 closed.
        m = metrics(port)
        assert (m["exo_db_pool_open"], m["exo_db_pool_idle"], m["exo_db_pool_in_use"]) == \
            (10, 10, 0), m
        wait_until("10 connections left in PostgreSQL", lambda: backend_connections(db)[0] == 10)
        # The connection threads end with their connections.
        wait_until("the connection threads gone",
                   lambda: threads(p.pid) <= baseline_threads + 1, seconds=300)
        print(f"threads: {baseline_threads} before the load, {loaded_threads} under it; "
              f"RSS {loaded_rss} KiB under it")
    finally:
        lock.close()
        for t in load:
            t.join(timeout=120)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0
