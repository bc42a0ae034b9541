"""The secrets audit's own checks, without a cluster: it finds a secret in a
log as is, base64-encoded, percent-encoded and JSON-escaped, names the file
and line but never prints the value, and leaves alone the places secrets are
meant to be."""
import base64
import json
import urllib.parse

import pytest

import secrets_audit as sa

KEY = "k3y/With+Slash=\"quote\""
PW = "p@ss w0rd:x"


@pytest.fixture
def work(tmp_path):
    w = sa.Work(tmp_path / "audit")
    w.add("Secret exo/exo-encryption key key", KEY)
    w.add("password in Secret exo/exo-database key dsn", PW)
    w.add("too short", "exo")
    return w


def run(work, capsys, *paths):
    rc = sa.scan(work, [str(p) for p in paths])
    return rc, capsys.readouterr().out


def test_clean_run_passes(work, tmp_path, capsys):
    (tmp_path / "run/pods/x").mkdir(parents=True)
    (tmp_path / "run/pods/x/backend.log").write_text('{"msg":"connected to host=db password=***"}\n')
    rc, out = run(work, capsys, tmp_path / "run")
    assert rc == 0 and "2 secrets" in out and "0 hits" in out


@pytest.mark.parametrize("form", [KEY, base64.b64encode(KEY.encode()).decode(),
                                  urllib.parse.quote(KEY, safe=""), json.dumps(KEY)[1:-1]])
def test_every_form_of_a_leak_is_found_and_not_printed(work, tmp_path, capsys, form):
    log = tmp_path / "run/pods/x/controller.log"
    log.parent.mkdir(parents=True)
    log.write_text("line one\nline two\n" + f'{{"msg":"{form}"}}\n')
    rc, out = run(work, capsys, tmp_path / "run")
    assert rc == 1
    assert f"{log}:3: Secret exo/exo-encryption key key" in out
    assert KEY not in out and form not in out


def test_where_secrets_belong_is_skipped(work, tmp_path, capsys):
    for rel in ("etcd/member/db", "pods/x/volumes/secret/key", "pods/x/backend.run.json",
                "kubeconfig", "pki/ca.key"):
        f = tmp_path / "run" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(KEY)
    rc, out = run(work, capsys, tmp_path / "run")
    assert rc == 0, out


def test_nothing_harvested_is_an_error_not_a_pass(tmp_path, capsys):
    rc, _ = run(sa.Work(tmp_path / "empty"), capsys, tmp_path)
    assert rc == 2


@pytest.mark.parametrize("dsn,pw", [
    ("host=db user=exo password=s3cret-pw dbname=exo", "s3cret-pw"),
    (r"host=db password='a\'b c' user=x", "a'b c"),
    ("postgresql://exo:p%40ss@db:5432/exo?sslmode=verify-full", "p@ss"),
    ("host=db user=exo dbname=exo", None),
])
def test_dsn_password(dsn, pw):
    assert sa.dsn_password(dsn) == pw
