"""exo-install render --format compose: the same stack as the bundled
install, as a Compose file that Compose accepts and that runs."""
import base64
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from test_render_cli import BIN, ROOT, run

BACKEND = os.environ.get("EXO_BACKEND", "build/backend/exo-backend")


def compose(*args):
    p = run("render", "--format", "compose", *args, check=True)
    return p, yaml.safe_load(p.stdout)


def test_bundled_stack_has_postgres_and_backend_wired_together():
    _, c = compose()
    pg, be = c["services"]["postgres"], c["services"]["backend"]
    assert pg["image"] == "postgres:16-alpine" and pg["user"] == "70:70"
    assert pg["environment"]["PGDATA"].startswith(pg["volumes"][0].split(":")[1] + "/")
    assert "pg_isready" in pg["healthcheck"]["test"]
    assert be["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    dsn = be["environment"]["EXO_DATABASE_DSN"]
    assert "host=postgres" in dsn and "${EXO_POSTGRES_PASSWORD}" in dsn
    assert be["environment"]["EXO_ENCRYPTION_KEY"].startswith("${EXO_ENCRYPTION_KEY:?")
    assert be["volumes"] == ["casts:/var/lib/exo/casts"]
    assert be["ports"] == ["127.0.0.1:8080:8080"]
    assert be["user"] == "65532:65532" and be["read_only"] is True
    assert be["healthcheck"]["test"][-1] == "healthcheck"
    assert set(c["volumes"]) == {"pgdata", "casts"}
    # No secret value in the file itself.
    assert "password=" not in dsn.replace("password=${EXO_POSTGRES_PASSWORD}", "")


def test_managed_stack_is_the_backend_alone():
    _, c = compose("--postgres=false", "--db-dsn", "host=db.example.com user=exo dbname=exo")
    assert list(c["services"]) == ["backend"]
    assert "depends_on" not in c["services"]["backend"]
    assert list(c["volumes"]) == ["casts"]
    assert c["services"]["backend"]["environment"]["EXO_DATABASE_DSN"].startswith(
        "${EXO_DATABASE_DSN:?")


def test_kubernetes_only_flags_are_refused():
    for args, word in [(["--namespace", "x"], "--namespace"),
                       (["--storage-class", "gp3"], "--storage-class"),
                       (["--backend-replicas", "2"], "--backend-replicas"),
                       (["--include-secrets"], "-o DIR")]:
        p = run("render", "--format", "compose", *args)
        assert p.returncode == 2 and word in p.stderr, p.stderr
    p = run("render", "--publish", "127.0.0.1:9000")
    assert p.returncode == 2 and "--format compose" in p.stderr
    p = run("render", "--format", "helm")
    assert p.returncode == 2 and "--format" in p.stderr


def test_env_file_is_written_once_and_kept(tmp_path):
    p = run("render", "--format", "compose", "--include-secrets", "-o", str(tmp_path), check=True)
    env = tmp_path / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    first = env.read_text()
    key = [line for line in first.splitlines() if line.startswith("EXO_ENCRYPTION_KEY=")][0]
    assert len(base64.b64decode(key.split("=", 1)[1].strip("'"))) == 32
    assert "EXO_BOOTSTRAP_TOKEN='" in first
    assert ".env" in p.stderr and "back it up" in p.stderr
    p = run("render", "--format", "compose", "--include-secrets", "--publish", "0.0.0.0:9000",
            "-o", str(tmp_path), check=True)
    assert env.read_text() == first
    assert "kept" in p.stderr
    assert "0.0.0.0:9000:8080" in (tmp_path / "compose.yaml").read_text()


def test_docker_compose_accepts_the_file(tmp_path):
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is needed (scripts/install-deps.sh installs Debian's)"
    run("render", "--format", "compose", "--include-secrets", "-o", str(tmp_path), check=True)
    p = subprocess.run([exe, "--project-directory", str(tmp_path), "-f",
                        str(tmp_path / "compose.yaml"), "config", "-q"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    # Without .env, Compose refuses and names the variable.
    (tmp_path / ".env").unlink()
    p = subprocess.run([exe, "-f", str(tmp_path / "compose.yaml"), "config", "-q"],
                       capture_output=True, text=True, cwd=tmp_path,
                       env={k: v for k, v in os.environ.items() if not k.startswith("EXO_")})
    assert p.returncode != 0 and "EXO_" in p.stderr


def test_ca_file_is_mounted_for_verify_full(tmp_path):
    ca = ROOT / "docs/examples/database-ca.pem"
    run("render", "--format", "compose", "--postgres=false", "--db-dsn",
        "host=db user=exo sslmode=verify-full", "--db-ca-file", str(ca), "-o", str(tmp_path),
        check=True)
    c = yaml.safe_load((tmp_path / "compose.yaml").read_text())
    be = c["services"]["backend"]
    assert "./database-ca.crt:/etc/exo/database-ca/ca.crt:ro" in be["volumes"]
    assert be["environment"]["PGSSLROOTCERT"] == "/etc/exo/database-ca/ca.crt"
    assert (tmp_path / "database-ca.crt").read_text() == ca.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for its own network namespace")
def test_the_stack_runs_and_answers_readyz(tmp_path):
    run("render", "--format", "compose", "--include-secrets", "-o", str(tmp_path), check=True)
    p = subprocess.run([str(ROOT / "e2e/compose_local.py"), str(tmp_path), "--backend", BACKEND],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out == {"services": {"postgres": "healthy", "backend": "healthy"}, "readyz": 200}
