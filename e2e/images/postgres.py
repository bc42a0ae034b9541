#!/usr/bin/env python3
"""The official `postgres:16-alpine` image, as a local process.

What its entrypoint does with the environment, done with the PostgreSQL 16
binaries of scripts/install-postgres.sh: on an empty PGDATA, initdb with
POSTGRES_USER as the superuser and POSTGRES_PASSWORD as its password
(scram-sha-256 for TCP), create POSTGRES_DB, then run the server listening
on every address. A PGDATA that already holds a cluster is used as it is:
the password and data of the first start stay. Run it as the image's user
(uid 70); the sandbox kubelet and the Compose test do.

Environment: POSTGRES_PASSWORD (required), POSTGRES_USER (postgres),
POSTGRES_DB (= POSTGRES_USER), PGDATA (/var/lib/postgresql/data), PGPORT
(5432), POSTGRES_SOCKET_DIR (/var/run/postgresql when writable, else PGDATA).
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bindir():
    out = subprocess.run([str(ROOT / "scripts/install-postgres.sh")], check=True,
                         capture_output=True, text=True).stdout
    return Path(out.strip().splitlines()[-1])


def main():
    env = os.environ
    password = env.get("POSTGRES_PASSWORD")
    if not password:
        print("postgres: POSTGRES_PASSWORD is not set (the image refuses to start without it)",
              file=sys.stderr)
        return 1
    user = env.get("POSTGRES_USER") or "postgres"
    db = env.get("POSTGRES_DB") or user
    pgdata = Path(env.get("PGDATA") or "/var/lib/postgresql/data")
    port = env.get("PGPORT") or "5432"
    sock = env.get("POSTGRES_SOCKET_DIR") or "/var/run/postgresql"
    if not (os.path.isdir(sock) and os.access(sock, os.W_OK)):
        sock = str(pgdata)
    bins = bindir()

    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        os.chmod(pgdata, 0o700)
        with tempfile.NamedTemporaryFile("w", delete=False) as pw:
            pw.write(password + "\n")
        try:
            subprocess.run([str(bins / "initdb"), "-D", str(pgdata), f"--username={user}",
                            f"--pwfile={pw.name}", "--auth-local=trust",
                            "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"],
                           check=True, stdout=subprocess.DEVNULL)
        finally:
            os.unlink(pw.name)
        with open(pgdata / "pg_hba.conf", "a") as hba:
            hba.write("host all all all scram-sha-256\n")
        if db != "postgres":
            # A server on the socket only, as the entrypoint's temporary one.
            subprocess.run([str(bins / "pg_ctl"), "-D", str(pgdata), "-w", "-o",
                            f"-c listen_addresses='' -k {sock} -p {port}", "start"],
                           check=True, stdout=subprocess.DEVNULL)
            try:
                create(sock, port, user, db)
            finally:
                subprocess.run([str(bins / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast",
                                "stop"], check=True, stdout=subprocess.DEVNULL)
    os.execv(str(bins / "postgres"), [str(bins / "postgres"), "-D", str(pgdata), "-c",
                                      "listen_addresses=*", "-p", port, "-k", sock])


def create(sock, port, user, db):
    """CREATE DATABASE over the socket, with the client library Python has at
    hand: psycopg when installed, else Debian's psql."""
    sql = 'CREATE DATABASE "%s"' % db.replace('"', '""')
    try:
        import psycopg
        with psycopg.connect(host=sock, port=port, user=user, dbname="postgres",
                             autocommit=True) as c:
            c.execute(sql)
    except ImportError:
        subprocess.run(["psql", "-h", sock, "-p", port, "-U", user, "-d", "postgres", "-c", sql],
                       check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main())
