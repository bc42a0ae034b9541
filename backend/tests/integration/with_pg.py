"""Runs a command with a fresh PostgreSQL 16 server around it.

    python3 with_pg.py COMMAND [ARGS...]

Starts a server (pgserver.PgServer), creates database `exo_test`, runs
COMMAND with EXO_TEST_DSN set to a keyword DSN for it (password
authentication, as the backend connects in production) and
EXO_TEST_ADMIN_DSN for the superuser, stops the server and exits with
COMMAND's status. C integration tests are registered with ctest this way.
"""
import os
import subprocess
import sys

from pgserver import PgServer


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    server = PgServer().start()
    try:
        server.createdb("exo_test")
        env = dict(os.environ, EXO_TEST_DSN=server.dsn("exo_test"),
                   EXO_TEST_ADMIN_DSN=f"host=127.0.0.1 port={server.port} user=postgres "
                                      "dbname=exo_test")
        return subprocess.run(sys.argv[1:], env=env).returncode
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
