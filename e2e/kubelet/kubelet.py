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

This file is the entry point and the node's part (registration, heartbeat,
provisioner, bridge and API relay, the pod watch, /etc/hosts). A pod's own
work is PodWorker (pod_worker.py), one concern per module: pod_network.py,
pod_volumes.py, pod_containers.py (and container_main, which
`kubelet.py _container CFG` runs inside the container's namespaces),
pod_probes.py, pod_status.py. kube_api.py is the API client,
kubelet_common.py what they all share.
"""
import argparse
import os
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from kube_api import ApiError, Client
from kubelet_common import (API_RELAY_PORT, BRIDGE, BRIDGE_NET, GATEWAY, USERS, log, now,
                            now_micro, sh)
from pod_containers import container_main
from pod_worker import PodWorker

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
# Pod networking: the bridge (each pod's namespace: pod_network.py), and the
# relay through which pods reach the API server.

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
