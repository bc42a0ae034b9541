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
import time

import psycopg
import pytest

from conftest import BIN
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


def test_sigkill_at_random_points_of_boot_leaves_a_whole_schema(db, new_db):
    reference = new_db()
    started = time.monotonic()
    reference.run("migrate")
    # Kill within the time a whole boot takes here: a fixed window would land
    # after the boot more often as boots get faster (or the machine idler).
    window = (time.monotonic() - started) * 0.9
    whole = reference.schema()
    rng = random.Random(1234)
    kills = int(os.environ.get("EXO_KILL_RUNS", "40"))
    mid_boot = 0
    for _ in range(kills):
        p = db.popen("migrate")
        time.sleep(rng.uniform(0, window))
        p.send_signal(signal.SIGKILL)
        p.wait()
        schema = db.schema()
        # All of it or none of it: the boot is one transaction.
        assert schema in ("", whole)
        if p.returncode == -signal.SIGKILL:
            mid_boot += 1
            db.run("migrate")  # the next boot finishes
            assert db.schema() == whole
        # Start the next round from an empty database again.
        with db.connect() as c:
            c.execute("DROP SCHEMA public CASCADE")
            c.execute("CREATE SCHEMA public")
    assert mid_boot > kills // 2
    print(f"{kills} runs, {mid_boot} killed during the boot, every one recovered")
