"""exo-install render as a user runs it: flags, exit codes, messages, files.

The output is read back with PyYAML, an independent YAML 1.1 reader (the
family Kubernetes' own YAML library belongs to), so a string that such a
reader would take for a number or a boolean fails here.
"""
import base64
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

BIN = os.environ.get("EXO_INSTALL", "build/installer/exo-install")
ROOT = Path(__file__).resolve().parents[3]
SECRET = "s3cr3t-Pw"


def run(*args, check=False):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}: {p.stderr}")
    return p


def render(*args):
    p = run("render", *args, check=True)
    return p, list(yaml.safe_load_all(p.stdout))


def kinds(docs):
    return [f"{d['kind']}/{d['metadata']['name']}" for d in docs]


def test_default_render_is_the_bundled_control_plane_in_apply_order():
    _, docs = render()
    assert kinds(docs) == [
        "Namespace/exo",
        "CustomResourceDefinition/exocontrolplanes.exo.dev",
        "ServiceAccount/exo-controller",
        "PersistentVolumeClaim/exo-casts",
        "Role/exo-controller",
        "RoleBinding/exo-controller",
        "Service/exo-postgres",
        "StatefulSet/exo-postgres",
        "Deployment/exo-controller",
        "ExoControlPlane/exo",
    ]


def test_same_flags_give_identical_bytes():
    a = run("render", "--namespace", "n1", check=True).stdout
    b = run("render", "--namespace", "n1", check=True).stdout
    assert a == b and len(a) > 5000


def test_a_yaml_1_1_reader_sees_the_intended_types():
    _, docs = render()
    cr = docs[-1]
    assert cr["spec"]["retention"]["maintenanceInterval"] == "24h"
    assert cr["spec"]["backend"]["replicas"] == 1
    assert cr["spec"]["backend"]["resources"]["limits"]["cpu"] == "1"
    for d in docs:
        for k, v in d["metadata"]["labels"].items():
            assert isinstance(v, str), (d["metadata"]["name"], k, v)
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    c = sts["spec"]["template"]["spec"]["containers"][0]
    assert c["ports"][0]["containerPort"] == 5432
    assert c["resources"]["limits"]["cpu"] == "2"
    crd = docs[1]
    enum = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"][
        "properties"]["conditions"]["items"]["properties"]["status"]["enum"]
    assert enum == ["True", "False", "Unknown"]


def test_hostile_password_cannot_change_the_manifest_structure():
    password = 'p: "#\nkind: Namespace\n- x'
    escaped = password.replace("\\", "\\\\").replace("'", "\\'")
    dsn = f"host=db.example.com user=exo dbname=exo sslmode=require password='{escaped}'"
    p, docs = render("--postgres=false", "--db-dsn", dsn, "--include-secrets")
    assert "Secret/exo-database" in kinds(docs)
    assert len([d for d in docs if d["kind"] == "Namespace"]) == 1
    secret = next(d for d in docs if d["kind"] == "Secret" and
                  d["metadata"]["name"] == "exo-database")
    assert base64.b64decode(secret["data"]["dsn"]).decode() == dsn
    assert "password" in p.stderr  # the warning that the Secret carries it
    assert password not in p.stderr


def test_managed_mode_renders_no_postgres_objects_and_no_secret():
    """For GitOps: no Secret in the output, not even the DSN given on the
    command line (a GitOps tool would put it back over the one provided out
    of band); stderr says which Secret to provide."""
    p, docs = render("--postgres=false", "--db-dsn",
                     "postgres://exo:Zq9-not-rendered@db.example.com/exo?sslmode=verify-full")
    assert not [d for d in docs if "postgres" in d["metadata"]["name"]]
    assert not [d for d in docs if d["kind"] == "Secret"], kinds(docs)
    assert "Secret exo-database (key dsn, the DSN) is not in the output" in p.stderr
    assert "Zq9-not-rendered" not in p.stdout


def test_include_secrets_generates_values_and_warns():
    p, docs = render("--include-secrets")
    assert "warning" in p.stderr and "Git" in p.stderr
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    assert set(secrets) == {"exo-postgres", "exo-database", "exo-encryption", "exo-bootstrap"}
    assert len(base64.b64decode(secrets["exo-bootstrap"]["data"]["token"])) >= 32
    key = base64.b64decode(base64.b64decode(secrets["exo-encryption"]["data"]["key"]))
    assert len(key) == 32
    pw = base64.b64decode(secrets["exo-postgres"]["data"]["password"]).decode()
    assert pw in base64.b64decode(secrets["exo-database"]["data"]["dsn"]).decode()
    _, again = render("--include-secrets")
    assert again != docs


def test_default_render_prints_no_secret_and_no_warning():
    p, docs = render()
    assert not [d for d in docs if d["kind"] == "Secret"]
    assert p.stderr == ""


def test_version():
    p = run("--version", check=True)
    assert p.stdout.startswith("exo-install ")
    assert run("render", "--version", check=True).stdout == p.stdout
    _, docs = render()
    assert docs[0]["metadata"]["labels"]["app.kubernetes.io/version"] == p.stdout.split()[1]


def test_help_lists_every_flag_with_its_default():
    p = run("render", "--help", check=True)
    for flag in ["--namespace", "--postgres=true|false", "--db-dsn", "--db-ca-file",
                 "--storage-class", "--cast-storage-size", "--cast-access-mode",
                 "--postgres-storage-size", "--backend-image", "--controller-image",
                 "--backend-replicas", "--retention-days", "--include-secrets", "--output-dir"]:
        assert flag in p.stdout, flag
    for default in ["(default exo)", "(default 20Gi)", "(default 10Gi)", "(default 1)",
                    "(default 90)", "(default true)"]:
        assert default in p.stdout, default
    assert run("--help", check=True).stdout.count("render") >= 1


BAD = [
    (["--postgres=false"], "--db-dsn"),
    (["--db-dsn", "host=db"], "--postgres=false"),
    (["--postgres=false", "--db-dsn", f"host=db password={SECRET} sslmode=bogus"], "--db-dsn"),
    (["--postgres=false", "--db-dsn", f"host=db password='{SECRET}"], "--db-dsn"),
    (["--postgres=false", "--db-dsn", f"host=db password={SECRET} x"], "--db-dsn"),
    (["--postgres=false", "--db-dsn", f"postgres://exo:{SECRET}%zz@db/exo"], "--db-dsn"),
    (["--postgres=false", "--db-dsn", f"postgres://exo:{SECRET}@db:99999/exo"], "--db-dsn"),
    (["--postgres=false", "--db-dsn", f"user=exo password={SECRET}"], "--db-dsn"),
    (["--frobnicate"], "--frobnicate"),
    (["-x"], "-x"),
    (["--namespace"], "--namespace"),
    (["--namespace", "Exo_Prod"], "--namespace"),
    (["--cast-storage-size", "20GB"], "--cast-storage-size"),
    (["--postgres-storage-size", "0"], "--postgres-storage-size"),
    (["--backend-image", "Not An Image"], "--backend-image"),
    (["--controller-image", "exo::1"], "--controller-image"),
    (["--backend-replicas", "2"], "ReadWriteMany"),
    (["--backend-replicas", "-1"], "--backend-replicas"),
    (["--backend-replicas", "two"], "--backend-replicas"),
    (["--retention-days", "0"], "--retention-days"),
    (["--postgres=maybe"], "--postgres"),
    (["--postgres", "false"], "--postgres=false"),
    (["--include-secrets=yes"], "--include-secrets"),
    (["--storage-class", "Fast SSD"], "--storage-class"),
    (["--cast-access-mode", "RWX"], "--cast-access-mode"),
    (["--postgres=false", "--db-dsn", "host=db", "--db-ca-file", "/nonexistent/ca.pem"],
     "--db-ca-file"),
    (["--db-ca-file", "/etc/hostname"], "--db-ca-file"),
]


@pytest.mark.parametrize("args,names", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, names):
    out = tmp_path / "out"
    p = run("render", *args, "-o", str(out))
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert names in lines[0]
    assert lines[0].startswith("exo-install render: ")
    assert SECRET not in p.stderr
    assert not out.exists()


def test_non_pem_ca_file_is_refused(tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    p = run("render", "--postgres=false", "--db-dsn", "host=db", "--db-ca-file", str(bogus))
    assert p.returncode == 2 and "no PEM certificate" in p.stderr


def test_ca_file_becomes_a_configmap_the_resource_references():
    ca = ROOT / "docs/examples/database-ca.pem"
    p, docs = render("--postgres=false", "--db-dsn", "host=db sslmode=verify-full",
                     "--db-ca-file", str(ca))
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    assert cm["data"]["ca.crt"] == ca.read_text()
    assert docs[-1]["spec"]["database"]["caConfigMapRef"] == {"name": cm["metadata"]["name"],
                                                              "key": "ca.crt"}
    assert p.stderr.splitlines() == [
        "note: Secret exo-database (key dsn, the DSN) is not in the output: provide it out of "
        "band, or add --include-secrets (docs/gitops.md)"]
    p, _ = render("--postgres=false", "--db-dsn", "host=db sslmode=require",
                  "--db-ca-file", str(ca))
    assert "verify-full" in p.stderr


def test_ca_file_warnings_follow_what_libpq_checks():
    """No sslmode is verify-full (the CA is used: no warning); require
    checks the CA but not the name; prefer checks nothing."""
    ca = str(ROOT / "docs/examples/database-ca.pem")
    note = ["note: Secret exo-database (key dsn, the DSN) is not in the output: provide it out "
            "of band, or add --include-secrets (docs/gitops.md)"]
    p, _ = render("--postgres=false", "--db-dsn", "host=db", "--db-ca-file", ca)
    assert p.stderr.splitlines() == note
    p, _ = render("--postgres=false", "--db-dsn", "postgresql://exo@db/exo", "--db-ca-file", ca)
    assert p.stderr.splitlines() == note
    p, _ = render("--postgres=false", "--db-dsn", "host=db sslmode=require", "--db-ca-file", ca)
    assert p.stderr.splitlines()[1:] == [
        "warning: --db-ca-file: with sslmode=require the CA is checked but not the server's "
        "name; use sslmode=verify-full"]
    p, _ = render("--postgres=false", "--db-dsn", "host=db sslmode=prefer", "--db-ca-file", ca)
    assert p.stderr.splitlines()[1:] == [
        "warning: --db-ca-file is not used with sslmode=prefer: no certificate is checked; use "
        "sslmode=verify-full"]


def test_output_dir_holds_one_file_per_object_and_a_kustomization(tmp_path):
    out = tmp_path / "m"
    run("render", "-o", str(out), "--include-secrets", check=True)
    k = yaml.safe_load((out / "kustomization.yaml").read_text())
    files = sorted(p.name for p in out.iterdir() if p.name != "kustomization.yaml")
    assert k["resources"] == files  # listed in apply order, which is also name order
    for name in files:
        doc = yaml.safe_load((out / name).read_text())
        mode = stat.S_IMODE((out / name).stat().st_mode)
        assert mode == (0o600 if doc["kind"] == "Secret" else 0o644), name


def test_rerender_removes_what_is_no_longer_rendered(tmp_path):
    out = tmp_path / "m"
    run("render", "-o", str(out), check=True)
    assert any("statefulset" in p.name for p in out.iterdir())
    (out / "README.md").write_text("mine\n")  # not ours: kept
    run("render", "-o", str(out), "--postgres=false", "--db-dsn", "host=db", check=True)
    names = {p.name for p in out.iterdir()}
    assert not [n for n in names if "postgres" in n]
    assert "README.md" in names


def test_foreign_directory_is_not_touched(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    p = run("render", "-o", str(tmp_path))
    assert p.returncode == 2 and "-o" in p.stderr
    assert [x.name for x in tmp_path.iterdir()] == ["notes.txt"]


def test_kubectl_kustomize_accepts_the_output_dir(tmp_path):
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed (scripts/install-deps.sh)"
    out = tmp_path / "m"
    run("render", "-o", str(out), check=True)
    k = subprocess.run([kubectl, "kustomize", str(out)], capture_output=True, text=True,
                       timeout=120)
    assert k.returncode == 0, k.stderr
    _, docs = render()
    assert kinds(list(yaml.safe_load_all(k.stdout))) == kinds(docs)


def test_checked_in_manifests_match_the_binary(tmp_path):
    subprocess.run([str(ROOT / "scripts/render-manifests.sh"), BIN, str(tmp_path)], check=True,
                   capture_output=True, timeout=60)
    d = subprocess.run(["diff", "-r", str(ROOT / "manifests"), str(tmp_path)],
                       capture_output=True, text=True)
    assert d.returncode == 0, "manifests/ is stale: run `make manifests`\n" + d.stdout[:2000]
