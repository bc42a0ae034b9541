"""exo-install support-bundle against a fake API server (plain HTTP on
loopback): the log path (each Exo container's last lines, the previous run
of one that restarted, --tail passed on), redaction inside logs, errors.txt
for what the server refused, and the archive read back with tarfile."""
import base64
import json
import os
import subprocess
import tarfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

BIN = os.environ.get("EXO_INSTALL", "build/installer/exo-install")
TOKEN = "bootstrap-Token-9f8e7d6c5b4a"
PASSWORD = "db-Pass-1a2b3c4d"
DSN = f"host=exo-postgres user=exo password={PASSWORD} dbname=exo"


def b64(s):
    return base64.b64encode(s.encode()).decode()


POD = {"metadata": {"name": "exo-backend-7d9f-x2k", "namespace": "exo",
                    "labels": {"app.kubernetes.io/part-of": "exo"}},
       "spec": {"containers": [{"name": "backend", "env": [
           {"name": "EXO_BOOTSTRAP_TOKEN", "value": TOKEN}]}]},
       "status": {"containerStatuses": [{"name": "backend", "restartCount": 2}]}}
OTHER = {"metadata": {"name": "unrelated", "namespace": "exo", "labels": {}},
         "status": {"containerStatuses": [{"name": "c", "restartCount": 0}]}}


class Api(BaseHTTPRequestHandler):
    seen = []

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        Api.seen.append(self.path)
        p = u.path
        if p == "/version":
            return self.reply(200, {"major": "1", "minor": "34", "gitVersion": "v1.34.0-fake"})
        if p == "/api/v1/namespaces/exo/secrets":
            return self.reply(200, {"kind": "SecretList", "metadata": {}, "items": [
                {"kind": "Secret", "metadata": {"name": "exo-database"},
                 "data": {"dsn": b64(DSN)}},
                {"kind": "Secret", "metadata": {"name": "exo-bootstrap"},
                 "data": {"token": b64(TOKEN)}}]})
        if p == "/api/v1/namespaces/exo/pods":
            return self.reply(200, {"kind": "PodList", "metadata": {}, "items": [POD, OTHER]})
        if p.endswith("/log"):
            lines = int(q["tailLines"][0])
            if q.get("previous") == ["true"]:
                text = f"boot failed: migrate: connecting with password={PASSWORD}\n"
            else:
                text = "".join(f"line {i} token {TOKEN}\n" for i in range(lines))
            return self.reply(200, text)
        if p == "/api/v1/namespaces/exo/events":
            return self.reply(403, {"kind": "Status", "status": "Failure", "code": 403,
                                    "reason": "Forbidden", "message": "events is forbidden"})
        if p.startswith("/apis/monitoring.coreos.com/"):
            return self.reply(404, "404 page not found")
        return self.reply(200, {"kind": "List", "metadata": {}, "items": []})


@pytest.fixture
def api(tmp_path):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    kc = tmp_path / "kubeconfig"
    kc.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{srv.server_port}"}}],
        "users": [{"name": "u", "user": {"token": "fake-kube-token"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "u",
                                                  "namespace": "exo"}}]}))
    Api.seen = []
    yield kc
    srv.shutdown()


def run_bundle(kc, out, *extra):
    return subprocess.run([BIN, "support-bundle", "--kubeconfig", str(kc), "-o", str(out), *extra],
                          capture_output=True, text=True, timeout=60)


def test_logs_of_exo_containers_with_the_previous_run_redacted(api, tmp_path):
    out = tmp_path / "b.tar.gz"
    p = run_bundle(api, out, "--tail", "7")
    assert p.returncode == 0, p.stderr
    with tarfile.open(out, "r:gz") as t:
        files = {m.name: t.extractfile(m).read().decode() for m in t.getmembers()}
    d = "exo-support-bundle/logs/exo-backend-7d9f-x2k/"
    log, prev = files[d + "backend.log"], files[d + "backend.previous.log"]
    assert log.count("\n") == 7 and "line 6 token REDACTED" in log
    assert prev.startswith("boot failed: migrate") and PASSWORD not in prev
    assert not any("unrelated" in n for n in files)
    assert any("tailLines=7" in s for s in Api.seen)
    everything = "".join(files.values())
    assert TOKEN not in everything and PASSWORD not in everything
    assert b64(DSN) not in everything and b64(TOKEN) not in everything
    pods = json.loads(files["exo-support-bundle/resources/pods.json"])
    assert pods[0]["spec"]["containers"][0]["env"][0]["value"] == "REDACTED"
    assert "events is forbidden" in files["exo-support-bundle/errors.txt"]
    assert "exo-support-bundle/resources/servicemonitors.json" not in files


def test_an_unreachable_cluster_writes_nothing(tmp_path):
    kc = tmp_path / "kubeconfig"
    kc.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "u"}}]}))
    out = tmp_path / "b.tar.gz"
    p = run_bundle(kc, out)
    assert p.returncode == 1 and p.stderr.count("\n") == 1
    assert p.stderr.startswith("exo-install support-bundle: ")
    assert not out.exists() and not (tmp_path / "b.tar.gz.tmp").exists()
