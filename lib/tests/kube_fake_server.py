#!/usr/bin/env python3
"""An HTTPS fake of the Kubernetes API server for lib/tests/test_kube_client.c.

At startup it makes certificates with the openssl command line in a temp
folder (a CA, a server certificate for 127.0.0.1, a client certificate with
CN=test-user, and an unrelated CA), listens on two ports of 127.0.0.1 (one
asks for a client certificate, the other requires one), prints one JSON line
on stdout

  {"port": P, "mtls_port": M, "ca": ..., "client_cert": ..., "client_key": ...,
   "other_ca": ..., "dir": ...}

and serves until its stdin closes (so it dies with the test that started it).

Tests script it over HTTPS on either port:

  POST /_control/script   a JSON object or list of them, queued in order:
      method      match only this method (default: any)
      path        match this path, query excluded (required)
      times       how many requests it answers (default 1)
      status      HTTP status (default 200)
      headers     extra response headers, e.g. {"Retry-After": "1"}
      body        a string, or any JSON value (sent as JSON)
      body_of     a method: answer with the body of the last request of that
                  method to this path (what a PUT stored, read back)
      delay_ms    wait before answering
      hold        never answer: keep the request until the client gives up
                  and closes the connection (at most HOLD_MAX_S, then close
                  without answering), so that a client timeout is exercised
                  whatever the client's speed
      drop        close the connection without answering
      cut         send the headers (Content-Length of the whole body) and
                  this many bytes of the body, then close the connection
      chunks      strings sent with chunked encoding, chunk_delay_ms apart
      chunk_delay_ms
  GET  /_control/requests every request so far except /_control ones:
      method, path, query (name -> list of values), headers (lower-case
      names), body, client_port, client_cn (CN of the presented client
      certificate, or null), port
  POST /_control/reset    forget scripts and requests

A request no script matches gets a 404 Status naming it.
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
# A held request whose client never gives up is a client bug: the fake then
# drops the connection, which the test sees as a failure rather than a hang.
HOLD_MAX_S = 120
SCRIPTS = []
REQUESTS = []


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d):
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", *key, "-keyout", f"{ca}.key", "-out", f"{ca}.crt",
                "-days", "2", "-subj", f"/CN=fake-{ca}", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name, subj in (("server", "/CN=127.0.0.1"), ("client", "/O=system:masters/CN=test-user")):
        openssl("req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
                "-extfile", f"{name}.ext", cwd=d)


def take_script(method, path):
    with LOCK:
        for s in SCRIPTS:
            if s.get("path") == path and s.get("method", method) == method:
                s["times"] = s.get("times", 1) - 1
                if s["times"] <= 0:
                    SCRIPTS.remove(s)
                return s
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client can reuse its connection

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # The handshake happens here, in the connection's thread, so a
        # client that fails it does not stall the accept loop.
        self.connection.do_handshake()

    def client_cn(self):
        cert = self.connection.getpeercert()
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None

    def send(self, status, body, headers=None, ctype="application/json"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def control(self, url, body):
        global SCRIPTS, REQUESTS
        if url.path == "/_control/script":
            new = json.loads(body)
            with LOCK:
                SCRIPTS.extend(new if isinstance(new, list) else [new])
            self.send(200, "{}")
        elif url.path == "/_control/requests":
            with LOCK:
                self.send(200, json.dumps(REQUESTS))
        elif url.path == "/_control/reset":
            with LOCK:
                SCRIPTS, REQUESTS = [], []
            self.send(200, "{}")
        else:
            self.send(404, "{}")

    def handle_any(self):
        url = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode(errors="replace") if n else ""
        if url.path.startswith("/_control/"):
            return self.control(url, body)
        with LOCK:
            REQUESTS.append({
                "method": self.command, "path": url.path, "query": parse_qs(url.query),
                "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                "client_port": self.client_address[1], "client_cn": self.client_cn(),
                "port": self.server.server_address[1]})
        s = take_script(self.command, url.path)
        if s is None:
            msg = f"fake: no script for {self.command} {url.path}"
            return self.send(404, json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                              "message": msg, "reason": "NotFound", "code": 404}))
        time.sleep(s.get("delay_ms", 0) / 1000)
        if s.get("hold"):
            self.close_connection = True
            self.connection.settimeout(HOLD_MAX_S)
            try:
                while self.connection.recv(4096):
                    pass
            except (OSError, ssl.SSLError):
                pass  # the client closed without a TLS close_notify, or HOLD_MAX_S passed
            return
        if s.get("drop"):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status = s.get("status", 200)
        body = s.get("body", "")
        if "body_of" in s:
            with LOCK:
                body = next((r["body"] for r in reversed(REQUESTS)
                             if r["method"] == s["body_of"] and r["path"] == url.path), "")
        if not isinstance(body, str):
            body = json.dumps(body)
        if "cut" in s:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:s["cut"]])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if "chunks" not in s:
            return self.send(status, body, s.get("headers"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in s.get("headers", {}).items():
            self.send_header(k, v)
        self.end_headers()
        for chunk in s["chunks"]:
            time.sleep(s.get("chunk_delay_ms", 0) / 1000)
            data = chunk.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (OSError, ssl.SSLError):
            # The client went away (a timeout test, a refused handshake).
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # failed handshakes are part of the tests


def serve(ctx):
    srv = Server(("127.0.0.1", 0), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def main():
    d = tempfile.mkdtemp(prefix="kube-fake-")
    try:
        make_certs(d)
        ports = []
        for mode in (ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
            ctx.load_verify_locations(os.path.join(d, "ca.crt"))
            ctx.verify_mode = mode
            ports.append(serve(ctx))
        print(json.dumps({"port": ports[0], "mtls_port": ports[1], "dir": d,
                          "ca": os.path.join(d, "ca.crt"),
                          "client_cert": os.path.join(d, "client.crt"),
                          "client_key": os.path.join(d, "client.key"),
                          "other_ca": os.path.join(d, "other-ca.crt")}), flush=True)
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
