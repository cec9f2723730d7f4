"""Black-box tests of the audit trail (docs/audit.md; GET /api/v1/events in
openapi/keypaird.yaml): every change through every family is one event, written with the
change; failed changes leave none; actor, source address and user agent are the request's;
no secret is ever in an event; only administrators read it; pages, filters and the
X-Forwarded-For rule. Successful reads go through Prism (no sl-violations)."""

import json
import time

import pytest

from conftest import Server, new_project, request, unique_name
from test_seed_operation import expect_error

ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm "
           "audit@test")


@pytest.fixture
def team(server):
    """A project of its own: alice and bob use it (alice may be certified as alice), an admin."""
    p = new_project()
    return {"project": p,
            "alice": server.token(51, [p], principals=["alice"]),
            "bob": server.token(52, [p]),
            "admin": server.token(59, admin=True)}


def events(prism, token, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    r = prism.request("GET", f"/api/v1/events?{query}", token=token)
    assert r.status == 200, r
    return r.json()


def project_events(prism, team, **params):
    return events(prism, team["admin"], project_id=team["project"], **params)["results"]


def token_id(token):
    return token.split("_")[1]


def test_every_change_of_every_family_is_one_event_newest_first(prism, server, team):
    p, alice = team["project"], team["alice"]
    agent = {"User-Agent": "audit-test/1.0"}
    native = prism.request("POST", f"/api/v1/projects/{p}/keys",
                           {"name": unique_name("au"), "public_key": ED25519}, alice,
                           headers=agent)
    assert native.status == 201, native
    key = native.json()
    r = prism.request("POST", f"/cloud/v1/keypairs/{p}/1",
                      {"sshkey_name": unique_name("gen")}, alice, headers=agent)
    assert r.status == 200, r
    generated = r.json()
    private_key = generated["private_key"]
    r = prism.request("PATCH", f"/api/v1/projects/{p}/keys/{key['id']}",
                      {"labels": {"team": "db"}, "disabled": True}, alice, headers=agent)
    assert r.status == 200, r
    r = prism.request("PATCH", f"/cloud/v1/ssh_keys/{p}/{generated['id']}",
                      {"shared_in_project": False}, alice, headers=agent)
    assert r.status == 200, r
    r = prism.request("DELETE", f"/cloud/v2/keypairs/{generated['id']}", token=alice,
                      headers=agent)
    assert r.status == 204, r

    got = project_events(prism, team)
    assert [e["action"] for e in got] == ["key.delete", "key.update", "key.update", "key.create",
                                         "key.create"]
    assert [e["resource"]["id"] for e in got] == [generated["id"], generated["id"],
                                                 key["id"], generated["id"], key["id"]]
    times = [e["time"] for e in got]
    assert times == sorted(times, reverse=True)
    for e in got:
        assert e["project_id"] == p
        assert e["actor"] == {"user_id": 51, "email": None, "token_id": token_id(alice),
                              "via": "token"}
        assert e["source_ip"] == "127.0.0.1"
        assert e["user_agent"] == "audit-test/1.0"
        assert e["resource"]["type"] == "ssh_key"
    created = got[-1]
    assert created["resource"]["name"] == key["name"]
    assert created["details"] == {"type": "ssh-ed25519", "generated": False,
                                  "fingerprint_sha256": key["fingerprint_sha256"],
                                  "shared_in_project": True}
    assert got[-2]["details"]["generated"] is True
    assert got[2]["details"] == {"changes": {"labels": {"team": "db"}, "disabled": True}}
    assert got[1]["details"] == {"changes": {"shared_in_project": False}}
    # No secret anywhere: not the private key, not the token.
    text = json.dumps(got)
    assert private_key.split("\n")[1] not in text and alice not in text


def test_a_failed_change_leaves_no_event(prism, server, team):
    p = team["project"]
    name = unique_name("dup")
    r = prism.request("POST", f"/api/v1/projects/{p}/keys", {"name": name, "public_key": ED25519},
                      team["alice"])
    assert r.status == 201, r
    kid = r.json()["id"]
    before = project_events(prism, team)
    expect_error(server.request("POST", f"/api/v1/projects/{p}/keys",
                                {"name": name, "public_key": ED25519}, team["bob"]),
                 409, "ConflictError")
    expect_error(server.request("DELETE", f"/api/v1/projects/{p}/keys/{kid}", token=team["bob"]),
                 403, "ForbiddenError")
    expect_error(server.request("PATCH", f"/api/v1/projects/{p}/keys/{kid}", {"name": ""},
                                team["alice"]), 400, "ValidationError", "name")
    expect_error(server.request("DELETE", f"/api/v1/projects/{p}/keys/{kid}",
                                token=team["alice"], headers={"If-Match": '"stale"'}),
                 412, "PreconditionFailed")
    assert project_events(prism, team) == before


def test_certificates_and_the_ca_are_events(prism, server, team):
    p = team["project"]
    r = prism.request("POST", f"/api/v1/projects/{p}/keys",
                      {"name": unique_name("cert"), "public_key": ED25519}, team["alice"])
    kid = r.json()["id"]
    r = prism.request("POST", f"/api/v1/projects/{p}/keys/{kid}/certificates",
                      {"principals": ["alice"], "valid_for": 600}, team["alice"])
    assert r.status == 201, r
    serial = r.json()["serial"]
    r = prism.request("POST", f"/api/v1/projects/{p}/certificates/{serial}/revoke",
                      token=team["alice"])
    assert r.status == 204, r
    r = server.request("POST", f"/api/v1/projects/{p}/certificates/{serial}/revoke",
                       token=team["alice"])
    assert r.status == 204, r  # revoked already: no second event

    got = project_events(prism, team)
    assert [e["action"] for e in got] == ["certificate.revoke", "certificate.issue", "ca.create",
                                         "key.create"]
    revoke, issue, ca = got[0], got[1], got[2]
    assert revoke["resource"] == {"type": "certificate", "id": str(serial), "name": None}
    assert issue["resource"]["id"] == str(serial)
    assert issue["details"]["principals"] == ["alice"] and issue["details"]["serial"] == int(serial)
    assert ca["resource"]["type"] == "ssh_ca" and ca["details"]["fingerprint_sha256"].startswith(
        "SHA256:")
    assert project_events(prism, team, action="certificate.issue") == [issue]
    assert project_events(prism, team, resource_id=str(serial)) == [revoke, issue]


def test_tokens_made_on_the_command_line_are_events_of_no_project(prism, server, team):
    token = server.token(77, [team["project"]], read_only=True)
    tid = token_id(token)
    server.cli("token", "revoke", tid)
    server.cli("token", "revoke", tid)  # once is an event
    got = events(prism, team["admin"], resource_id=tid)["results"]
    assert [e["action"] for e in got] == ["token.revoke", "token.create"]
    for e in got:
        assert e["project_id"] is None
        assert e["actor"] == {"user_id": None, "email": None, "token_id": None, "via": "cli"}
        assert e["source_ip"] is None and e["resource"]["type"] == "token"
    assert got[1]["details"] == {"user_id": 77, "admin": False, "projects": [team["project"]],
                                 "read_only": True, "principals": []}
    assert token.split("_")[2] not in json.dumps(got)
    # A project's filter leaves them out.
    assert all(e["resource"]["id"] != tid for e in project_events(prism, team))


def test_only_administrators_read_the_trail(prism, server, team):
    for who in ("alice", "bob"):
        expect_error(server.request("GET", f"/api/v1/events?project_id={team['project']}",
                                    token=team[who]), 403, "ForbiddenError")
    expect_error(server.request("GET", "/api/v1/events"), 401, "NotAuthenticated")
    reader = server.token(59, admin=True, read_only=True)
    assert prism.request("GET", "/api/v1/events?limit=1", token=reader).status == 200


def test_pages_and_filters(prism, server, team):
    p = team["project"]
    for _ in range(5):
        r = prism.request("POST", f"/api/v1/projects/{p}/keys",
                          {"name": unique_name("pg"), "public_key": ED25519}, team["bob"])
        assert r.status == 201, r
    everything = project_events(prism, team)
    assert len(everything) == 5
    walked, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = events(prism, team["admin"], project_id=p, **params)
        walked += page["results"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == everything
    middle = everything[2]["time"]
    assert project_events(prism, team, since=middle) == everything[:3]
    assert project_events(prism, team, until=middle) == everything[3:]
    assert project_events(prism, team, actor=52) == everything
    assert project_events(prism, team, actor=51) == []
    for bad in ("limit=0", "limit=1001", "cursor=nope", "since=yesterday", "project_id=0",
                "actor=x", "action="):
        expect_error(server.request("GET", f"/api/v1/events?{bad}", token=team["admin"]),
                     400, "ValidationError")


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path):
    untrusted = Server(tmp_path / "a")
    (tmp_path / "a").mkdir()
    trusted = Server(tmp_path / "b")
    (tmp_path / "b").mkdir()
    try:
        untrusted.start()
        trusted.start("--trusted-proxies", "10.9.9.9,127.0.0.1")
        for s, expected in ((untrusted, "127.0.0.1"), (trusted, "198.51.100.7")):
            admin = s.token(1, admin=True)
            for forwarded in ("198.51.100.7, 10.0.0.1", "not-an-address"):
                r = s.request("POST", "/api/v1/projects/1/keys",
                              {"name": unique_name("xff"), "public_key": ED25519}, admin,
                              headers={"X-Forwarded-For": forwarded})
                assert r.status == 201, r
            got = s.request("GET", "/api/v1/events?project_id=1", token=admin).json()["results"]
            # Newest first: the unparseable one falls back to the peer.
            assert [e["source_ip"] for e in got] == ["127.0.0.1", expected]
            assert all(e["user_agent"] is None for e in got)  # http.client sends none
    finally:
        untrusted.stop()
        trusted.stop()


def test_events_survive_a_restart_in_the_order_they_were_made(tmp_path):
    s = Server(tmp_path)
    s.start()
    try:
        admin = s.token(1, admin=True)
        ids = []
        for i in range(3):
            r = s.request("POST", "/api/v1/projects/3/keys",
                          {"name": f"key{i}", "public_key": ED25519}, admin)
            assert r.status == 201, r
            ids.append(r.json()["id"])
            time.sleep(0.002)
        s.stop()
        s.start()
        got = s.request("GET", "/api/v1/events?project_id=3", token=admin).json()["results"]
        assert [e["resource"]["id"] for e in got] == ids[::-1]
    finally:
        s.stop()


# --- Gcore's shape: GET /cloud/v1/user_actions -----------------------------------------

USER_ACTION_FIELDS = {"id", "acknowledged", "action_data", "action_type", "api_group",
                      "client_id", "email", "is_complete", "issued_by_user_id", "project_id",
                      "region_id", "resources", "source_user_ip", "task_id", "timestamp",
                      "token_id", "total_price", "user_agent", "user_id"}


def user_actions(prism, token, query):
    r = prism.request("GET", f"/cloud/v1/user_actions?{query}", token=token)
    assert r.status == 200, r
    return r.json()


def test_user_actions_are_the_key_events_in_gcores_shape(prism, server, team):
    p = team["project"]
    names = [unique_name("ua") for _ in range(3)]
    ids = []
    for name in names:
        r = prism.request("POST", f"/cloud/v1/ssh_keys/{p}", {"name": name, "public_key": ED25519},
                          team["alice"], headers={"User-Agent": "gcore-sdk/0.1"})
        assert r.status == 201, r
        ids.append(r.json()["id"])
    r = prism.request("DELETE", f"/cloud/v1/ssh_keys/{p}/{ids[0]}", token=team["alice"])
    assert r.status == 204, r
    # Not a key event: left out of this shape.
    kid = ids[1]
    r = prism.request("POST", f"/api/v1/projects/{p}/keys/{kid}/certificates",
                      {"principals": ["alice"], "valid_for": 600}, team["alice"])
    assert r.status == 201, r

    page = user_actions(prism, team["admin"], f"project_id={p}&api_group=ssh_key")
    assert page["count"] == 4
    got = page["results"]
    assert [a["action_type"] for a in got] == ["delete", "create", "create", "create"]
    assert [a["resources"][0]["resource_id"] for a in got] == [ids[0], ids[2], ids[1], ids[0]]
    events = {e["id"]: e for e in project_events(prism, team)}
    for a in got:
        assert set(a) == USER_ACTION_FIELDS
        e = events[a["id"]]
        assert a["timestamp"] == e["time"] and a["action_data"] == e["details"]
        assert a["api_group"] == "ssh_key" and a["project_id"] == p and a["region_id"] is None
        assert a["user_id"] == 51 and a["source_user_ip"] == "127.0.0.1"
        assert a["acknowledged"] is False and a["is_complete"] is True
        assert a["resources"][0]["resource_type"] == "ssh_key"
    assert got[1]["resources"][0]["search_field"] == names[2]
    assert got[1]["user_agent"] == "gcore-sdk/0.1"

    def count(query):
        return user_actions(prism, team["admin"], f"project_id={p}&{query}")["count"]

    assert count("action_type=delete") == 1
    assert count("action_type=create&action_type=delete") == 4
    assert count("action_type=power_on") == 0
    assert count("api_group=instance") == 0
    assert count(f"resource_id={ids[0]}") == 2
    assert count(f"search_field={names[1]}") == 1
    assert count("source_user_ips=127.0.0.1") == 4
    assert count("source_user_ips=192.0.2.1") == 0
    assert count("user_agents=gcore-sdk/0.1") == 3
    assert count(f"from_timestamp={got[1]['timestamp']}".replace("+", "%2B")) == 2
    assert count(f"to_timestamp={got[1]['timestamp']}".replace("+", "%2B")) == 3
    other = new_project()
    assert user_actions(prism, team["admin"],
                        f"project_id={p}&project_id={other}")["count"] == 4
    # Offset pages, both orders.
    oldest_first = user_actions(prism, team["admin"], f"project_id={p}&order_by=asc")["results"]
    assert oldest_first == got[::-1]
    paged = []
    for offset in range(0, 4, 3):
        paged += user_actions(prism, team["admin"],
                              f"project_id={p}&limit=3&offset={offset}")["results"]
    assert paged == got
    for who in ("alice", "bob"):
        expect_error(server.request("GET", f"/cloud/v1/user_actions?project_id={p}",
                                    token=team[who]), 403, "ForbiddenError")
    for bad in ("limit=0", "offset=-1", "order_by=up", "project_id=x", "from_timestamp=now",
                "source_user_ips=host", "limit=1&limit=2"):
        expect_error(server.request("GET", f"/cloud/v1/user_actions?{bad}", token=team["admin"]),
                     400, "ValidationError")


def test_events_older_than_the_retention_are_pruned_and_the_keys_stay(tmp_path):
    s = Server(tmp_path)
    s.start("--events-retention", "2s")
    try:
        admin = s.token(1, admin=True)
        r = s.request("POST", "/api/v1/projects/4/keys", {"name": "kept", "public_key": ED25519},
                      admin)
        assert r.status == 201, r
        kid = r.json()["id"]
        url = "/api/v1/events?project_id=4"
        assert len(s.request("GET", url, token=admin).json()["results"]) == 1
        deadline = time.monotonic() + 15
        while s.request("GET", url, token=admin).json()["results"]:
            assert time.monotonic() < deadline, "the event outlived its retention by 13 s"
            time.sleep(0.2)
        assert s.request("GET", f"/api/v1/projects/4/keys/{kid}", token=admin).status == 200
        assert b"audit trail pruned" in s.log_path.read_bytes()
    finally:
        s.stop()
