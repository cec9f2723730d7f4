"""Black-box tests of people's sign-in (docs/people.md): keypaird as the client of a real
OpenID provider on loopback (npm `oidc-provider`, test/oidc.py), a person signing in through
/auth/login and /auth/callback, and the session cookie it leaves: roles from grants, the
cross-site guard, sign-out, a disabled user, and what is refused (a replayed or foreign
state, a tampered code, an open redirect) — each refusal leaving no session. /api/v1/me
and the key routes go through Prism."""

import http.client
import http.cookies
import os
import ssl
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from conftest import Prism, OPENAPI_SPEC, Server, free_port, new_project, request
from oidc import Browser, OidcProvider

SECRET = "sign-in-client-secret-0123456789abcdef"
ACCOUNTS = {
    "alice": {"email": "alice@example.com", "name": "Alice", "groups": ["ops", "dev"]},
    "bob": {"email": "bob@example.com", "name": "Bob", "groups": ["sales"]},
    "dave": {"email": "dave@example.com", "name": "Dave", "groups": ["ops"]},
    "erin": {"email": "erin@example.com", "name": "Erin", "groups": []},  # no grant anywhere
    "frank": {"email": "frank@example.com", "name": "Frank", "groups": []},
}


def _public_key():
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop",
                        "-f", f"{d}/k"], check=True)
        return Path(f"{d}/k.pub").read_text().strip()


ED25519 = _public_key()


class Site:
    """keypaird with sign-in on, in front of its OpenID provider, and Prism over it."""

    def __init__(self, workdir):
        port = free_port()
        self.origin = f"http://127.0.0.1:{port}"
        # A second client, for a keypaird served over TLS (test_over_tls_...).
        self.tls_port = free_port()
        self.provider = OidcProvider(workdir, [{
            "client_id": client_id, "client_secret": SECRET,
            "redirect_uris": [origin + "/auth/callback"],
            "id_token_signed_response_alg": "ES256"} for client_id, origin in (
                ("keypaird", self.origin),
                ("keypaird-tls", f"https://127.0.0.1:{self.tls_port}"))], ACCOUNTS,
            keys=("ES256",))
        self.secret_file = secret_file = workdir / "client-secret"
        secret_file.write_text(SECRET + "\n")
        os.chmod(secret_file, 0o600)
        self.server = Server(workdir)
        self.admin = self.server.token(9000, admin=True)
        kek = workdir / "ca.kek"
        self.server.cli("ca", "new-kek", str(kek))
        self.server.start("--ca-kek-file", str(kek), "--oidc-issuer", self.provider.issuer, "--oidc-client-id", "keypaird",
                          "--oidc-client-secret-file", str(secret_file),
                          "--public-url", self.origin, "--session-ttl", "1h", port=port)
        self.prism = Prism(OPENAPI_SPEC, port, workdir)

    def stop(self):
        self.prism.stop()
        self.server.stop()
        self.provider.stop()

    def get(self, path, **kw):
        return self.server.request("GET", path, **kw)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(tmp_path_factory.mktemp("sign-in"))
    yield s
    s.stop()


def cookies_set(response):
    """name -> Morsel of every Set-Cookie."""
    out = {}
    for name, value in response.headers:
        if name.lower() == "set-cookie":
            jar = http.cookies.SimpleCookie()
            jar.load(value)
            for key, morsel in jar.items():
                out[key] = (morsel, value)
    return out


def start(site, return_to="/console/keys"):
    """/auth/login: the provider's URL and this browser's login cookie."""
    r = site.get("/auth/login?return_to=" + urllib.parse.quote(return_to, safe=""))
    assert r.status == 302, r
    login = cookies_set(r)["keypaird_login"][0]
    return r.header("Location"), login.value


def at_provider(site, authorize_url, person):
    """The person signs in at the provider; the URL it sends the browser back to."""
    back = Browser().sign_in(authorize_url, person, site.provider.issuer)
    assert back.startswith(site.origin + "/auth/callback?"), back
    return back[len(site.origin):]


def callback(site, path, login_cookie):
    headers = {"Cookie": f"keypaird_login={login_cookie}"} if login_cookie else {}
    return site.get(path, headers=headers)


def sign_in(site, person, return_to="/console/keys"):
    """A whole sign-in; the session cookie's value and the callback's answer."""
    url, login = start(site, return_to)
    r = callback(site, at_provider(site, url, person), login)
    assert r.status == 302, r
    return cookies_set(r)["keypaird_session"][0].value, r


def as_session(cookie, origin=None, csrf=None):
    headers = {"Cookie": f"keypaird_session={cookie}"}
    if origin:
        headers["Origin"] = origin
    if csrf:
        headers["X-CSRF-Token"] = csrf
    return headers


def me(site, cookie):
    r = site.prism.request("GET", "/api/v1/me", headers=as_session(cookie))
    assert r.status == 200, r
    return r.json()


def grant(site, **body):
    r = site.prism.request("POST", "/api/v1/grants", body, token=site.admin)
    assert r.status == 201, r
    return r.json()["id"]


def refused_events(site):
    r = site.prism.request("GET", "/api/v1/events?action=user.sign_in_refused", token=site.admin)
    assert r.status == 200, r
    return r.json()["results"]


def test_a_person_signs_in_and_gets_the_roles_of_the_grants_that_match(site):
    editor_p, viewer_p, other_p = new_project(), new_project(), new_project()
    grant(site, group="ops", projects=[editor_p], role="editor", principals=["deploy"])
    grant(site, user_email="ALICE@example.com", projects=[viewer_p], role="viewer",
          principals=["audit"])
    grant(site, group="sales", projects=[other_p], role="admin")  # not Alice's group

    cookie, answer = sign_in(site, "alice", return_to="/console/keys?project=3")
    assert answer.header("Location") == "/console/keys?project=3"
    morsel, raw = cookies_set(answer)["keypaird_session"]
    assert morsel["httponly"] and morsel["path"] == "/" and morsel["samesite"] == "Lax"
    assert not morsel["secure"]  # plain http on loopback; Secure over TLS
    assert morsel["max-age"] == "3600"
    # The login cookie is spent.
    assert cookies_set(answer)["keypaird_login"][0]["max-age"] == "0"

    who = me(site, cookie)
    assert who["via"] == "session" and who["issuer"] == site.provider.issuer
    assert who["email"] == "alice@example.com" and who["name"] == "Alice"
    assert who["groups"] == ["ops", "dev"] and who["admin"] is False
    assert who["roles"] == [
        {"project_id": editor_p, "role": "editor", "principals": ["deploy"]},
        {"project_id": viewer_p, "role": "viewer", "principals": ["audit"]}]
    assert who["csrf_token"]

    # The person is a user, found again by (issuer, subject) at the next sign-in.
    users = site.prism.request("GET", "/api/v1/users", token=site.admin).json()["results"]
    alice = [u for u in users if u["subject"] == "alice"]
    assert len(alice) == 1 and alice[0]["id"] == who["user_id"]
    cookie2, _ = sign_in(site, "alice")
    assert me(site, cookie2)["user_id"] == who["user_id"] and cookie2 != cookie


def test_a_sessions_rights_are_its_roles_per_project(site):
    editor_p, viewer_p = new_project(), new_project()
    grant(site, group="dev", projects=[editor_p], role="editor")
    grant(site, group="dev", projects=[viewer_p], role="viewer")
    cookie, _ = sign_in(site, "alice")
    same_site = as_session(cookie, origin=site.origin)
    made = site.prism.request("POST", f"/api/v1/projects/{editor_p}/keys",
                              {"name": "alice-laptop", "public_key": ED25519}, headers=same_site)
    assert made.status == 201, made
    viewer = site.server.request("POST", f"/api/v1/projects/{viewer_p}/keys",
                                 {"name": "alice-laptop", "public_key": ED25519},
                                 headers=same_site)
    assert viewer.status == 403 and "viewer" in viewer.json()["message"], viewer
    listed = site.prism.request("GET", f"/api/v1/projects/{viewer_p}/keys", headers=same_site)
    assert listed.status == 200, listed
    elsewhere = site.server.request("GET", f"/api/v1/projects/{new_project()}/keys",
                                    headers=same_site)
    assert elsewhere.status == 403, elsewhere


def test_a_projects_admin_sees_and_changes_every_key_and_reads_its_events(site):
    p = new_project()
    grant(site, user_email="bob@example.com", projects=[p], role="admin")
    owner = site.server.token(9200, [p])
    key = site.prism.request("POST", f"/api/v1/projects/{p}/keys",
                             {"name": "someone-elses", "public_key": ED25519}, token=owner)
    assert key.status == 201, key
    cookie, _ = sign_in(site, "bob")
    same_site = as_session(cookie, origin=site.origin)
    listed = site.prism.request("GET", f"/api/v1/projects/{p}/keys", headers=same_site)
    assert [k["id"] for k in listed.json()["results"]] == [key.json()["id"]]
    events = site.prism.request("GET", f"/api/v1/events?project_id={p}", headers=same_site)
    assert events.status == 200 and events.json()["results"][0]["action"] == "key.create"
    everything = site.server.request("GET", "/api/v1/events", headers=same_site)
    assert everything.status == 403, everything
    gone = site.prism.request("DELETE", f"/api/v1/projects/{p}/keys/{key.json()['id']}",
                              headers=same_site)
    assert gone.status == 204, gone
    deleted = site.prism.request("GET", f"/api/v1/events?project_id={p}&action=key.delete",
                                 headers=same_site).json()["results"][0]
    assert deleted["actor"]["via"] == "session"
    assert deleted["actor"]["user_id"] == me(site, cookie)["user_id"]


def test_a_projects_admin_manages_the_grants_of_their_projects_only(site):
    p, q, other = new_project(), new_project(), new_project()
    theirs = grant(site, user_email="dave@example.com", projects=[p, q], role="admin")
    shared = grant(site, group="dev", projects=[p, other], role="viewer")
    elsewhere = grant(site, group="dev", projects=[other], role="editor")
    cookie, _ = sign_in(site, "dave")
    same_site = as_session(cookie, origin=site.origin)

    listed = site.prism.request("GET", "/api/v1/grants", headers=same_site)
    assert listed.status == 200, listed
    ids = {g["id"] for g in listed.json()["results"]}
    assert {theirs, shared} <= ids and elsewhere not in ids
    assert all({p, q} & set(g["projects"]) for g in listed.json()["results"])

    made = site.prism.request("POST", "/api/v1/grants",
                              {"group": "contractors", "projects": [q], "role": "editor",
                               "principals": ["deploy"]}, headers=same_site)
    assert made.status == 201, made
    for projects in ([other], [q, other]):
        refused = site.prism.request("POST", "/api/v1/grants",
                                     {"group": "contractors", "projects": projects,
                                      "role": "admin"}, headers=same_site)
        assert refused.status == 403 and str(other) in refused.json()["message"], refused
    assert site.prism.request("DELETE", f"/api/v1/grants/{shared}",
                              headers=same_site).status == 403
    assert site.prism.request("DELETE", f"/api/v1/grants/{elsewhere}",
                              headers=same_site).status == 404
    gone = site.prism.request("DELETE", f"/api/v1/grants/{made.json()['id']}", headers=same_site)
    assert gone.status == 204, gone
    # Users stay with administrators' tokens.
    assert site.prism.request("GET", "/api/v1/users", headers=same_site).status == 403

    # Both changes are events of the project, which its administrator reads.
    events = site.prism.request("GET", f"/api/v1/events?project_id={q}&resource_id={made.json()['id']}",
                                headers=same_site)
    assert events.status == 200, events
    assert [e["action"] for e in events.json()["results"]] == ["grant.delete", "grant.create"]
    assert all(e["actor"]["via"] == "session" for e in events.json()["results"])

    # A project's editor manages no grant at all.
    grant(site, user_email="frank@example.com", projects=[p], role="editor")
    frank, _ = sign_in(site, "frank")
    assert site.prism.request("GET", "/api/v1/grants",
                              headers=as_session(frank, origin=site.origin)).status == 403


def test_a_person_is_certified_for_the_principals_of_their_grants(site):
    p = new_project()
    grant(site, group="ops", projects=[p], role="editor", principals=["deploy", "ops-ro"])
    cookie, _ = sign_in(site, "alice")
    same_site = as_session(cookie, origin=site.origin)
    r = site.prism.request("POST", f"/api/v1/projects/{p}/ssh_ca/sign",
                           {"public_key": ED25519, "valid_for": 600}, headers=same_site)
    assert r.status == 201, r
    assert r.json()["principals"] == ["deploy", "ops-ro"]
    r = site.server.request("POST", f"/api/v1/projects/{p}/ssh_ca/sign",
                            {"public_key": ED25519, "principals": ["root"]}, headers=same_site)
    assert r.status == 403 and "root" in r.json()["message"], r


def test_a_cross_site_change_with_the_cookie_changes_nothing(site):
    p = new_project()
    grant(site, group="ops", projects=[p], role="editor")
    cookie, _ = sign_in(site, "alice")
    body = {"name": "cross-site", "public_key": ED25519}
    for headers in (as_session(cookie), as_session(cookie, origin="https://evil.example"),
                    as_session(cookie, origin="null"),
                    as_session(cookie, origin="https://evil.example", csrf="forged")):
        r = site.server.request("POST", f"/api/v1/projects/{p}/keys", body, headers=headers)
        assert r.status == 403 and "X-CSRF-Token" in r.json()["message"], r
    keys = site.prism.request("GET", f"/api/v1/projects/{p}/keys", token=site.admin).json()
    assert keys["results"] == []
    # The session's CSRF token (from /api/v1/me) makes the same request go through.
    csrf = me(site, cookie)["csrf_token"]
    r = site.prism.request("POST", f"/api/v1/projects/{p}/keys", body,
                           headers=as_session(cookie, csrf=csrf))
    assert r.status == 201, r


def test_the_session_cookie_is_not_a_bearer_token_and_a_token_is_not_a_cookie(site):
    cookie, _ = sign_in(site, "alice")
    r = site.get("/api/v1/me", headers={"Authorization": f"Bearer {cookie}"})
    assert r.status == 401, r
    token = site.server.token(9100, [1])
    r = site.get("/api/v1/me", headers={"Cookie": f"keypaird_session={token}"})
    assert r.status == 401, r


def test_a_session_is_for_keypairds_own_api_not_the_gcore_routes(site):
    p = new_project()
    grant(site, group="ops", projects=[p], role="editor")
    cookie, _ = sign_in(site, "alice")
    r = site.get(f"/cloud/v1/ssh_keys/{p}", headers=as_session(cookie))
    assert r.status == 401, r
    assert site.prism.request("GET", f"/api/v1/projects/{p}/keys",
                              headers=as_session(cookie)).status == 200


def test_a_person_with_no_grant_or_only_a_viewers_signs_out_and_approves_devices(site):
    cookie, _ = sign_in(site, "erin")
    who = me(site, cookie)
    assert who["read_only"] is True and who["projects"] == []
    d = device_start(site)
    assert decide(site, cookie, d["user_code"]).status == 204
    r = site.prism.request("POST", "/auth/logout", headers=as_session(cookie, origin=site.origin))
    assert r.status == 204, r


def test_sign_out_ends_the_session(site):
    cookie, _ = sign_in(site, "alice")
    assert site.server.request("POST", "/auth/logout", headers=as_session(cookie)).status == 403
    r = site.prism.request("POST", "/auth/logout", headers=as_session(cookie, origin=site.origin))
    assert r.status == 204, r
    assert cookies_set(r)["keypaird_session"][0]["max-age"] == "0"
    assert site.get("/api/v1/me", headers=as_session(cookie)).status == 401


def test_over_tls_both_cookies_are_secure(site, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    origin = f"https://127.0.0.1:{site.tls_port}"
    server = Server(tmp_path).start(
        "--tls-cert", str(cert), "--tls-key", str(key), "--oidc-issuer", site.provider.issuer,
        "--oidc-client-id", "keypaird-tls", "--oidc-client-secret-file", str(site.secret_file),
        "--public-url", origin, port=site.tls_port)
    tls = ssl.create_default_context(cafile=str(cert))

    def get(path, cookie=None):
        conn = http.client.HTTPSConnection("127.0.0.1", site.tls_port, context=tls, timeout=10)
        try:
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            r = conn.getresponse()
            r.read()
            return r.status, [(k, v) for k, v in r.getheaders()]
        finally:
            conn.close()

    def cookie(headers, name):
        for k, v in headers:
            if k.lower() == "set-cookie" and v.startswith(name + "="):
                jar = http.cookies.SimpleCookie()
                jar.load(v)
                return jar[name]
        raise AssertionError(f"no {name} cookie in {headers}")

    try:
        status, headers = get("/auth/login?return_to=%2Fconsole%2F")
        assert status == 302
        login = cookie(headers, "keypaird_login")
        assert login["secure"] and login["httponly"] and login["path"] == "/auth/callback"
        back = Browser().sign_in(dict(headers)["Location"], "alice", site.provider.issuer)
        assert back.startswith(origin + "/auth/callback?"), back
        status, headers = get(back[len(origin):], cookie=f"keypaird_login={login.value}")
        assert status == 302 and dict(headers)["Location"] == "/console/"
        session = cookie(headers, "keypaird_session")
        assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
        assert session["path"] == "/"
        spent = cookie(headers, "keypaird_login")
        assert spent["secure"] and spent["max-age"] == "0"
        status, _ = get("/api/v1/me", cookie=f"keypaird_session={session.value}")
        assert status == 200
    finally:
        server.stop()


def test_a_state_is_used_once_and_only_by_the_browser_that_started_it(site):
    url, login = start(site)
    back = at_provider(site, url, "alice")
    before = len(refused_events(site))
    # Another browser (no login cookie, or another one) brings the answer: refused, and the
    # sign-in is not used up.
    for other in ("", "someone-elses-state"):
        r = callback(site, back, other)
        assert r.status == 400 and "not started in this browser" in r.body.decode(), r
        assert "keypaird_session" not in cookies_set(r)
    r = callback(site, back, login)
    assert r.status == 302 and "keypaird_session" in cookies_set(r), r
    # Replayed: refused, no session, an event.
    r = callback(site, back, login)
    assert r.status == 400 and "used already or has expired" in r.body.decode(), r
    assert "keypaird_session" not in cookies_set(r)
    assert r.header("Content-Type").startswith("text/html")
    events = refused_events(site)
    assert len(events) == before + 1
    assert events[0]["details"]["reason"] == "state used, unknown or expired"


def test_a_code_the_provider_refuses_makes_no_session(site):
    url, login = start(site)
    back = at_provider(site, url, "alice")
    parts = urllib.parse.urlparse(back)
    query = urllib.parse.parse_qs(parts.query)
    query["code"] = [query["code"][0][:-2] + "xx"]
    r = callback(site, parts.path + "?" + urllib.parse.urlencode(query, doseq=True), login)
    assert r.status == 401 and "invalid_grant" in r.body.decode(), r
    assert "keypaird_session" not in cookies_set(r)
    assert refused_events(site)[0]["details"]["reason"] == "token endpoint: invalid_grant"


def test_the_provider_saying_no_makes_no_session(site):
    _, login = start(site)
    r = callback(site, "/auth/callback?error=access_denied&state=x", login)
    assert r.status == 401 and "access_denied" in r.body.decode(), r
    assert "keypaird_session" not in cookies_set(r)


@pytest.mark.parametrize("elsewhere", [
    "https://evil.example/", "//evil.example/console", "/\\evil.example", "javascript:alert(1)",
    "evil.example", "/console/\r\nSet-Cookie: x=y"])
def test_return_to_is_never_another_site(site, elsewhere):
    _, answer = sign_in(site, "alice", return_to=elsewhere)
    assert answer.header("Location") == "/console/"


def test_a_disabled_user_loses_the_session_at_once_and_cannot_sign_in(site):
    cookie, _ = sign_in(site, "dave")
    dave = me(site, cookie)["user_id"]
    r = site.prism.request("PATCH", f"/api/v1/users/{dave}", {"disabled": True},
                           token=site.admin)
    assert r.status == 200, r
    r = site.get("/api/v1/me", headers=as_session(cookie))
    assert r.status == 401 and "disabled" in r.json()["message"], r
    url, login = start(site)
    r = callback(site, at_provider(site, url, "dave"), login)
    assert r.status == 403 and "disabled" in r.body.decode(), r
    assert "keypaird_session" not in cookies_set(r)
    event = refused_events(site)[0]
    assert event["details"]["reason"] == "user disabled"
    assert event["resource"]["id"] == str(dave)
    # Enabled again, Dave signs in as before.
    site.prism.request("PATCH", f"/api/v1/users/{dave}", {"disabled": False}, token=site.admin)
    cookie, _ = sign_in(site, "dave")
    assert me(site, cookie)["user_id"] == dave


def test_sign_in_is_recorded_and_no_secret_reaches_the_trail(site):
    cookie, _ = sign_in(site, "bob")
    bob = me(site, cookie)["user_id"]
    r = site.prism.request("GET", f"/api/v1/events?action=user.sign_in&resource_id={bob}",
                           token=site.admin)
    events = r.json()["results"]
    assert events and events[0]["actor"]["via"] == "session"
    assert cookie not in r.body.decode() and cookie.split("_")[-1] not in r.body.decode()
    log = site.server.log_path.read_text(errors="replace")
    assert cookie.split("_")[-1] not in log


def test_without_sign_in_the_routes_say_it_is_off(server):
    r = server.request("GET", "/auth/login")
    assert r.status == 404 and "not enabled" in r.json()["message"], r


# --- the device flow (keypaird login's server side) ---------------------------------------

def device_start(site):
    r = site.prism.request("POST", "/auth/device", {})
    assert r.status == 200, r
    d = r.json()
    assert d["verification_uri"] == site.origin + "/console/#/device"
    assert d["verification_uri_complete"] == d["verification_uri"] + "?user_code=" + d["user_code"]
    assert d["expires_in"] == 600 and d["interval"] == 5
    assert r.header("Cache-Control") == "no-store"
    return d


def device_poll(site, device_code):
    return site.prism.request("POST", "/auth/device/token", {"device_code": device_code})


def decide(site, cookie, user_code, approve=True):
    return site.prism.request("POST", "/auth/device/approve",
                              {"user_code": user_code, "approve": approve},
                              headers=as_session(cookie, origin=site.origin))


def test_a_device_is_approved_in_the_browser_and_gets_a_bearer_token_of_the_session(site):
    p = new_project()
    grant(site, group="ops", projects=[p], role="editor", principals=["deploy"])
    cookie, _ = sign_in(site, "alice")
    d = device_start(site)
    r = device_poll(site, d["device_code"])
    assert r.status == 400 and r.json()["error"] == "authorization_pending", r
    r = device_poll(site, d["device_code"])  # at once again: too often
    assert r.status == 400 and r.json()["error"] == "slow_down", r
    # The person types the code as they read it (any case, no dash).
    assert decide(site, cookie, d["user_code"].lower().replace("-", "")).status == 204
    r = device_poll(site, d["device_code"])
    assert r.status == 200, r
    answer = r.json()
    assert answer["token_type"] == "Bearer" and 3500 <= answer["expires_in"] <= 3600
    token = answer["access_token"]
    # Used once.
    r = device_poll(site, d["device_code"])
    assert r.status == 400 and r.json()["error"] == "invalid_grant", r
    # The token carries the session's rights, as a Bearer token (not as a cookie).
    who = site.prism.request("GET", "/api/v1/me",
                             headers={"Authorization": f"Bearer {token}"}).json()
    assert who["via"] == "token" and who["email"] == "alice@example.com"
    assert who["roles"] == [r for r in me(site, cookie)["roles"]]
    signed = site.prism.request("POST", f"/api/v1/projects/{p}/ssh_ca/sign",
                                {"public_key": ED25519, "valid_for": 600},
                                headers={"Authorization": f"Bearer {token}"})
    assert signed.status == 201 and signed.json()["principals"] == ["deploy"], signed
    # Revoked with the session.
    assert site.prism.request("POST", "/auth/logout",
                              headers=as_session(cookie, origin=site.origin)).status == 204
    r = site.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status == 401, r


def test_a_device_denied_in_the_browser_gets_nothing(site):
    cookie, _ = sign_in(site, "alice")
    d = device_start(site)
    assert decide(site, cookie, d["user_code"], approve=False).status == 204
    r = device_poll(site, d["device_code"])
    assert r.status == 400 and r.json()["error"] == "access_denied", r
    # Decided once: the code is no longer waiting.
    r = decide(site, cookie, d["user_code"])
    assert r.status == 404, r


def test_only_a_signed_in_person_approves_and_only_a_real_code(site):
    d = device_start(site)
    r = site.server.request("POST", "/auth/device/approve",
                            {"user_code": d["user_code"], "approve": True}, token=site.admin)
    assert r.status == 403 and "browser" in r.json()["message"], r
    cookie, _ = sign_in(site, "alice")
    for wrong in ("BCDF-GHJK", "not a code", ""):
        r = decide(site, cookie, wrong)
        assert r.status == 404, r
    r = site.server.request("POST", "/auth/device/approve",
                            {"user_code": d["user_code"], "approve": True},
                            headers=as_session(cookie))  # no Origin: cross-site
    assert r.status == 403, r
    r = device_poll(site, d["device_code"])
    assert r.json()["error"] == "authorization_pending"
    r = device_poll(site, "not-a-device-code")
    assert r.status == 400 and r.json()["error"] == "invalid_grant", r


def test_auth_info_says_whether_sign_in_is_on_and_whether_this_is_a_session(site, server):
    assert site.prism.request("GET", "/auth/info").json() == {
        "sign_in": True, "issuer": site.provider.issuer, "signed_in": False}
    cookie, _ = sign_in(site, "alice")
    assert site.prism.request("GET", "/auth/info", headers=as_session(cookie)).json()[
        "signed_in"] is True
    assert site.get("/auth/info", headers=as_session("kpd_0123456789abcdef_" + "0" * 64)).json()[
        "signed_in"] is False
    assert server.request("GET", "/auth/info").json() == {
        "sign_in": False, "issuer": None, "signed_in": False}
