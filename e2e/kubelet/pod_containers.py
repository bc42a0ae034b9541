"""A pod's containers as local processes: which program an image stands for,
the environment, user and mounts each gets, starting one in the pod's
namespaces, stopping it, and recording its end (restart back-off).
container_main() is the other side: `kubelet.py _container CFG` runs it in
the container's fresh namespaces before it becomes the program."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from kubelet_common import API_RELAY_PORT, E2E, HERE, log, now

# The script a container's helper process runs (`kubelet.py _container`).
KUBELET_PY = HERE / "kubelet.py"


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


class PodContainers:
    """Part of PodWorker: uses self.kl, self.pod, self.ns, self.name,
    self.uid, self.key, self.dir, self.netns, self.volumes, self.psc(),
    self.source_data() and self.field()."""

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
             "--propagation", "private", sys.executable, str(KUBELET_PY),
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
