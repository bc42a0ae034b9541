"""A real PostgreSQL 16 for the integration tests: started as an unprivileged
user (`nobody` when we are root) on loopback, in a temporary directory, on a
free port; stopped at the end. The binaries come from
scripts/install-postgres.sh.
"""
import os
import shutil
import socket
import struct
import subprocess
import threading
import tempfile
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[3]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_unprivileged(cmd):
    """Runs cmd as nobody when we are root (PostgreSQL refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "nobody", "--", *cmd]
    return cmd


class PgServer:
    # A password-authenticated role, so tests can check that the password
    # never reaches a message.
    APP_USER = "exo"
    APP_PASSWORD = "Sup3r-s3cret-pw"

    def __init__(self, extra_conf=None, tls_names=None):
        self.bindir = Path(subprocess.run([str(ROOT / "scripts/install-postgres.sh")],
                                          check=True, capture_output=True, text=True)
                           .stdout.strip().splitlines()[-1])
        self.dir = Path(tempfile.mkdtemp(prefix="exo-pg-"))
        os.chmod(self.dir, 0o777)
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        self.extra_conf = extra_conf or {}
        # tls_names: the server's certificate names these (DNS names or IP
        # addresses) and it offers TLS; self.ca is the CA that signed it and
        # self.other_ca one that did not.
        self.tls_names = tls_names
        self.ca = self.other_ca = None

    def start(self):
        subprocess.run(as_unprivileged([str(self.bindir / "initdb"), "-D", str(self.data),
                                        "-U", "postgres", "--auth-local=trust",
                                        "--auth-host=scram-sha-256", "-E", "UTF8",
                                        "--locale=C", "--no-sync"]),
                       check=True, capture_output=True)
        hba = self.data / "pg_hba.conf"
        hba.write_text("local all all trust\n"
                       "host all postgres 127.0.0.1/32 trust\n"
                       "host all all 127.0.0.1/32 scram-sha-256\n")
        conf = {"listen_addresses": "'127.0.0.1'", "port": str(self.port),
                "unix_socket_directories": f"'{self.dir}'", "fsync": "off",
                "max_connections": "300", "log_statement": "'ddl'",
                "log_line_prefix": "'%m [%p] %d '", "timezone": "'Europe/Berlin'"}
        if self.tls_names:
            conf.update(self.make_certificates())
        conf.update(self.extra_conf)
        with open(self.data / "postgresql.conf", "a") as f:
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        self.pg_ctl("start", "-w", "-t", "60", "-l", str(self.log))
        with self.admin() as c:
            c.execute(f"CREATE ROLE {self.APP_USER} LOGIN SUPERUSER PASSWORD "
                      f"'{self.APP_PASSWORD}'")
        return self

    def make_certificates(self):
        """A CA, a server certificate it signed for self.tls_names, and a
        second CA that signed nothing of this server's; the settings that
        turn TLS on."""
        tls = self.dir / "tls"
        tls.mkdir()

        def openssl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tls)

        for ca in ("ca", "other-ca"):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "3650",
                    "-subj", f"/CN=exo test {ca}")
        sans = ",".join(("IP:" if n.replace(".", "").isdigit() or ":" in n else "DNS:") + n
                        for n in self.tls_names)
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "server.key", "-out", "server.csr", "-subj",
                f"/CN={self.tls_names[0]}")
        (tls / "ext.cnf").write_text(f"subjectAltName={sans}\n")
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "server.crt", "-days", "3650", "-extfile", "ext.cnf")
        if os.geteuid() == 0:  # the server runs as nobody and wants its key private
            shutil.chown(tls / "server.key", "nobody")
        os.chmod(tls / "server.key", 0o600)
        os.chmod(tls, 0o755)
        self.ca, self.other_ca = tls / "ca.crt", tls / "other-ca.crt"
        return {"ssl": "on", "ssl_cert_file": f"'{tls / 'server.crt'}'",
                "ssl_key_file": f"'{tls / 'server.key'}'"}

    def pg_ctl(self, *args):
        subprocess.run(as_unprivileged([str(self.bindir / "pg_ctl"), "-D", str(self.data),
                                        *args]), check=True, capture_output=True)

    def stop(self):
        try:
            self.pg_ctl("stop", "-m", "fast", "-w")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def admin(self, dbname="postgres"):
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                               dbname=dbname, autocommit=True)

    def createdb(self, name):
        with self.admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{name}"')
        return name

    def dsn(self, dbname, url=False, port=None, host="127.0.0.1", sslmode="disable"):
        """The application's DSN; sslmode None leaves it out."""
        port = port or self.port
        if sslmode is None:
            assert not url
            return (f"host={host} port={port} user={self.APP_USER} "
                    f"password={self.APP_PASSWORD} dbname={dbname}")
        if url:
            return (f"postgresql://{self.APP_USER}:{self.APP_PASSWORD}@{host}:{port}/"
                    f"{dbname}?sslmode={sslmode}")
        return (f"host={host} port={port} user={self.APP_USER} "
                f"password={self.APP_PASSWORD} dbname={dbname} sslmode={sslmode}")


def fake_server(version):
    """A socket that answers a libpq startup as a PostgreSQL of `version`
    would: no authentication, its parameters, ready."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def msg(kind, body):
        return kind + struct.pack("!I", len(body) + 4) + body

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                n = struct.unpack("!I", conn.recv(4))[0]
                body = conn.recv(n - 4)
                if struct.unpack("!I", body[:4])[0] == 80877103:  # SSLRequest
                    conn.sendall(b"N")
                    n = struct.unpack("!I", conn.recv(4))[0]
                    conn.recv(n - 4)
                reply = msg(b"R", struct.pack("!I", 0))
                for k, v in [("server_version", version), ("server_encoding", "UTF8"),
                             ("client_encoding", "UTF8"), ("integer_datetimes", "on"),
                             ("standard_conforming_strings", "on")]:
                    reply += msg(b"S", k.encode() + b"\0" + v.encode() + b"\0")
                reply += msg(b"K", struct.pack("!II", 1, 2)) + msg(b"Z", b"I")
                conn.sendall(reply)
                conn.recv(1024)

    threading.Thread(target=serve, daemon=True).start()
    return srv
