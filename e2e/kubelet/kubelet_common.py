"""What every part of the process kubelet shares: the pod network's numbers
(EXO_E2E_NET), the images' users, logging, timestamps, running a command."""
import datetime
import ipaddress
import os
import subprocess
import sys
import time
from pathlib import Path

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


def sh(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True)
