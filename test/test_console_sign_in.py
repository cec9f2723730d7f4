"""The console with sign-in (docs/people.md), in headless Chromium against a real OpenID
provider (npm oidc-provider, test/oidc.py): "Sign in with …" goes through the provider's own
login and consent pages and back; the session shows who is signed in and their role, works
the keys page, and signs out on the server; the device page approves `keypaird login`
(the device flow's browser step), also when it first has to send the person to sign in; and
a project's admin by grant manages that project's grants on the People page."""

import time
import urllib.parse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

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
    # Their name opens who they are to keypaird: the provider's identity, groups and roles.
    page.css("#who").click()
    identity = page.wait_css("#identity").text
    assert "Alice" in identity and "alice@example.com" in identity
    assert site.provider.issuer in identity
    assert [c.text for c in page.all("#account-groups .chip")] == ["ops", "dev"]
    row = page.wait_css(f"#account-roles a[href='#/projects/{p}/keys']")
    cells = row.find_elements(By.XPATH, "ancestor::tr/td")
    assert [c.text for c in cells[1:]] == ["editor", "deploy"]
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


def test_a_project_admin_by_group_manages_that_projects_grants_and_sees_no_users(page, site):
    p, q = new_project(), new_project()
    mine = grant(site, group="dev", projects=[p], role="admin")  # alice is in "dev"
    shared = grant(site, group="ops", projects=[p, q], role="viewer", principals=["deploy"])
    elsewhere = grant(site, user_email="bob@example.com", projects=[q], role="editor")
    page.d.get("about:blank")  # else a console left open by the last test only changes its hash
    page.d.get(site.origin + f"/console/#/projects/{p}/people")
    page.wait_css("#sign-in-provider").click()
    at_provider(page, "alice", site)
    page.wait_css("#session:not([hidden])")
    page.wait_text("#people-title", f"project {p}")
    page.wait_text("#who", "Alice · admin")
    assert page.css("#nav-people").is_displayed()
    # Only the grants naming p; no users (an administrator's token only).
    page.wait(lambda: sorted(e.get_attribute("data-grant") for e in
                             page.all("#grants-results tr[data-grant]")) == sorted([mine, shared]),
              what="the grants naming the project")
    assert elsewhere not in page.css("#grants-results").text
    assert not page.all("#users-results, table.users, #users-title")
    # A grant that also names q, which alice does not administer: not hers to delete.
    delete_shared = page.css(f"#delete-grant-{shared}")
    assert not delete_shared.is_enabled()
    why = page.css(f"#grant-{shared}-why")
    assert str(q) in why.text and "do not administer" in why.text
    assert delete_shared.get_attribute("aria-describedby") == f"grant-{shared}-why"
    assert page.css(f"#delete-grant-{mine}").is_enabled()

    # She adds a grant for p (the session's CSRF token goes with it)...
    page.css("#grant-value").send_keys("contractors")
    page.css("#grant-principals").send_keys("deploy", Keys.ENTER)
    page.wait(lambda: len(page.all("#grants-results tr[data-grant]")) == 3, what="three grants")
    added = [g for g in site.prism.request("GET", "/api/v1/grants", token=site.admin)
             .json()["results"] if g["group"] == "contractors"]
    assert len(added) == 1 and added[0]["projects"] == [p] and added[0]["role"] == "viewer"
    # ...but not one that also names q: the refusal is said in the form.
    page.css("#grant-value").send_keys("contractors-too")
    page.css("#grant-projects").send_keys(f", {q}")
    page.expect_failure("/api/v1/grants", 403)
    page.css("#grant-add").click()
    assert "administer" in page.wait_css("#grant-form-error").text
    # She deletes the one she added, confirmed.
    page.css(f"#delete-grant-{added[0]['id']}").click()
    page.wait_css("#confirm-delete-grant").click()
    page.wait(lambda: len(page.all("#grants-results tr[data-grant]")) == 2, what="two grants")
    left = {g["id"] for g in site.prism.request("GET", "/api/v1/grants", token=site.admin)
            .json()["results"]}
    assert added[0]["id"] not in left and {mine, shared, elsewhere} <= left

    # In q she is a viewer: no People link, and the page refuses.
    page.d.execute_script("location.hash = arguments[0]", f"#/projects/{q}/keys")
    page.wait_text("#who", "Alice · viewer")
    assert not page.css("#nav-people").is_displayed()
    page.d.execute_script("location.hash = arguments[0]", f"#/projects/{q}/people")
    assert "Only administrators manage people" in page.wait_css("#people-refused").text
