"""`keypaird login` end to end (docs/people.md): the lean client asks for a device code, the
person approves it in headless Chromium (signed in with a real OpenID provider, npm
oidc-provider), the client certifies an in-memory Ed25519 key with the project's CA and puts
it in a real ssh-agent or in files; a real sshd that trusts only that CA then lets the
person in as their grants' principal, and a principal their grants do not give is refused.
Needs root (sshd), as the other sshd tests do."""

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN, new_project
from sshtools import Sshd, logged_in
from test_console import chromium  # noqa: F401 (the module's browser)
from test_console_sign_in import _Env, at_provider
from test_console import Page
from test_sign_in import Site, grant

# The device flow's store work is test_sign_in.py's on both backends; this module proves the
# client, the browser step and sshd, which do not depend on the backend (and it waits a
# minute for a certificate to end): once, on SQLite.
pytestmark = pytest.mark.sqlite_only

DEVICE_URL = re.compile(r"(https?://\S+/console/#/device\?user_code=[A-Z]{4}-[A-Z]{4})")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(tmp_path_factory.mktemp("login"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def project(site, tmp_path_factory):
    """A project whose CA an sshd trusts (no authorized_keys: a certificate is the only way
    in), and a grant that lets the group ops be certified for root there."""
    p = new_project()
    grant(site, group="ops", projects=[p], role="editor", principals=["root"])
    assert site.prism.request("POST", f"/api/v1/projects/{p}/ssh_ca", token=site.admin,
                              content_type=None).status == 201
    ca = site.server.request("GET", f"/api/v1/projects/{p}/ssh_ca/public_key",
                             token=site.admin)
    d = tmp_path_factory.mktemp("login-sshd")
    (d / "ca.pub").write_bytes(ca.body)
    # The project's KRL, as `keypaird krl` keeps it on a server (revoked() refreshes it).
    token_file = d / "krl-token"
    token_file.write_text(site.server.token(9300, [p]) + "\n")
    os.chmod(token_file, 0o600)
    krl = d / "revoked.krl"

    def refresh_krl():
        subprocess.run([BIN, "krl", "--url", site.origin, "--token-file", str(token_file),
                        "--project", str(p), "--out", str(krl)], check=True,
                       capture_output=True, timeout=30)

    refresh_krl()
    sshd = Sshd(d / "sshd", f"TrustedUserCAKeys {d / 'ca.pub'}\nRevokedKeys {krl}\n")
    sshd.refresh_krl = refresh_krl
    yield p, sshd
    sshd.stop()


@pytest.fixture(scope="module")
def browser(chromium, site, project, tmp_path_factory):  # noqa: F811
    """Chromium, signed in to the console as Alice (group ops), after the grant was made:
    grants count from the next sign-in."""
    page = Page(chromium, _Env(site, tmp_path_factory.mktemp("login-browser")))
    chromium.delete_all_cookies()
    chromium.get(site.origin + "/console/")
    page.wait_css("#sign-in-provider").click()
    at_provider(page, "alice", site)
    page.wait_css("#session:not([hidden])")
    return page


def login(site, browser, project_id, *args, env=None, approve=True):
    """Runs keypaird login; approves its device code in the browser as the person would,
    from the link it prints. The finished process."""
    proc = subprocess.Popen(
        [BIN, "login", "--url", site.origin, "--project", str(project_id), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, **(env or {})))
    said = []
    deadline = time.monotonic() + 20
    url = None
    while url is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        said.append(line)
        m = DEVICE_URL.search(line)
        url = m.group(1) if m else None
    assert url, f"keypaird login printed no device link: {''.join(said)}"
    browser.d.get(url)
    browser.wait_css("#user-code")
    browser.css("#approve" if approve else "#deny").click()
    browser.wait_css("#device-done")
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    proc.said = "".join(said) + err
    proc.out = out
    return proc


@pytest.fixture(scope="module")
def short(site, browser, project, tmp_path_factory):
    """A login certificate of the shortest --ttl (1m), made when the module starts: it lets
    the person in now, and the module's last test, when the minute has passed, sees it
    refused, without a minute spent waiting for it alone."""
    p, sshd = project
    key = tmp_path_factory.mktemp("short") / "id_short"
    r = login(site, browser, p, "--out", str(key), "--no-agent", "--ttl", "1m")
    assert r.returncode == 0, r.said
    assert logged_in(sshd.login(key)), sshd.log()[-2000:]
    return key, time.time() + 60


def ssh_with_agent(sock, port):
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-p", str(port), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", f"IdentityAgent={sock}", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
         "root@127.0.0.1", "echo", "keypaird-login-ok"],
        capture_output=True, text=True, timeout=60)


def test_login_writes_a_key_and_certificate_that_sshd_lets_in(site, browser, project, short,
                                                              tmp_path):
    p, sshd = project
    key = tmp_path / "id_keypaird"
    r = login(site, browser, p, "--out", str(key), "--no-agent", "--ttl", "10m")
    assert r.returncode == 0, r.said
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert oct(Path(f"{key}-cert.pub").stat().st_mode & 0o777) == "0o600"
    shown = subprocess.run(["ssh-keygen", "-L", "-f", f"{key}-cert.pub"], capture_output=True,
                           text=True, check=True).stdout
    assert re.search(r"Principals:\s*\n\s*root\s*\n", shown), shown
    # Valid for the --ttl asked (after the CA's 5 minutes of backdating).
    valid = re.search(r"Valid: from (\S+) to (\S+)", shown)
    start, end = (time.mktime(time.strptime(v, "%Y-%m-%dT%H:%M:%S")) for v in valid.groups())
    assert end - start == 10 * 60 + 5 * 60, shown
    assert logged_in(sshd.login(key)), sshd.log()[-2000:]
    # The private key never reached the service: nothing it stores is that key.
    pub = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], capture_output=True, text=True,
                         check=True).stdout.split()[1]
    keys = site.server.request("GET", f"/api/v1/projects/{p}/keys", token=site.admin).json()
    assert all(pub not in k["public_key"] for k in keys["results"])


def test_login_adds_the_key_to_ssh_agent_with_a_lifetime(site, browser, project):
    p, sshd = project
    with tempfile.TemporaryDirectory() as d:
        sock = f"{d}/agent.sock"
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(sock) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not logged_in(ssh_with_agent(sock, sshd.port))  # the agent is empty
            r = login(site, browser, p, "--ttl", "5m", env={"SSH_AUTH_SOCK": sock})
            assert r.returncode == 0, r.said
            listed = subprocess.run(["ssh-add", "-L"], capture_output=True, text=True,
                                    env=dict(os.environ, SSH_AUTH_SOCK=sock)).stdout
            assert "ssh-ed25519-cert-v01@openssh.com" in listed, listed
            assert logged_in(ssh_with_agent(sock, sshd.port)), sshd.log()[-2000:]
        finally:
            agent.terminate()
            agent.wait(timeout=10)


def test_a_principal_the_person_lacks_or_a_denial_gets_no_certificate(site, browser, project,
                                                                      tmp_path):
    p, _ = project
    key = tmp_path / "id_deploy"
    r = login(site, browser, p, "--principals", "deploy", "--out", str(key), "--no-agent")
    assert r.returncode != 0 and "deploy" in r.said, r.said
    assert not key.exists()
    r = login(site, browser, p, "--out", str(key), "--no-agent", approve=False)
    assert r.returncode != 0 and "denied" in r.said.lower(), r.said
    assert not key.exists()


def test_a_disabled_persons_login_certificate_is_in_the_krl_until_they_are_enabled(
        site, browser, project, tmp_path):
    p, sshd = project
    key = tmp_path / "id_alice"
    r = login(site, browser, p, "--out", str(key), "--no-agent", "--ttl", "10m")
    assert r.returncode == 0, r.said
    alice = [u for u in site.prism.request("GET", "/api/v1/users", token=site.admin)
             .json()["results"] if u["subject"] == "alice"][0]["id"]

    def set_disabled(disabled):
        r = site.prism.request("PATCH", f"/api/v1/users/{alice}", {"disabled": disabled},
                               token=site.admin)
        assert r.status == 200, r
        sshd.refresh_krl()

    try:
        set_disabled(True)
        assert not logged_in(sshd.login(key)), "a disabled person's certificate let them in"
        assert "revoked" in sshd.log().lower(), sshd.log()[-2000:]
    finally:
        set_disabled(False)  # the module's browser session is Alice's
    assert logged_in(sshd.login(key)), sshd.log()[-2000:]


def test_a_login_certificate_is_refused_after_its_ttl(project, short):
    _, sshd = project
    key, ends = short
    time.sleep(max(0.0, ends - time.time() + 2))
    assert not logged_in(sshd.login(key))
    assert "expired" in sshd.log().lower() or "Certificate invalid" in sshd.log(), \
        sshd.log()[-2000:]
