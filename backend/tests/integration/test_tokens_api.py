"""API tokens against a real PostgreSQL 16: listed without their secret
(own tokens; an admin sees all), revoked (refused from the next request,
with an audit event naming who revoked which token), expiring, and a
revoked bootstrap token staying revoked across a restart."""
import json
import signal

import pytest

from test_api import TOKEN, Api, api  # noqa: F401  (the fixture)


def member(api, email="m@example.com"):
    st, u = api.call("POST", "/api/v1/users", {"email": email})
    assert st == 201
    return u["id"]


def make_token(api, user, token=None, **body):
    st, t = api.call("POST", f"/api/v1/users/{user}/tokens", body, token=token)
    assert st == 201, t
    return t


def tokens(api, token=None, query=""):
    st, out = api.call("GET", "/api/v1/tokens" + query, token=token)
    assert st == 200, out
    return out


def no_secret_in(text, *secrets):
    for s in secrets:
        assert s not in text
    assert "token_hash" not in text and '"token"' not in text


def test_listing_shows_own_tokens_and_an_admin_all_never_a_secret(api):
    m = member(api)
    a = make_token(api, m, name="laptop")
    b = make_token(api, m, token=a["token"], name="ci", expires_in="720h")
    other = make_token(api, member(api, "o@example.com"), name="other")
    mine = tokens(api, token=a["token"])
    assert [t["id"] for t in mine["tokens"]] == [b["id"], a["id"]]
    assert mine["next_cursor"] is None
    assert set(mine["tokens"][0]) == {"id", "user_id", "name", "created_at", "expires_at",
                                      "last_used_at", "expired"}
    assert mine["tokens"][0]["name"] == "ci" and mine["tokens"][0]["expires_at"].endswith("Z")
    assert mine["tokens"][1]["expires_at"] is None and mine["tokens"][1]["last_used_at"]
    everyone = tokens(api)
    assert {t["id"] for t in everyone["tokens"]} >= {a["id"], b["id"], other["id"]}
    assert len(everyone["tokens"]) == 4  # and the bootstrap token
    hashes = [h for (h,) in api.db.query("SELECT encode(token_hash, 'hex') FROM tokens")]
    for out in (mine, everyone):
        no_secret_in(json.dumps(out), TOKEN, a["token"], b["token"], other["token"], *hashes)


def test_token_listing_pages(api):
    m = member(api)
    made = [make_token(api, m)["id"] for _ in range(5)]
    first = tokens(api, query=f"?limit=2")
    assert len(first["tokens"]) == 2 and first["next_cursor"]
    second = tokens(api, query=f"?limit=2&cursor={first['next_cursor']}")
    third = tokens(api, query=f"?limit=2&cursor={second['next_cursor']}")
    listed = [t["id"] for p in (first, second, third) for t in p["tokens"]]
    assert listed[:5] == made[::-1] and len(listed) == 6 and third["next_cursor"] is None
    st, e = api.call("GET", "/api/v1/tokens?deployment_id=1")
    assert st == 400 and 'unknown query parameter "deployment_id"' in e["error"]["message"]


def test_a_revoked_token_is_refused_on_its_next_request_and_audited(api):
    m = member(api)
    t = make_token(api, m, name="laptop")
    assert api.call("GET", "/api/v1/deployments", token=t["token"])[0] == 200
    st, r = api.call("DELETE", f"/api/v1/tokens/{t['id']}")
    assert st == 200 and r["id"] == t["id"] and r["user_id"] == m and r["name"] == "laptop"
    assert r["revoked_at"].endswith("Z")
    st, e = api.call("GET", "/api/v1/deployments", token=t["token"])
    assert st == 401 and e["error"]["message"] == "unknown, expired or revoked token"
    assert t["id"] not in [x["id"] for x in tokens(api)["tokens"]]
    # Gone for good: a second revoke finds nothing.
    assert api.call("DELETE", f"/api/v1/tokens/{t['id']}")[0] == 404
    admin = api.db.query("SELECT id FROM users WHERE email = 'admin@exo.local'")[0][0]
    rows = api.db.query("SELECT user_id, action, detail FROM audit_events "
                        "WHERE action = 'token.revoke'")
    assert rows == [(admin, "token.revoke",
                     {"token_id": t["id"], "token_user_id": m, "token_name": "laptop"})]
    st, ev = api.call("GET", "/api/v1/audit-events")
    assert any(x["action"] == "token.revoke" and x["user_id"] == admin for x in ev["events"])


def test_a_member_revokes_own_tokens_only(api):
    m, o = member(api), member(api, "o@example.com")
    mine = make_token(api, m)
    spare = make_token(api, m)
    theirs = make_token(api, o)
    st, e = api.call("DELETE", f"/api/v1/tokens/{theirs['id']}", token=mine["token"])
    assert st == 404 and e["error"]["message"].startswith(f"no token {theirs['id']}")
    assert api.call("GET", "/api/v1/deployments", token=theirs["token"])[0] == 200
    # Its own token, even the one it is using: the next request is refused.
    assert api.call("DELETE", f"/api/v1/tokens/{spare['id']}", token=mine["token"])[0] == 200
    assert api.call("DELETE", f"/api/v1/tokens/{mine['id']}", token=mine["token"])[0] == 200
    assert api.call("GET", "/api/v1/tokens", token=mine["token"])[0] == 401
    rows = api.db.query("SELECT user_id, detail->>'token_id' FROM audit_events WHERE action = "
                        "'token.revoke' ORDER BY id")
    assert rows == [(m, str(spare["id"])), (m, str(mine["id"]))]
    for bad in ("abc", "0", "999"):
        assert api.call("DELETE", f"/api/v1/tokens/{bad}")[0] == 404


def test_an_expired_token_is_refused_and_listed_as_expired(api):
    m = member(api)
    t = make_token(api, m, expires_in="1h")
    delta = api.db.query("SELECT extract(epoch FROM expires_at - created_at) FROM tokens "
                         "WHERE id = %s", t["id"])[0][0]
    assert 3599 <= float(delta) <= 3601
    assert t["expires_at"].endswith("Z")
    d = make_token(api, m, expires_in_days=2)
    delta = api.db.query("SELECT extract(epoch FROM expires_at - created_at) FROM tokens "
                         "WHERE id = %s", d["id"])[0][0]
    assert 2 * 86400 - 1 <= float(delta) <= 2 * 86400 + 1
    assert api.call("GET", "/api/v1/deployments", token=t["token"])[0] == 200
    api.db.query("UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = %s "
                 "RETURNING id", t["id"])
    st, e = api.call("GET", "/api/v1/deployments", token=t["token"])
    assert st == 401 and "\n" not in e["error"]["message"]
    listed = {x["id"]: x["expired"] for x in tokens(api)["tokens"]}
    assert listed[t["id"]] is True and listed[d["id"]] is False
    assert make_token(api, m)["expires_at"] is None


@pytest.mark.parametrize("body,word", [
    ({"expires_in": "soon"}, '"expires_in" must be a duration'),
    ({"expires_in": "0s"}, '"expires_in" must be a duration'),
    ({"expires_in": "-1h"}, '"expires_in" must be a duration'),
    ({"expires_in": "87601h"}, '"expires_in" must be a duration'),
    ({"expires_in": 5}, 'field "expires_in" must be'),
    ({"expires_in": "1h", "expires_in_days": 1}, "not both"),
])
def test_bad_expiry_is_a_one_line_400_and_makes_nothing(api, body, word):
    before = api.db.query("SELECT count(*) FROM tokens")
    st, e = api.call("POST", "/api/v1/users/1/tokens", body)
    assert st == 400 and word in e["error"]["message"] and "\n" not in e["error"]["message"], e
    assert api.db.query("SELECT count(*) FROM tokens") == before


def test_token_creation_is_audited_and_needs_a_user(api):
    m = member(api)
    t = make_token(api, m, name="ci")
    rows = api.db.query("SELECT action, detail FROM audit_events WHERE action = 'token.create'")
    assert rows == [("token.create", {"token_id": t["id"], "token_user_id": m,
                                      "token_name": "ci"})]
    assert t["token"] not in json.dumps(api.db.query("SELECT * FROM audit_events"), default=str)
    st, e = api.call("POST", "/api/v1/users/999/tokens", {})
    assert st == 404 and e["error"]["message"] == "no user 999"


def test_a_revoked_bootstrap_token_stays_revoked_after_a_restart(db, tmp_path):
    p, port = db.serve(EXO_BOOTSTRAP_TOKEN=TOKEN)
    a = Api(port)
    spare = make_token(a, 1, name="spare")
    boot_id = [t["id"] for t in tokens(a)["tokens"] if t["name"] == "bootstrap"][0]
    assert a.call("DELETE", f"/api/v1/tokens/{boot_id}")[0] == 200
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 0
    p, port = db.serve(EXO_BOOTSTRAP_TOKEN=TOKEN)
    try:
        assert Api(port).call("GET", "/api/v1/deployments")[0] == 401
        assert Api(port, spare["token"]).call("GET", "/api/v1/deployments")[0] == 200
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 0


def test_post_tokens_makes_one_for_the_caller(api):
    m = member(api)
    mine = make_token(api, m)
    st, t = api.call("POST", "/api/v1/tokens", {"name": "self", "expires_in": "90m"},
                     token=mine["token"])
    assert st == 201 and t["user_id"] == m and t["name"] == "self" and t["expires_at"]
    assert api.call("GET", "/api/v1/deployments", token=t["token"])[0] == 200
    # A member still cannot make one for another user.
    assert api.call("POST", "/api/v1/users/1/tokens", {}, token=mine["token"])[0] == 403
