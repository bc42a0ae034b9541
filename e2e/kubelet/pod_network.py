"""A pod's network: its own network namespace with a veth pair to the
bridge, and a real pod IP from the kubelet's pool."""
from kubelet_common import BRIDGE, BRIDGE_NET, GATEWAY, sh


class PodNetwork:
    """Part of PodWorker: uses self.kl, self.uid, self.netns; sets self.ip."""

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
