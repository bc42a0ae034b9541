"""Fixtures for the exo-backend integration tests: one PostgreSQL 16 server
per test module, a fresh database per test, and a helper to run the binary."""
import base64
import os
import subprocess
import time
import urllib.request
import uuid
from datetime import datetime, timezone

import psycopg
import pytest

from pgserver import PgServer, free_port

BIN = os.environ.get("EXO_BACKEND", "build/backend/exo-backend")

# What a fresh database must look like, as text: columns, defaults, indexes,
# constraints, partitions (the parts of `pg_dump --schema-only` that the
# backend makes). Two databases with the same text have the same schema.
SCHEMA_QUERY = """
SELECT coalesce(string_agg(line, E'\\n' ORDER BY line), '') FROM (
  SELECT format('column %s.%s %s notnull=%s default=%s', c.relname, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid)) AS line
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
  UNION ALL
  SELECT format('index %s', pg_get_indexdef(i.indexrelid))
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
  UNION ALL
  SELECT format('constraint %s %s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
  UNION ALL
  SELECT format('partition %s of %s %s', c.relname, p.relname, pg_get_expr(c.relpartbound, c.oid))
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
  UNION ALL
  SELECT format('sequence %s', c.relname) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'S'
) x
"""


def metrics(port):
    """/metrics as {name{labels}: value}; {} when the server does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    return {k: float(v) for k, v in (line.rsplit(" ", 1) for line in text.splitlines()
                                     if line and not line.startswith("#"))}


def ready(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def maintenance_passes(port):
    """Maintenance passes the server finished (well or not) once it is
    ready; 0 before."""
    if not ready(port):
        return 0
    m = metrics(port)
    return m.get("exo_maintenance_runs_total", 0) + m.get("exo_maintenance_failures_total", 0)


# Partitions half made: month tables not attached to their parent, and
# partitions missing an index of their parent. Empty when all are whole.
HALF_MADE_QUERY = r"""
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname ~ '_(p\d{4}_\d{2}|default)$'
  AND NOT c.relispartition
UNION ALL
SELECT c.relname || ' lacks ' || pi.indexrelid::regclass::text
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_index pi ON pi.indrelid = i.inhparent
WHERE NOT EXISTS (SELECT 1 FROM pg_index ci JOIN pg_inherits ii ON ii.inhrelid = ci.indexrelid
                  AND ii.inhparent = pi.indexrelid WHERE ci.indrelid = c.oid)
"""


def month_ahead(n, day=2):
    """A day of the UTC month n months from now."""
    now = datetime.now(timezone.utc)
    y, m = divmod(now.year * 12 + now.month - 1 + n, 12)
    return datetime(y, m + 1, day, tzinfo=timezone.utc)


def new_key():
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="module")
def pg():
    server = PgServer().start()
    yield server
    server.stop()


class Db:
    """A fresh database on the module's server, and the backend pointed at it."""

    def __init__(self, server, name):
        self.server = server
        self.name = name
        self.key = new_key()

    def env(self, **extra):
        env = dict(os.environ, EXO_DATABASE_DSN=self.server.dsn(self.name),
                   EXO_ENCRYPTION_KEY=self.key)
        env.update(extra)
        return env

    def run(self, *args, check=True, timeout=120, **extra):
        p = subprocess.run([BIN, *args], env=self.env(**extra), capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"exo-backend {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
        return p

    def popen(self, *args, stderr=subprocess.PIPE, bin=BIN, **extra):
        return subprocess.Popen([bin, *args], env=self.env(**extra), stdout=subprocess.PIPE,
                                stderr=stderr, text=True)

    def serve(self, stderr=subprocess.PIPE, bin=BIN, **extra):
        """Starts `exo-backend serve` on a free loopback port and waits until
        /readyz answers 200 and the first maintenance pass is over (the
        process must stay up meanwhile). Returns the process and the port;
        the caller stops it. `stderr`: a file for logs of long runs (a pipe
        nobody reads fills up and blocks the server's logging)."""
        port = free_port()
        env = {"EXO_HTTP_ADDR": f"127.0.0.1:{port}", "EXO_MAINTENANCE_INTERVAL": "1h"}
        env.update(extra)
        p = self.popen("serve", stderr=stderr, bin=bin, **env)
        # Ready first; then the daemon's first pass, which holds the
        # maintenance lease: a test's own `exo-backend maintain` started
        # during it would be skipped.
        for _ in range(600):
            if maintenance_passes(port) > 0:
                break
            assert p.poll() is None, p.stderr.read() if p.stderr else "exited"
            time.sleep(0.05)
        return p, port

    def connect(self):
        return psycopg.connect(host="127.0.0.1", port=self.server.port, user="postgres",
                               dbname=self.name, autocommit=True)

    def query(self, sql, *params):
        with self.connect() as c:
            return c.execute(sql, params or None).fetchall()

    def schema(self):
        return self.query(SCHEMA_QUERY)[0][0]

    def half_made(self):
        return [r[0] for r in self.query(HALF_MADE_QUERY)]


@pytest.fixture
def db(pg):
    return Db(pg, pg.createdb("t_" + uuid.uuid4().hex[:12]))


@pytest.fixture
def new_db(pg):
    """A factory for more databases on the same server."""
    return lambda: Db(pg, pg.createdb("t_" + uuid.uuid4().hex[:12]))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "lock_timeout: relies on PostgreSQL's lock_timeout firing (it never does "
        "under libfaketime, so backend_any_date leaves these out)")


def pytest_collection_modifyitems(config, items):
    """Under libfaketime (`faketime -f +400d pytest …`, which moves this
    process, exo-backend and PostgreSQL together to check that no test
    depends on the date), PostgreSQL's lock_timeout never fires: the tests
    that need it are skipped there, saying why. They pin their own date."""
    if "faketime" not in os.environ.get("LD_PRELOAD", ""):
        return
    skip = pytest.mark.skip(reason="PostgreSQL's lock_timeout never fires under libfaketime")
    for item in items:
        if "lock_timeout" in item.keywords:
            item.add_marker(skip)
