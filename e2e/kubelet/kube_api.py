"""The kubelet's API client: stdlib only. One connection per request keeps
threads simple."""
import base64
import http.client
import json
import shutil
import ssl
import tempfile
import urllib.parse
from pathlib import Path

import yaml


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"{status}: {body[:300]}")
        self.status = status


class Client:
    def __init__(self, kubeconfig):
        cfg = yaml.safe_load(Path(kubeconfig).read_text())
        cluster = cfg["clusters"][0]["cluster"]
        user = cfg["users"][0]["user"]
        u = urllib.parse.urlparse(cluster["server"])
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context()
        if "certificate-authority-data" in cluster:
            self.ctx.load_verify_locations(
                cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        else:
            self.ctx.load_verify_locations(cluster["certificate-authority"])
        self.token = user.get("token")
        if "client-certificate-data" in user:
            # ssl wants files: write them where only root can read.
            d = tempfile.mkdtemp(prefix="kubelet-cred-")
            crt, key = Path(d, "c.crt"), Path(d, "c.key")
            crt.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key.write_bytes(base64.b64decode(user["client-key-data"]))
            self.ctx.load_cert_chain(str(crt), str(key))
            shutil.rmtree(d)
        elif "client-certificate" in user:
            self.ctx.load_cert_chain(user["client-certificate"], user["client-key"])

    def _conn(self, timeout=30):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                           timeout=timeout)

    def request(self, method, path, body=None, ctype="application/json", query=None):
        if query:
            path += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = ctype
        c = self._conn()
        try:
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            raw = r.read().decode()
        finally:
            c.close()
        if r.status >= 300:
            raise ApiError(r.status, raw)
        return json.loads(raw) if raw else None

    def get(self, path, **q):
        return self.request("GET", path, query=q or None)

    def watch(self, path, query):
        """Yields watch events; returns when the server ends the stream."""
        q = dict(query, watch="1", allowWatchBookmarks="true", timeoutSeconds="300")
        c = self._conn(timeout=330)
        headers = {"Authorization": "Bearer " + self.token} if self.token else {}
        try:
            c.request("GET", path + "?" + urllib.parse.urlencode(q), headers=headers)
            r = c.getresponse()
            if r.status >= 300:
                raise ApiError(r.status, r.read().decode())
            while True:
                line = r.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            c.close()
