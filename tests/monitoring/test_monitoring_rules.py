"""promtool (pinned, built from the Prometheus module) on the rendered
PrometheusRule: check rules, and test rules with rules_test.yaml, whose
cases fire and then resolve every alert from synthetic series."""
import shutil
import subprocess
from pathlib import Path

import yaml

from common import monitoring_objects, tools  # noqa: F401 (the fixture)

HERE = Path(__file__).resolve().parent


def write_rules(tmp_path):
    rule = next(o for o in monitoring_objects() if o["kind"] == "PrometheusRule")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
    shutil.copy(HERE / "rules_test.yaml", tmp_path / "rules_test.yaml")
    return rule


def promtool(tools, *args, cwd):
    return subprocess.run([tools["promtool"], *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_promtool_check_rules_accepts_the_rendered_rules(tools, tmp_path):
    write_rules(tmp_path)
    p = promtool(tools, "check", "rules", "rules.yaml", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "SUCCESS" in p.stdout + p.stderr


def test_promtool_test_rules_fires_and_resolves_every_alert(tools, tmp_path):
    rule = write_rules(tmp_path)
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    cases = yaml.safe_load((HERE / "rules_test.yaml").read_text())["tests"]
    fired, resolved = set(), set()
    for case in cases:
        for ev in case["alert_rule_test"]:
            (fired if ev["exp_alerts"] else resolved).add(ev["alertname"])
    assert alerts - fired == set(), "alerts no case fires"
    assert alerts - resolved == set(), "alerts no case resolves"
    p = promtool(tools, "test", "rules", "rules_test.yaml", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr


def test_promtool_test_rules_fails_when_an_alert_does_not_fire(tools, tmp_path):
    """The unit tests can fail: the same cases against rules whose backend
    alert waits longer than the case allows."""
    write_rules(tmp_path)
    rules = (tmp_path / "rules.yaml").read_text().replace("for: 5m", "for: 50m", 1)
    (tmp_path / "rules.yaml").write_text(rules)
    p = promtool(tools, "test", "rules", "rules_test.yaml", cwd=tmp_path)
    assert p.returncode != 0 and "ExoBackendDown" in p.stdout + p.stderr


def test_every_dashboard_query_is_promql_promtool_parses(tools, tmp_path):
    """Each panel's query, as a recording rule, through promtool check rules
    (Prometheus' own parser); Grafana's $variables sit inside label values."""
    import json
    cm = next(o for o in monitoring_objects() if o["kind"] == "ConfigMap")
    dash = json.loads(cm["data"]["exo.json"])
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 20
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"exo_dashboard_query_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    (tmp_path / "dashboard.yaml").write_text(yaml.safe_dump(rules))
    p = promtool(tools, "check", "rules", "dashboard.yaml", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    # The parser is strict: a broken query fails the same check.
    rules["groups"][0]["rules"][0]["expr"] = exprs[0] + " by"
    (tmp_path / "dashboard.yaml").write_text(yaml.safe_dump(rules))
    assert promtool(tools, "check", "rules", "dashboard.yaml", cwd=tmp_path).returncode != 0
