"""Black-box tests of users and grants (docs/people.md; tag "People" in
openapi/keypaird.yaml): `token create --user N` makes the user; administrators list users,
make, list and delete grants, and disable a user, whose tokens then stop at once; every
change is an event; the same on the command line (grant create|list|delete, user
list|disable|enable). Successful answers go through Prism (no sl-violations)."""

import pytest

from conftest import new_project
from test_seed_operation import expect_error

_next_user = [7000]


def new_user():
    _next_user[0] += 1
    return _next_user[0]


@pytest.fixture
def admin(server):
    return server.token(new_user(), admin=True)


def users_by_id(prism, admin):
    r = prism.request("GET", "/api/v1/users", token=admin)
    assert r.status == 200, r
    return {u["id"]: u for u in r.json()["results"]}


def grant_ids(prism, admin):
    r = prism.request("GET", "/api/v1/grants", token=admin)
    assert r.status == 200, r
    return [g["id"] for g in r.json()["results"]]


def last_event(prism, admin, action, resource_id):
    r = prism.request("GET", f"/api/v1/events?action={action}&resource_id={resource_id}",
                      token=admin)
    assert r.status == 200, r
    results = r.json()["results"]
    assert len(results) == 1, results
    return results[0]


def test_a_tokens_user_is_a_user_with_no_issuer(prism, server, admin):
    uid = new_user()
    server.token(uid, [1])
    server.token(uid, [2])  # the same user again: still one user, one event
    user = users_by_id(prism, admin)[uid]
    assert user["issuer"] is None and user["subject"] is None and user["email"] is None
    assert user["groups"] == [] and user["disabled"] is False
    assert user["last_sign_in_at"] is None
    event = last_event(prism, admin, "user.create", uid)
    assert event["resource"] == {"type": "user", "id": str(uid), "name": None}
    assert event["actor"]["via"] == "cli"


def test_grants_are_made_listed_and_deleted_by_admins_with_their_events(prism, server, admin):
    p = new_project()
    r = prism.request("POST", "/api/v1/grants",
                      {"group": "ops", "projects": [p, 1, p], "role": "editor",
                       "principals": ["deploy", "root"]}, admin)
    assert r.status == 201, r
    grant = r.json()
    assert grant["group"] == "ops" and grant["user_id"] is None and grant["user_email"] is None
    assert grant["projects"] == [1, p] and grant["role"] == "editor"
    assert grant["principals"] == ["deploy", "root"]
    assert grant["id"] in grant_ids(prism, admin)
    event = last_event(prism, admin, "grant.create", grant["id"])
    assert event["details"]["group"] == "ops" and event["details"]["role"] == "editor"

    uid = new_user()
    server.token(uid, [p])
    r = prism.request("POST", "/api/v1/grants",
                      {"user_id": uid, "projects": [p], "role": "admin"}, admin)
    assert r.status == 201 and r.json()["user_id"] == uid, r
    by_user = r.json()["id"]
    r = prism.request("POST", "/api/v1/grants",
                      {"user_email": "carol@example.com", "projects": [p], "role": "viewer"},
                      admin)
    assert r.status == 201 and r.json()["user_email"] == "carol@example.com", r

    r = prism.request("DELETE", f"/api/v1/grants/{grant['id']}", token=admin)
    assert r.status == 204, r
    assert grant["id"] not in grant_ids(prism, admin)
    assert by_user in grant_ids(prism, admin)
    last_event(prism, admin, "grant.delete", grant["id"])
    expect_error(prism.request("DELETE", f"/api/v1/grants/{grant['id']}", token=admin), 404,
                 "NotFoundError")


@pytest.mark.parametrize("body,field", [
    ({"group": "ops", "user_id": 1, "projects": [1], "role": "viewer"}, None),
    ({"projects": [1], "role": "viewer"}, None),
    ({"group": "ops", "projects": [], "role": "viewer"}, "projects"),
    ({"group": "ops", "projects": [0], "role": "viewer"}, "projects"),
    ({"group": "ops", "projects": ["1"], "role": "viewer"}, "projects"),
    ({"group": "ops", "projects": [1], "role": "owner"}, "role"),
    ({"group": "ops", "projects": [1]}, "role"),
    ({"group": "o\nps", "projects": [1], "role": "viewer"}, "group"),
    ({"user_email": "not-an-address", "projects": [1], "role": "viewer"}, "user_email"),
    ({"user_id": 2147483000, "projects": [1], "role": "viewer"}, "user_id"),
    ({"group": "ops", "projects": [1], "role": "viewer", "principals": ["a b"]}, "principals"),
    ({"group": "ops", "projects": [1], "role": "viewer", "admin": True}, "admin"),
])
def test_a_bad_grant_is_400_and_makes_nothing(server, admin, body, field):
    before = len(server.request("GET", "/api/v1/grants", token=admin).json()["results"])
    expect_error(server.request("POST", "/api/v1/grants", body, admin), 400, "ValidationError",
                 field)
    after = len(server.request("GET", "/api/v1/grants", token=admin).json()["results"])
    assert after == before


def test_only_administrators_manage_people(server, admin):
    p = new_project()
    user = server.token(new_user(), [p])
    reader = server.token(new_user(), admin=True, read_only=True)
    for method, path, body in [("GET", "/api/v1/users", None), ("GET", "/api/v1/grants", None),
                               ("POST", "/api/v1/grants",
                                {"group": "g", "projects": [p], "role": "admin"}),
                               ("DELETE", "/api/v1/grants/x", None),
                               ("PATCH", "/api/v1/users/1", {"disabled": True})]:
        expect_error(server.request(method, path, body, user), 403, "ForbiddenError")
        expect_error(server.request(method, path, body), 401, "NotAuthenticated")
        if method != "GET":  # a read-only administrator reads, and changes nothing
            expect_error(server.request(method, path, body, reader), 403, "ForbiddenError")
    assert server.request("GET", "/api/v1/users", token=reader).status == 200


def test_a_disabled_users_tokens_stop_at_once_and_work_again_when_enabled(prism, server, admin):
    p = new_project()
    uid = new_user()
    first, second = server.token(uid, [p]), server.token(uid, [p])
    assert server.request("GET", f"/api/v1/projects/{p}/keys", token=first).status == 200
    r = prism.request("PATCH", f"/api/v1/users/{uid}", {"disabled": True}, admin)
    assert r.status == 200 and r.json()["disabled"] is True, r
    for token in (first, second):
        expect_error(server.request("GET", f"/api/v1/projects/{p}/keys", token=token), 401,
                     "NotAuthenticated")
    # Idempotent: disabling again changes nothing and records nothing more.
    assert prism.request("PATCH", f"/api/v1/users/{uid}", {"disabled": True}, admin).status == 200
    last_event(prism, admin, "user.disable", uid)
    r = prism.request("PATCH", f"/api/v1/users/{uid}", {"disabled": False}, admin)
    assert r.status == 200 and r.json()["disabled"] is False, r
    assert server.request("GET", f"/api/v1/projects/{p}/keys", token=first).status == 200
    last_event(prism, admin, "user.enable", uid)

    expect_error(server.request("PATCH", "/api/v1/users/2147483000", {"disabled": True}, admin),
                 404, "NotFoundError")
    expect_error(server.request("PATCH", f"/api/v1/users/{uid}", {"disabled": "yes"}, admin),
                 400, "ValidationError", "disabled")
    expect_error(server.request("PATCH", "/api/v1/users/0", {"disabled": True}, admin), 400,
                 "ValidationError", "user_id")


def test_the_command_line_manages_grants_and_users(prism, server, admin):
    p = new_project()
    made = server.cli("grant", "create", "--group", "cli-team", "--projects", f"{p},1",
                      "--role", "viewer", "--principals", "deploy")
    grant_id = made.stdout.strip()
    listed = server.cli("grant", "list").stdout
    line = next(row for row in listed.splitlines() if row.startswith(grant_id))
    assert "group:cli-team" in line and f"1,{p}" in line and "viewer" in line
    assert "deploy" in line
    assert last_event(prism, admin, "grant.create", grant_id)["actor"]["via"] == "cli"

    bad = server.cli("grant", "create", "--group", "x", "--user", "5", "--projects", "1",
                     "--role", "viewer", check=False)
    assert bad.returncode == 2 and "exactly one of" in bad.stderr
    bad = server.cli("grant", "create", "--group", "x", "--projects", "1", "--role", "boss",
                     check=False)
    assert bad.returncode == 1 and "role" in bad.stderr
    bad = server.cli("grant", "create", "--user", "2147483000", "--projects", "1", "--role",
                     "viewer", check=False)
    assert bad.returncode == 1 and "user" in bad.stderr

    server.cli("grant", "delete", grant_id)
    assert grant_id not in server.cli("grant", "list").stdout
    gone = server.cli("grant", "delete", grant_id, check=False)
    assert gone.returncode == 1 and "No grant" in gone.stderr

    uid = new_user()
    token = server.token(uid, [p])
    assert any(row.split()[0] == str(uid) and "active" in row
               for row in server.cli("user", "list").stdout.splitlines()[1:])
    server.cli("user", "disable", str(uid))
    expect_error(server.request("GET", f"/api/v1/projects/{p}/keys", token=token), 401,
                 "NotAuthenticated")
    assert any(row.split()[0] == str(uid) and "disabled" in row
               for row in server.cli("user", "list").stdout.splitlines()[1:])
    server.cli("user", "enable", str(uid))
    assert server.request("GET", f"/api/v1/projects/{p}/keys", token=token).status == 200
    missing = server.cli("user", "disable", "2147483000", check=False)
    assert missing.returncode == 1 and "No user" in missing.stderr
