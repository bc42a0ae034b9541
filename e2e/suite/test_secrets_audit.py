"""Last in the suite: no secret the run made (the database DSN and its
password, the encryption key, the bootstrap token, the Postgres password, a
refused password) is in any log line, Event, status, error message or
rendered manifest the run produced. See e2e/audit/secrets_audit.py."""
import os
import subprocess

import yaml
from conftest import AUDIT, EXO_INSTALL, audit_harvest, audit_output
import secrets_audit


def test_rendered_manifests_hold_no_secret():
    """Rendering for GitOps with every DSN the run used: no Secret is in the
    output (the exo-database one is provided out of band) and the password
    in no other object; compose takes it from the environment."""
    audit_harvest()
    dsns = [v for k, v in AUDIT.needles().items()
            if k.startswith("Secret ") and k.split("#")[0].endswith("key dsn")]
    assert dsns, "no exo-database Secret was harvested during the run"
    for dsn in dsns:
        for fmt in ("yaml", "compose"):
            p = subprocess.run([EXO_INSTALL, "render", "--postgres=false", "--db-dsn", dsn,
                                "--format", fmt], capture_output=True, text=True)
            assert p.returncode == 0, p.stderr
            if fmt == "yaml":
                rendered = [d for d in yaml.safe_load_all(p.stdout) if d]
                assert rendered and not [d for d in rendered if d["kind"] == "Secret"]
            audit_output(f"render-{fmt}", p)


def test_no_secret_in_any_log_event_status_error_or_manifest(capsys):
    audit_harvest()
    paths = [os.environ["EXO_E2E_DIR"]] if "EXO_E2E_DIR" in os.environ else []
    rc = secrets_audit.scan(AUDIT, paths)
    report = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + report, end="")
    assert rc == 0, report
