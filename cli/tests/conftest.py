"""Fixtures for the exo CLI tests: one PostgreSQL 16 server for the session
(backend/tests/integration/pgserver.py), and per test a fresh database with
`exo-backend serve` on it, bootstrapped with a known admin token."""
import base64
import os
import signal
import subprocess
import time
import urllib.request
import uuid

import pytest

from cli_harness import BACKEND, TOKEN, WRAPPER, Backend, PgServer, free_port


@pytest.fixture(scope="session")
def pg_server():
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture
def backend(pg_server, tmp_path):
    name = pg_server.createdb("cli_" + uuid.uuid4().hex[:12])
    # Recordings of its own: the default directory is shared by every test.
    casts = tmp_path / "casts"
    casts.mkdir()
    port = free_port()
    env = dict(os.environ, EXO_DATABASE_DSN=pg_server.dsn(name),
               EXO_ENCRYPTION_KEY=base64.b64encode(os.urandom(32)).decode(),
               EXO_HTTP_ADDR=f"127.0.0.1:{port}", EXO_BOOTSTRAP_TOKEN=TOKEN,
               EXO_MAINTENANCE_INTERVAL="1h", EXO_CAST_STORAGE_DIR=str(casts))
    # Its log goes to a file: a pipe nobody reads would block it once full.
    log_path = tmp_path / "exo-backend.log"
    log = open(log_path, "w")
    p = subprocess.Popen([*WRAPPER, BACKEND, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=log)
    b = Backend(f"http://127.0.0.1:{port}", TOKEN)
    deadline = time.monotonic() + (300 if WRAPPER else 60)
    while True:
        try:
            with urllib.request.urlopen(b.url + "/readyz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        assert p.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "exo-backend did not become ready"
        time.sleep(0.05)
    yield b
    p.send_signal(signal.SIGTERM)
    # 0, not a sanitizer's or the wrapper's exit status for a leak or a
    # memory error found on the way out (its report is in the log).
    rc = p.wait(timeout=300 if WRAPPER else 30)
    log.close()
    assert rc == 0, f"exo-backend serve exited {rc} on SIGTERM:\n" + log_path.read_text()[-4000:]
