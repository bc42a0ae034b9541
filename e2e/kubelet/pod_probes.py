"""A container's startup, liveness and readiness probes (exec, httpGet,
tcpSocket), their periods and thresholds, and what their verdicts do."""
import http.client
import socket
import ssl
import subprocess
import time

from kubelet_common import log
from pod_containers import in_container, map_binary, program_mounts


class PodProbes:
    """Part of PodWorker: uses self.kl, self.key, self.ip, self.setpriv(),
    self.stop_container() and self.grace()."""

    def probe(self, c, kind, p):
        timeout = p.get("timeoutSeconds", 1)
        try:
            if "exec" in p:
                argv = list(p["exec"]["command"])
                argv[0] = in_container(map_binary(self.kl, argv[0]), program_mounts(self.kl))
                r = subprocess.run(["nsenter", "-t", str(c.proc.pid), "-n", "-m", "-u",
                                    *self.setpriv(c.spec), *argv],
                                   env=getattr(c, "env", None), capture_output=True,
                                   timeout=timeout)
                return r.returncode == 0
            if "httpGet" in p:
                g = p["httpGet"]
                port = self.port_number(c, g["port"])
                conn_cls = http.client.HTTPSConnection if g.get("scheme") == "HTTPS" \
                    else http.client.HTTPConnection
                kw = {"context": ssl._create_unverified_context()} \
                    if g.get("scheme") == "HTTPS" else {}
                conn = conn_cls(g.get("host") or self.ip, port, timeout=timeout, **kw)
                conn.request("GET", g.get("path", "/"),
                             headers={h["name"]: h["value"] for h in g.get("httpHeaders") or []})
                st = conn.getresponse().status
                conn.close()
                return 200 <= st < 400
            if "tcpSocket" in p:
                port = self.port_number(c, p["tcpSocket"]["port"])
                socket.create_connection((p["tcpSocket"].get("host") or self.ip, port),
                                         timeout=timeout).close()
                return True
        except (OSError, subprocess.TimeoutExpired, http.client.HTTPException):
            return False
        return True

    def port_number(self, c, port):
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        for p in c.spec.get("ports") or []:
            if p.get("name") == port:
                return p["containerPort"]
        return 0

    def run_probes(self, c):
        t = time.time()
        for kind in ("startup", "liveness", "readiness"):
            p = c.spec.get(kind + "Probe")
            if not p or c.proc is None or c.proc.poll() is not None:
                continue
            if kind != "startup" and c.spec.get("startupProbe") and \
                    not getattr(c, "started_ok", False):
                continue
            if t < c.probe_next.get(kind, 0):
                continue
            c.probe_next[kind] = t + p.get("periodSeconds", 10)
            ok = self.probe(c, kind, p)
            if kind == "startup":
                if ok:
                    c.started_ok = True
                    for k in ("liveness", "readiness"):
                        c.probe_next[k] = t
                elif (c.probe_fail.get("startup", 0) + 1) >= p.get("failureThreshold", 3):
                    log(self.key, c.name, "startup probe failed: restarting")
                    self.stop_container(c, self.grace())
                else:
                    c.probe_fail["startup"] = c.probe_fail.get("startup", 0) + 1
            elif kind == "liveness":
                c.probe_fail["liveness"] = 0 if ok else c.probe_fail["liveness"] + 1
                if c.probe_fail["liveness"] >= p.get("failureThreshold", 3):
                    log(self.key, c.name, "liveness probe failed: restarting")
                    self.stop_container(c, self.grace())
            else:
                if ok:
                    c.probe_fail["readiness"] = 0
                    c.probe_ok["readiness"] += 1
                    if c.probe_ok["readiness"] >= p.get("successThreshold", 1):
                        c.ready = True
                else:
                    c.probe_ok["readiness"] = 0
                    c.probe_fail["readiness"] += 1
                    if c.probe_fail["readiness"] >= p.get("failureThreshold", 3):
                        c.ready = False
