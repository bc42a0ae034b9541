"""What the exo CLI tests share: running the binary, a handle on a running
backend, and a small fake HTTP(S) server for answers a real backend never
gives. A module of its own, not conftest.py, so that tests can import it
without clashing with backend/tests/integration/conftest.py."""
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# pgserver.py (a real PostgreSQL 16) lives with the backend's tests.
sys.path.insert(0, str(ROOT / "backend/tests/integration"))
from pgserver import PgServer, free_port  # noqa: E402,F401

EXO = os.environ.get("EXO_CLI", str(ROOT / "build/cli/exo"))
BACKEND = os.environ.get("EXO_BACKEND", str(ROOT / "build/backend/exo-backend"))
TOKEN = "cli-admin-" + "k" * 40
# A command line both binaries run under, e.g. valgrind with its flags (the
# cli_exo.valgrind test); empty: run them as they are.
WRAPPER = os.environ.get("EXO_TEST_WRAPPER", "").split()


def run_exo(*args, env=None, timeout=60):
    """Runs the exo binary with only the EXO_* variables given in env (the
    caller's EXO_URL / EXO_TOKEN must not leak into a test)."""
    base = {k: v for k, v in os.environ.items() if k not in ("EXO_URL", "EXO_TOKEN")}
    base.update(env or {})
    return subprocess.run([*WRAPPER, EXO, *args], env=base, capture_output=True, text=True,
                          timeout=timeout)


class Backend:
    def __init__(self, url, token):
        self.url = url
        self.token = token

    def env(self, **extra):
        e = {"EXO_URL": self.url, "EXO_TOKEN": self.token}
        e.update(extra)
        return e

    def exo(self, *args, **extra):
        return run_exo(*args, env=self.env(**extra))

    def api(self, method, path, body=None):
        """The API called directly, to compare the CLI's output with."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.requests.append({"method": self.command, "path": self.path,
                                     "headers": dict(self.headers),
                                     "body": self.rfile.read(length) if length else b""})
        status, ctype, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args):
        pass


@contextmanager
def fake_server(status, body, ctype="application/json", cert=None):
    """Serves one canned answer to every request on a free loopback port;
    yields (url, requests seen). cert: (certfile, keyfile) for HTTPS."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.answer = (status, ctype, body if isinstance(body, bytes) else body.encode())
    srv.requests = []
    scheme = "http"
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*cert)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"{scheme}://127.0.0.1:{srv.server_address[1]}", srv.requests
    finally:
        srv.shutdown()
        srv.server_close()
