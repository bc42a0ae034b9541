"""A pod's volumes on the host: emptyDirs, claims bound to hostPath volumes,
hostPaths, and the files projected from Secrets, ConfigMaps, service account
tokens and the downward API. source_data() and field() also serve the
containers' environment (pod_containers.py)."""
import base64
import os
import re
from pathlib import Path

from kube_api import ApiError


class PodVolumes:
    """Part of PodWorker: uses self.kl, self.pod, self.ns, self.name,
    self.uid, self.ip, self.dir and self.psc()."""

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
