"""One thread per pod bound to this node: sets up its network and volumes,
runs its init containers then its containers, probes them, pushes its status
once a second, and stops it all when the pod is deleted or the kubelet
stops. Each concern lives in its own module, mixed in here."""
import shutil
import threading
import time
import traceback

from kube_api import ApiError
from kubelet_common import NETNS_PREFIX, log, now
from pod_containers import Container, PodContainers
from pod_network import PodNetwork
from pod_probes import PodProbes
from pod_status import PodStatus
from pod_volumes import PodVolumes


class PodWorker(PodNetwork, PodVolumes, PodContainers, PodProbes, PodStatus, threading.Thread):
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

    def psc(self):
        return self.pod["spec"].get("securityContext") or {}

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
