"""exo-install install/status/uninstall/key as a user runs them, without a
cluster: --help, bad flags (one line, exit 2, nothing contacted), and a
kubeconfig that cannot be used (one line, exit 1). The commands against a
cluster are tested in e2e/suite."""
import json
import os
import socket
import subprocess

import pytest

BIN = os.environ.get("EXO_INSTALL", "build/installer/exo-install")


def run(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def one_line(p, status):
    assert p.returncode == status, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


def test_top_level_help_lists_every_command():
    out = run("--help").stdout
    for cmd in ("render", "install", "status", "uninstall", "key export", "key import"):
        assert f"  {cmd}" in out, out


@pytest.mark.parametrize("cmd", [["install"], ["status"], ["uninstall"], ["key", "export"],
                                 ["key", "import"]])
def test_help_lists_every_flag_the_command_takes(cmd):
    p = run(*cmd, "--help")
    assert p.returncode == 0 and p.stderr == ""
    for flag in ("--kubeconfig", "--context", "--namespace", "--help"):
        assert flag in p.stdout, (cmd, flag)


def test_install_help_has_render_flags_and_its_own():
    out = run("install", "--help").stdout
    for flag in ("--postgres=true|false", "--db-dsn", "--db-ca-file", "--storage-class",
                 "--backend-image", "--wait=true|false", "--timeout", "--skip-db-check"):
        assert flag in out, flag
    for render_only in ("--include-secrets", "--output-dir", "--format", "--publish"):
        assert render_only not in out, render_only


@pytest.mark.parametrize("args,want", [
    (["install", "--format", "compose"], "unknown flag --format (see exo-install install --help)"),
    (["install", "--include-secrets"], "unknown flag --include-secrets"),
    (["install", "-o", "dir"], "unknown flag -o"),
    (["install", "--timeout", "soon"], "--timeout \"soon\": want a duration"),
    (["install", "--timeout", "0s"], "--timeout \"0s\""),
    (["install", "--wait=maybe"], "--wait=\"maybe\": want true or false"),
    (["install", "--skip-db-check"], "--skip-db-check is for a managed database"),
    (["install", "--postgres=false"], "--postgres=false needs --db-dsn"),
    (["install", "--namespace", "Exo"], "--namespace \"Exo\": not a valid namespace name"),
    (["install", "stray"], "unexpected argument \"stray\""),
    (["status", "--output", "xml"], "--output \"xml\": want table or json"),
    (["status", "--purge"], "unknown flag --purge"),
    (["uninstall", "--timeout", "1d"], "--timeout \"1d\""),
    (["uninstall", "--wait=no"], "--wait=\"no\""),
    (["key", "rotate"], "unknown command \"rotate\" (want export or import)"),
    (["key", "import"], "--key-file is required"),
    (["key", "export", "--key-file", "k"], "unknown flag --key-file"),
    (["key", "import", "--recipient", "k"], "unknown flag --recipient"),
    (["key", "export", "--output", "json"], "unknown flag --output"),
])
def test_bad_flags_are_one_line_and_exit_2(args, want):
    line = one_line(run(*args), 2)
    assert want in line, line


def test_a_missing_kubeconfig_is_named(tmp_path):
    missing = tmp_path / "nope"
    for cmd in (["install"], ["status"], ["uninstall"], ["key", "export"]):
        line = one_line(run(*cmd, "--kubeconfig", str(missing)), 1)
        assert str(missing) in line, line


def test_an_unknown_context_is_named(tmp_path):
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "a",
           "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
           "users": [{"name": "u", "user": {"token": "t0ken-s3cret"}}],
           "contexts": [{"name": "a", "context": {"cluster": "c", "user": "u"}}]}
    path = tmp_path / "config"
    path.write_text(json.dumps(cfg))
    line = one_line(run("status", "--kubeconfig", str(path), "--context", "b"), 1)
    assert "\"b\"" in line or " b" in line, line


def test_an_unreachable_server_is_one_line_without_the_token(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "a",
           "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
           "users": [{"name": "u", "user": {"token": "t0ken-s3cret"}}],
           "contexts": [{"name": "a", "context": {"cluster": "c", "user": "u"}}]}
    path = tmp_path / "config"
    path.write_text(json.dumps(cfg))
    for cmd in (["install"], ["status"], ["uninstall"], ["key", "export"]):
        p = run(*cmd, "--kubeconfig", str(path))
        line = one_line(p, 1)
        assert f"127.0.0.1:{port}" in line and "refused" in line, line
        assert "t0ken-s3cret" not in p.stdout + p.stderr


EVERY_COMMAND = [["render"], ["install"], ["status"], ["uninstall"], ["key", "export"],
                 ["key", "import"]]


@pytest.mark.parametrize("cmd", EVERY_COMMAND, ids=" ".join)
@pytest.mark.parametrize("args,want", [
    (["--frobnicate"], "unknown flag --frobnicate (see exo-install {cmd} --help)"),
    (["-x"], "unknown flag -x (see exo-install {cmd} --help)"),
    (["--namespace"], "--namespace needs a value"),
    (["--namespace", "Exo"], "--namespace \"Exo\": not a valid namespace name"),
    (["--help=1"], "--help takes no value"),
    (["stray"], "unexpected argument \"stray\" (flags only; see exo-install {cmd} --help)"),
])
def test_every_command_words_bad_flags_the_same(cmd, args, want):
    """One flag table and one parser (installer/flags.c): the same mistake
    gets the same message from every subcommand."""
    line = one_line(run(*cmd, *args), 2)
    name = " ".join(cmd)
    assert line.startswith(f"exo-install {name}: " + want.format(cmd=name)), line


@pytest.mark.parametrize("cmd", EVERY_COMMAND, ids=" ".join)
def test_every_command_has_help_and_version(cmd):
    help_ = run(*cmd, "--help")
    assert help_.returncode == 0 and help_.stderr == ""
    assert help_.stdout.startswith(f"Usage: exo-install {' '.join(cmd)} [flags]\n")
    for line in ("      --namespace NAME            namespace of the install (default exo)\n",
                 "      --help                      show this help\n",
                 "      --version                   print the version\n"):
        assert line in help_.stdout, (cmd, line)
    version = run(*cmd, "--version")
    assert version.returncode == 0 and version.stdout == run("--version").stdout


def test_install_and_uninstall_word_timeouts_the_same():
    for cmd in ("install", "uninstall"):
        line = one_line(run(cmd, "--timeout", "soon"), 2)
        assert line == (f"exo-install {cmd}: --timeout \"soon\": want a duration such as 90s, "
                        "10m or 1h30m (at most a week)"), line
    assert "(default 5m)" in run("uninstall", "--help").stdout
    assert "(default 10m)" in run("install", "--help").stdout
