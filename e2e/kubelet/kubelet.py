#!/usr/bin/env python3
"""A process kubelet for the local sandbox cluster (e2e/sandbox).

    kubelet.py DIR [--backend BIN] [--controller BIN] [--node-name NAME]

Registers a Node with the node's own client certificate (DIR/kubeconfig-node),
renews its Lease, watches the pods bound to it and runs their containers as
local processes (no container runtime, no images): an image is mapped to a
local program (postgres:16* -> e2e/images/postgres.py, *exo-backend* -> the
--backend binary, *exo-controller* -> the --controller binary).

Each pod gets
  - its own network namespace with a veth pair to the bridge `exokube0`
    (10.244.0.1/24 on the host): a real, non-loopback pod IP 10.244.0.N that
    the host and the other pods reach, so every pod has its own 127.0.0.1 and
    its own port 5432, and the endpointslice controller can publish it;
  - its own mount and UTS namespace per container: volumes bind-mounted at
    their mountPaths, /etc/hosts (Service names -> pod IPs, since there is no
    DNS and no kube-proxy), /etc/passwd naming the images' users; hostname =
    the pod's hostname;
  - its processes run as securityContext runAsUser/runAsGroup with fsGroup and
    supplementalGroups as supplementary groups (setpriv).

Pods reach the API server through a TCP relay the kubelet listens on at
10.244.0.1:6443 (the API server itself listens on 127.0.0.1 only);
KUBERNETES_SERVICE_HOST is `kubernetes.default.svc` (named in the serving
certificate, mapped to 10.244.0.1 in /etc/hosts) so TLS verification works.

PersistentVolumeClaims without a volume get a hostPath PersistentVolume under
DIR/volumes/ (a local-path provisioner). The Node authorizer does not let a
node create PVs, so that part uses the admin kubeconfig DIR/kubeconfig.

Log on stderr; container output in DIR/pods/NS_NAME_UID/CONTAINER.log.
"""
import argparse
import base64
import copy
import datetime
import http.client
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
E2E = HERE.parent
# EXO_E2E_NET=N (0 to 254, default 0) picks bridge exokubeN on 10.244.N.0/24,
# so that two sandboxes with their kubelets can run on one machine at once.
NET = int(os.environ.get("EXO_E2E_NET", "0"))
if not 0 <= NET <= 254:
    sys.exit("kubelet: EXO_E2E_NET must be 0 to 254")
BRIDGE, BRIDGE_NET = f"exokube{NET}", ipaddress.ip_network(f"10.244.{NET}.0/24")
GATEWAY = f"10.244.{NET}.1"
# Pod network namespaces: stop.sh removes those of its own net only.
NETNS_PREFIX = "exopod-" if NET == 0 else f"exopod{NET}-"
API_RELAY_PORT = 6443
# Users the images declare (compose_local.py has the same table).
USERS = {70: "postgres", 65532: "exo"}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------
# API client: stdlib only. One connection per request keeps threads simple.

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


# --------------------------------------------------------------------------
# Node: registration and heartbeat.

class NodeAgent:
    def __init__(self, kl):
        self.kl = kl

    def node_status(self):
        res = {"cpu": "2", "memory": "8Gi", "pods": "110", "ephemeral-storage": "50Gi"}
        t = now()
        return {
            "capacity": res, "allocatable": res,
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": self.kl.node}],
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "process kubelet is posting ready status",
                 "lastHeartbeatTime": t, "lastTransitionTime": self.kl.started},
                *[{"type": c, "status": "False", "reason": "KubeletHas" + r,
                   "message": "", "lastHeartbeatTime": t,
                   "lastTransitionTime": self.kl.started}
                  for c, r in (("MemoryPressure", "SufficientMemory"),
                               ("DiskPressure", "NoDiskPressure"),
                               ("PIDPressure", "SufficientPID"))]],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": "", "systemUUID": "", "bootID": "",
                         "kernelVersion": os.uname().release, "osImage": "process kubelet",
                         "containerRuntimeVersion": "process://0", "kubeletVersion": "v1.34.4",
                         "kubeProxyVersion": "", "operatingSystem": "linux",
                         "architecture": "amd64"},
        }

    def register(self):
        api, name = self.kl.api, self.kl.node
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {
                    "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64"}},
                "spec": {}, "status": self.node_status()}
        try:
            api.request("POST", "/api/v1/nodes", node)
            log("node", name, "registered")
        except ApiError as e:
            if e.status != 409:
                raise
            log("node", name, "exists; updating its status")
        self.patch_status()

    def patch_status(self):
        self.kl.api.request("PATCH", f"/api/v1/nodes/{self.kl.node}/status",
                            {"status": self.node_status()},
                            "application/strategic-merge-patch+json")

    def renew_lease(self):
        api, name = self.kl.api, self.kl.node
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}"
        spec = {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now_micro()}
        try:
            lease = api.get(path)
            lease["spec"].update(spec)
            api.request("PUT", path, lease)
        except ApiError as e:
            if e.status != 404:
                raise
            api.request("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                         "metadata": {"name": name, "namespace": "kube-node-lease"},
                         "spec": spec})

    def run(self):
        last_status = time.time()
        while not self.kl.stopping.is_set():
            try:
                self.renew_lease()
                # The node-lifecycle controller reads the Lease; status once a
                # minute, like a kubelet's nodeStatusReportFrequency.
                if time.time() - last_status > 60:
                    self.patch_status()
                    last_status = time.time()
            except Exception as e:  # keep beating whatever happens
                log("heartbeat:", e)
            self.kl.stopping.wait(10)


# --------------------------------------------------------------------------
# Local-path provisioner (admin credentials: nodes may not create PVs).

STORAGE_CLASS, PROVISIONER = "standard", "exo.sandbox/local-path"


class Provisioner:
    def __init__(self, kl):
        self.kl = kl

    def run(self):
        try:
            self.ensure_storage_class()
        except Exception as e:
            log("provisioner: storage class:", e)
        while not self.kl.stopping.is_set():
            try:
                for pvc in self.kl.admin.get("/api/v1/persistentvolumeclaims")["items"]:
                    spec = pvc["spec"]
                    if spec.get("volumeName") or pvc["metadata"].get("deletionTimestamp"):
                        continue
                    if spec.get("storageClassName") not in (None, "", STORAGE_CLASS):
                        continue  # another provisioner's class
                    self.provision(pvc)
                self.reclaim()
            except Exception as e:
                log("provisioner:", e)
            self.kl.stopping.wait(2)

    def ensure_storage_class(self):
        """The default class, as kind's `standard`: claims without a class get
        it (the DefaultStorageClass admission plugin), and install preflights
        can find it."""
        sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
              "metadata": {"name": STORAGE_CLASS, "annotations": {
                  "storageclass.kubernetes.io/is-default-class": "true"}},
              "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
              "volumeBindingMode": "Immediate"}
        try:
            self.kl.admin.request("POST", "/apis/storage.k8s.io/v1/storageclasses", sc)
            log("provisioner: created StorageClass", STORAGE_CLASS)
        except ApiError as e:
            if e.status != 409:
                raise

    def reclaim(self):
        """Released volumes of the Delete policy go, directory and all, as
        the local-path provisioner does."""
        pvs = self.kl.admin.get("/api/v1/persistentvolumes?labelSelector=exo.sandbox%2Fprovisioner%3Dlocal-path")
        for pv in pvs["items"]:
            if (pv.get("status", {}).get("phase") != "Released"
                    or pv["spec"].get("persistentVolumeReclaimPolicy") != "Delete"):
                continue
            name = pv["metadata"]["name"]
            shutil.rmtree(self.kl.dir / "volumes" / name, ignore_errors=True)
            try:
                self.kl.admin.request("DELETE", "/api/v1/persistentvolumes/" + name)
                log("provisioner: deleted released volume", name)
            except ApiError as e:
                if e.status != 404:
                    raise

    def provision(self, pvc):
        md, spec = pvc["metadata"], pvc["spec"]
        name = "pvc-" + md["uid"]
        path = self.kl.dir / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        pv = {"apiVersion": "v1", "kind": "PersistentVolume",
              "metadata": {"name": name, "labels": {"exo.sandbox/provisioner": "local-path"},
                           "annotations": {"pv.kubernetes.io/provisioned-by": "sandbox-kubelet"}},
              "spec": {"capacity": {"storage": spec["resources"]["requests"]["storage"]},
                       "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                       "volumeMode": spec.get("volumeMode", "Filesystem"),
                       "persistentVolumeReclaimPolicy": "Delete",
                       "storageClassName": spec.get("storageClassName") or "",
                       "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
                       "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                                    "namespace": md["namespace"], "name": md["name"],
                                    "uid": md["uid"]}}}
        try:
            self.kl.admin.request("POST", "/api/v1/persistentvolumes", pv)
            log("provisioned", name, "for", md["namespace"] + "/" + md["name"], "at", path)
        except ApiError as e:
            if e.status != 409:
                raise


# --------------------------------------------------------------------------
# Pod networking: bridge + per-pod network namespace.

def sh(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def set_up_bridge():
    if sh("ip", "link", "show", BRIDGE, check=False).returncode != 0:
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{GATEWAY}/{BRIDGE_NET.prefixlen}", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")


class ApiRelay:
    """10.244.0.1:6443 -> the API server on 127.0.0.1, for pods."""

    def __init__(self, kl):
        self.kl = kl
        self.sock = socket.create_server((GATEWAY, API_RELAY_PORT), reuse_port=False)

    def run(self):
        while not self.kl.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.pipe, args=(c,), daemon=True).start()

    def pipe(self, c):
        try:
            u = socket.create_connection((self.kl.api.host, self.kl.api.port))
        except OSError:
            c.close()
            return

        def copy_(a, b):
            try:
                while data := a.recv(65536):
                    b.sendall(data)
            except OSError:
                pass
            finally:
                for s in (a, b):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
        threading.Thread(target=copy_, args=(u, c), daemon=True).start()
        copy_(c, u)


# --------------------------------------------------------------------------
# Containers.

def image_program(kl, image):
    """argv of the image's entrypoint, or None when no local program exists."""
    name = image.split("@")[0]
    if re.match(r"^(docker\.io/)?(library/)?postgres:16", name):
        return [sys.executable, str(E2E / "images/postgres.py")]
    if "exo-backend" in name and kl.args.backend:
        return [kl.args.backend, "serve"]
    if "exo-controller" in name and kl.args.controller:
        return [kl.args.controller]
    return None


def program_mounts(kl):
    """Programs run from the host (this repository's image stand-ins, the
    binaries given) may live under /tmp, which a pod's emptyDir at /tmp
    hides: they are bind-mounted at fixed paths under /run/exo-e2e and run
    from there. Pairs of (host path, path in the container)."""
    out = [(str(E2E.parent.resolve()), "/run/exo-e2e/root")]
    for given, name in ((kl.args.backend, "exo-backend"), (kl.args.controller, "exo-controller")):
        if given:
            out.append((str(Path(given).resolve()), f"/run/exo-e2e/bin/{name}"))
    return out


def in_container(path, pairs):
    for host, inside in pairs:
        if path == host or path.startswith(host + "/"):
            return inside + path[len(host):]
    return path


def map_binary(kl, argv0):
    """Paths the images have, mapped to the local programs."""
    if argv0.endswith("exo-backend") and kl.args.backend:
        return kl.args.backend
    if argv0.endswith("exo-controller") and kl.args.controller:
        return kl.args.controller
    if argv0 in ("pg_isready", "psql"):  # the images' clients: Debian's
        return "/usr/bin/" + argv0
    return argv0


def expand(s, env):
    """$(VAR) as Kubernetes expands it in command, args and env values."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), s)


class Container:
    def __init__(self, spec):
        self.spec = spec
        self.name = spec["name"]
        self.proc = None
        self.restarts = 0
        self.started_at = None
        self.last_term = None  # terminated state of the previous run
        self.state = {"waiting": {"reason": "ContainerCreating"}}
        self.next_start = 0.0
        self.backoff = 0
        self.ready = False
        self.probe_next = {}
        self.probe_fail = {"readiness": 0, "liveness": 0}
        self.probe_ok = {"readiness": 0}


class PodWorker(threading.Thread):
    def __init__(self, kl, pod):
        super().__init__(daemon=True, name="pod-" + pod["metadata"]["name"])
        self.kl = kl
        self.pod = pod
        md = pod["metadata"]
        self.ns, self.name, self.uid = md["namespace"], md["name"], md["uid"]
        self.key = f"{self.ns}/{self.name}"
        self.dir = kl.dir / "pods" / f"{self.ns}_{self.name}_{self.uid}"
        self.netns = NETNS_PREFIX + self.uid[:8]
        self.ip = None
        self.volumes = None  # name -> host path, once set up
        self.containers = [Container(c) for c in pod["spec"]["containers"]]
        self.init_done = not pod["spec"].get("initContainers")
        self.inits = [Container(c) for c in pod["spec"].get("initContainers") or []]
        self.waiting_reason = None
        self.last_status = None
        self.times = {}  # condition type -> (status, lastTransitionTime)
        self.gone = threading.Event()  # deleted from the API: stop now
        self.start_time = now()

    # -- sandbox -----------------------------------------------------------

    def set_up_network(self):
        self.ip = self.kl.allocate_ip(self.uid)
        veth = "vx" + self.uid[:8]
        sh("ip", "netns", "add", self.netns, check=False)
        if sh("ip", "link", "show", veth, check=False).returncode != 0:
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0",
               "netns", self.netns)
        sh("ip", "link", "set", veth, "master", BRIDGE, "up")
        n = ["ip", "netns", "exec", self.netns]
        sh(*n, "ip", "link", "set", "lo", "up")
        sh(*n, "ip", "addr", "replace", f"{self.ip}/{BRIDGE_NET.prefixlen}", "dev", "eth0")
        sh(*n, "ip", "link", "set", "eth0", "up")
        sh(*n, "ip", "route", "replace", "default", "via", GATEWAY)

    def tear_down_network(self):
        sh("ip", "netns", "del", self.netns, check=False)  # takes the veth pair with it
        self.kl.release_ip(self.uid)

    def psc(self):
        return self.pod["spec"].get("securityContext") or {}

    def set_up_volumes(self):
        """name -> host directory or file; raises RuntimeError(reason) to wait."""
        api, vols = self.kl.api, {}
        fs_group = self.psc().get("fsGroup")
        for v in self.pod["spec"].get("volumes") or []:
            name, d = v["name"], self.dir / "volumes" / v["name"]
            if "emptyDir" in v:
                d.mkdir(parents=True, exist_ok=True)
                os.chmod(d, 0o777)  # as the kubelet makes emptyDirs
            elif "persistentVolumeClaim" in v:
                claim = v["persistentVolumeClaim"]["claimName"]
                pvc = api.get(f"/api/v1/namespaces/{self.ns}/persistentvolumeclaims/{claim}")
                if pvc.get("status", {}).get("phase") != "Bound":
                    raise RuntimeError(f"PersistentVolumeClaim {claim} is not bound yet")
                pv = api.get(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}")
                hp = (pv["spec"].get("hostPath") or pv["spec"].get("local") or {}).get("path")
                if not hp:
                    raise RuntimeError(f"PersistentVolume {pv['metadata']['name']} "
                                       "has no hostPath/local path")
                d = Path(hp)
                d.mkdir(parents=True, exist_ok=True)
            elif "hostPath" in v:
                d = Path(v["hostPath"]["path"])
                if v["hostPath"].get("type") in ("DirectoryOrCreate", "", None):
                    d.mkdir(parents=True, exist_ok=True)
            elif "secret" in v or "configMap" in v:
                self.write_source(d, v)
            elif "projected" in v:
                self.write_projected(d, v["projected"])
            elif "downwardAPI" in v:
                self.write_projected(d, {"sources": [{"downwardAPI": v["downwardAPI"]}]})
            else:
                raise RuntimeError(f"volume {name}: type not supported by the process kubelet")
            if fs_group is not None and ("emptyDir" in v or "persistentVolumeClaim" in v):
                # fsGroupChangePolicy OnRootMismatch, in effect: the root of the
                # volume only. A recursive g+rwX (the default policy) would
                # make an existing PGDATA 0770, which postgres refuses.
                st = d.stat()
                if st.st_gid != fs_group:
                    os.chown(d, -1, fs_group)
                    os.chmod(d, (st.st_mode & 0o7777) | 0o2070)
            vols[name] = d
        return vols

    def write_files(self, d, files, mode):
        d.mkdir(parents=True, exist_ok=True)
        fs_group = self.psc().get("fsGroup")
        for rel, data in files.items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            os.chmod(p, mode)
            if fs_group is not None:
                os.chown(p, -1, fs_group)
        os.chmod(d, 0o755)

    def source_data(self, kind, name, optional=False):
        path = f"/api/v1/namespaces/{self.ns}/{kind}/{name}"
        try:
            obj = self.kl.api.get(path)
        except ApiError as e:
            if e.status == 404 and optional:
                return {}
            if e.status == 404:
                raise RuntimeError(f"{kind[:-1]} {name} not found")
            raise
        out = {k: v.encode() for k, v in (obj.get("data") or {}).items()} if kind == "configmaps" \
            else {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        for k, v in (obj.get("binaryData") or {}).items():
            out[k] = base64.b64decode(v)
        return out

    def select_items(self, data, items):
        if not items:
            return dict(data)
        return {i["path"]: data[i["key"]] for i in items if i["key"] in data}

    def write_source(self, d, v):
        if "secret" in v:
            s = v["secret"]
            data = self.source_data("secrets", s["secretName"], s.get("optional"))
        else:
            s = v["configMap"]
            data = self.source_data("configmaps", s["name"], s.get("optional"))
        self.write_files(d, self.select_items(data, s.get("items")), s.get("defaultMode", 0o644))

    def field(self, path):
        md = self.pod["metadata"]
        m = re.fullmatch(r"metadata\.(labels|annotations)\['(.*)'\]", path)
        if m:
            return (md.get(m.group(1)) or {}).get(m.group(2), "")
        return {"metadata.name": md["name"], "metadata.namespace": self.ns,
                "metadata.uid": self.uid, "spec.nodeName": self.kl.node,
                "spec.serviceAccountName": self.pod["spec"].get("serviceAccountName", ""),
                "status.podIP": self.ip or "", "status.hostIP": "127.0.0.1",
                "status.podIPs": self.ip or ""}.get(path, "")

    def write_projected(self, d, proj):
        files = {}
        for src in proj.get("sources") or []:
            if "serviceAccountToken" in src:
                t = src["serviceAccountToken"]
                sa = self.pod["spec"].get("serviceAccountName") or "default"
                req = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                       "spec": {"audiences": [t["audience"]] if t.get("audience") else None,
                                "expirationSeconds": t.get("expirationSeconds", 3607),
                                "boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                                   "name": self.name, "uid": self.uid}}}
                r = self.kl.api.request(
                    "POST", f"/api/v1/namespaces/{self.ns}/serviceaccounts/{sa}/token", req)
                files[t["path"]] = r["status"]["token"].encode()
            elif "configMap" in src or "secret" in src:
                s = src.get("configMap") or src.get("secret")
                kind = "configmaps" if "configMap" in src else "secrets"
                data = self.source_data(kind, s["name"], s.get("optional"))
                files.update(self.select_items(data, s.get("items")))
            elif "downwardAPI" in src:
                for i in src["downwardAPI"].get("items") or []:
                    if "fieldRef" in i:
                        files[i["path"]] = self.field(i["fieldRef"]["fieldPath"]).encode()
        self.write_files(d, files, proj.get("defaultMode", 0o644))

    # -- containers --------------------------------------------------------

    def env_for(self, spec):
        api_port = str(API_RELAY_PORT)
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOSTNAME": self.hostname(),
               "KUBERNETES_SERVICE_HOST": "kubernetes.default.svc",
               "KUBERNETES_SERVICE_PORT": api_port, "KUBERNETES_SERVICE_PORT_HTTPS": api_port}
        for ef in spec.get("envFrom") or []:
            prefix = ef.get("prefix", "")
            if "secretRef" in ef:
                data = self.source_data("secrets", ef["secretRef"]["name"],
                                        ef["secretRef"].get("optional"))
            else:
                data = self.source_data("configmaps", ef["configMapRef"]["name"],
                                        ef["configMapRef"].get("optional"))
            env.update({prefix + k: v.decode() for k, v in data.items()})
        for e in spec.get("env") or []:
            if "valueFrom" not in e:
                env[e["name"]] = expand(e.get("value", ""), env)
                continue
            vf = e["valueFrom"]
            if "secretKeyRef" in vf or "configMapKeyRef" in vf:
                ref = vf.get("secretKeyRef") or vf.get("configMapKeyRef")
                kind = "secrets" if "secretKeyRef" in vf else "configmaps"
                data = self.source_data(kind, ref["name"], ref.get("optional"))
                if ref["key"] not in data:
                    if ref.get("optional"):
                        continue
                    raise RuntimeError(f"couldn't find key {ref['key']} in {kind[:-1]} "
                                       f"{self.ns}/{ref['name']}")
                env[e["name"]] = data[ref["key"]].decode()
            elif "fieldRef" in vf:
                env[e["name"]] = self.field(vf["fieldRef"]["fieldPath"])
            elif "resourceFieldRef" in vf:
                env[e["name"]] = "0"
        return env

    def hostname(self):
        return self.pod["spec"].get("hostname") or self.name

    def ids(self, spec):
        """(uid, gid, groups) from the pod's and the container's securityContext."""
        psc, csc = self.psc(), spec.get("securityContext") or {}
        uid = csc.get("runAsUser", psc.get("runAsUser", 0))
        gid = csc.get("runAsGroup", psc.get("runAsGroup", uid))
        groups = list(psc.get("supplementalGroups") or [])
        if psc.get("fsGroup") is not None:
            groups.append(psc["fsGroup"])
        return uid, gid, groups

    def setpriv(self, spec):
        uid, gid, groups = self.ids(spec)
        if uid == 0 and gid == 0 and not groups:
            return []
        g = ["--groups=" + ",".join(map(str, groups))] if groups else ["--clear-groups"]
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", *g, "--"]

    def start_container(self, c):
        spec = c.spec
        env = c.env = self.env_for(spec)
        prog = image_program(self.kl, spec["image"])
        if spec.get("command"):
            argv = [expand(a, env) for a in spec["command"]]
            argv[0] = map_binary(self.kl, argv[0])
            argv += [expand(a, env) for a in spec.get("args") or []]
        elif prog is None:
            raise RuntimeError(f"no local program for image {spec['image']}")
        elif spec.get("args"):
            argv = prog[:1] if "exo-backend" in spec["image"] else prog
            argv = argv + [expand(a, env) for a in spec["args"]]
        else:
            argv = prog
        if prog is None and not spec.get("command"):
            raise RuntimeError(f"no local program for image {spec['image']}")
        mounts = []
        for m in spec.get("volumeMounts") or []:
            src = self.volumes[m["name"]]
            if m.get("subPath"):
                src = src / m["subPath"]
                src.mkdir(parents=True, exist_ok=True)
            mounts.append([str(src), m["mountPath"], bool(m.get("readOnly"))])
        mounts.append([str(self.kl.hosts_file(self)), "/etc/hosts", True])
        mounts.append([str(self.kl.dir / "kubelet-etc/passwd"), "/etc/passwd", True])
        mounts.append([str(self.kl.dir / "kubelet-etc/group"), "/etc/group", True])
        pairs = program_mounts(self.kl)
        mounts += [[host, inside, True] for host, inside in pairs]
        argv = [in_container(a, pairs) for a in argv]
        cfg = {"mounts": mounts, "hostname": self.hostname(),
               "cwd": spec.get("workingDir") or "/",
               "argv": self.setpriv(spec) + argv, "env": env}
        cfg_path = self.dir / f"{c.name}.run.json"
        cfg_path.write_text(json.dumps(cfg))
        os.chmod(cfg_path, 0o600)
        out = open(self.dir / f"{c.name}.log", "ab")
        out.write(f"--- {now()} start {argv}\n".encode())
        out.flush()
        # nsenter and unshare exec without forking (no pid namespace), and so
        # does the helper: Popen.pid is the container's process itself, so
        # exec probes can join its namespaces with nsenter -t PID.
        c.proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.netns}", "unshare", "--mount", "--uts",
             "--propagation", "private", sys.executable, str(Path(__file__).resolve()),
             "_container", str(cfg_path)],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        c.started_at = now()
        c.state = {"running": {"startedAt": c.started_at}}
        c.run_since = time.time()
        c.ready = False
        c.probe_fail = {"readiness": 0, "liveness": 0}
        c.probe_ok = {"readiness": 0}
        t0 = time.time()
        for kind in ("readiness", "liveness", "startup"):
            p = spec.get(kind + "Probe")
            if p:
                c.probe_next[kind] = t0 + p.get("initialDelaySeconds", 0)
        log(self.key, c.name, "started pid", c.proc.pid, argv)

    def stop_container(self, c, grace):
        if not c.proc or c.proc.poll() is not None:
            return
        try:
            os.killpg(c.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            c.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log(self.key, c.name, "did not stop in", grace, "s: SIGKILL")
        try:
            os.killpg(c.proc.pid, signal.SIGKILL)  # whatever is left in its group
        except ProcessLookupError:
            pass
        c.proc.wait()

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

    def grace(self):
        md = self.pod["metadata"]
        g = md.get("deletionGracePeriodSeconds")
        if g is None:
            g = self.pod["spec"].get("terminationGracePeriodSeconds", 30)
        return max(int(g), 1)

    def reap(self, c, restart_policy):
        """A container whose process ended: record it, schedule a restart."""
        rc = c.proc.returncode
        code = 128 - rc if rc < 0 else rc  # killed by signal N -> 128+N
        c.last_term = {"terminated": {"exitCode": code,
                                      "reason": "Completed" if code == 0 else "Error",
                                      "startedAt": c.started_at, "finishedAt": now()}}
        log(self.key, c.name, "exited with", code)
        c.proc, c.ready = None, False
        if restart_policy == "Never" or (restart_policy == "OnFailure" and code == 0):
            c.state = c.last_term
            c.done = True
            return
        # Back-off 10 s doubling to 5 min; reset after 10 min of good running.
        if time.time() - c.run_since > 600:
            c.backoff = 0
        c.backoff = 10 if not c.backoff else min(c.backoff * 2, 300)
        c.next_start = time.time() + c.backoff
        c.restarts += 1
        c.state = {"waiting": {"reason": "CrashLoopBackOff",
                               "message": f"back-off {c.backoff}s restarting failed container="
                                          f"{c.name} pod={self.name}_{self.ns}({self.uid})"}}

    # -- status ------------------------------------------------------------

    def cond(self, typ, ok, reason=None):
        st = "True" if ok else "False"
        prev = self.times.get(typ)
        if not prev or prev[0] != st:
            self.times[typ] = (st, now())
        c = {"type": typ, "status": st, "lastProbeTime": None,
             "lastTransitionTime": self.times[typ][1]}
        if reason and not ok:
            c["reason"] = reason
        return c

    def cstatus(self, c, init=False):
        s = {"name": c.name, "image": c.spec["image"], "imageID": "",
             "containerID": f"process://{c.proc.pid}" if c.proc else "",
             "state": c.state, "ready": c.ready, "restartCount": c.restarts,
             "started": c.proc is not None and c.proc.poll() is None}
        if c.last_term:
            s["lastState"] = c.last_term
        if init:
            s.pop("started")
        return s

    def status(self):
        pol = self.pod["spec"].get("restartPolicy", "Always")
        cs = self.containers
        all_ready = all(c.ready for c in cs)
        done = [getattr(c, "done", False) for c in cs]
        if all(done) and pol != "Always":
            ok = all(c.state["terminated"]["exitCode"] == 0 for c in cs)
            phase = "Succeeded" if ok else "Failed"
        elif any(c.proc is not None or c.restarts or getattr(c, "done", False) for c in cs):
            phase = "Running"
        else:
            phase = "Pending"
        st = {"phase": phase, "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
              "startTime": self.start_time,
              "conditions": [
                  self.cond("PodReadyToStartContainers", self.ip is not None),
                  self.cond("Initialized", self.init_done, "ContainersNotInitialized"),
                  self.cond("Ready", all_ready and self.init_done, "ContainersNotReady"),
                  self.cond("ContainersReady", all_ready and self.init_done,
                            "ContainersNotReady"),
                  self.cond("PodScheduled", True)],
              "containerStatuses": [self.cstatus(c) for c in cs]}
        if self.inits:
            st["initContainerStatuses"] = [self.cstatus(c, True) for c in self.inits]
        if self.ip:
            st["podIP"], st["podIPs"] = self.ip, [{"ip": self.ip}]
        if self.waiting_reason:
            for c in cs + self.inits:
                if "waiting" in c.state:
                    c.state = {"waiting": {"reason": "ContainerCreating",
                                           "message": self.waiting_reason}}
            st["containerStatuses"] = [self.cstatus(c) for c in cs]
        return st

    def push_status(self):
        st = self.status()
        if st == self.last_status:
            return
        try:
            self.kl.api.request("PATCH", f"/api/v1/namespaces/{self.ns}/pods/{self.name}/status",
                                {"metadata": {"uid": self.uid}, "status": st},
                                "application/merge-patch+json")
            self.last_status = copy.deepcopy(st)
        except ApiError as e:
            if e.status != 404:
                log(self.key, "status:", e)

    # -- main loop ---------------------------------------------------------

    def run(self):
        try:
            self.loop()
        except Exception as e:
            log(self.key, "worker crashed:", repr(e))
            traceback.print_exc()
        finally:
            self.shut_down(self.grace() if not self.gone.is_set() else 1)

    def loop(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        pol = self.pod["spec"].get("restartPolicy", "Always")
        while not self.kl.stopping.is_set() and not self.gone.is_set():
            if self.pod["metadata"].get("deletionTimestamp"):
                return self.delete()
            try:
                if self.ip is None:
                    self.set_up_network()
                if self.volumes is None:
                    self.volumes = self.set_up_volumes()
                self.step(pol)
                self.waiting_reason = None
            except RuntimeError as e:
                if self.waiting_reason != str(e):
                    log(self.key, "waiting:", e)
                self.waiting_reason = str(e)
            except Exception as e:  # API or host trouble: report it, try again
                if self.waiting_reason != repr(e):
                    log(self.key, "error:", repr(e))
                self.waiting_reason = repr(e)
            self.push_status()
            self.kl.stopping.wait(1)

    def step(self, pol):
        if not self.init_done:
            for c in self.inits:
                if getattr(c, "done", False):
                    continue
                if c.proc is None:
                    if time.time() >= c.next_start:
                        self.start_container(c)
                    return
                if c.proc.poll() is None:
                    return
                self.reap(c, "OnFailure" if pol == "Always" else pol)
                if not getattr(c, "done", False):
                    return
            self.init_done = True
        for c in self.containers:
            if getattr(c, "done", False):
                continue
            if c.proc is not None and c.proc.poll() is not None:
                self.reap(c, pol)
            if c.proc is None and not getattr(c, "done", False) and time.time() >= c.next_start:
                self.start_container(c)
            if c.proc is not None:
                if not any(c.spec.get(k) for k in ("readinessProbe",)):
                    c.ready = c.proc.poll() is None
                self.run_probes(c)

    def shut_down(self, grace):
        for c in self.containers + self.inits:
            self.stop_container(c, grace)
        self.tear_down_network()

    def delete(self):
        """Graceful deletion: stop, then confirm as a kubelet does (grace 0)."""
        grace = self.grace()
        log(self.key, "deleting, grace", grace, "s")
        for c in self.containers + self.inits:
            self.stop_container(c, grace)
        for c in self.containers:
            if c.last_term is None and c.started_at:
                c.state = {"terminated": {"exitCode": 0, "reason": "Completed",
                                          "startedAt": c.started_at, "finishedAt": now()}}
        self.tear_down_network()
        self.ip = None
        try:
            self.kl.api.request("DELETE", f"/api/v1/namespaces/{self.ns}/pods/{self.name}",
                                {"kind": "DeleteOptions", "apiVersion": "v1",
                                 "gracePeriodSeconds": 0,
                                 "preconditions": {"uid": self.uid}})
        except ApiError as e:
            if e.status not in (404, 409):
                log(self.key, "confirm delete:", e)
        shutil.rmtree(self.dir / "volumes", ignore_errors=True)  # emptyDirs; PVs stay
        log(self.key, "deleted")


# --------------------------------------------------------------------------
# The kubelet.

class Kubelet:
    def __init__(self, args):
        self.args = args
        self.dir = Path(args.dir).resolve()
        self.node = args.node_name
        self.api = Client(self.dir / "kubeconfig-node")
        self.admin = Client(self.dir / "kubeconfig")
        self.stopping = threading.Event()
        self.started = now()
        self.workers = {}  # uid -> PodWorker
        self.ips, self.ip_lock = {}, threading.Lock()
        self.lock = threading.Lock()

    def allocate_ip(self, uid):
        with self.ip_lock:
            if uid in self.ips:
                return self.ips[uid]
            used = set(self.ips.values())
            for h in list(BRIDGE_NET.hosts())[1:]:
                if str(h) not in used:
                    self.ips[uid] = str(h)
                    return str(h)
        raise RuntimeError("no free pod IP")

    def release_ip(self, uid):
        with self.ip_lock:
            self.ips.pop(uid, None)

    # -- /etc/hosts: the Services' names, since there is no DNS -------------

    def hosts_file(self, w):
        p = w.dir / "hosts"
        if not p.exists():
            self.write_hosts(w, [])
        return p

    def write_hosts(self, w, services):
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost",
                 f"{GATEWAY}\tkubernetes kubernetes.default kubernetes.default.svc "
                 "kubernetes.default.svc.cluster.local"]
        if w is not None and w.ip:
            sub = w.pod["spec"].get("subdomain")
            fq = f" {w.hostname()}.{sub}.{w.ns}.svc.cluster.local" if sub else ""
            lines.append(f"{w.ip}\t{w.hostname()}{fq}")
        for ns, name, ip in services:
            names = f"{name}.{ns}.svc {name}.{ns}.svc.cluster.local {name}.{ns}"
            if w is not None and ns == w.ns:
                names = name + " " + names
            lines.append(f"{ip}\t{names}")
        text = "\n".join(lines) + "\n"
        p = (w.dir / "hosts") if w is not None else (self.dir / "hosts")
        if not p.exists() or p.read_text() != text:
            # Rewritten in place, never replaced: it is bind-mounted by inode.
            with open(p, "a+") as f:
                f.seek(0)
                f.truncate()
                f.write(text)
            os.chmod(p, 0o644)

    def service_entries(self):
        """(ns, service, ip of a pod it selects): ready pods first."""
        svcs = self.api.get("/api/v1/services")["items"]
        with self.lock:
            workers = list(self.workers.values())
        out = []
        for s in svcs:
            sel = s["spec"].get("selector")
            if not sel:
                continue
            cands = [w for w in workers if w.ns == s["metadata"]["namespace"] and w.ip and
                     all((w.pod["metadata"].get("labels") or {}).get(k) == v
                         for k, v in sel.items())]
            cands.sort(key=lambda w: not all(c.ready for c in w.containers))
            if cands:
                out.append((s["metadata"]["namespace"], s["metadata"]["name"], cands[0].ip))
                # StatefulSet pods by name through a headless Service.
                for w in cands:
                    if w.pod["spec"].get("subdomain") == s["metadata"]["name"]:
                        out.append((w.ns, f"{w.hostname()}.{s['metadata']['name']}", w.ip))
        return out

    def hosts_loop(self):
        while not self.stopping.is_set():
            try:
                entries = self.service_entries()
                with self.lock:
                    workers = list(self.workers.values())
                for w in workers:
                    if w.dir.exists():
                        self.write_hosts(w, entries)
                self.write_hosts(None, entries)  # DIR/hosts: for tests on the host
            except Exception as e:
                log("hosts:", e)
            self.stopping.wait(2)

    # -- pods --------------------------------------------------------------

    def on_pod(self, typ, pod):
        uid = pod["metadata"]["uid"]
        with self.lock:
            w = self.workers.get(uid)
            if typ == "DELETED":
                if w:
                    w.gone.set()
                    self.workers.pop(uid, None)
                return
            if w is None:
                if pod.get("status", {}).get("phase") in ("Succeeded", "Failed") or \
                        pod["metadata"].get("deletionTimestamp"):
                    if pod["metadata"].get("deletionTimestamp"):
                        # Nothing runs for it here (e.g. after a kubelet restart).
                        w = PodWorker(self, pod)
                        w.pod = pod
                        self.workers[uid] = w
                        w.start()
                    return
                w = PodWorker(self, pod)
                self.workers[uid] = w
                log("pod", w.key, "added")
                w.start()
            else:
                w.pod = pod

    def sync_list(self, items):
        seen = set()
        for p in items:
            seen.add(p["metadata"]["uid"])
            self.on_pod("MODIFIED", p)
        with self.lock:
            gone = [u for u in self.workers if u not in seen]
        for u in gone:
            self.on_pod("DELETED", {"metadata": {"uid": u}})

    def watch_pods(self):
        path = "/api/v1/pods"
        sel = {"fieldSelector": f"spec.nodeName={self.node}"}
        rv = None
        while not self.stopping.is_set():
            try:
                if rv is None:
                    lst = self.api.get(path, **sel)
                    rv = lst["metadata"]["resourceVersion"]
                    self.sync_list(lst["items"])
                for ev in self.api.watch(path, dict(sel, resourceVersion=rv)):
                    if ev["type"] == "ERROR":
                        if ev["object"].get("code") == 410:
                            rv = None  # too old: list again
                        break
                    rv = ev["object"]["metadata"]["resourceVersion"]
                    if ev["type"] != "BOOKMARK":
                        self.on_pod(ev["type"], ev["object"])
            except ApiError as e:
                log("pod watch:", e)
                if e.status == 410:
                    rv = None
                self.stopping.wait(2)
            except Exception as e:
                log("pod watch:", repr(e))
                self.stopping.wait(2)

    def write_etc(self):
        etc = self.dir / "kubelet-etc"
        etc.mkdir(exist_ok=True)
        passwd, group = Path("/etc/passwd").read_text(), Path("/etc/group").read_text()
        have = {int(l.split(":")[2]) for l in passwd.splitlines() if l.count(":") >= 2}
        extra = {u: n for u, n in USERS.items() if u not in have}
        (etc / "passwd").write_text(passwd + "".join(
            f"{n}:x:{u}:{u}::/nonexistent:/usr/sbin/nologin\n" for u, n in extra.items()))
        (etc / "group").write_text(group + "".join(f"{n}:x:{u}:\n" for u, n in extra.items()))

    def run(self):
        set_up_bridge()
        self.write_etc()
        (self.dir / "pods").mkdir(exist_ok=True)
        node = NodeAgent(self)
        node.register()
        node.renew_lease()
        relay = ApiRelay(self)
        for target in (node.run, Provisioner(self).run, self.watch_pods, self.hosts_loop,
                       relay.run):
            threading.Thread(target=target, daemon=True).start()

        def stop(*_):
            self.stopping.set()
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stopping.wait()
        log("stopping: terminating the pods' processes")
        relay.sock.close()
        with self.lock:
            workers = list(self.workers.values())
        for w in workers:
            w.join(timeout=90)
        log("stopped")


def container_main(cfg_path):
    """Inside the pod's network namespace and a fresh mount+UTS namespace:
    mount what the container sees, then become the container's program."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    ms_rdonly, ms_remount, ms_bind, ms_rec, ms_private = 1, 32, 4096, 16384, 1 << 18

    def mount(src, dst, flags):
        if libc.mount(src.encode() if src else None, dst.encode(), None, flags, None) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"mount {src} {dst}: {os.strerror(e)}")

    cfg = json.loads(Path(cfg_path).read_text())
    mount(None, "/", ms_rec | ms_private)
    # Open every source first: a mount at /tmp would otherwise hide sources
    # that live under /tmp (DIR often does). The kernel follows
    # /proc/self/fd/N to the opened file whatever its path shows now.
    fds = [(os.open(src, os.O_PATH), os.path.isdir(src)) for src, _, _ in cfg["mounts"]]
    for (fd, is_dir), (src, dst, ro) in zip(fds, cfg["mounts"]):
        d = Path(dst)
        if is_dir:
            d.mkdir(parents=True, exist_ok=True)
        else:
            d.parent.mkdir(parents=True, exist_ok=True)
            if not d.exists():
                d.touch()
        mount(f"/proc/self/fd/{fd}", dst, ms_bind | ms_rec)
        if ro:
            mount(None, dst, ms_remount | ms_bind | ms_rdonly)
        os.close(fd)
    socket.sethostname(cfg["hostname"])
    os.chdir(cfg["cwd"])
    argv = cfg["argv"]
    os.execvpe(argv[0], argv, cfg["env"])


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "_container":
        return container_main(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--backend")
    ap.add_argument("--controller")
    ap.add_argument("--node-name", default="sandbox-node")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("kubelet: needs root (network and mount namespaces, setpriv)")
    Kubelet(args).run()


if __name__ == "__main__":
    sys.exit(main())
