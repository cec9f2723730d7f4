"""Black-box tests of the whole SSH Keys family — v1 keypairs, v2 keypairs, v1 ssh_keys —
as three views of one set of keys. Every successful response passes through Prism over
openapi/keypaird.yaml (no sl-violations); error cases go to the server directly."""

import concurrent.futures
import uuid

import pytest

from conftest import new_project, request, unique_name
from test_seed_operation import expect_error

ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm "
           "my-username@my-hostname")
SSH_KEY_FIELDS = {"id", "name", "public_key", "fingerprint", "project_id", "shared_in_project",
                  "state", "created_at"}
KEYPAIR_FIELDS = SSH_KEY_FIELDS | {"private_key"}


def v1(project, region=1, rest=""):
    return f"/cloud/v1/keypairs/{project}/{region}{rest}"


def ssh(project, rest=""):
    return f"/cloud/v1/ssh_keys/{project}{rest}"


# --- each family's operations -------------------------------------------------------

def test_ssh_keys_create_get_patch_list_delete(prism_all, tokens):
    t = tokens["user1"]
    name = unique_name("ssh")
    r = prism_all.request("POST", ssh(1), {"name": name, "public_key": ED25519}, t)
    assert r.status == 201, r
    created = r.json()
    assert set(created) == KEYPAIR_FIELDS and created["private_key"] is None
    kid = created["id"]

    r = prism_all.request("GET", ssh(1, f"/{kid}"), token=t)
    assert r.status == 200 and set(r.json()) == SSH_KEY_FIELDS
    assert r.json()["name"] == name and r.json()["public_key"] == ED25519

    r = prism_all.request("PATCH", ssh(1, f"/{kid}"), {"shared_in_project": False}, t)
    assert r.status == 200 and r.json()["shared_in_project"] is False
    assert set(r.json()) == SSH_KEY_FIELDS

    r = prism_all.request("GET", ssh(1) + f"?name={name}", token=t)
    assert r.status == 200 and r.json()["count"] == 1
    assert r.json()["results"][0]["id"] == kid

    assert prism_all.request("DELETE", ssh(1, f"/{kid}"), token=t).status == 204
    expect_error(request(prism_all.port, "GET", ssh(1, f"/{kid}"), token=t), 404, "NotFoundError")


def test_ssh_keys_generate_returns_private_key_once(prism_all, tokens):
    t = tokens["user1"]
    r = prism_all.request("POST", ssh(1), {"name": unique_name("sshgen")}, t)
    assert r.status == 201, r
    assert r.json()["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    r = prism_all.request("GET", ssh(1, f"/{r.json()['id']}"), token=t)
    assert "private_key" not in r.json()


def test_v2_create_get_list_delete(prism_all, tokens):
    t = tokens["user1"]
    name = unique_name("v2")
    r = prism_all.request("POST", "/cloud/v2/keypairs",
                          {"sshkey_name": name, "project_id": 2, "public_key": ED25519}, t)
    assert r.status == 200, r
    assert set(r.json()) == KEYPAIR_FIELDS and r.json()["project_id"] == 2
    kid = r.json()["id"]

    r = prism_all.request("GET", f"/cloud/v2/keypairs/{kid}", token=t)
    assert r.status == 200 and r.json()["id"] == kid and r.json()["private_key"] is None
    r = prism_all.request("GET", f"/cloud/v2/keypairs/{name}?project_id=2", token=t)
    assert r.status == 200 and r.json()["id"] == kid

    r = prism_all.request("GET", "/cloud/v2/keypairs?project_id=2", token=t)
    assert r.status == 200 and kid in [k["id"] for k in r.json()["results"]]
    assert r.json()["count"] == len(r.json()["results"])
    r = prism_all.request("GET", "/cloud/v2/keypairs?project_id=2&user_id=999", token=t)
    assert r.status == 200 and r.json() == {"count": 0, "results": []}
    r = prism_all.request("GET", "/cloud/v2/keypairs?project_id=2&user_id=1", token=t)
    assert kid in [k["id"] for k in r.json()["results"]]

    assert prism_all.request("DELETE", f"/cloud/v2/keypairs/{kid}", token=t).status == 204
    expect_error(request(prism_all.port, "GET", f"/cloud/v2/keypairs/{kid}", token=t), 404,
                 "NotFoundError")


def test_v2_list_rules(server, prism_all, tokens):
    expect_error(server.request("GET", "/cloud/v2/keypairs", token=tokens["user1"]), 400,
                 "ValidationError", "project_id")
    expect_error(server.request("GET", "/cloud/v2/keypairs?project_id=3", token=tokens["user1"]),
                 403, "ForbiddenError")
    expect_error(server.request("GET", "/cloud/v2/keypairs?project_id=x", token=tokens["user1"]),
                 400, "ValidationError", "project_id")
    r = prism_all.request("GET", "/cloud/v2/keypairs", token=tokens["admin"])
    assert r.status == 200 and r.json()["count"] == len(r.json()["results"]) > 0


def test_v2_create_needs_project_id_in_body(server, tokens):
    expect_error(server.request("POST", "/cloud/v2/keypairs", {"sshkey_name": unique_name()},
                                tokens["user1"]), 400, "ValidationError", "project_id")
    expect_error(server.request("POST", "/cloud/v2/keypairs",
                                {"sshkey_name": unique_name(), "project_id": "1"},
                                tokens["user1"]), 400, "ValidationError", "project_id")
    expect_error(server.request("POST", "/cloud/v2/keypairs",
                                {"sshkey_name": unique_name(), "project_id": 3}, tokens["user1"]),
                 403, "ForbiddenError")


def test_v1_list_get_share_delete_and_regions(prism_all, server):
    p = new_project()
    tok = server.token(1, [p])
    names = [unique_name("v1l") for _ in range(3)]
    ids = []
    for n in names:
        r = prism_all.request("POST", v1(p), {"sshkey_name": n}, tok)
        assert r.status == 200, r
        ids.append(r.json()["id"])
    r = prism_all.request("GET", v1(p, 5), token=tok)  # keys are the same in every region
    assert r.status == 200
    assert [k["id"] for k in r.json()["results"]] == ids  # oldest first
    assert r.json()["count"] == 3
    assert all(k["private_key"] is None for k in r.json()["results"])

    r = prism_all.request("GET", v1(p, 9, f"/{ids[0]}"), token=tok)
    assert r.status == 200 and r.json()["name"] == names[0]
    r = prism_all.request("GET", v1(p, 9, f"/{names[1]}"), token=tok)  # by name
    assert r.status == 200 and r.json()["id"] == ids[1]

    r = prism_all.request("PATCH", v1(p, 1, f"/{ids[2]}/share"), {"shared_in_project": False}, tok)
    assert r.status == 200 and r.json()["shared_in_project"] is False
    r = prism_all.request("PATCH", v1(p, 1, f"/{ids[2]}/share"), {"shared_in_project": True}, tok)
    assert r.status == 200 and r.json()["shared_in_project"] is True

    assert prism_all.request("DELETE", v1(p, 3, f"/{names[0]}"), token=tok).status == 204
    r = prism_all.request("GET", v1(p), token=tok)
    assert [k["id"] for k in r.json()["results"]] == ids[1:]


def test_a_configured_region_list_makes_other_regions_404(fresh_server):
    s = fresh_server
    tok = s.token(1, [1])
    s.start("--regions", "1,76")
    r = s.request("POST", v1(1, 76), {"sshkey_name": "in-76"}, tok)
    assert r.status == 200, r
    kid = r.json()["id"]
    assert s.request("GET", v1(1, 1, f"/{kid}"), token=tok).status == 200
    for method, path, body in [("POST", v1(1, 5), {"sshkey_name": "in-5"}),
                               ("GET", v1(1, 5), None),
                               ("GET", v1(1, 5, f"/{kid}"), None),
                               ("PATCH", v1(1, 5, f"/{kid}/share"), {"shared_in_project": False}),
                               ("DELETE", v1(1, 5, f"/{kid}"), None)]:
        r = s.request(method, path, body, tok)
        expect_error(r, 404, "NotFoundError")
        assert r.json()["message"] == "The region 5 does not exist", (method, path)
    r = s.request("GET", v1(1, 1), token=tok)
    assert [k["name"] for k in r.json()["results"]] == ["in-76"]  # nothing else changed
    assert r.json()["results"][0]["shared_in_project"] is True
    # The other families have no region in their paths.
    assert s.request("GET", ssh(1, f"/{kid}"), token=tok).status == 200


def test_errors_of_the_family(server, tokens):
    t = tokens["user1"]
    expect_error(server.request("GET", ssh(1, "/not-a-uuid"), token=t), 400, "ValidationError",
                 "ssh_key_id")
    missing = str(uuid.uuid4())
    b = expect_error(server.request("GET", ssh(1, f"/{missing}"), token=t), 404, "NotFoundError")
    assert missing in b["message"]
    expect_error(server.request("DELETE", v1(1, 1, "/no-such-key"), token=t), 404, "NotFoundError")
    expect_error(server.request("PATCH", v1(1, 1, f"/{missing}/share"), {"shared_in_project": True},
                                t), 404, "NotFoundError")
    r = server.request("PUT", ssh(1), {"name": "x"}, t)
    expect_error(r, 405, "HTTPError")
    assert set(m.strip() for m in r.header("Allow").split(",")) == {"GET", "HEAD", "POST"}
    r = server.request("POST", ssh(1, f"/{missing}"), {"name": "x"}, t)
    assert set(m.strip() for m in r.header("Allow").split(",")) == {"GET", "HEAD", "PATCH", "DELETE"}
    expect_error(server.request("PATCH", ssh(1, f"/{missing}"), {}, t), 400, "ValidationError",
                 "shared_in_project")
    expect_error(server.request("PATCH", ssh(1, f"/{missing}"), {"shared_in_project": "no"}, t),
                 400, "ValidationError", "shared_in_project")
    expect_error(server.request("POST", ssh(1), {"sshkey_name": "wrong-field"}, t), 400,
                 "ValidationError", "name")
    expect_error(server.request("POST", ssh(3), {"name": unique_name()}, t), 403, "ForbiddenError")
    # DELETE with Content-Type: application/json and an empty body, as the Python SDK sends.
    r = server.request("POST", ssh(1), {"name": unique_name()}, t)
    kid = r.json()["id"]
    r = server.request("DELETE", ssh(1, f"/{kid}"), token=t, raw_body=b"")
    assert r.status == 204


# --- one set of keys ----------------------------------------------------------------

def test_a_key_made_in_one_family_is_used_through_the_others(prism_all, tokens):
    t = tokens["user1"]
    name = unique_name("cross")
    r = prism_all.request("POST", ssh(1), {"name": name, "public_key": ED25519}, t)
    kid = r.json()["id"]
    # read through v1 (by id and by name) and v2
    assert prism_all.request("GET", v1(1, 4, f"/{kid}"), token=t).json()["name"] == name
    assert prism_all.request("GET", v1(1, 4, f"/{name}"), token=t).json()["id"] == kid
    assert prism_all.request("GET", f"/cloud/v2/keypairs/{kid}", token=t).json()["name"] == name
    # share through v1, seen through ssh_keys and v2
    prism_all.request("PATCH", v1(1, 1, f"/{kid}/share"), {"shared_in_project": False}, t)
    assert prism_all.request("GET", ssh(1, f"/{kid}"), token=t).json()["shared_in_project"] is False
    assert prism_all.request("GET", f"/cloud/v2/keypairs/{kid}",
                             token=t).json()["shared_in_project"] is False
    # delete through v2, gone everywhere
    assert prism_all.request("DELETE", f"/cloud/v2/keypairs/{kid}", token=t).status == 204
    for path in (ssh(1, f"/{kid}"), v1(1, 1, f"/{kid}"), f"/cloud/v2/keypairs/{kid}"):
        expect_error(request(prism_all.port, "GET", path, token=t), 404, "NotFoundError")

    # made through v1, shared off through ssh_keys, deleted through ssh_keys
    name2 = unique_name("cross")
    kid2 = prism_all.request("POST", v1(1), {"sshkey_name": name2}, t).json()["id"]
    r = prism_all.request("PATCH", ssh(1, f"/{kid2}"), {"shared_in_project": False}, t)
    assert r.json()["shared_in_project"] is False
    assert prism_all.request("GET", v1(1, 1, f"/{kid2}"), token=t).json()["shared_in_project"] is False
    assert prism_all.request("DELETE", ssh(1, f"/{kid2}"), token=t).status == 204
    expect_error(request(prism_all.port, "GET", v1(1, 1, f"/{name2}"), token=t), 404,
                 "NotFoundError")


def test_names_are_unique_across_families(server, tokens):
    t = tokens["user1"]
    name = unique_name("uniq")
    assert server.request("POST", ssh(1), {"name": name}, t).status == 201
    expect_error(server.request("POST", v1(1), {"sshkey_name": name}, t), 409, "ConflictError")
    expect_error(server.request("POST", "/cloud/v2/keypairs", {"sshkey_name": name, "project_id": 1},
                                t), 409, "ConflictError")
    expect_error(server.request("POST", ssh(1), {"name": name}, t), 409, "ConflictError")


# --- paging --------------------------------------------------------------------------

ORDERS = {
    "created_at.asc": lambda ks: sorted(ks, key=lambda k: (k["created_at"], k["id"])),
    "created_at.desc": lambda ks: sorted(sorted(ks, key=lambda k: k["id"]),
                                         key=lambda k: k["created_at"], reverse=True),
    "name.asc": lambda ks: sorted(ks, key=lambda k: (k["name"], k["id"])),
    "name.desc": lambda ks: sorted(ks, key=lambda k: k["name"], reverse=True),
}


@pytest.fixture(scope="module")
def paged_project(server):
    p = new_project()
    tok = server.token(1, [p])
    keys = []
    for i in range(27):
        name = f"{'Alpha' if i % 3 == 0 else 'beta'}-{(i * 7) % 27:02d}-{unique_name('pg')}"
        r = server.request("POST", ssh(p), {"name": name, "public_key": ED25519}, tok)
        assert r.status == 201, r
        keys.append({k: v for k, v in r.json().items() if k != "private_key"})
    return p, tok, keys


def walk(prism, project, token, limit, order=None, name=None):
    seen, offset, count = [], 0, None
    while count is None or offset < count:
        q = f"?limit={limit}&offset={offset}"
        if order:
            q += f"&order_by={order}"
        if name:
            q += f"&name={name}"
        r = prism.request("GET", ssh(project) + q, token=token)
        assert r.status == 200, r
        b = r.json()
        assert count is None or b["count"] == count
        count = b["count"]
        assert len(b["results"]) <= limit
        if not b["results"]:
            break
        seen += b["results"]
        offset += len(b["results"])
    return count, seen


@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("name_filter", [None, "aLpHa"])
def test_paging_reaches_every_key_once_in_order(prism_all, paged_project, order, name_filter):
    p, tok, keys = paged_project
    expected = [k for k in keys if name_filter is None or name_filter.lower() in k["name"].lower()]
    count, seen = walk(prism_all, p, tok, 4, order, name_filter)
    assert count == len(expected) == len(seen)
    assert [k["id"] for k in seen] == [k["id"] for k in ORDERS[order](expected)]


def test_default_list_is_ten_newest_first(prism_all, paged_project):
    p, tok, keys = paged_project
    r = prism_all.request("GET", ssh(p), token=tok)
    assert r.json()["count"] == 27
    assert [k["id"] for k in r.json()["results"]] == \
        [k["id"] for k in ORDERS["created_at.desc"](keys)][:10]
    r = prism_all.request("GET", ssh(p) + "?limit=1000&offset=26", token=tok)
    assert r.json()["count"] == 27 and len(r.json()["results"]) == 1
    r = prism_all.request("GET", ssh(p) + "?offset=500", token=tok)
    assert r.json() == {"count": 27, "results": []}


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=abc", "limit"), ("limit=-1", "limit"),
    ("offset=-1", "offset"), ("offset=1.5", "offset"), ("order_by=created_at", "order_by"),
    ("order_by=name.ASC", "order_by"), ("limit=5&limit=6", "limit"),
])
def test_bad_list_parameters_are_400(server, paged_project, query, field):
    p, tok, _ = paged_project
    expect_error(server.request("GET", ssh(p) + "?" + query, token=tok), 400, "ValidationError",
                 field)


# --- visibility ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def matrix(server):
    """Project P with owner (user 51), a colleague (user 52), an outsider (user 53, another
    project) and an admin; a shared and an unshared key of the owner."""
    p = new_project()
    t = {"owner": server.token(51, [p]), "colleague": server.token(52, [p]),
         "outsider": server.token(53, [p + 5000]), "admin": server.token(54, admin=True)}
    keys = {}
    for shared in (True, False):
        name = unique_name("shared" if shared else "private")
        r = server.request("POST", ssh(p), {"name": name, "shared_in_project": shared}, t["owner"])
        assert r.status == 201, r
        keys["shared" if shared else "unshared"] = r.json()
    return p, t, keys


def reads(p, k):
    """Every way to read one key, by family."""
    return [v1(p, 1, f"/{k['id']}"), v1(p, 2, f"/{k['name']}"), f"/cloud/v2/keypairs/{k['id']}",
            f"/cloud/v2/keypairs/{k['name']}?project_id={p}", ssh(p, f"/{k['id']}")]


def lists(p):
    return [v1(p, 1), f"/cloud/v2/keypairs?project_id={p}", ssh(p) + "?limit=1000"]


@pytest.mark.parametrize("who,key,read_status", [
    ("owner", "shared", 200), ("owner", "unshared", 200),
    ("colleague", "shared", 200), ("colleague", "unshared", 404),
    ("admin", "shared", 200), ("admin", "unshared", 200),
])
def test_visibility_of_reads_and_lists(server, matrix, who, key, read_status):
    p, t, keys = matrix
    k = keys[key]
    for path in reads(p, k):
        r = server.request("GET", path, token=t[who])
        assert r.status == read_status, (path, r)
    for path in lists(p):
        r = server.request("GET", path, token=t[who])
        assert r.status == 200
        ids = [x["id"] for x in r.json()["results"]]
        assert (k["id"] in ids) == (read_status == 200), path
        assert r.json()["count"] == len(ids)


def test_outsider_gets_403_for_the_project_everywhere(server, matrix):
    p, t, keys = matrix
    k = keys["shared"]
    for method, path in [("GET", v1(p, 1, f"/{k['id']}")), ("GET", ssh(p, f"/{k['id']}")),
                         ("GET", f"/cloud/v2/keypairs/{k['name']}?project_id={p}"),
                         ("DELETE", ssh(p, f"/{k['id']}")), ("DELETE", v1(p, 1, f"/{k['id']}"))] + \
            [("GET", x) for x in lists(p)]:
        expect_error(server.request(method, path, token=t["outsider"]), 403, "ForbiddenError")
    # Without a project in the path, another project's key simply does not exist.
    expect_error(server.request("GET", f"/cloud/v2/keypairs/{k['id']}", token=t["outsider"]), 404,
                 "NotFoundError")
    expect_error(server.request("DELETE", f"/cloud/v2/keypairs/{k['id']}", token=t["outsider"]),
                 404, "NotFoundError")
    expect_error(server.request("PATCH", ssh(p, f"/{k['id']}"), {"shared_in_project": False},
                                t["outsider"]), 403, "ForbiddenError")
    expect_error(server.request("PATCH", v1(p, 1, f"/{k['id']}/share"), {"shared_in_project": False},
                                t["outsider"]), 403, "ForbiddenError")


def test_colleague_may_see_but_not_change_a_shared_key(server, matrix):
    p, t, keys = matrix
    k = keys["shared"]
    c = t["colleague"]
    expect_error(server.request("DELETE", ssh(p, f"/{k['id']}"), token=c), 403, "ForbiddenError")
    expect_error(server.request("DELETE", v1(p, 1, f"/{k['name']}"), token=c), 403, "ForbiddenError")
    expect_error(server.request("DELETE", f"/cloud/v2/keypairs/{k['id']}", token=c), 403,
                 "ForbiddenError")
    expect_error(server.request("PATCH", ssh(p, f"/{k['id']}"), {"shared_in_project": False}, c),
                 403, "ForbiddenError")
    expect_error(server.request("PATCH", v1(p, 1, f"/{k['id']}/share"), {"shared_in_project": False},
                                c), 403, "ForbiddenError")
    # ...and cannot touch the unshared one at all: it does not exist for them.
    u = keys["unshared"]
    expect_error(server.request("DELETE", ssh(p, f"/{u['id']}"), token=c), 404, "NotFoundError")
    expect_error(server.request("PATCH", v1(p, 1, f"/{u['id']}/share"), {"shared_in_project": True},
                                c), 404, "NotFoundError")
    # The key is untouched.
    assert server.request("GET", ssh(p, f"/{k['id']}"), token=t["owner"]).json()["shared_in_project"]


def test_v2_user_filter(server, matrix):
    p, t, keys = matrix
    r = server.request("GET", f"/cloud/v2/keypairs?project_id={p}&user_id=51", token=t["admin"])
    assert {x["id"] for x in r.json()["results"]} == {keys["shared"]["id"], keys["unshared"]["id"]}
    r = server.request("GET", f"/cloud/v2/keypairs?project_id={p}&user_id=51", token=t["colleague"])
    assert {x["id"] for x in r.json()["results"]} == {keys["shared"]["id"]}


def test_admin_may_unshare_and_delete_anyones_key(server, matrix):
    p, t, _ = matrix
    r = server.request("POST", ssh(p), {"name": unique_name("adm")}, t["owner"])
    kid = r.json()["id"]
    r = server.request("PATCH", ssh(p, f"/{kid}"), {"shared_in_project": False}, t["admin"])
    assert r.status == 200 and r.json()["shared_in_project"] is False
    expect_error(server.request("GET", ssh(p, f"/{kid}"), token=t["colleague"]), 404, "NotFoundError")
    assert server.request("DELETE", v1(p, 1, f"/{kid}"), token=t["admin"]).status == 204


# --- concurrency ---------------------------------------------------------------------

def test_200_simultaneous_creates_of_one_name_have_one_winner(server):
    p = new_project()
    tok = server.token(1, [p])
    name = unique_name("race")
    calls = [("POST", v1(p), {"sshkey_name": name, "public_key": ED25519}),
             ("POST", "/cloud/v2/keypairs", {"sshkey_name": name, "project_id": p,
                                             "public_key": ED25519}),
             ("POST", ssh(p), {"name": name, "public_key": ED25519})]
    with concurrent.futures.ThreadPoolExecutor(max_workers=200) as ex:
        futures = [ex.submit(server.request, *calls[i % 3], token=tok) for i in range(200)]
        statuses = [f.result().status for f in futures]
    wins = [s for s in statuses if s in (200, 201)]
    assert len(wins) == 1, sorted(set(statuses))
    assert statuses.count(409) == 199
    r = server.request("GET", ssh(p) + f"?name={name}", token=tok)
    assert r.json()["count"] == 1


def test_500_concurrent_distinct_creates_are_all_stored(server):
    p = new_project()
    tok = server.token(1, [p])
    names = [f"many-{i:03d}" for i in range(500)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as ex:
        futures = [ex.submit(server.request, "POST", ssh(p), {"name": n, "public_key": ED25519},
                             tok) for n in names]
        statuses = [f.result().status for f in futures]
    assert statuses == [201] * 500
    count, seen = walk_direct(server, p, tok)
    assert count == 500 and sorted(k["name"] for k in seen) == names


def walk_direct(server, p, tok):
    seen, offset = [], 0
    while True:
        b = server.request("GET", ssh(p) + f"?limit=1000&offset={offset}", token=tok).json()
        seen += b["results"]
        offset += len(b["results"])
        if offset >= b["count"] or not b["results"]:
            return b["count"], seen
