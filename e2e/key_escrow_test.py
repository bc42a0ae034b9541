"""exo-install key export --recipient and key import on the sandbox cluster
(no node needed: they only read and write Secrets).

The key leaves the cluster sealed to a recipient's RSA public key, is opened
with nothing but the `openssl` command as docs/backup.md says, and goes into
another namespace with `key import`; a key Secret that exists is never
overwritten, and no output or error ever holds the key.

Run: EXO_INSTALL=build/installer/exo-install python3 -m pytest e2e/key_escrow_test.py
(ctest e2e_key_escrow; starts its own sandbox, about 10 s warm)."""
import base64
import json
import os
import secrets
import shutil
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("EXO_INSTALL", os.path.join(ROOT, "build/installer/exo-install"))

# What docs/backup.md tells the holder of the private key to run.
OPEN_SEALED = ("openssl base64 -d -A -in {sealed} | openssl pkeyutl -decrypt -inkey {key} "
               "-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 "
               "-pkeyopt rsa_mgf1_md:sha256")


@pytest.fixture(scope="module")
def cluster():
    d = tempfile.mkdtemp(prefix="exo-key-")
    try:
        kc = subprocess.run([os.path.join(ROOT, "e2e/sandbox/up.sh"), d], check=True,
                            capture_output=True, text=True, timeout=600).stdout.strip()
        yield kc
    finally:
        subprocess.run([os.path.join(ROOT, "e2e/sandbox/down.sh"), d], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def kubectl(kc, *args, input=None, check=True):
    return subprocess.run(["kubectl", "--kubeconfig", kc, *args], input=input, check=check,
                          capture_output=True, text=True, timeout=60)


def exo_install(kc, *args, input=None):
    return subprocess.run([BIN, *args, "--kubeconfig", kc], input=input, capture_output=True,
                          text=True, timeout=120)


def new_key():
    return base64.b64encode(secrets.token_bytes(32)).decode()


def live_secret(kc, ns):
    p = kubectl(kc, "get", "secret", "exo-encryption", "-n", ns, "-o", "json", check=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


def live_key(kc, ns):
    return base64.b64decode(live_secret(kc, ns)["data"]["key"]).decode()


def one_line(p, status):
    assert p.returncode == status, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


def make_rsa(tmp_path, bits=3072):
    key, pub = tmp_path / f"r{bits}.key", tmp_path / f"r{bits}.pub"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    f"rsa_keygen_bits:{bits}", "-out", str(key)], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub)], check=True,
                   capture_output=True)
    return key, pub


def test_import_creates_the_secret_install_would(cluster):
    kubectl(cluster, "create", "namespace", "key-src")
    key = new_key()
    p = exo_install(cluster, "key", "import", "--namespace", "key-src", "--key-file", "-",
                    input=key + "\n")
    assert p.returncode == 0, p.stderr
    assert "created" in p.stdout and key not in p.stdout + p.stderr
    s = live_secret(cluster, "key-src")
    assert base64.b64decode(s["data"]["key"]).decode() == key
    labels = s["metadata"]["labels"]
    # As install labels it: its component, and the ApplySet install and
    # uninstall --purge go by.
    assert labels["app.kubernetes.io/component"] == "encryption"
    assert labels["applyset.kubernetes.io/part-of"].startswith("applyset-")
    p = exo_install(cluster, "key", "export", "--namespace", "key-src")
    assert p.returncode == 0 and p.stdout == key + "\n"


def test_sealed_export_opens_with_openssl_and_imports_elsewhere(cluster, tmp_path):
    kubectl(cluster, "create", "namespace", "key-a")
    key = new_key()
    assert exo_install(cluster, "key", "import", "--namespace", "key-a", "--key-file", "-",
                       input=key).returncode == 0
    priv, pub = make_rsa(tmp_path)
    p = exo_install(cluster, "key", "export", "--namespace", "key-a", "--recipient", str(pub))
    assert p.returncode == 0, p.stderr
    sealed = p.stdout
    assert key not in sealed and len(sealed.strip().splitlines()) == 1
    assert len(base64.b64decode(sealed)) == 3072 // 8
    (tmp_path / "sealed").write_text(sealed)
    opened = subprocess.run(OPEN_SEALED.format(sealed=tmp_path / "sealed", key=priv), shell=True,
                            check=True, capture_output=True, text=True).stdout
    assert opened == key
    # RSA-OAEP is randomised: the same key sealed twice differs.
    again = exo_install(cluster, "key", "export", "--namespace", "key-a", "--recipient", str(pub))
    assert again.stdout != sealed
    # Into a new namespace, as before a fresh install that restores a backup.
    kubectl(cluster, "create", "namespace", "key-b")
    p = subprocess.run(f"{OPEN_SEALED.format(sealed=tmp_path / 'sealed', key=priv)} | "
                       f"{BIN} key import --namespace key-b --key-file - --kubeconfig {cluster}",
                       shell=True, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert live_key(cluster, "key-b") == key


def test_an_existing_key_is_never_overwritten(cluster):
    kubectl(cluster, "create", "namespace", "key-keep")
    first, other = new_key(), new_key()
    assert exo_install(cluster, "key", "import", "--namespace", "key-keep", "--key-file", "-",
                       input=first).returncode == 0
    same = exo_install(cluster, "key", "import", "--namespace", "key-keep", "--key-file", "-",
                       input=first)
    assert same.returncode == 0 and "already holds this key" in same.stdout
    p = exo_install(cluster, "key", "import", "--namespace", "key-keep", "--key-file", "-",
                    input=other)
    line = one_line(p, 1)
    assert "already holds another key" in line and "never overwritten" in line, line
    assert first not in p.stdout + p.stderr and other not in p.stdout + p.stderr
    assert live_key(cluster, "key-keep") == first


def test_a_missing_namespace_is_named(cluster):
    p = exo_install(cluster, "key", "import", "--namespace", "key-nowhere", "--key-file", "-",
                    input=new_key())
    line = one_line(p, 1)
    assert "namespace key-nowhere does not exist" in line, line


@pytest.mark.parametrize("text", ["", "not base64 at all!", base64.b64encode(b"short").decode(),
                                  new_key() + " " + new_key()])
def test_a_file_that_is_not_a_key_is_refused_without_echoing_it(cluster, tmp_path, text):
    f = tmp_path / "key"
    f.write_text(text)
    p = exo_install(cluster, "key", "import", "--namespace", "default", "--key-file", str(f))
    line = one_line(p, 1)
    assert line.startswith(f"exo-install key import: --key-file {f}: "), line
    assert not text or text not in line
    assert live_secret(cluster, "default") is None


def test_a_recipient_that_cannot_be_used_is_named(cluster, tmp_path):
    kubectl(cluster, "create", "namespace", "key-r")
    key = new_key()
    exo_install(cluster, "key", "import", "--namespace", "key-r", "--key-file", "-", input=key)
    ec = tmp_path / "ec.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", str(ec)], check=True, capture_output=True)
    ec_pub = tmp_path / "ec.pub"
    subprocess.run(["openssl", "pkey", "-in", str(ec), "-pubout", "-out", str(ec_pub)],
                   check=True, capture_output=True)
    _, small = make_rsa(tmp_path, bits=1024)
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    for path, want in ((ec_pub, "want an RSA public key"), (small, "1024 bits; want at least 2048"),
                       (junk, "no PEM public key or certificate"),
                       (tmp_path / "absent.pem", "No such file")):
        p = exo_install(cluster, "key", "export", "--namespace", "key-r", "--recipient", str(path))
        line = one_line(p, 1)
        assert f"--recipient {path}: " in line and want in line, line
        assert p.stdout == "" and key not in p.stderr
