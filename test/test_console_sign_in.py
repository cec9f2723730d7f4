"""The console with sign-in (docs/people.md), in headless Chromium against a real OpenID
provider (npm oidc-provider, test/oidc.py): "Sign in with …" goes through the provider's own
login and consent pages and back; the session shows who is signed in and their role, works
the keys page, and signs out on the server; and the device page approves `keypaird login`
(the device flow's browser step), also when it first has to send the person to sign in."""

import time
import urllib.parse

import pytest
from selenium.webdriver.common.by import By

from conftest import new_project, request
from test_console import Page, chromium  # noqa: F401 (the module's browser)
from test_sign_in import Site, device_poll, grant


class _Env:
    """What Page needs of the console's environment."""

    def __init__(self, site, workdir):
        self.base = site.origin
        self.workdir = workdir
        self.shots = workdir / "screenshots"
        self.shots.mkdir(exist_ok=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(tmp_path_factory.mktemp("console-sign-in"))
    yield s
    s.stop()


@pytest.fixture
def page(chromium, site, tmp_path):  # noqa: F811
    chromium.get_log("browser")
    chromium.delete_all_cookies()
    p = Page(chromium, _Env(site, tmp_path))
    yield p
    # The provider's development pages load web fonts (no network here) and its favicon:
    # only what happened on keypaird's pages counts.
    errors = [e for e in p.console_errors()
              if not e.startswith((site.provider.issuer, "https://fonts.googleapis.com/"))]
    assert not errors, f"errors in the browser console: {errors}"


def at_provider(page, person, site):
    """Signs `person` in on the provider's own pages (its development login form and its
    consent page), as a person would, until the browser is back on keypaird."""
    page.wait(lambda: page.d.current_url.startswith(site.provider.issuer), what="the provider")
    login = page.wait_css("input[name=login]")
    login.send_keys(person)
    page.css("input[name=password]").send_keys("any")
    page.css("button[type=submit]").click()
    for _ in range(3):
        page.wait(lambda: page.d.current_url.startswith(site.origin)
                  or page.d.find_elements(By.CSS_SELECTOR, "button[type=submit]"),
                  what="the consent page or keypaird")
        if page.d.current_url.startswith(site.origin):
            return
        page.css("button[type=submit]").click()  # "Continue": consent to keypaird's scopes
        time.sleep(0.2)
    page.wait(lambda: page.d.current_url.startswith(site.origin), what="back on keypaird")


def test_sign_in_with_the_provider_shows_who_and_their_role_then_signs_out(page, site):
    p = new_project()
    grant(site, group="ops", projects=[p], role="editor", principals=["deploy"])
    page.d.get(site.origin + f"/console/#/projects/{p}/keys")
    button = page.wait_css("#sign-in-provider")
    assert button.text == "Sign in with " + urllib.parse.urlparse(site.provider.issuer).netloc
    button.click()
    at_provider(page, "alice", site)
    page.wait_css("#session:not([hidden])")
    # Back on the page the person started from, signed in as themselves.
    page.wait(lambda: page.d.current_url.endswith(f"/console/#/projects/{p}/keys"),
              what="the keys page")
    page.wait_text("#who", "Alice · editor")
    page.wait(lambda: page.all("table.keys, .empty"), what="the keys list")
    # The cookie is HttpOnly: the page's scripts never see the session.
    assert "keypaird_session" not in page.d.execute_script("return document.cookie")
    assert page.d.execute_script(
        "return sessionStorage.getItem('keypaird.console.token')") is None
    # An editor may import here: the button is offered.
    page.wait(lambda: "Import" in page.css("main").text, what="an import button")
    # Signing out ends the session on the server, not only in this browser.
    cookie = {c["name"]: c["value"] for c in page.d.get_cookies()}["keypaird_session"]
    page.css("#sign-out").click()
    page.wait_css("#sign-in-provider")
    info = request(int(urllib.parse.urlparse(site.origin).port), "GET", "/auth/info",
                   headers={"Cookie": "keypaird_session=" + cookie})
    assert info.json()["signed_in"] is False


def test_the_device_page_sends_the_person_to_sign_in_then_approves_keypaird_login(page, site):
    p = new_project()
    grant(site, group="ops", projects=[p], role="editor", principals=["deploy"])
    start = site.prism.request("POST", "/auth/device", {})
    d = start.json()
    page.d.get(d["verification_uri_complete"])
    page.wait_css("#device-sign-in").click()
    at_provider(page, "alice", site)
    # Back on the device page, with the code filled in from the link.
    code = page.wait_css("#user-code")
    assert code.get_attribute("value") == d["user_code"]
    assert device_poll(site, d["device_code"]).json()["error"] == "authorization_pending"
    page.css("#approve").click()
    page.wait_text("#device-done", "Approved")
    time.sleep(0.1)
    r = device_poll(site, d["device_code"])
    assert r.status == 200 and r.json()["token_type"] == "Bearer", r


def test_the_device_page_denies_and_says_when_a_code_is_wrong(page, site):
    page.d.get(site.origin + "/console/")
    page.wait_css("#sign-in-provider").click()
    at_provider(page, "alice", site)
    page.wait_css("#session:not([hidden])")
    d = site.prism.request("POST", "/auth/device", {}).json()
    page.d.get(site.origin + "/console/#/device")
    code = page.wait_css("#user-code")
    code.send_keys("BCDF-GHJK")  # not the code the device shows
    page.expect_failure("/auth/device/approve", 404)
    page.css("#approve").click()
    page.wait_text("#user-code-error", "No sign-in is waiting for the code")
    code.clear()
    code.send_keys(d["user_code"].lower())
    page.css("#deny").click()
    page.wait_text("#device-done", "Denied")
    assert device_poll(site, d["device_code"]).json()["error"] == "access_denied"
