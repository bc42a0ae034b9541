"""A pod's status as the API server sees it: phase, conditions (with their
transition times), container statuses, pushed when it changes."""
import copy

from kube_api import ApiError
from kubelet_common import log, now


class PodStatus:
    """Part of PodWorker: uses self.kl, self.pod, self.ns, self.name,
    self.uid, self.key, self.ip, self.containers, self.inits,
    self.init_done, self.waiting_reason, self.start_time, self.times and
    self.last_status."""

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
