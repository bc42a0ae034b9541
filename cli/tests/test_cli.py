"""The exo binary as a user runs it, against a real exo-backend on a real
PostgreSQL 16: tables and JSON, the error line and exit status of every
way a request fails, usage errors, and where the URL and token come from."""
import json
import re
import shutil
import socket
import subprocess
import time

import pytest

from cli_harness import ROOT, TOKEN, fake_server, free_port, run_exo

COLUMNS = ("ID", "NAME", "RETENTION", "CREATED")


def table(text):
    """Rows of a table as lists of cells, cut at the header's column starts:
    a cell out of line with its header shows up as a wrong value."""
    lines = text.splitlines()
    starts = [lines[0].index(c) for c in COLUMNS]
    assert lines[0].split() == list(COLUMNS), lines[0]
    return [[line[s:e].strip() for s, e in zip(starts, starts[1:] + [None])]
            for line in lines[1:]]


def one_line_error(p, status):
    assert p.returncode == status, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.startswith("exo: ") and p.stderr.count("\n") == 1, p.stderr
    return p.stderr.strip()


def test_help_lists_every_command_and_flag():
    top = run_exo("--help")
    dep = run_exo("deployment", "--help")
    assert top.returncode == 0 and dep.returncode == 0 and not top.stderr
    for text in (top.stdout, dep.stdout):
        for word in ("list", "create NAME", "get ID", "retention ID --days N|default",
                     "--retention-days", "--url", "--token", "--output table|json",
                     "--timeout", "--insecure", "--help", "EXO_URL", "EXO_TOKEN", "Exit status"):
            assert word in text, word
    assert "--version" in top.stdout
    # True to the binary: every flag the help names is one the binary takes.
    flags = set(re.findall(r"(--[a-z][a-z-]+)", top.stdout + dep.stdout))
    assert flags >= {"--url", "--token", "--output", "--timeout", "--insecure", "--help",
                     "--version", "--retention-days", "--days"}
    values = {"--url": "http://127.0.0.1:1", "--token": "t", "--output": "json",
              "--timeout": "5", "--retention-days": "5", "--days": "5"}
    # The top-level help also names the other groups' flags: those are
    # checked with their groups (test_cli_sessions_tokens.py).
    for flag in set(re.findall(r"(--[a-z][a-z-]+)", dep.stdout)) - {"--help", "--version"}:
        args = [flag, values[flag]] if flag in values else [flag]
        p = run_exo("deployment", "list", *args)
        assert "unknown flag" not in p.stderr, (flag, p.stderr)
    # And the per-command help is the same text wherever --help stands.
    assert run_exo("deployment", "create", "--help").stdout == dep.stdout
    assert run_exo("-h").stdout == top.stdout


def test_version_is_the_project_version():
    version = re.search(r"project\(exo VERSION (\S+)", (ROOT / "CMakeLists.txt").read_text())[1]
    p = run_exo("--version")
    assert (p.returncode, p.stdout) == (0, f"exo {version}\n")


def test_create_get_retention_list_as_tables(backend):
    p = backend.exo("deployment", "create", "prod")
    assert p.returncode == 0 and not p.stderr, p.stderr
    [[dep_id, name, retention, created]] = table(p.stdout)
    assert (name, retention) == ("prod", "default") and int(dep_id) > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", created), created

    p = backend.exo("deployment", "create", "a much longer name", "--retention-days", "7")
    assert p.returncode == 0, p.stderr
    [[other_id, _, retention, _]] = table(p.stdout)
    assert retention == "7 days"

    p = backend.exo("deployment", "get", dep_id)
    assert p.returncode == 0 and table(p.stdout) == [[dep_id, "prod", "default", created]]

    p = backend.exo("deployment", "retention", dep_id, "--days", "30")
    assert p.returncode == 0 and table(p.stdout) == [[dep_id, "prod", "30 days", created]]
    p = backend.exo("deployment", "retention", dep_id, "--days", "1")
    assert table(p.stdout)[0][2] == "1 day"

    p = backend.exo("deployment", "list")
    assert p.returncode == 0
    rows = table(p.stdout)
    assert [r[:3] for r in rows] == [[dep_id, "prod", "1 day"],
                                    [other_id, "a much longer name", "7 days"]]

    p = backend.exo("deployment", "retention", dep_id, "--days", "default")
    assert p.returncode == 0 and table(p.stdout)[0][2] == "default"
    assert backend.api("GET", f"/api/v1/deployments/{dep_id}")["retention_days"] is None


def test_json_output_is_the_api_object_as_received(backend):
    p = backend.exo("deployment", "create", "prod", "--retention-days", "30", "--output", "json")
    assert p.returncode == 0 and not p.stderr
    created = json.loads(p.stdout)
    assert created["name"] == "prod" and created["retention_days"] == 30
    assert created == backend.api("GET", f"/api/v1/deployments/{created['id']}")

    p = backend.exo("deployment", "get", str(created["id"]), "-o", "json")
    assert json.loads(p.stdout) == created
    # Stable: the same request gives the same bytes.
    assert backend.exo("deployment", "get", str(created["id"]), "-o", "json").stdout == p.stdout

    p = backend.exo("deployment", "retention", str(created["id"]), "--days", "default",
                    "--output", "json")
    assert json.loads(p.stdout) == dict(created, retention_days=None)

    p = backend.exo("--output", "json", "deployment", "list")
    assert p.returncode == 0
    assert json.loads(p.stdout) == backend.api("GET", "/api/v1/deployments")
    assert [d["name"] for d in json.loads(p.stdout)["deployments"]] == ["prod"]


def test_empty_list_says_so(backend):
    p = backend.exo("deployment", "list")
    assert (p.returncode, p.stdout) == (0, "No deployments.\n")
    p = backend.exo("deployment", "list", "--output", "json")
    assert json.loads(p.stdout) == {"deployments": []}


def test_names_cannot_drive_the_terminal(backend):
    p = backend.exo("deployment", "create", "evil\x1b[2J\nname")
    assert p.returncode == 0, p.stderr
    assert "\x1b" not in p.stdout and "evil\\x1b[2J\\nname" in p.stdout
    # JSON carries the name exactly, escaped as JSON.
    p = backend.exo("deployment", "list", "-o", "json")
    assert json.loads(p.stdout)["deployments"][0]["name"] == "evil\x1b[2J\nname"


def test_wrong_token_exits_1_and_never_shows_it(backend):
    secret = "wrong-secret-" + "s" * 30
    p = backend.exo("deployment", "list", EXO_TOKEN=secret)
    assert one_line_error(p, 1) == ("exo: the server refused the token (401): unknown, "
                                    "expired or revoked token — check EXO_TOKEN")
    assert secret not in p.stderr + p.stdout
    p = backend.exo("deployment", "list", "--token", secret)
    assert one_line_error(p, 1).endswith("check --token")
    assert secret not in p.stderr + p.stdout


def test_unknown_deployment_exits_1(backend):
    p = backend.exo("deployment", "get", "424242")
    assert one_line_error(p, 1) == "exo: no deployment 424242"
    p = backend.exo("deployment", "retention", "424242", "--days", "5")
    assert one_line_error(p, 1) == "exo: no deployment 424242"


def test_duplicate_name_exits_1_with_the_conflict(backend):
    assert backend.exo("deployment", "create", "prod").returncode == 0
    p = backend.exo("deployment", "create", "prod")
    assert one_line_error(p, 1) == 'exo: a deployment named "prod" exists'
    assert p.stdout == ""


def test_unreachable_server_exits_1_quickly():
    url = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    p = run_exo("deployment", "list", env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
    assert time.monotonic() - start < 5
    assert one_line_error(p, 1) == (f"exo: cannot reach {url}: Couldn't connect to server "
                                    "(is EXO_URL right?)")
    assert TOKEN not in p.stderr
    # A password in the URL is not shown either; the hint names the flag used.
    port = url.rsplit(":", 1)[1]
    p = run_exo("deployment", "list", "--url", f"http://ada:pa55word@127.0.0.1:{port}/",
                env={"EXO_TOKEN": TOKEN})
    assert one_line_error(p, 1) == (f"exo: cannot reach http://ada:***@127.0.0.1:{port}/: "
                                    "Couldn't connect to server (is --url right?)")


def test_silent_server_times_out_after_timeout():
    # A listening socket nobody accepts from: the connect succeeds, no answer comes.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        start = time.monotonic()
        p = run_exo("deployment", "create", "x", "--timeout", "1",
                    env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
        took = time.monotonic() - start
    assert 0.9 < took < 5
    msg = one_line_error(p, 1)
    assert msg.startswith(f"exo: {url} did not answer within 1s") and "may have been made" in msg


def test_non_json_answer_names_the_status():
    with fake_server(502, "<html>Bad Gateway</html>", "text/html") as (url, _):
        p = run_exo("deployment", "list", env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
    assert one_line_error(p, 1) == (f"exo: the server at {url} answered 502 with a body that "
                                    "is not JSON (is EXO_URL the Exo API?)")
    with fake_server(200, "ok") as (url, _):
        p = run_exo("deployment", "list", env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
    assert "answered 200 with a body that is not JSON" in one_line_error(p, 1)
    # JSON, but not what the table needs: said so, not a crash.
    with fake_server(200, '{"items": []}') as (url, _):
        p = run_exo("deployment", "list", env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
    assert 'no "deployments" list' in one_line_error(p, 1)


def test_an_answer_past_64_mib_is_refused_naming_the_limit():
    """exo holds at most 64 MiB of an answer (its reply buffer's cap): one
    byte more is an error naming the limit, not an allocation."""
    big = b'{"deployments": [], "pad": "' + b"x" * (64 << 20) + b'"}'
    with fake_server(200, big) as (url, _):
        p = run_exo("deployment", "list", env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
    assert one_line_error(p, 1) == "exo: the server's answer (200) is larger than 64 MiB"


def test_server_errors_name_the_status():
    body = json.dumps({"error": {"code": "database_unavailable",
                                 "message": "the database connection was lost"}})
    with fake_server(503, body) as (url, _):
        p = run_exo("deployment", "get", "1", env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
    assert one_line_error(p, 1) == ("exo: the server failed (503): the database connection "
                                    "was lost")


def test_requests_carry_the_token_and_json_bodies():
    answer = '{"id": 3, "name": "x", "retention_days": null, "created_at": "2024-01-02T03:04:05.000006Z"}'
    with fake_server(200, answer) as (url, seen):
        p = run_exo("deployment", "retention", "3", "--days", "default",
                    env={"EXO_URL": url + "/", "EXO_TOKEN": TOKEN})
        assert p.returncode == 0, p.stderr
        assert table(p.stdout) == [["3", "x", "default", "2024-01-02 03:04:05 UTC"]]
        p = run_exo("deployment", "create", "x", "--retention-days", "12",
                    env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
        assert p.returncode == 0, p.stderr
    put, post = seen
    assert (put["method"], put["path"]) == ("PUT", "/api/v1/deployments/3/retention")
    assert put["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert put["headers"]["Content-Type"] == "application/json"
    assert json.loads(put["body"]) == {"days": None}
    assert (post["method"], post["path"]) == ("POST", "/api/v1/deployments")
    assert json.loads(post["body"]) == {"name": "x", "retention_days": 12}
    assert post["headers"]["User-Agent"].startswith("exo/")


def test_a_name_starting_with_a_dash_goes_after_double_dash():
    answer = '{"id": 1, "name": "-x", "retention_days": null, "created_at": "2024-01-02T03:04:05Z"}'
    with fake_server(201, answer) as (url, seen):
        p = run_exo("deployment", "create", "--", "-x", env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
    assert p.returncode == 0 and table(p.stdout)[0][1] == "-x"
    assert json.loads(seen[0]["body"]) == {"name": "-x"}


@pytest.mark.parametrize("args,word", [
    ([], "missing COMMAND"),
    (["frobnicate"], 'unknown command "frobnicate"'),
    (["--frob", "deployment", "list"], "unknown flag --frob"),
    (["deployment"], "missing COMMAND"),
    (["deployment", "frob"], 'unknown command "deployment frob"'),
    (["deployment", "list", "--bogus"], "unknown flag --bogus"),
    (["deployment", "list", "-x"], "unknown flag -x"),
    (["deployment", "list", "extra"], 'unexpected argument "extra"'),
    (["deployment", "list", "--output", "yaml"], "--output must be table or json"),
    (["deployment", "list", "--output"], "--output needs a value"),
    (["deployment", "list", "--insecure=yes"], "--insecure takes no value"),
    (["deployment", "list", "--timeout", "0"], "--timeout"),
    (["deployment", "list", "--timeout", "ten"], "--timeout"),
    (["deployment", "list", "--days", "3"], "--days is only for exo deployment retention"),
    (["deployment", "get"], "missing ID"),
    (["deployment", "get", "abc"], 'not "abc"'),
    (["deployment", "get", "0"], 'not "0"'),
    (["deployment", "get", "1", "2"], 'unexpected argument "2"'),
    (["deployment", "get", "1", "--retention-days", "3"], "--retention-days is only for"),
    (["deployment", "create"], "missing NAME"),
    (["deployment", "create", ""], "NAME is empty"),
    (["deployment", "create", "x", "--retention-days", "0"], "--retention-days must be"),
    (["deployment", "create", "x", "--retention-days", "36501"], "--retention-days must be"),
    (["deployment", "retention", "1"], "missing --days"),
    (["deployment", "retention", "1", "--days", "ten"], '--days must be a number of days'),
    (["deployment", "retention", "1", "--days", "-5"], '--days must be a number of days'),
    (["deployment", "retention", "x1", "--days", "5"], 'not "x1"'),
    (["--url", "ftp://example.org", "deployment", "list"], "--url must start with http://"),
    (["--url=", "deployment", "list"], "--url is empty"),
    (["deployment", "list", "--token", "abc\r\nX-Evil: 1"], "the token in --token holds a control"),
])
def test_usage_errors_exit_2_with_one_line(args, word):
    # A server that would answer: a usage error must not reach it.
    with fake_server(200, '{"deployments": []}') as (url, seen):
        p = run_exo(*args, env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
    assert word in one_line_error(p, 2)
    assert seen == [] and p.stdout == ""


def test_no_token_is_a_usage_error():
    p = run_exo("deployment", "list", env={"EXO_URL": "http://127.0.0.1:1"})
    assert one_line_error(p, 2) == "exo: no token: set EXO_TOKEN or pass --token"
    p = run_exo("deployment", "list", env={"EXO_URL": "http://127.0.0.1:1", "EXO_TOKEN": ""})
    assert p.returncode == 2


def test_flags_win_over_the_environment(backend):
    dead = f"http://127.0.0.1:{free_port()}"
    # Both from the environment.
    assert backend.exo("deployment", "list").returncode == 0
    # --url over a wrong EXO_URL, and over a right one.
    assert backend.exo("deployment", "list", "--url", backend.url, EXO_URL=dead).returncode == 0
    p = backend.exo("deployment", "list", "--url", dead)
    assert "cannot reach" in one_line_error(p, 1) and "is --url right?" in p.stderr
    # --token over a wrong EXO_TOKEN, and over a right one.
    assert backend.exo("deployment", "list", "--token", TOKEN,
                       EXO_TOKEN="wrong-" + "w" * 40).returncode == 0
    p = backend.exo("deployment", "list", "--token", "wrong-" + "w" * 40)
    assert "(401)" in one_line_error(p, 1) and p.stderr.strip().endswith("check --token")
    # Global flags before the command and after it mean the same.
    before = backend.exo("--output", "json", "--timeout", "5", "deployment", "list")
    after = backend.exo("deployment", "list", "--timeout", "5", "--output", "json")
    assert before.returncode == after.returncode == 0 and before.stdout == after.stdout


def test_default_url_is_local_port_8080():
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 8080)) == 0:
            pytest.skip("something listens on 127.0.0.1:8080")
    p = run_exo("deployment", "list", env={"EXO_TOKEN": TOKEN})
    assert one_line_error(p, 1).startswith("exo: cannot reach http://127.0.0.1:8080:")


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("no openssl to make a certificate")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    return str(d / "cert.pem"), str(d / "key.pem")


def test_https_is_verified_and_insecure_warns(self_signed):
    with fake_server(200, '{"deployments": []}', cert=self_signed) as (url, seen):
        p = run_exo("deployment", "list", env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
        msg = one_line_error(p, 1)
        assert msg.startswith(f"exo: cannot verify the TLS certificate of {url}:"), msg
        assert "--insecure" in msg and seen == []
        p = run_exo("deployment", "list", "--insecure", env={"EXO_URL": url, "EXO_TOKEN": TOKEN})
        assert p.returncode == 0 and p.stdout == "No deployments.\n"
        assert p.stderr.startswith("exo: warning: --insecure") and TOKEN not in p.stderr
        assert len(seen) == 1
