"""GET /api/v1/sessions against a real PostgreSQL 16: newest first, pages
by cursor that a session added meanwhile does not shift, filters by
deployment and by start time, and a one-line 400 naming every bad query
parameter."""
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from test_api import api  # noqa: F401  (the fixture)


def deployment(api, name):
    st, d = api.call("POST", "/api/v1/deployments", {"name": name})
    assert st == 201
    return d["id"]


def session(api, dep, hours_ago=None):
    st, s = api.call("POST", "/api/v1/sessions", {"deployment_id": dep})
    assert st == 201
    if hours_ago is not None:
        with api.db.connect() as c:
            c.execute("UPDATE sessions SET started_at = now() - make_interval(hours => %s) "
                      "WHERE id = %s", (hours_ago, s["id"]))
    return s["id"]


def listing(api, query=""):
    st, out = api.call("GET", "/api/v1/sessions" + query)
    assert st == 200, out
    assert set(out) == {"sessions", "next_cursor"}
    return out


def ids(out):
    return [s["id"] for s in out["sessions"]]


def test_empty_listing(api):
    assert listing(api) == {"sessions": [], "next_cursor": None}


def test_sessions_are_listed_newest_first_with_every_column(api):
    dep = deployment(api, "prod")
    made = [session(api, dep) for _ in range(3)]
    out = listing(api)
    assert ids(out) == made[::-1] and out["next_cursor"] is None
    assert out["sessions"][0] == api.call("GET", f"/api/v1/sessions/{made[-1]}")[1]
    assert set(out["sessions"][0]) == {"id", "deployment_id", "user_id", "started_at",
                                       "ended_at", "cast_bytes"}


def test_pages_follow_the_cursor_to_the_end(api):
    dep = deployment(api, "prod")
    made = [session(api, dep) for _ in range(7)]
    seen, cursor, pages = [], None, []
    while True:
        out = listing(api, "?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        pages.append(len(out["sessions"]))
        seen += ids(out)
        if pages == [3]:
            session(api, dep)  # a newer session does not shift the pages that follow
        cursor = out["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert pages == [3, 3, 1]
    assert seen == made[::-1]


def test_a_page_exactly_full_at_the_end_has_no_next_cursor(api):
    dep = deployment(api, "prod")
    made = [session(api, dep) for _ in range(4)]
    first = listing(api, "?limit=2")
    second = listing(api, f"?limit=2&cursor={first['next_cursor']}")
    assert ids(first) + ids(second) == made[::-1]
    assert second["next_cursor"] is None
    assert ids(listing(api, "?limit=4")) == made[::-1]
    assert listing(api, "?limit=4")["next_cursor"] is None


def test_the_page_size_is_bounded(api):
    dep = deployment(api, "prod")
    made = [session(api, dep) for _ in range(3)]
    assert len(listing(api, "?limit=1000")["sessions"]) == 3
    assert len(listing(api, "?limit=1")["sessions"]) == 1
    with api.db.connect() as c:
        c.execute("INSERT INTO sessions (deployment_id) SELECT %s FROM generate_series(1, 1100)",
                  (dep,))
    out = listing(api)
    assert len(out["sessions"]) == 100 and out["next_cursor"] is not None
    assert len(listing(api, "?limit=1000")["sessions"]) == 1000
    assert made[0] not in ids(listing(api, "?limit=1000"))


def test_filter_by_deployment(api):
    a, b = deployment(api, "a"), deployment(api, "b")
    in_a = [session(api, a), session(api, a)]
    session(api, b)
    assert ids(listing(api, f"?deployment_id={a}")) == in_a[::-1]
    assert len(listing(api, f"?deployment_id={b}")["sessions"]) == 1
    assert listing(api, "?deployment_id=999")["sessions"] == []


def iso(dt):
    return quote(dt.isoformat().replace("+00:00", "Z"))


def test_filter_by_start_time_since_inclusive_until_exclusive(api):
    dep = deployment(api, "prod")
    old, mid, new = session(api, dep, 30), session(api, dep, 20), session(api, dep, 10)
    now = datetime.now(timezone.utc)
    assert ids(listing(api, f"?since={iso(now - timedelta(hours=25))}")) == [new, mid]
    assert ids(listing(api, f"?until={iso(now - timedelta(hours=15))}")) == [mid, old]
    assert ids(listing(api, f"?since={iso(now - timedelta(hours=25))}"
                            f"&until={iso(now - timedelta(hours=15))}")) == [mid]
    # An offset other than Z means the same instant.
    plus2 = (now - timedelta(hours=25)).astimezone(timezone(timedelta(hours=2)))
    assert ids(listing(api, f"?since={quote(plus2.isoformat())}")) == [new, mid]
    # since is inclusive, until exclusive: the exact start time of a session.
    started = api.db.query("SELECT to_char(started_at AT TIME ZONE 'UTC', "
                           "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM sessions WHERE id = %s",
                           mid)[0][0]
    assert mid in ids(listing(api, f"?since={started}"))
    assert mid not in ids(listing(api, f"?until={started}"))
    # Filters together, and with paging.
    other = deployment(api, "other")
    session(api, other, 20)
    out = listing(api, f"?deployment_id={dep}&since={iso(now - timedelta(hours=35))}&limit=2")
    assert ids(out) == [new, mid]
    out = listing(api, f"?deployment_id={dep}&since={iso(now - timedelta(hours=35))}&limit=2"
                       f"&cursor={out['next_cursor']}")
    assert ids(out) == [old] and out["next_cursor"] is None


@pytest.mark.parametrize("query,word", [
    ("?limit=0", '"limit" must be 1 to 1000'),
    ("?limit=1001", '"limit" must be 1 to 1000'),
    ("?limit=abc", '"limit" must be 1 to 1000'),
    ("?limit=-1", '"limit" must be 1 to 1000'),
    ("?limit=", 'query parameter "limit" needs a value'),
    ("?cursor=abc", '"cursor" is not a cursor'),
    ("?cursor=0", '"cursor" is not a cursor'),
    ("?deployment_id=x", '"deployment_id" must be a positive whole number'),
    ("?since=yesterday", 'query parameter "since" must be an RFC 3339 time'),
    ("?until=2027-02-30T00:00:00Z", 'query parameter "until" must be an RFC 3339 time'),
    ("?since=2027-01-15T10:00:00", 'query parameter "since" must be an RFC 3339 time'),
    ("?since=2027-01-16T00:00:00Z&until=2027-01-15T00:00:00Z", '"since" is after "until"'),
    ("?limit=1&limit=2", 'query parameter "limit" is given twice'),
    ("?deployment=1", 'unknown query parameter "deployment"'),
    ("?a%0Ab=1", r'unknown query parameter "a\x0ab"'),
])
def test_bad_query_parameters_are_a_one_line_400_naming_them(api, query, word):
    st, e = api.call("GET", "/api/v1/sessions" + query)
    assert st == 400 and e["error"]["code"] == "invalid", (st, e)
    assert word in e["error"]["message"] and "\n" not in e["error"]["message"], e


def test_listing_is_authorised_like_the_other_session_routes(api):
    dep = deployment(api, "prod")
    sid = session(api, dep)
    assert api.call("GET", "/api/v1/sessions", token="")[0] == 401
    assert api.call("GET", "/api/v1/sessions", token="wrong")[0] == 401
    st, u = api.call("POST", "/api/v1/users", {"email": "m@example.com"})
    tok = api.call("POST", f"/api/v1/users/{u['id']}/tokens", {})[1]["token"]
    st, out = api.call("GET", "/api/v1/sessions", token=tok)
    assert st == 200 and [s["id"] for s in out["sessions"]] == [sid]
    assert api.call("GET", f"/api/v1/sessions/{sid}", token=tok)[0] == 200
    assert api.call("DELETE", "/api/v1/sessions")[0] == 405
