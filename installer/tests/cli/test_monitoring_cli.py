"""exo-install render's monitoring flags: opt-in objects for the Prometheus
Operator and Grafana, absent from the default rendering."""
import json
import os
import subprocess

import yaml

BIN = os.environ.get("EXO_INSTALL", "build/installer/exo-install")
MONITORING_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}


def run(*args):
    return subprocess.run([BIN, "render", *args], capture_output=True, text=True, timeout=60)


def docs(*args):
    p = run(*args)
    assert p.returncode == 0, p.stderr
    return list(yaml.safe_load_all(p.stdout))


def test_default_rendering_has_no_monitoring_object():
    rendered = docs()
    assert not MONITORING_KINDS & {d["kind"] for d in rendered}
    assert not any(d["metadata"]["name"] == "exo-grafana-dashboard" for d in rendered)


def test_each_flag_adds_its_objects_last_in_the_namespace():
    rendered = docs("--namespace", "obs", "--service-monitor", "--prometheus-rule",
                    "--grafana-dashboard")
    tail = [(d["kind"], d["metadata"]["name"]) for d in rendered[-4:]]
    assert tail == [("ServiceMonitor", "exo-backend"), ("PodMonitor", "exo-controller"),
                    ("PrometheusRule", "exo"), ("ConfigMap", "exo-grafana-dashboard")]
    assert all(d["metadata"]["namespace"] == "obs" for d in rendered[-4:])
    assert [d["kind"] for d in docs("--prometheus-rule")][-1] == "PrometheusRule"


def test_every_alert_has_a_runbook_anchor_and_the_install_namespace():
    rule = docs("--namespace", "obs", "--prometheus-rule",
                "--runbook-url", "https://wiki.example/exo/runbooks")[-1]
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    assert len(alerts) >= 8
    for a in alerts:
        assert a["annotations"]["runbook_url"] == \
            "https://wiki.example/exo/runbooks#" + a["alert"].lower()
        assert 'namespace="obs"' in a["expr"], a["alert"]
        assert a["labels"]["severity"] in ("critical", "warning")


def test_dashboard_configmap_carries_the_sidecar_label_and_valid_json():
    cm = docs("--grafana-dashboard")[-1]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dash = json.loads(cm["data"]["exo.json"])
    assert dash["uid"] == "exo-overview" and dash["panels"]
    # Grafana's own variables survive: the installer expands none inside it.
    assert '$namespace' in cm["data"]["exo.json"]


def test_bad_runbook_url_and_compose_are_refused_in_one_line():
    p = run("--prometheus-rule", "--runbook-url", "wiki/runbooks#x")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--runbook-url" in p.stderr
    p = run("--format", "compose", "--service-monitor")
    assert p.returncode == 2 and "--service-monitor is for Kubernetes" in p.stderr
