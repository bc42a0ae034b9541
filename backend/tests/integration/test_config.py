"""Bad configuration stops the boot with one clear line: no password, no
key, a non-zero exit, nothing written."""
import urllib.request

import pytest

from conftest import new_key
from pgserver import fake_server, free_port

PASSWORD = "Sup3r-s3cret-pw"


def last_line(p):
    lines = p.stderr.strip().splitlines()
    assert lines, "no message"
    return lines[-1]


def assert_refused(p, *words):
    assert p.returncode != 0
    line = last_line(p)
    for w in words:
        assert w in line, line
    assert PASSWORD not in p.stderr and PASSWORD not in p.stdout
    return line


def test_missing_dsn(db):
    p = db.run("migrate", check=False, EXO_DATABASE_DSN="")
    assert_refused(p, "EXO_DATABASE_DSN is not set")
    assert len(p.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("dsn", [
    f"host=127.0.0.1 password={PASSWORD} sslmode=bogus",
    f"host=127.0.0.1 password='{PASSWORD}",
    f"postgresql://exo:{PASSWORD}%zz@127.0.0.1/x",
    f"postgresql://exo:{PASSWORD}@127.0.0.1:99999/x",
])
def test_unparsable_dsn_is_named_without_its_password(db, dsn):
    p = db.run("migrate", check=False, EXO_DATABASE_DSN=dsn)
    assert_refused(p, "EXO_DATABASE_DSN")
    assert len(p.stderr.strip().splitlines()) == 1


def test_wrong_password_names_the_server_not_the_password(db):
    dsn = db.server.dsn(db.name).replace(PASSWORD, "not-" + PASSWORD)
    p = db.run("migrate", check=False, EXO_DATABASE_DSN=dsn)
    line = assert_refused(p, "connecting to the database", "password authentication failed")
    assert "REDACTED" in line


@pytest.mark.parametrize("key,words", [
    ("", ["EXO_ENCRYPTION_KEY is not set"]),
    ("not base64!!", ["EXO_ENCRYPTION_KEY", "base64"]),
    ("c2hvcnQ=", ["EXO_ENCRYPTION_KEY", "32 bytes"]),
])
def test_missing_or_malformed_key(db, key, words):
    p = db.run("migrate", check=False, EXO_ENCRYPTION_KEY=key)
    line = assert_refused(p, *words)
    if key:
        assert key not in p.stderr
    assert db.query("SELECT count(*) FROM pg_class WHERE relname = 'users'")[0][0] == 0
    assert line.startswith("exo-backend migrate: ")


def test_wrong_key_on_an_existing_database_is_refused_and_writes_nothing(db):
    db.run("migrate")
    with db.connect() as c:  # an upgrade that would add an index
        c.execute("DROP INDEX tokens_user_id_idx")
    before = db.schema()
    ledger = db.query("SELECT count(*) FROM exo_boot_ledger")[0][0]
    wrong = new_key()
    p = db.run("migrate", check=False, EXO_ENCRYPTION_KEY=wrong)
    assert_refused(p, "EXO_ENCRYPTION_KEY does not match")
    assert wrong not in p.stderr and db.key not in p.stderr
    assert db.schema() == before
    assert db.query("SELECT count(*) FROM exo_boot_ledger")[0][0] == ledger
    for cmd in (["keyring", "verify"], ["keyring", "rotate"]):
        assert_refused(db.run(*cmd, check=False, EXO_ENCRYPTION_KEY=wrong),
                       "EXO_ENCRYPTION_KEY does not match")
    assert db.query("SELECT count(*) FROM exo_keyring_keys")[0][0] == 1


def test_server_older_than_16_is_refused(db):
    srv = fake_server("15.4")
    try:
        port = srv.getsockname()[1]
        p = db.run("migrate", check=False,
                   EXO_DATABASE_DSN=f"host=127.0.0.1 port={port} user=exo password={PASSWORD} "
                                    "dbname=x sslmode=disable")
        assert_refused(p, "PostgreSQL 15.4", "needs PostgreSQL 16")
    finally:
        srv.close()


def test_bad_numbers_name_their_variable(db):
    p = db.run("migrate", check=False, EXO_DB_MAX_IDLE_CONNS="200")
    assert_refused(p, "EXO_DB_MAX_IDLE_CONNS=200 is more than EXO_DB_MAX_OPEN_CONNS=100")
    p = db.run("migrate", check=False, EXO_MAINTENANCE_INTERVAL="daily")
    assert_refused(p, "EXO_MAINTENANCE_INTERVAL")
    p = db.run("maintain", "--now", "yesterday", check=False)
    assert p.returncode == 2 and "--now" in p.stderr


def test_unused_port_is_reported_cleanly(db):
    port = free_port()
    p = db.run("migrate", check=False,
               EXO_DATABASE_DSN=f"host=127.0.0.1 port={port} user=exo password={PASSWORD} "
                                "dbname=x connect_timeout=3")
    assert_refused(p, "connecting to the database")


@pytest.mark.parametrize("scheme", ["postgresql://", "postgres://"])
def test_url_form_dsn_boots_like_the_keyword_form(db, scheme):
    """Both URI schemes libpq takes; docs/database.md's example is
    postgres://, the tests' own DSNs postgresql://."""
    url = db.server.dsn(db.name, url=True)
    assert url.startswith("postgresql://")
    out = db.run("migrate", EXO_DATABASE_DSN=scheme + url[len("postgresql://"):])
    assert '"ddl_statements":' in out.stdout
    assert db.query("SELECT count(*) FROM exo_boot_ledger")[0][0] == 1
    # The pool (serve's API connections) reads the same form.
    p, port = db.serve(EXO_DATABASE_DSN=scheme + url[len("postgresql://"):])
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            assert r.status == 200
    finally:
        p.kill()
        p.wait()
