"""The login path's caches (src/service/generated_cache.h) never outlive a change.

A node keeps a project's KRL (`GET …/ssh_ca/krl`) and its authorized_keys answers
(`GET …/authorized_keys?…`) and sends them again while the project's generation — moved by
triggers in the same transaction as every change they are built from — is the one they were
built at, and before their own deadline (the first listed certificate's or key's expiry).

As in test_token_cache.py, a client hammers the text, keep-alive, one request after another,
and records when it sent each request and what came back. One change is made through each
path that changes the text — a certificate revoked; its key disabled, enabled, deleted; its
owner disabled and enabled; a host deleted; a CA key rotated out and deleted; for
authorized_keys a key imported, relabelled, disabled, deleted, its owner disabled and
enabled — and every answer to a request
sent after the change returned must show it: the KRL (read by `ssh-keygen -Q`, once per
distinct body, grouped by ETag) lists the certificate's serial, or no longer does;
authorized_keys has the key's line, or no longer has it. Answers to requests sent before the
change began must not show it yet (so that the test sees a change at all). The violations are
counted: there must be none.

While nothing changes the cache must be what answers: its hits on /metrics grow by about the
requests made — for the KRL on both backends (the generation is read each time), for
authorized_keys on SQLite only; PostgreSQL keeps no keys generation, so there authorized_keys
is built each time and its hits must not grow at all.

The last test writes nothing and waits: a key's `expires_at` and a (host) certificate's
`valid_before` end the kept texts by themselves.

Runs on both backends, on the session's server (the last test on a server of its own)."""

import http.client
import re
import subprocess
import time
import urllib.parse
from datetime import datetime
from pathlib import Path

from conftest import BACKEND, new_project, unique_name
from hammer import Hammer

WARM = 200   # answers before the change (the text is kept by then)
AFTER = 0.8  # seconds of hammering after the change returned
MIN_LATE = 10


def hammer(port, path, token, pause=0.0):
    return Hammer(port, path, {"Authorization": f"APIKey {token}"}, pause)


def cache_counts(port, text):
    """keypaird_generated_cache_total{text=`text`}: (hits, misses)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        metrics = conn.getresponse().read().decode()
    finally:
        conn.close()
    counts = {}
    for result in ("hit", "miss"):
        m = re.search(r'^keypaird_generated_cache_total\{text="%s",result="%s"\} (\d+)$'
                      % (text, result), metrics, re.M)
        assert m, f"no keypaird_generated_cache_total for {text} {result} on /metrics"
        counts[result] = int(m.group(1))
    return counts["hit"], counts["miss"]


def check_cache_used(port, text, before, warm, answered):
    """The hits between `before` and `warm` (the counts around `answered` answers made while
    nothing changed): about one per answer where the text is kept, none where it is not."""
    hits = warm[0] - before[0]
    if text == "authorized_keys" and BACKEND == "postgres":
        assert hits == 0, f"authorized_keys kept on PostgreSQL: {before} -> {warm}"
    else:
        assert hits >= answered - 3, \
            f"{text}: {hits} hits of {answered} answers ({before} -> {warm})"


def hammer_through(port, path, token, change, shows, text):
    """Hammers `path` until WARM answers, calls `change()`, hammers on for AFTER seconds.
    `shows(body)` says whether an answer shows the change. Returns the violations
    (wrong_answers), after asserting that the cache answered while nothing changed."""
    before = cache_counts(port, text)
    with hammer(port, path, token) as h:
        h.warm(WARM)
        answered = h.answered()  # before the counts: each was counted before it was sent
        warm = cache_counts(port, text)
        started = time.monotonic()
        change()
        returned = time.monotonic()
        time.sleep(AFTER)
    check_cache_used(port, text, before, warm, answered)
    return wrong_answers(h, shows, started, returned, WARM - 1)


def wrong_answers(h, shows, began, returned, min_early):
    """What was wrong with `h`'s answers around a change that began at `began` and was done
    at `returned` (monotonic): an answer received before it began that shows it
    (`shows(body)`), or one to a request sent after it returned that does not (a request sent
    just before may be answered after: either is right). Asserts that every answer was a 200
    and that there were enough of both to tell."""
    assert {s for _, _, s, _ in h.records} == {200}, {s for _, _, s, _ in h.records}
    verdict = {etag: shows(body) for etag, body in h.bodies.items()}  # one per distinct text
    early = [(began - got, verdict[e]) for _, got, _, e in h.records if got < began]
    late = [(sent - returned, verdict[e]) for sent, _, _, e in h.records if sent > returned]
    assert len(early) >= min_early and len(late) >= MIN_LATE, (len(early), len(late))
    return ([f"received {t:.4f}s before the change, showing it" for t, v in early if v] +
            [f"sent {t:.4f}s after the change, not showing it" for t, v in late if not v])


def assert_none(violations):
    """No path had a violation; else how many each had, and the first few."""
    found = {path: f"{len(v)}: {v[:3]}" for path, v in violations.items() if v}
    assert not found, found


# --- the KRL -----------------------------------------------------------------------------

def krl_lists(krl_body, cert, tmp_path):
    """Whether `ssh-keygen -Q` reads `cert` as revoked by the KRL `krl_body`."""
    f = tmp_path / f"krl-{time.monotonic_ns()}"
    f.write_bytes(krl_body)
    r = subprocess.run(["ssh-keygen", "-Q", "-f", str(f), str(cert)],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip().endswith((": ok", ": REVOKED")), (r.stdout, r.stderr)
    return r.stdout.strip().endswith(": REVOKED")


class Project:
    """A project with a user CA; `owner` (user `uid`, principal deploy) owns its keys, `reader`
    (another user) hammers, `admin` administers."""

    def __init__(self, server, tmp_path, uid):
        self.server, self.tmp_path, self.uid = server, tmp_path, uid
        self.p = new_project()
        self.owner = server.token(uid, [self.p], principals=["deploy"])
        self.reader = server.token(uid + 1, [self.p])
        self.admin = server.token(uid + 2, admin=True)
        r = server.request("POST", self.url("/ssh_ca"), token=self.admin, content_type=None)
        assert r.status == 201, r

    def url(self, rest):
        return f"/api/v1/projects/{self.p}{rest}"

    def call(self, method, rest, body=None, token=None, status=200):
        r = self.server.request(method, self.url(rest), body, token or self.owner,
                                content_type=None if body is None else "application/json")
        assert r.status == status, r
        return r

    def disable_owner(self, disabled):
        self.server.set_user_disabled(self.uid, disabled, self.admin)

    def key(self, labels=None, token=None, **fields):
        """A key made by ssh-keygen and imported by the owner (or `token`'s user): (its private
        key path, id)."""
        priv = self.tmp_path / unique_name("k")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(priv)],
                       check=True, timeout=30)
        body = {"name": unique_name("login"), "public_key": Path(f"{priv}.pub").read_text().strip(),
                **fields}
        if labels:
            body["labels"] = labels
        return priv, self.call("POST", "/keys", body, token=token, status=201).json()["id"]

    def certified_key(self):
        """A key of the owner's and its certificate: (key id, certificate file, serial)."""
        priv, key_id = self.key()
        c = self.call("POST", f"/keys/{key_id}/certificates", {"principals": ["deploy"]},
                      status=201).json()
        cert = Path(f"{priv}-cert.pub")
        cert.write_text(c["certificate"] + "\n")
        return key_id, cert, c["serial"]

    def krl_through(self, cert, change, listed=True):
        """The violations while `change` puts `cert` into the KRL (or, `listed` False, takes it
        out)."""
        return hammer_through(self.server.port, self.url("/ssh_ca/krl"), self.reader, change,
                              lambda body: krl_lists(body, cert, self.tmp_path) == listed, "krl")


_uid = [8700]


def new_uid():
    _uid[0] += 10
    return _uid[0]


def test_the_krl_lists_a_certificate_at_the_first_request_after_each_change(server, tmp_path):
    team = Project(server, tmp_path, new_uid())
    violations = {}

    # (a) revoked through the API.
    _, cert, serial = team.certified_key()
    violations["revoked"] = team.krl_through(
        cert, lambda: team.call("POST", f"/certificates/{serial}/revoke", status=204))

    # (b) its key disabled, and enabled again (out of the list at once too).
    key_id, cert, _ = team.certified_key()
    violations["key disabled"] = team.krl_through(
        cert, lambda: team.call("PATCH", f"/keys/{key_id}", {"disabled": True}))
    violations["key enabled"] = team.krl_through(
        cert, lambda: team.call("PATCH", f"/keys/{key_id}", {"disabled": False}), listed=False)

    # (c) its key deleted.
    key_id, cert, _ = team.certified_key()
    violations["key deleted"] = team.krl_through(
        cert, lambda: team.call("DELETE", f"/keys/{key_id}", status=204))

    # (d) its owner disabled through the API, and enabled again.
    _, cert, _ = team.certified_key()
    violations["user disabled"] = team.krl_through(cert, lambda: team.disable_owner(True))
    violations["user enabled"] = team.krl_through(cert, lambda: team.disable_owner(False),
                                                  listed=False)

    # (e) a host deleted: its host certificate enters the KRL (the host CA's section).
    team.call("POST", "/ssh_host_ca", token=team.admin, status=201)
    join = team.call("POST", "/host_join_tokens", {"hostnames": ["cache-krl.example.com"]},
                     token=team.admin, status=201).json()["token"]
    host = tmp_path / "host"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host)], check=True,
                   timeout=30)
    r = server.request("POST", "/api/v1/hosts/enroll",
                       {"project_id": team.p, "hostnames": ["cache-krl.example.com"],
                        "public_keys": [Path(f"{host}.pub").read_text().strip()]},
                       headers={"Authorization": f"Bearer {join}"})
    assert r.status == 201, r
    host_id = r.json()["host_id"]
    host_cert = tmp_path / "host-cert.pub"
    host_cert.write_text(r.json()["certificates"][0]["certificate"] + "\n")
    violations["host deleted"] = team.krl_through(
        host_cert, lambda: team.call("DELETE", f"/hosts/{host_id}", token=team.admin,
                                     status=204))

    # (f) the CA rotated, and its old key deleted: the old key's certificates enter the KRL.
    _, cert, _ = team.certified_key()
    old = team.call("GET", "/ssh_ca", token=team.admin).json()["fingerprint_sha256"]
    team.call("POST", "/ssh_ca/rotate", {}, token=team.admin)
    fp = urllib.parse.quote(old, safe="")
    violations["CA key deleted"] = team.krl_through(
        cert, lambda: team.call("DELETE", f"/ssh_ca/keys/{fp}", token=team.admin, status=204))

    assert_none(violations)


# --- authorized_keys ---------------------------------------------------------------------

def line_of(priv):
    """The base64 of the key's public half: what names its line in authorized_keys."""
    return Path(f"{priv}.pub").read_text().split()[1]


def has_line(body, priv):
    return line_of(priv) in [ln.split()[1] for ln in body.decode().splitlines() if ln.strip()]


def test_authorized_keys_shows_each_change_at_the_first_request_after_it(server, tmp_path):
    team = Project(server, tmp_path, new_uid())
    deploy = {"login": "deploy"}
    kept, _ = team.key(deploy, token=team.admin)  # another user's: listed throughout
    owned, _ = team.key(deploy)
    relabelled, relabelled_id = team.key(deploy)
    disabled, disabled_id = team.key(deploy)
    deleted, deleted_id = team.key(deploy)
    team.key({"login": "root"})  # never listed: another selector
    path = team.url("/authorized_keys?label_selector=login%3Ddeploy")
    violations = {}

    def through(name, priv, change, listed):
        violations[name] = hammer_through(
            server.port, path, team.reader, change,
            lambda body: has_line(body, priv) == listed and has_line(body, kept),
            "authorized_keys")

    new = tmp_path / unique_name("new")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(new)], check=True,
                   timeout=30)
    through("imported", new, lambda: team.call(
        "POST", "/keys", {"name": unique_name("imp"), "labels": deploy,
                          "public_key": Path(f"{new}.pub").read_text().strip()}, status=201),
        listed=True)
    through("relabelled", relabelled, lambda: team.call(
        "PATCH", f"/keys/{relabelled_id}", {"labels": {"login": "root"}}), listed=False)
    through("disabled", disabled, lambda: team.call(
        "PATCH", f"/keys/{disabled_id}", {"disabled": True}), listed=False)
    through("deleted", deleted, lambda: team.call(
        "DELETE", f"/keys/{deleted_id}", status=204), listed=False)
    # A disabled person logs in with none of their keys; enabled again, with them all.
    through("owner disabled", owned, lambda: team.disable_owner(True), listed=False)
    through("owner enabled", owned, lambda: team.disable_owner(False), listed=True)
    assert_none(violations)


# --- what only the clock changes -----------------------------------------------------------

def valid_before(cert):
    """The end of a certificate's validity as `ssh-keygen -L` reads it (local time), as a
    Unix time."""
    out = subprocess.run(["ssh-keygen", "-L", "-f", str(cert)], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    m = re.search(r"Valid: from \S+ to (\S+)", out)
    return datetime.fromisoformat(m.group(1)).timestamp()


def test_an_expiry_ends_the_kept_texts_without_any_write(fresh_server, tmp_path):
    """A key expiring (`expires_at`) leaves authorized_keys, and a deleted host's certificate
    (valid for `serve --host-cert-validity 10s`, the shortest; a user certificate is valid at
    least 60 s) leaves the KRL when it expires, while only GETs reach the server."""
    kek = tmp_path / "ca.kek"
    fresh_server.cli("ca", "new-kek", str(kek))
    s = fresh_server.start("--ca-kek-file", str(kek), "--host-cert-validity", "10s")
    team = Project(s, tmp_path, new_uid())
    # The host first: its certificate's ten seconds run while the rest is made.
    team.call("POST", "/ssh_host_ca", token=team.admin, status=201)
    join = team.call("POST", "/host_join_tokens", {"hostnames": ["expiry.example.com"]},
                     token=team.admin, status=201).json()["token"]
    host = tmp_path / "host"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host)], check=True,
                   timeout=30)
    r = s.request("POST", "/api/v1/hosts/enroll",
                  {"project_id": team.p, "hostnames": ["expiry.example.com"],
                   "public_keys": [Path(f"{host}.pub").read_text().strip()]},
                  headers={"Authorization": f"Bearer {join}"})
    assert r.status == 201, r
    host_cert = tmp_path / "host-cert.pub"
    host_cert.write_text(r.json()["certificates"][0]["certificate"] + "\n")
    team.call("DELETE", f"/hosts/{r.json()['host_id']}", token=team.admin, status=204)
    cert_ends = valid_before(host_cert)

    key_ends = int(time.time()) + 3
    expiring, _ = team.key({"login": "deploy"},
                           expires_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(key_ends)))
    kept, _ = team.key({"login": "deploy"})

    krl_before = cache_counts(s.port, "krl")
    keys_before = cache_counts(s.port, "authorized_keys")
    # Unhurried clients (a request every 10 ms): the point is the deadline, not the rate.
    with hammer(s.port, team.url("/authorized_keys?label_selector=login%3Ddeploy"),
                team.reader, pause=0.01) as keys, \
            hammer(s.port, team.url("/ssh_ca/krl"), team.reader, pause=0.01) as krl:
        while time.time() < max(key_ends, cert_ends) + 1.2:
            assert time.time() < cert_ends + 15, "the host certificate outlived its validity"
            time.sleep(0.05)
    # Each expiry on the monotonic clock of the records, with a margin either side.
    offset = time.time() - time.monotonic()

    def around(h, ends, shows):
        return wrong_answers(h, shows, ends - offset - 0.25, ends - offset + 0.25, MIN_LATE)

    assert all(has_line(b, kept) for b in keys.bodies.values())
    found = {
        "key expired": around(keys, key_ends, lambda b: not has_line(b, expiring)),
        "certificate expired": around(krl, cert_ends,
                                      lambda b: not krl_lists(b, host_cert, tmp_path)),
    }
    assert_none(found)
    # And the texts were kept meanwhile (authorized_keys on SQLite only).
    krl_after = cache_counts(s.port, "krl")
    keys_after = cache_counts(s.port, "authorized_keys")
    assert krl_after[0] - krl_before[0] >= len(krl.records) - 5, (krl_before, krl_after)
    if BACKEND == "sqlite":
        assert keys_after[0] - keys_before[0] >= len(keys.records) - 5, (keys_before, keys_after)
    else:
        assert keys_after[0] == keys_before[0], (keys_before, keys_after)
