"""The monitoring objects and the metrics they read, checked by the
ecosystem's own tools:
- the Prometheus Operator's CRDs (pinned, from its Go module) applied to the
  sandbox, and the rendered ServiceMonitor, PodMonitor and PrometheusRule
  accepted by the API server's schema validation (server-side apply; a
  malformed ServiceMonitor is refused, so the schema is really enforced);
- promtool check metrics on a live scrape of exo-controller (on the sandbox)
  and exo-backend (on the host, against PostgreSQL 16 as the backend's
  integration tests run it);
- every metric the rules and the dashboard query is in those scrapes."""
import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from common import (EXTERNAL_METRICS, INSTALL, ROOT, monitoring_objects, queries,  # noqa: F401
                    tools)

sys.path.insert(0, str(ROOT / "e2e"))
sys.path.insert(0, str(ROOT / "backend/tests/integration"))
import controller_harness as ch  # noqa: E402
from pgserver import PgServer, free_port  # noqa: E402

CONTROLLER = os.environ.get("EXO_CONTROLLER", str(ROOT / "build/controller/exo-controller"))
BACKEND = os.environ.get("EXO_BACKEND", str(ROOT / "build/backend/exo-backend"))
NS = "exo"
TOKEN = "monitoring-test-bootstrap-token-0123456789"


@pytest.fixture(scope="module")
def cluster():
    """A sandbox with the namespace prepared, one ExoControlPlane, and
    exo-controller reconciling it."""
    with ch.controller_on_sandbox(CONTROLLER, NS, "monitoring-sandbox.") as (sb, ctl):
        ch.create_ecps(sb, NS, 1)
        ch.wait_converged(sb, NS, 1, timeout=120, ctl=ctl)
        yield sb, ctl


def scrape(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


@pytest.fixture(scope="module")
def controller_scrape(cluster):
    _, ctl = cluster
    return scrape(f"http://127.0.0.1:{ctl.port}/metrics")


@contextlib.contextmanager
def backend_on_pg(casts):
    """PostgreSQL 16 and exo-backend serving on it, its first maintenance
    pass done; yields (pg, base URL)."""
    import base64
    pg = PgServer().start()
    p = None
    try:
        pg.createdb("monitoring")
        port = free_port()
        env = dict(os.environ, EXO_DATABASE_DSN=pg.dsn("monitoring"),
                   EXO_ENCRYPTION_KEY=base64.b64encode(os.urandom(32)).decode(),
                   EXO_HTTP_ADDR=f"127.0.0.1:{port}", EXO_BOOTSTRAP_TOKEN=TOKEN,
                   EXO_CAST_STORAGE_DIR=str(casts), EXO_MAINTENANCE_INTERVAL="1h")
        p = subprocess.Popen([BACKEND, "serve"], env=env, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            text = ""
            try:
                text = scrape(base + "/metrics")
            except OSError:
                pass
            if "exo_maintenance_runs_total 1" in text:
                break
            assert p.poll() is None, "exo-backend exited"
            time.sleep(0.05)
        yield pg, base
    finally:
        if p:
            p.terminate()
            p.wait(timeout=60)
        pg.stop()


@pytest.fixture(scope="module")
def backend_scrape(tmp_path_factory):
    """exo-backend serving, after a few API requests (so the per-route series
    exist), scraped once."""
    with backend_on_pg(tmp_path_factory.mktemp("casts")) as (_, base):
        for path in ("/api/v1/deployments", "/api/v1/deployments/7", "/api/v1/nothing"):
            req = urllib.request.Request(base + path,
                                         headers={"Authorization": f"Bearer {TOKEN}"})
            try:
                urllib.request.urlopen(req, timeout=10).read()
            except urllib.error.HTTPError:
                pass
        return scrape(base + "/metrics")


def gauges(text):
    return {k: float(v) for k, v in (line.rsplit(" ", 1) for line in text.splitlines()
                                     if line and not line.startswith("#") and "{" not in line)}


def readyz(base):
    try:
        return urllib.request.urlopen(base + "/readyz", timeout=30).status
    except urllib.error.HTTPError as e:
        return e.code


def test_database_up_and_ready_follow_the_database(tmp_path):
    """The inputs of ExoDatabaseUnreachable and ExoBackendNotReady, live: the
    database stopped, the readiness check sees it and /metrics says 0
    (answering at once: a scrape never waits for the database); started
    again, 1."""
    with backend_on_pg(tmp_path) as (pg, base):
        m = gauges(scrape(base + "/metrics"))
        assert (m["exo_database_up"], m["exo_ready"]) == (1, 1)
        pg.pg_ctl("stop", "-m", "fast", "-w")
        assert readyz(base) == 503
        t0 = time.monotonic()
        m = gauges(scrape(base + "/metrics"))
        assert time.monotonic() - t0 < 1
        assert (m["exo_database_up"], m["exo_ready"]) == (0, 0)
        pg.pg_ctl("start", "-w", "-t", "60", "-l", str(pg.log))
        for _ in range(100):
            if readyz(base) == 200:
                break
            time.sleep(0.1)
        m = gauges(scrape(base + "/metrics"))
        assert (m["exo_database_up"], m["exo_ready"]) == (1, 1)


@pytest.fixture(scope="module")
def operator_crds(cluster, tools):
    """The Prometheus Operator's CRDs (pinned) applied and Established."""
    sb, _ = cluster
    crds = sorted(Path(tools["crds"]).glob("*.yaml"))
    assert len(crds) == 3
    for crd in crds:
        sb.k("apply", "--server-side", "-f", str(crd))
    for name in ("servicemonitors", "podmonitors", "prometheusrules"):
        sb.k("wait", "--for=condition=Established", f"crd/{name}.monitoring.coreos.com")
    return crds


def kubectl_apply(sb, docs):
    return subprocess.run(["kubectl", "--kubeconfig", sb.kubeconfig, "--request-timeout=60s",
                           "apply", "--server-side", "--field-manager=exo-monitoring-test",
                           "-f", "-"], input="\n---\n".join(yaml.safe_dump(d) for d in docs),
                          capture_output=True, text=True, timeout=120)


def test_rendered_monitoring_objects_pass_the_operators_crd_schemas(cluster, operator_crds):
    sb, _ = cluster
    objs = monitoring_objects(NS)
    p = kubectl_apply(sb, objs)
    assert p.returncode == 0, p.stderr
    for kind, name in (("servicemonitor", "exo-backend"), ("podmonitor", "exo-controller"),
                       ("prometheusrule", "exo"), ("configmap", "exo-grafana-dashboard")):
        got = json.loads(sb.k("-n", NS, "get", kind, name, "-o", "json"))
        assert got["metadata"]["name"] == name
    rule = json.loads(sb.k("-n", NS, "get", "prometheusrule", "exo", "-o", "json"))
    assert len(rule["spec"]["groups"][0]["rules"]) == \
        len(next(o for o in objs if o["kind"] == "PrometheusRule")["spec"]["groups"][0]["rules"])


def test_the_api_server_refuses_a_servicemonitor_its_schema_rejects(cluster, operator_crds):
    """The acceptance above means something: the same object with a field of
    the wrong type is refused by the same validation."""
    sb, _ = cluster
    bad = next(o for o in monitoring_objects(NS) if o["kind"] == "ServiceMonitor")
    bad["metadata"]["name"] = "exo-backend-bad"
    bad["spec"]["endpoints"][0]["interval"] = "every 30 seconds"
    p = kubectl_apply(sb, [bad])
    assert p.returncode != 0 and "interval" in p.stderr, p.stderr


def test_install_applies_prunes_and_uninstalls_the_monitoring_objects(cluster, operator_crds):
    sb, _ = cluster
    ns = "exo-mon"
    names = ["servicemonitor/exo-backend", "podmonitor/exo-controller", "prometheusrule/exo",
             "configmap/exo-grafana-dashboard"]

    def install(*flags, cmd="install"):
        p = subprocess.run([INSTALL, cmd, "--kubeconfig", sb.kubeconfig, "--namespace", ns,
                            "--wait=false", *flags], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        return p

    def present():
        out = sb.k("-n", ns, "get", "servicemonitors,podmonitors,prometheusrules,configmaps",
                   "-o", "name")
        return [n for n in names if n in out.replace(".monitoring.coreos.com", "")]

    install("--service-monitor", "--prometheus-rule", "--grafana-dashboard")
    assert present() == names
    p = install("--service-monitor")
    assert "PrometheusRule.monitoring.coreos.com exo pruned" in p.stdout + p.stderr
    assert present() == names[:2]
    p = install(cmd="uninstall")
    assert "ServiceMonitor.monitoring.coreos.com exo-backend deleted" in p.stdout + p.stderr
    assert present() == []


def promtool_check_metrics(tools, text):
    return subprocess.run([tools["promtool"], "check", "metrics"], input=text,
                          capture_output=True, text=True, timeout=60)


def test_promtool_check_metrics_on_a_live_controller_scrape(tools, controller_scrape):
    assert "exo_controller_reconcile_total" in controller_scrape
    p = promtool_check_metrics(tools, controller_scrape)
    assert p.returncode == 0 and not (p.stdout + p.stderr).strip(), p.stdout + p.stderr


def test_promtool_check_metrics_on_a_live_backend_scrape(tools, backend_scrape):
    assert 'route="/api/v1/deployments/{id}"' in backend_scrape
    p = promtool_check_metrics(tools, backend_scrape)
    assert p.returncode == 0 and not (p.stdout + p.stderr).strip(), p.stdout + p.stderr


def names_in(text):
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines()
            if line and not line.startswith("#")}


# PromQL's functions, aggregations and keywords: identifiers that are no metric.
NOT_METRICS = {"sum", "max", "min", "count", "avg", "by", "without", "rate", "increase",
               "histogram_quantile", "time", "on", "and", "or", "unless", "le",
               "label_values", "ignoring", "group_left", "group_right", "bool"}


def metrics_in(expr):
    expr = re.sub(r'"[^"]*"', '""', expr)          # label values
    expr = re.sub(r"\{[^}]*\}", "{}", expr)         # label matchers
    expr = re.sub(r"\[[^\]]*\]", "[]", expr)        # ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    expr = re.sub(r"\blabel_values\(([^,)]*),[^)]*\)", r"\1", expr)     # Grafana: its label
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)) - NOT_METRICS
    return {n for n in names if not re.fullmatch(r"\d+[smhd]?", n)}


def test_every_metric_the_rules_and_dashboard_query_is_in_the_live_scrapes(
        controller_scrape, backend_scrape):
    scraped = names_in(controller_scrape) | names_in(backend_scrape)
    used = set().union(*(metrics_in(e) for e in queries()))
    assert {"exo_ready", "exo_controller_reconcile_errors_total",
            "exo_http_request_duration_seconds_bucket"} <= used
    missing = used - scraped - EXTERNAL_METRICS
    assert not missing, f"queried but never exposed: {sorted(missing)}"


def test_metric_names_are_read_from_promql_as_metrics_not_labels_or_functions():
    assert metrics_in('histogram_quantile(0.95, sum by (le, route) (rate('
                      'exo_http_request_duration_seconds_bucket{namespace="x",code=~"5.."}[5m])))'
                      ) == {"exo_http_request_duration_seconds_bucket"}
    assert metrics_in("time() - max by (namespace) (a_seconds{n=\"1\"}) > 1.5 * max(b)") == \
        {"a_seconds", "b"}
    assert metrics_in("label_values(exo_ready, namespace)") == {"exo_ready"}
