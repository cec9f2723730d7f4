"""Black-box tests of hosts (docs/ssh-access.md "Hosts"; tag "Hosts" in openapi/keypaird.yaml),
on both backends, through Prism: a project's administrators make, list and delete join
tokens; the token is shown once, kept only as a hash, never in an event; everyone else is
refused; bad requests get field errors."""

import re
import sqlite3

import pytest

from conftest import BACKEND, new_project, psql
from test_seed_operation import expect_error

TOKEN = re.compile(r"^kpj_([0-9a-f]{16})_([0-9a-f]{64})$")


@pytest.fixture
def admin(server):
    return server.token(8100, admin=True)


def url(project, rest=""):
    return f"/api/v1/projects/{project}/host_join_tokens{rest}"


def make(prism, token, project, **body):
    r = prism.request("POST", url(project), body, token=token)
    assert r.status == 201, r
    return r


def test_an_admin_makes_a_join_token_shown_once(prism, admin):
    p = new_project()
    r = make(prism, admin, p, hostnames=["Web-1.Example.com", "*.db.example.com",
                                         "web-1.example.com"], uses=3, expires_in="2h")
    assert r.header("Cache-Control") == "no-store"
    made = r.json()
    m = TOKEN.match(made["token"])
    assert m and m.group(1) == made["id"]
    assert made["project_id"] == p
    assert made["hostnames"] == ["web-1.example.com", "*.db.example.com"]  # lower case, once
    assert made["uses"] == 3 and made["uses_left"] == 3
    listed = prism.request("GET", url(p), token=admin)
    assert listed.status == 200, listed
    [row] = listed.json()["results"]
    assert "token" not in row
    assert row == {k: v for k, v in made.items() if k != "token"}
    # Defaults: one use, for an hour.
    one = make(prism, admin, p, hostnames=["web-2"]).json()
    assert one["uses"] == 1
    assert [t["id"] for t in prism.request("GET", url(p), token=admin).json()["results"]] == \
        [made["id"], one["id"]]


def test_deleting_a_join_token_and_its_events_without_the_secret(prism, admin):
    p = new_project()
    made = make(prism, admin, p, hostnames=["web-1"]).json()
    secret = TOKEN.match(made["token"]).group(2)
    # Another project's token is not found through this project.
    expect_error(prism.request("DELETE", url(new_project(), "/" + made["id"]), token=admin),
                 404, "NotFoundError")
    assert prism.request("DELETE", url(p, "/" + made["id"]), token=admin).status == 204
    expect_error(prism.request("DELETE", url(p, "/" + made["id"]), token=admin),
                 404, "NotFoundError")
    assert prism.request("GET", url(p), token=admin).json()["results"] == []
    r = prism.request("GET", f"/api/v1/events?project_id={p}&resource_id={made['id']}",
                      token=admin)
    assert r.status == 200, r
    events = r.json()["results"]
    assert [e["action"] for e in events] == ["host_join_token.delete", "host_join_token.create"]
    assert events[1]["details"]["hostnames"] == ["web-1"]
    assert events[1]["resource"]["type"] == "host_join_token"
    assert secret not in r.body.decode()


def test_only_the_projects_administrators_manage_join_tokens(prism, server, admin):
    p = new_project()
    made = make(prism, admin, p, hostnames=["web-1"]).json()
    editor = server.token(8101, [p])
    reader = server.token(8102, admin=True, read_only=True)
    for token in (editor, server.token(8103, [new_project()])):
        expect_error(prism.request("GET", url(p), token=token), 403, "ForbiddenError")
        expect_error(prism.request("POST", url(p), {"hostnames": ["x"]}, token=token),
                     403, "ForbiddenError")
        expect_error(prism.request("DELETE", url(p, "/" + made["id"]), token=token),
                     403, "ForbiddenError")
    # A read-only administrator reads them, and changes nothing.
    assert prism.request("GET", url(p), token=reader).status == 200
    expect_error(prism.request("POST", url(p), {"hostnames": ["x"]}, token=reader),
                 403, "ForbiddenError")
    expect_error(server.request("GET", url(p)), 401, "NotAuthenticated")
    assert len(prism.request("GET", url(p), token=admin).json()["results"]) == 1


@pytest.mark.parametrize("body, field", [
    ({}, "hostnames"),
    ({"hostnames": []}, "hostnames"),
    ({"hostnames": ["bad_name"]}, "hostnames"),
    ({"hostnames": ["*.*.example.com"]}, "hostnames"),
    ({"hostnames": ["x" * 64]}, "hostnames"),
    ({"hostnames": "web-1"}, "hostnames"),
    ({"hostnames": ["web-1"], "uses": 0}, "uses"),
    ({"hostnames": ["web-1"], "uses": 1001}, "uses"),
    ({"hostnames": ["web-1"], "expires_in": 59}, "expires_in"),
    ({"hostnames": ["web-1"], "expires_in": "31d"}, "expires_in"),
    ({"hostnames": ["web-1"], "token": "kpj_x"}, "token"),
])
def test_bad_join_token_requests_name_their_field(server, admin, body, field):
    p = new_project()
    expect_error(server.request("POST", url(p), body, token=admin), 400, "ValidationError",
                 field)
    assert server.request("GET", url(p), token=admin).json()["results"] == []


def test_the_database_keeps_only_the_hash(server, admin):
    p = new_project()
    made = make_direct(server, admin, p)
    secret = TOKEN.match(made["token"]).group(2)
    if BACKEND == "postgres":
        dump = psql(server.database, "COPY host_join_tokens TO STDOUT")
    else:
        con = sqlite3.connect(server.database.removeprefix("sqlite:"))
        try:
            dump = "\n".join(map(str, con.execute("SELECT * FROM host_join_tokens")))
        finally:
            con.close()
    assert made["id"] in dump and secret not in dump


def make_direct(server, admin, project):
    r = server.request("POST", url(project), {"hostnames": ["web-1"]}, token=admin)
    assert r.status == 201, r
    return r.json()
