"""Boot: every step on a fresh database, nothing on the second, exactly once
among eight replicas (directly and through PgBouncer), and whole after a
SIGKILL at any point."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time

import psycopg
import pytest

from conftest import BIN, SCHEMA_QUERY, month_ahead

VERSION = subprocess.run([BIN, "--version"], capture_output=True, text=True,
                         check=True).stdout.split()[-1]
from pgserver import PgServer, as_unprivileged, free_port


def ddl_lines(db):
    """DDL statements the server logged for this database (log_statement=ddl)."""
    text = db.server.log.read_text(errors="replace")
    # Simple queries log as "statement:", PQexecParams as "execute <unnamed>:".
    return [line for line in text.splitlines()
            if f" {db.name} LOG:" in line and re.search(r"LOG:  (statement|execute [^:]*):", line)]


def test_fresh_boot_runs_every_step(db):
    out = json.loads(db.run("migrate").stdout)
    assert out["ddl_statements"] > 20
    tables = {r[0] for r in db.query(
        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE nspname = 'public' AND relkind IN ('r', 'p')")}
    for t in ["users", "tokens", "deployments", "runtime_statuses", "sessions",
              "session_events", "audit_events", "exo_keyring_meta", "exo_keyring_keys",
              "exo_boot_ledger", "exo_leases", "session_events_default"]:
        assert t in tables, t
    # Partitioned by month, in UTC, the current month and three ahead.
    bounds = db.query(
        "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON "
        "c.oid = i.inhrelid WHERE i.inhparent = 'session_events'::regclass ORDER BY 1")
    assert len(bounds) == 5  # DEFAULT + 4 months
    assert any("00:00:00+00" in b[0] or "01:00:00+01" in b[0] for b in bounds)
    assert db.query("SELECT count(*) FROM exo_keyring_keys WHERE active")[0][0] == 1


def test_email_is_unique_whatever_its_case(db):
    db.run("migrate")
    with db.connect() as c:
        c.execute("INSERT INTO users (email) VALUES ('Ada@Example.com')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            c.execute("INSERT INTO users (email) VALUES ('ada@example.COM')")


def test_deleting_a_deployment_removes_what_hangs_off_it(db):
    db.run("migrate")
    with db.connect() as c:
        d = c.execute("INSERT INTO deployments (name) VALUES ('d') RETURNING id").fetchone()[0]
        s = c.execute("INSERT INTO sessions (deployment_id) VALUES (%s) RETURNING id",
                      (d,)).fetchone()[0]
        c.execute("INSERT INTO session_events (session_id, deployment_id, kind) "
                  "VALUES (%s, %s, 'o')", (s, d))
        c.execute("INSERT INTO audit_events (deployment_id, action) VALUES (%s, 'x')", (d,))
        c.execute("INSERT INTO runtime_statuses (deployment_id) VALUES (%s)", (d,))
        c.execute("DELETE FROM deployments WHERE id = %s", (d,))
        for t in ["sessions", "session_events", "audit_events", "runtime_statuses"]:
            assert c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 0, t


def test_second_boot_issues_no_ddl(db):
    db.run("migrate")
    before = len(ddl_lines(db))
    assert before > 20
    out = json.loads(db.run("migrate").stdout)
    assert out["ddl_statements"] == 0
    assert len(ddl_lines(db)) == before, ddl_lines(db)[before:]
    ledger = db.query("SELECT ddl_statements FROM exo_boot_ledger ORDER BY id")
    assert [r[0] for r in ledger][1:] == [0]
    print(f"no-op boot: {out['boot_ms']} ms")


def test_missing_column_and_index_are_added_and_nothing_else(db):
    db.run("migrate")
    with db.connect() as c:
        c.execute("ALTER TABLE sessions DROP COLUMN cast_bytes")
        c.execute("DROP INDEX tokens_user_id_idx")
        c.execute("ALTER TABLE users ADD COLUMN nickname text")  # not ours: kept
    before = len(ddl_lines(db))
    out = json.loads(db.run("migrate").stdout)
    assert out["ddl_statements"] == 2
    assert len(ddl_lines(db)) == before + 2
    assert db.query("SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass "
                    "AND attname = 'nickname'")[0][0] == 1


def boot_many(dbs_env, n=8):
    procs = [subprocess.Popen([BIN, "migrate"], env=dbs_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(n)]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    for rc, out, err in results:
        assert rc == 0, err
    return [json.loads(out) for _, out, _ in results]


def test_eight_concurrent_boots_migrate_once(db, new_db):
    reports = boot_many(db.env())
    assert sorted(r["ddl_statements"] > 0 for r in reports) == [False] * 7 + [True]
    alone = new_db()
    alone.run("migrate")
    assert db.schema() == alone.schema()
    assert db.query("SELECT count(*) FROM exo_boot_ledger WHERE ddl_statements > 0")[0][0] == 1


@pytest.fixture
def pgbouncer(pg):
    exe = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    d = pg.dir / f"pgbouncer-{free_port()}"
    d.mkdir()
    port = free_port()
    (d / "users.txt").write_text(f'"{pg.APP_USER}" "{pg.APP_PASSWORD}"\n')
    (d / "pgbouncer.ini").write_text(f"""[databases]
* = host=127.0.0.1 port={pg.port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {d}/users.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 4
logfile = {d}/pgbouncer.log
pidfile = {d}/pgbouncer.pid
ignore_startup_parameters = extra_float_digits
""")
    os.chmod(d, 0o777)
    for f in d.iterdir():
        os.chmod(f, 0o666)
    proc = subprocess.Popen(as_unprivileged([exe, str(d / "pgbouncer.ini")]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            psycopg.connect(host="127.0.0.1", port=port, user=pg.APP_USER,
                            password=pg.APP_PASSWORD, dbname="postgres").close()
            break
        except psycopg.OperationalError:
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def test_eight_concurrent_boots_through_pgbouncer_transaction_mode(db, new_db, pgbouncer):
    env = db.env(EXO_DATABASE_DSN=db.server.dsn(db.name, port=pgbouncer))
    reports = boot_many(env)
    assert sorted(r["ddl_statements"] > 0 for r in reports) == [False] * 7 + [True]
    alone = new_db()
    alone.run("migrate")
    assert db.schema() == alone.schema()
    # And maintenance, one replica at a time, through the same pooler.
    procs = [subprocess.Popen([BIN, "maintain"], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)


def test_the_schema_version_is_recorded_once_and_never_lowered(db):
    db.run("migrate")
    assert db.query("SELECT version, migrated_by FROM exo_schema_version") == [(2, VERSION)]
    at = db.query("SELECT migrated_at FROM exo_schema_version")
    assert json.loads(db.run("migrate").stdout)["ddl_statements"] == 0
    assert db.query("SELECT migrated_at FROM exo_schema_version") == at


def test_a_backend_older_than_the_schema_refuses_and_writes_nothing(db):
    """An older image rolled back over a database a newer release migrated:
    one line naming both versions and what to do, exit 1, nothing written,
    from migrate and from serve."""
    db.run("migrate")
    with db.connect() as c:
        c.execute("UPDATE exo_schema_version SET version = 99, migrated_by = '9.9.9'")
    schema, boots = db.schema(), db.query("SELECT count(*) FROM exo_boot_ledger")
    for cmd in ("migrate", "serve"):
        p = db.run(cmd, check=False, timeout=60, EXO_HTTP_ADDR=f"127.0.0.1:{free_port()}")
        assert p.returncode == 1, p.stderr
        last = p.stderr.strip().splitlines()[-1]
        assert (f"exo-backend {cmd}: the database's schema is version 99, migrated by exo-backend "
                f"9.9.9; this exo-backend {VERSION} knows version 2 and changes nothing: run 9.9.9 "
                "or newer, or restore the backup taken before the upgrade") in last, last
    assert db.schema() == schema
    assert db.query("SELECT count(*) FROM exo_boot_ledger") == boots


def test_no_client_inherits_a_passs_lock_timeout_through_pgbouncer(db, pgbouncer):
    """A maintenance pass bounds each statement's lock wait with SET LOCAL
    inside a transaction of its own: behind PgBouncer in transaction mode a
    session SET stays on the server connection for whichever client gets
    it next. Another client, watching while passes run, sees only the
    server's default; so does every server connection afterwards."""
    dsn = db.server.dsn(db.name, port=pgbouncer)
    db.run("migrate", "--now", "2026-11-20T00:00:00Z")
    seen, samples, stop = set(), [], threading.Event()

    def watch():
        # No prepared statements: PgBouncer in transaction mode has none.
        with psycopg.connect(dsn, autocommit=True, prepare_threshold=None) as c:
            while not stop.is_set():
                seen.add(c.execute("SHOW lock_timeout").fetchone()[0])
                samples.append(1)

    t = threading.Thread(target=watch)
    t.start()
    try:
        for month in range(1, 13):  # each pass makes a month and drops one
            procs = [subprocess.Popen([BIN, "maintain", "--now", f"2027-{month:02d}-15T00:00:00Z"],
                                      env=db.env(EXO_DATABASE_DSN=dsn, EXO_RETENTION_DAYS="60"),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                     for _ in range(3)]
            for p in procs:
                assert p.wait(timeout=120) == 0, p.stderr.read()
    finally:
        stop.set()
        t.join()
    assert seen == {"0"} and samples, (seen, len(samples))
    # Four clients in open transactions hold the pool's four server
    # connections at once.
    conns = [psycopg.connect(dsn, prepare_threshold=None) for _ in range(4)]
    try:
        assert [c.execute("SHOW lock_timeout").fetchone()[0] for c in conns] == ["0"] * 4
    finally:
        for c in conns:
            c.close()


# SIGKILL runs: EXO_KILL_RUNS boots from an empty database, a twelfth as many
# upgrades of an older schema and maintenance passes (each costs several
# times a boot).
KILL_RUNS = int(os.environ.get("EXO_KILL_RUNS", "300"))


def timed(db, *args, **extra):
    started = time.monotonic()
    db.run(*args, **extra)
    return time.monotonic() - started


def killed_at_random(db, rng, window, *args, **extra):
    """Runs exo-backend *args and SIGKILLs it at a random instant within
    window (seconds). True when it was killed, False when it finished
    first."""
    p = subprocess.Popen([BIN, *args], env=db.env(**extra), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0, window))
    p.kill()
    p.wait()
    if p.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"exo-backend {' '.join(args)}: exit {p.returncode}")
    return p.returncode == -signal.SIGKILL


def test_sigkill_at_random_points_of_boot_leaves_a_whole_schema(db, new_db):
    reference = new_db()
    # Kill within the time a whole boot takes here: a fixed window would land
    # after the boot more often as boots get faster (or the machine idler).
    window = timed(reference, "migrate") * 0.9
    whole = reference.schema()
    rng = random.Random(1234)
    conn = db.connect()  # one connection for every check: they are many

    def schema():
        return conn.execute(SCHEMA_QUERY).fetchone()[0]

    killed = nothing = recovered = 0
    started = time.monotonic()
    for run in range(KILL_RUNS):
        killed += killed_at_random(db, rng, window, "migrate")
        # All of it or none of it: the boot is one transaction.
        state = schema()
        assert state in ("", whole)
        if state == "":
            nothing += 1
            # The next run boots over what this one left (its server
            # backend may still be rolling back); now and then, a boot
            # that is not killed must finish.
            if nothing % 10 != 0:
                continue
            db.run("migrate")
            assert schema() == whole
            recovered += 1
        # Start the next round from an empty database again.
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    conn.close()
    db.run("migrate")
    assert db.schema() == whole
    assert killed > KILL_RUNS // 2 and nothing > KILL_RUNS // 4
    print(f"{KILL_RUNS} boots in {time.monotonic() - started:.1f}s (window {window:.3f}s): "
          f"{killed} killed, {nothing} of them before the commit (nothing left), "
          f"{recovered + 1} completed boots over a killed one's leftovers, each whole")


def older_schema(db):
    """What an earlier version left: no keyring, the encrypted columns still
    jsonb with 600 plaintext values (two batches of the backfill), a column,
    an index, a foreign key and the furthest month missing."""
    db.run("migrate")
    last = db.query("SELECT max(c.relname) FROM pg_inherits i JOIN pg_class c ON "
                    "c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass "
                    "AND c.relname <> 'audit_events_default'")[0][0]
    with db.connect() as c:
        c.execute("INSERT INTO deployments (name) VALUES ('d')")
        c.execute("DROP TABLE exo_keyring_keys, exo_keyring_meta")
        c.execute("ALTER TABLE runtime_statuses ALTER tool_status TYPE jsonb USING "
                  "tool_status::jsonb, ALTER last_tool_status TYPE jsonb USING "
                  "last_tool_status::jsonb")
        c.execute("INSERT INTO runtime_statuses (deployment_id, tool_status) "
                  "SELECT 1, jsonb_build_object('n', g) FROM generate_series(1, 600) g")
        c.execute("ALTER TABLE sessions DROP COLUMN cast_bytes")
        c.execute("DROP INDEX tokens_user_id_idx")
        c.execute("ALTER TABLE sessions DROP CONSTRAINT sessions_user_id_fkey")
        c.execute(f"DROP TABLE {last}, {last.replace('audit_events', 'session_events')}")


def test_sigkill_at_random_points_of_an_upgrade_leaves_old_or_new(db, new_db, pg):
    """An upgrade killed anywhere leaves the old schema or the new one, the
    values as they were or encrypted (the backfill after the boot's
    transaction goes in batches); the next boot finishes it."""
    reference = new_db()
    reference.run("migrate")
    whole = reference.schema()
    older_schema(db)
    old = db.schema()
    assert old != whole
    template = f"{db.name}_old"
    with pg.admin() as a:
        a.execute(f'CREATE DATABASE "{template}" TEMPLATE "{db.name}"')

    def fresh_copy():
        with pg.admin() as a:
            a.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
            a.execute(f'CREATE DATABASE "{db.name}" TEMPLATE "{template}"')

    window = timed(db, "migrate") * 0.9
    fresh_copy()
    rng = random.Random(4321)
    runs = max(KILL_RUNS // 12, 1)
    killed = rolled_back = partly_encrypted = 0
    for _ in range(runs):
        killed += killed_at_random(db, rng, window, "migrate")
        state = db.schema()
        assert state in (old, whole)
        values = db.query("SELECT count(*), count(*) FILTER (WHERE tool_status::text LIKE "
                          "'exo:v1:%%'), count(*) FILTER (WHERE tool_status::text = "
                          "'{\"n\": ' || id || '}') FROM runtime_statuses")[0]
        assert values[0] == 600 and values[1] + values[2] == 600, values
        if state == old:
            assert values[1] == 0
            rolled_back += 1
            continue  # the next run upgrades the same old database
        partly_encrypted += 0 < values[1] < 600
        db.run("migrate")
        assert db.schema() == whole
        v = json.loads(db.run("keyring", "verify").stdout)
        assert (v["values_decrypted"], v["values_plaintext"], v["values_failed"]) == (600, 0, 0)
        fresh_copy()
    with pg.admin() as a:
        a.execute(f'DROP DATABASE "{template}"')
    assert killed > runs // 2 and rolled_back > runs // 4
    print(f"{runs} upgrades (window {window:.3f}s): {killed} killed, {rolled_back} rolled back "
          f"to the old schema, {partly_encrypted} left the backfill part done; every one "
          f"finished by the next boot")


def test_sigkill_at_random_points_of_maintenance_leaves_whole_partitions(db, new_db, pg):
    """A pass with ten months to make, rows waiting in DEFAULT for six of
    them, killed anywhere: every month is whole or absent, no row is lost or
    doubled, and the next pass finishes the work."""
    def prepare(d):
        d.run("migrate")
        with d.connect() as c:
            dep = c.execute("INSERT INTO deployments (name) VALUES ('d') "
                            "RETURNING id").fetchone()[0]
            s = c.execute("INSERT INTO sessions (deployment_id) VALUES (%s) RETURNING id",
                          (dep,)).fetchone()[0]
            # Six months past the premade ones, rows waiting in DEFAULT.
            when = ("date_trunc('month', now() + interval '4 months') + "
                    "(g %% 6) * interval '1 month' + (g %% 27) * interval '1 day'")
            c.execute("INSERT INTO audit_events (deployment_id, action, created_at) "
                      f"SELECT %s, 'x', {when} FROM generate_series(1, 1200) g", (dep,))
            c.execute("INSERT INTO session_events (session_id, deployment_id, kind, created_at) "
                      f"SELECT %s, %s, 'o', {when} FROM generate_series(1, 1200) g", (s, dep))

    def rows(d):
        return d.query("SELECT (SELECT count(*) FROM audit_events), "
                       "(SELECT count(*) FROM session_events)")[0]

    now = month_ahead(10, day=15).strftime("%Y-%m-%dT%H:%M:%SZ")
    env = {"EXO_RETENTION_DAYS": "36500"}
    reference = new_db()
    prepare(reference)
    window = timed(reference, "maintain", "--now", now, **env) * 0.9
    whole = reference.schema()
    parts = "SELECT count(*) FROM pg_inherits"
    all_made = reference.query(parts)[0][0]
    prepare(db)
    before = rows(db)
    none_made = db.query(parts)[0][0]
    template = f"{db.name}_before"
    with pg.admin() as a:
        a.execute(f'CREATE DATABASE "{template}" TEMPLATE "{db.name}"')
    rng = random.Random(99)
    runs = max(KILL_RUNS // 12, 1)
    killed = finished = partly = 0
    made = []
    for _ in range(runs):
        if killed_at_random(db, rng, window, "maintain", "--now", now, **env):
            killed += 1
        assert db.half_made() == []
        assert rows(db) == before
        # The killed pass's lease outlives it; as if it expired.
        db.query("UPDATE exo_leases SET expires_at = now() - interval '1 second' RETURNING 1")
        made.append(db.query(parts)[0][0])
        partly += none_made < made[-1] < all_made
        if db.schema() == whole:  # a pass finished the work: start over
            finished += 1
            with pg.admin() as a:
                a.execute(f'DROP DATABASE "{db.name}" WITH (FORCE)')
                a.execute(f'CREATE DATABASE "{db.name}" TEMPLATE "{template}"')
    db.run("maintain", "--now", now, **env)
    assert db.schema() == whole and rows(db) == before
    with pg.admin() as a:
        a.execute(f'DROP DATABASE "{template}"')
    # Kills landed in the middle of the work. (Not "most runs killed": a
    # run that takes up a killed one's work has less to do than the window.)
    assert partly > runs // 8
    print(f"{runs} maintenance passes (window {window:.3f}s): {killed} killed, {partly} of "
          f"them with some months made and some not, {finished} completed the months; "
          f"inheritance rows after each ({none_made} before, {all_made} done): {made[:12]}...")

