"""Shared by the monitoring tests: the pinned ecosystem tools
(scripts/install-monitoring-tools.sh) and the rendered monitoring objects."""
import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INSTALL = os.environ.get("EXO_INSTALL", str(ROOT / "build/installer/exo-install"))
# What the rules and the dashboard may name without a live scrape holding it:
# Prometheus's own per-target series, and kube-state-metrics' restart counter
# (ExoBackendBootFailing: a backend that exits at boot is never scraped).
EXTERNAL_METRICS = {"up", "kube_pod_container_status_restarts_total"}


@pytest.fixture(scope="session")
def tools():
    """{"promtool": path, "crds": dir}; the tests skip, saying why, only when
    the tools cannot be built here (no Go, no module proxy)."""
    p = subprocess.run([str(ROOT / "scripts/install-monitoring-tools.sh")],
                       capture_output=True, text=True, timeout=3000)
    if p.returncode != 0:
        pytest.skip("monitoring tools cannot be built: "
                    + (p.stderr.strip().splitlines() or ["?"])[-1])
    return dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)


def render(*flags):
    p = subprocess.run([INSTALL, "render", *flags], capture_output=True, text=True, timeout=60,
                       check=True)
    return list(yaml.safe_load_all(p.stdout))


def monitoring_objects(namespace="exo"):
    return render("--namespace", namespace, "--service-monitor", "--prometheus-rule",
                  "--grafana-dashboard")[-4:]


def queries():
    """Every PromQL expression of the rules and the dashboard."""
    objs = monitoring_objects()
    rule = next(o for o in objs if o["kind"] == "PrometheusRule")
    cm = next(o for o in objs if o["kind"] == "ConfigMap")
    import json
    dash = json.loads(cm["data"]["exo.json"])
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    exprs += [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs.append(dash["templating"]["list"][1]["definition"])
    return exprs
