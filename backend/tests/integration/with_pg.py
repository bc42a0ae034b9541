"""Runs a command with a fresh PostgreSQL 16 server around it.

    python3 with_pg.py [--tls] COMMAND [ARGS...]

Starts a server (pgserver.PgServer), creates database `exo_test`, runs
COMMAND with EXO_TEST_DSN set to a keyword DSN for it (password
authentication, as the backend connects in production) and
EXO_TEST_ADMIN_DSN for the superuser, stops the server and exits with
COMMAND's status. C integration tests are registered with ctest this way.

--tls: the server offers TLS with a certificate for "localhost" signed by a
CA the test makes; EXO_TEST_TLS_DSN then names host=localhost and no
sslmode, EXO_TEST_CA is that CA's file and EXO_TEST_OTHER_CA one of a CA
that did not sign the server's certificate.
"""
import os
import subprocess
import sys

from pgserver import PgServer


def main():
    args = sys.argv[1:]
    tls = args[:1] == ["--tls"]
    if tls:
        args = args[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    server = PgServer(tls_names=["localhost"] if tls else None).start()
    try:
        server.createdb("exo_test")
        env = dict(os.environ, EXO_TEST_DSN=server.dsn("exo_test"),
                   EXO_TEST_ADMIN_DSN=f"host=127.0.0.1 port={server.port} user=postgres "
                                      "dbname=exo_test")
        if tls:
            env.update(EXO_TEST_TLS_DSN=server.dsn("exo_test", host="localhost", sslmode=None),
                       EXO_TEST_CA=str(server.ca), EXO_TEST_OTHER_CA=str(server.other_ca))
        return subprocess.run(args, env=env).returncode
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
