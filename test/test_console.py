"""The web console (/console/) end to end, in Debian's headless Chromium driven by Selenium,
against a real keypaird: sign-in, the project switcher, the keys table (search, filters,
sort, keyset paging), copyable fingerprints, import (paste, drop, file), generate (private
key shown once, downloaded, copied, forgotten), the key page (labels, share, disable,
expiry, rename, delete; 409 and 412), SSH access (the project CA's key and sshd lines, the
KRL download, the authorized_keys preview, requesting, downloading and revoking a
certificate, a service without a CA), the People page (a project's grants added and
deleted, users disabled and enabled), the Hosts page (enrolled hosts with their fingerprints
and certificate expiry, join tokens made (shown once), refused and deleted, hosts deleted, the
host CA's known_hosts line), CA rotation (a CA's keys, rotated and retired early by
an administrator, on SSH access and Hosts), read-only tokens, keyboard-only use, an axe-core
scan, layouts from 1280 to 390 px in light and dark, and the page's safety (CSP, headers,
API values rendered as text). Any error in the browser console fails a test unless the
test expects exactly that failed request.

Screenshots of the main screens go to $KEYPAIRD_CONSOLE_SCREENSHOTS (docs/console to
refresh the README's), else to the session's temporary folder."""

import base64
import json
import os
import re
import sqlite3
import subprocess
import time
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException,
                                        StaleElementReferenceException, TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import REPO, Server, new_project, request

# The console does not depend on the database: one pass (SQLite) is enough.
pytestmark = pytest.mark.sqlite_only

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
AXE = REPO / "tools" / "node_modules" / "axe-core" / "axe.min.js"
CONSOLE_DIR = REPO / "console"
XSS = "<img src=x onerror=alert(1)>"


# ---------------------------------------------------------------------------------------
# Fixtures: one keypaird and one Chromium for the module.

class Env:
    def __init__(self, server, workdir):
        self.server = server
        self.base = f"http://127.0.0.1:{server.port}"
        self.p1, self.p2 = new_project(), new_project()
        # The writer may be issued certificates for two logins (token create --principals).
        self.writer = self.token("--user", "11", "--projects", f"{self.p1},{self.p2}",
                                 "--principals", "deploy,ops")
        self.other = self.token("--user", "12", "--projects", f"{self.p1}")
        self.reader = self.token("--user", "13", "--projects", f"{self.p1}", "--read-only")
        self.admin = self.token("--user", "14", "--admin")
        self.workdir = workdir
        self.keydir = workdir / "sshkeys"
        self.keydir.mkdir()
        self.shots = Path(os.environ.get("KEYPAIRD_CONSOLE_SCREENSHOTS", workdir / "screenshots"))
        self.shots.mkdir(parents=True, exist_ok=True)

    def token(self, *args):
        return self.server.cli("token", "create", *args).stdout.strip()

    def api(self, method, path, body=None, token=None, headers=None):
        return request(self.server.port, method, "/api/v1" + path, body,
                       token or self.writer, headers=headers)

    def create(self, project, name, token=None, **body):
        r = self.api("POST", f"/projects/{project}/keys", {"name": name, **body}, token)
        assert r.status == 201, r
        return r.json()

    def public_key(self, name, kind="ed25519", comment=None):
        """A fresh public key made by ssh-keygen (type ed25519 or ecdsa)."""
        path = self.keydir / name
        args = ["-t", kind] + (["-b", "256"] if kind == "ecdsa" else [])
        subprocess.run(["ssh-keygen", *args, "-N", "", "-q", "-C", comment or name, "-f",
                        str(path)], check=True)
        return Path(str(path) + ".pub")


@pytest.fixture(scope="module")
def env(workdir):
    """The console's keypaird, with the SSH certificate authority on (as `server` has it)."""
    d = workdir / "console"
    d.mkdir()
    s = Server(d)
    kek = d / "ca.kek"
    s.cli("ca", "new-kek", str(kek))
    s.start("--ca-kek-file", str(kek))
    yield Env(s, d)
    s.stop()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    downloads = tmp_path_factory.mktemp("downloads")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}", "--window-size=1280,860"]:
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


class Page:
    """The browser on the console, with the checks every test shares."""

    def __init__(self, driver, env):
        self.d = driver
        self.env = env
        self.expected = []  # (url part, status) of requests the test means to fail

    # -- browser console
    def expect_failure(self, url_part, status):
        self.expected.append((url_part, str(status)))

    def console_errors(self):
        errors = []
        for e in self.d.get_log("browser"):
            msg = e["message"]
            # The bare SVG document open() passes through asks for /favicon.ico (the
            # console's pages name their icon); nothing else may fail.
            if e["level"] != "SEVERE" or msg.startswith(f"{self.env.base}/favicon.ico "):
                continue
            if any(u in msg and f"status of {s}" in msg for u, s in self.expected):
                continue
            errors.append(msg)
        return errors

    # -- navigation
    def open(self, token=None, hash_=""):
        """The console, signed in with `token` (put into sessionStorage as sign-in does)."""
        # Storage is cleared from a page of the origin that runs no console code.
        self.d.get(self.env.base + "/console/icon.svg")
        self.d.execute_script("sessionStorage.clear(); localStorage.clear();")
        if token:
            self.d.execute_script("sessionStorage.setItem('keypaird.console.token', arguments[0])",
                                  token)
        self.d.get(self.env.base + "/console/" + hash_)
        if token:
            self.wait_css("#session:not([hidden])")

    def keys_page(self, token, project):
        self.open(token, f"#/projects/{project}/keys")
        self.wait(lambda: self.d.find_elements(By.CSS_SELECTOR, "table.keys, .empty"))

    # -- waiting and finding
    def wait(self, cond, timeout=10, what="condition"):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.05,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(
                lambda d: cond())
        except TimeoutException:
            self.d.save_screenshot(str(self.env.workdir / "failure.png"))
            raise AssertionError(f"timed out waiting for {what}; console: "
                                 f"{self.console_errors()}") from None

    def wait_css(self, css, timeout=10):
        return self.wait(lambda: next((e for e in self.d.find_elements(By.CSS_SELECTOR, css)
                                       if e.is_displayed()), None), timeout, css)

    def wait_text(self, css, text, timeout=10):
        return self.wait(lambda: next((e for e in self.d.find_elements(By.CSS_SELECTOR, css)
                                       if text in e.text), None), timeout, f"{css} ~ {text!r}")

    def css(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def all(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def row_names(self):
        return self.d.execute_script(  # in one call: rows may be redrawn meanwhile
            "return [...document.querySelectorAll('table.keys .key-link')]"
            ".map(e => e.textContent)")

    def wait_rows(self, names, timeout=10):
        self.wait(lambda: self.row_names() == names, timeout, f"rows {names}, "
                  f"have {self.row_names()}")

    # -- keyboard
    def keys(self, *keys):
        ActionChains(self.d).send_keys(*keys).perform()

    def active(self):
        return self.d.switch_to.active_element

    def tab_to(self, css, limit=60, back=False):
        """Presses Tab (or Shift+Tab) until the element matching `css` has the focus."""
        target = self.wait_css(css)
        for _ in range(limit):
            if self.active() == target:
                return target
            if back:
                ActionChains(self.d).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(
                    Keys.SHIFT).perform()
            else:
                self.keys(Keys.TAB)
        raise AssertionError(f"Tab never reached {css}")

    # -- other
    def clipboard(self):
        return self.d.execute_async_script(
            "const done = arguments[0];"
            "navigator.clipboard.readText().then(done, e => done('ERROR ' + e));")

    def shot(self, name, full=False):
        """A screenshot: the window, or (full) the whole page's height."""
        path = self.env.shots / f"{name}.png"
        if not full:
            self.d.save_screenshot(str(path))
            return
        width, height = self.d.execute_script(
            "return [window.innerWidth, document.documentElement.scrollHeight]")
        shot = self.d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        path.write_bytes(base64.b64decode(shot["data"]))

    def axe(self, what):
        """axe-core over the page now; returns the serious and critical violations."""
        if not self.d.execute_script("return typeof window.axe === 'object'"):
            self.d.execute_script(AXE.read_text())
        result = self.d.execute_async_script(
            "const done = arguments[0];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify("
            "[{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}])));")
        bad = [v for v in json.loads(result) if v["impact"] in ("serious", "critical")]
        return [f"{what}: {v['id']} ({v['impact']}): {v['help']} at "
                f"{[n['target'] for n in v['nodes']][:3]}" for v in bad]

    def no_horizontal_overflow(self):
        return self.d.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture
def page(chromium, env):
    chromium.get_log("browser")  # drop what earlier tests left
    chromium.set_window_size(1280, 860)
    chromium.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    p = Page(chromium, env)
    yield p
    errors = p.console_errors()
    assert not errors, f"errors in the browser console: {errors}"
    # No alert may be left open (an executed XSS payload would leave one).
    try:
        text = chromium.switch_to.alert.text
        chromium.switch_to.alert.dismiss()
        raise AssertionError(f"an alert is open: {text!r}")
    except NoAlertPresentException:
        pass


# ---------------------------------------------------------------------------------------
# Serving: headers, embedded files, size.

class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_console_is_served_with_a_strict_policy_and_revalidated_by_etag(env):
    r = request(env.server.port, "GET", "/console/")
    assert r.status == 200
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    assert r.body == (CONSOLE_DIR / "index.html").read_bytes()
    csp = r.header("Content-Security-Policy")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] in ("'none'", "'self'")
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp and "http" not in csp
    assert r.header("X-Content-Type-Options") == "nosniff"
    assert r.header("Referrer-Policy") == "no-referrer"
    etag = r.header("ETag")
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    again = request(env.server.port, "GET", "/console/", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    assert request(env.server.port, "GET", "/console").body == r.body

    # The page has no inline script or style, and loads only this origin's files.
    tags = _Tags()
    tags.feed(r.body.decode())
    for tag, attrs in tags.tags:
        assert "style" not in attrs and not any(a.startswith("on") for a in attrs), tag
        if tag == "script":
            assert attrs.get("src", "").startswith("/console/"), attrs
        for a in ("src", "href"):
            if a in attrs:
                assert attrs[a].startswith(("/console/", "#")), attrs
    assert "<style" not in r.body.decode()

    # Every file of console/ is served, as it is, with its type; nothing else is.
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
             ".svg": "image/svg+xml", ".html": "text/html; charset=utf-8"}
    for f in sorted(CONSOLE_DIR.iterdir()):
        got = request(env.server.port, "GET", f"/console/{f.name}")
        assert got.status == 200 and got.body == f.read_bytes(), f.name
        assert got.header("Content-Type") == types[f.suffix], f.name
        assert got.header("Content-Security-Policy") == csp
    for missing in ("/console/nope.js", "/console/..%2fREADME.md", "/console/a/b.js"):
        assert request(env.server.port, "GET", missing).status == 404, missing
    # No HTML is built from strings in the scripts: API values can only become text.
    for f in CONSOLE_DIR.glob("*.js"):
        source = f.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                     "new Function", "localStorage"):
            assert sink not in source, f"{f.name} uses {sink}"


def test_first_load_is_under_150_kb(page, env):
    page.d.execute_cdp_cmd("Network.enable", {})
    page.d.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    try:
        page.open()
        page.wait_css("#token")
        transferred = page.d.execute_script(
            "return performance.getEntriesByType('navigation')[0].transferSize +"
            " performance.getEntriesByType('resource').reduce((s, e) => s + e.transferSize, 0)")
        hosts = page.d.execute_script(
            "return performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
    finally:
        page.d.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": False})
    total = sum(f.stat().st_size for f in CONSOLE_DIR.iterdir())
    print(f"first load: {transferred} bytes transferred; console/ holds {total} bytes")
    assert 0 < transferred < 150 * 1024
    assert set(hosts) <= {f"127.0.0.1:{env.server.port}"}


# ---------------------------------------------------------------------------------------
# Sign-in and the session.

def test_sign_in_and_out_by_keyboard_only_keeps_the_token_in_this_tab(page, env):
    page.open()
    token_input = page.wait_css("#token")
    assert page.active() == token_input  # the field has the focus on arrival
    page.shot("sign-in")
    # A wrong token: refused with a message, nothing kept.
    page.expect_failure("/api/v1/me", 401)
    page.keys("kpd_wrong_token", Keys.ENTER)
    error = page.wait_css("#token-error")
    assert "not accepted" in error.text
    assert token_input.get_attribute("aria-invalid") == "true"
    assert page.d.execute_script("return sessionStorage.length") == 0
    # The right one: Ctrl+A and type over it, Enter.
    assert page.active() == token_input
    ActionChains(page.d).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    page.keys(env.writer, Keys.ENTER)
    page.wait_text("#keys-title", f"project {env.p1}")
    assert page.d.execute_script(
        "return sessionStorage.getItem('keypaird.console.token')") == env.writer
    assert page.d.execute_script("return localStorage.length") == 0
    assert env.writer not in page.d.current_url
    assert env.writer.split("_")[-1] not in env.server.log_path.read_text()
    # Sign out with the keyboard: Tab to the button, Enter.
    page.tab_to("#sign-out")
    page.keys(Keys.ENTER)
    page.wait_css("#token")
    assert "signed out" in page.css(".notice").text
    assert page.d.execute_script("return sessionStorage.length") == 0
    # A reload stays signed out.
    page.d.refresh()
    page.wait_css("#token")


def test_a_revoked_token_ends_the_session_with_a_message(page, env):
    token = env.token("--user", "19", "--projects", str(env.p1))
    page.keys_page(token, env.p1)
    listed = env.server.cli("token", "list").stdout
    token_id = next(line.split()[0] for line in listed.splitlines()
                    if token.split("_")[1] in line)
    env.server.cli("token", "revoke", token_id)
    page.expect_failure("/api/v1/", 401)
    page.d.refresh()
    assert "no longer accepted" in page.wait_css(".notice").text
    assert page.d.execute_script("return sessionStorage.length") == 0


def test_project_switcher_and_an_admin_opening_any_project(page, env):
    env.create(env.p1, "switch-one")
    env.create(env.p2, "switch-two")
    page.keys_page(env.writer, env.p1)
    page.wait(lambda: "switch-one" in page.row_names(), what="switch-one listed")
    select = Select(page.css("#project-select"))
    assert sorted(o.get_attribute("value") for o in select.options) == sorted(
        [str(env.p1), str(env.p2)])
    select.select_by_value(str(env.p2))
    page.wait_text("#keys-title", f"project {env.p2}")
    assert page.d.current_url.endswith(f"#/projects/{env.p2}/keys")
    page.wait(lambda: page.row_names() == ["switch-two"], what="project 2's keys")

    # A project outside the token: said plainly, with what to do.
    page.expect_failure(f"/projects/{env.p2 + 500}/keys", 403)
    page.d.execute_script("location.hash = arguments[0]", f"#/projects/{env.p2 + 500}/keys")
    assert "Choose one of your projects" in page.wait_css(".empty.error").text

    # An admin token names no projects: it is asked for one.
    page.open(env.admin)
    page.wait_text("h1", "Open a project")
    page.keys(str(env.p1), Keys.ENTER)
    page.wait_text("#keys-title", f"project {env.p1}")
    assert "admin" in page.css("#who").text


def test_the_name_in_the_header_opens_the_tokens_account_page(page, env):
    page.keys_page(env.writer, env.p1)
    page.css("#who").click()
    page.wait_text("#account-title", "Your account")
    assert page.d.current_url.endswith("#/account")
    identity = page.css("#identity").text
    assert "Signed in with an API token" in identity and "User id\n11" in identity
    assert f"projects {env.p1}, {env.p2}" in identity
    roles = [[c.text for c in row.find_elements(By.TAG_NAME, "td")]
             for row in page.all("#account-roles tbody tr")]
    assert roles == [[f"Project {env.p1}", "editor", "deploy\nops"],
                     [f"Project {env.p2}", "editor", "deploy\nops"]], roles
    page.css(f"#account-roles a[href='#/projects/{env.p2}/keys']").click()
    page.wait_text("#keys-title", f"project {env.p2}")


# ---------------------------------------------------------------------------------------
# The keys table.

def test_keys_table_search_filters_sort_and_keyset_paging(page, env):
    p = new_project()
    token = env.token("--user", "21", "--projects", str(p))
    names = [f"host-{i:02d}" for i in range(23)]
    for i, n in enumerate(names):
        extra = {"labels": {"team": "db"}} if i % 5 == 0 else {}
        if i == 7:
            extra["disabled"] = True
        env.create(p, n, token, **extra)
    ecdsa = [env.create(p, f"ecdsa-{i}", token, generate={"type": "ecdsa-p256"})["name"]
             for i in range(2)]
    everything = names + ecdsa

    page.keys_page(token, p)
    newest_first = list(reversed(everything))
    page.wait_rows(newest_first[:20])
    page.shot("keys")
    assert page.css("#page-no").text == "Page 1"
    assert not page.css("#page-prev").is_enabled()
    page.css("#page-next").click()
    page.wait_rows(newest_first[20:])
    assert not page.css("#page-next").is_enabled()
    page.css("#page-prev").click()
    page.wait_rows(newest_first[:20])

    Select(page.css("#filter-order")).select_by_value("name.asc")
    page.wait_rows(sorted(everything)[:20])
    Select(page.css("#filter-order")).select_by_value("name.desc")
    page.wait_rows(sorted(everything, reverse=True)[:20])

    page.css("#filter-name").send_keys("ST-1")  # case-insensitive substring
    page.wait_rows(sorted([n for n in names if "st-1" in n], reverse=True))
    page.css("#filter-name").clear()
    page.css("#filter-name").send_keys(Keys.SPACE, Keys.BACKSPACE)  # fire input on empty

    Select(page.css("#filter-type")).select_by_value("ecdsa-sha2-nistp256")
    page.wait_rows(sorted(ecdsa, reverse=True))
    assert all("ECDSA P-256" in e.text for e in page.all("td[data-label=Type]"))
    Select(page.css("#filter-type")).select_by_value("")

    page.css("#filter-labels").send_keys("team=db")
    page.wait_rows(sorted([n for i, n in enumerate(names) if i % 5 == 0], reverse=True))
    assert all("team=db" in e.text for e in page.all("td[data-label=Labels]"))
    page.css("#filter-labels").send_keys(Keys.CONTROL, "a", Keys.NULL, "=db")  # no key
    page.expect_failure("label_selector=%3Ddb", 400)
    error = page.wait_css("#filter-labels-error")
    assert error.text and page.css("#filter-labels").get_attribute("aria-invalid") == "true"
    page.css("#filter-labels").send_keys(Keys.CONTROL, "a", Keys.NULL, Keys.BACKSPACE)

    Select(page.css("#filter-usable")).select_by_value("false")
    page.wait_rows(["host-07"])
    assert "Disabled" in page.css("td[data-label=Status]").text
    Select(page.css("#filter-usable")).select_by_value("true")
    page.wait(lambda: len(page.row_names()) == 20 and "host-07" not in page.row_names(),
              what="usable keys")

    page.css("#filter-name").send_keys("no-such-key")
    empty = page.wait_css(".empty")
    assert "No keys match these filters" in empty.text
    page.shot("keys-no-match")
    page.css("#clear-filters").click()
    page.wait(lambda: len(page.row_names()) == 20, what="filters cleared")
    assert page.css("#filter-name").get_attribute("value") == ""


def test_empty_project_says_what_to_do(page, env):
    p = new_project()
    token = env.token("--user", "22", "--projects", str(p))
    page.keys_page(token, p)
    empty = page.wait_css(".empty")
    assert f"No keys in project {p} yet" in empty.text
    assert "Import a public key" in empty.text
    page.shot("keys-empty")


def test_fingerprints_and_public_key_are_copyable(page, env):
    key = env.create(env.p1, "copy-me")
    page.d.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": env.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    page.keys_page(env.writer, env.p1)
    page.css(f"button[aria-label='Copy SHA-256 fingerprint of {key['name']}']").click()
    page.wait(lambda: page.clipboard() == key["fingerprint_sha256"], what="SHA-256 copied")
    page.css(f"button[aria-label='Copy MD5 fingerprint of {key['name']}']").click()
    page.wait(lambda: page.clipboard() == key["fingerprint_md5"], what="MD5 copied")
    page.open(env.writer, f"#/projects/{env.p1}/keys/{key['id']}")
    page.wait_css("#fp-sha256")
    assert page.css("#fp-sha256").text == key["fingerprint_sha256"]
    assert page.css("#fp-md5").text == key["fingerprint_md5"]
    page.css("button[aria-label='Copy public key']").click()
    page.wait(lambda: page.clipboard() == key["public_key"], what="public key copied")


# ---------------------------------------------------------------------------------------
# Import.

def test_import_by_keyboard_keeps_a_hostile_comment_as_text(page, env):
    pub = env.public_key("xss", comment=XSS).read_text().strip()
    assert pub.endswith(XSS)
    page.keys_page(env.writer, env.p1)
    page.tab_to("#import-key")
    page.keys(Keys.ENTER)
    dialog = page.wait_css("dialog[open]")
    assert page.active().get_attribute("type") == "text"  # the name field has the focus
    page.keys("imported-by-keyboard", Keys.TAB)
    assert page.active().tag_name == "textarea"
    page.keys(pub)
    page.shot("import")
    page.tab_to("dialog[open] button[type=submit]")
    page.keys(Keys.ENTER)
    page.wait(lambda: not dialog.is_displayed() if page.all("dialog[open]") else True,
              what="dialog closed")
    page.wait(lambda: "imported-by-keyboard" in page.row_names(), what="imported key listed")
    row = next(r for r in page.all("table.keys tbody tr") if "imported-by-keyboard" in r.text)
    assert row.find_element(By.CSS_SELECTOR, ".comment").text == XSS
    assert not page.all("img[src='x']")
    assert page.d.execute_script("return document.body.innerHTML").count("&lt;img src=x") >= 1
    # The key page shows it as text too.
    row.find_element(By.CSS_SELECTOR, ".key-link").click()
    page.wait_text("#key-title", "imported-by-keyboard")
    assert XSS in page.css(".details").text
    assert page.css("#public-key").text == pub
    assert not page.all("img[src='x']")


def test_import_shows_the_apis_messages_next_to_their_fields(page, env):
    page.keys_page(env.writer, env.p1)
    page.css("#import-key").click()
    page.wait_css("dialog[open]")
    name, key = page.all("dialog[open] input[type=text]")[0], page.css("dialog[open] textarea")
    name.send_keys("bad-key")
    key.send_keys("ssh-ed25519 AAAAnot-a-key")
    api = env.api("POST", f"/projects/{env.p1}/keys",
                  {"name": "bad-key", "public_key": "ssh-ed25519 AAAAnot-a-key"})
    assert api.status == 400, api
    expected = " ".join(api.json()["invalid_fields"]["public_key"])
    page.expect_failure(f"/projects/{env.p1}/keys", 400)
    page.css("dialog[open] button[type=submit]").click()
    error = page.wait_css(f"#{key.get_attribute('id')}-error")
    assert error.text == expected
    assert key.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in key.get_attribute("aria-describedby")
    assert page.active() == key
    page.shot("import-error")

    # A name already used: 409, said by the name field.
    env.create(env.p1, "name-taken")
    name.send_keys(Keys.CONTROL, "a", Keys.NULL, "name-taken")
    key.clear()
    key.send_keys(env.public_key("taken").read_text())
    page.expect_failure(f"/projects/{env.p1}/keys", 409)
    page.css("dialog[open] button[type=submit]").click()
    error = page.wait_css(f"#{name.get_attribute('id')}-error")
    assert "already exists" in error.text
    page.keys(Keys.ESCAPE)
    page.wait(lambda: not page.all("dialog"), what="dialog gone")


def test_import_from_a_dropped_or_chosen_pub_file(page, env):
    dropped = env.public_key("dropped-laptop")
    chosen = env.public_key("chosen-desktop")
    page.keys_page(env.writer, env.p1)
    page.css("#import-key").click()
    zone = page.wait_css("dialog[open] .dropzone")
    page.d.execute_script(
        "const [zone, text, name] = arguments;"
        "const dt = new DataTransfer();"
        "dt.items.add(new File([text], name, {type: 'text/plain'}));"
        "zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true,"
        " cancelable: true}));"
        "zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true,"
        " cancelable: true}));", zone, dropped.read_text(), dropped.name)
    textarea = page.css("dialog[open] textarea")
    page.wait(lambda: textarea.get_attribute("value") == dropped.read_text().strip(),
              what="dropped file read")
    name = page.all("dialog[open] input[type=text]")[0]
    assert name.get_attribute("value") == "dropped-laptop"  # named after the file
    page.css("dialog[open] button[type=submit]").click()
    page.wait(lambda: "dropped-laptop" in page.row_names(), what="dropped key listed")

    page.css("#import-key").click()
    page.wait_css("dialog[open]")
    page.css("#import-file").send_keys(str(chosen))
    textarea = page.css("dialog[open] textarea")
    page.wait(lambda: textarea.get_attribute("value") == chosen.read_text().strip(),
              what="chosen file read")
    page.css("dialog[open] button[type=submit]").click()
    page.wait(lambda: "chosen-desktop" in page.row_names(), what="chosen key listed")
    listed = env.api("GET", f"/projects/{env.p1}/keys?name=chosen-desktop").json()["results"]
    assert listed[0]["public_key"] == chosen.read_text().strip()


# ---------------------------------------------------------------------------------------
# Generate.

def wait_download(folder, name, timeout=10):
    path = folder / name
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and not list(folder.glob("*.crdownload")) and path.stat().st_size:
            return path
        time.sleep(0.05)
    raise AssertionError(f"{name} was not downloaded; have {[p.name for p in folder.iterdir()]}")


def test_generate_by_keyboard_shows_the_private_key_once(page, env):
    page.d.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": env.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    page.keys_page(env.writer, env.p1)
    page.tab_to("#generate-key")
    page.keys(Keys.ENTER)
    page.wait_css("dialog[open]")
    page.keys("generated-by-keyboard")
    page.tab_to("dialog[open] input[type=password]")
    page.keys("correct horse battery")
    page.keys(Keys.TAB, "correct horse battery")
    page.shot("generate")
    page.keys(Keys.ENTER)  # Enter in a field submits the form
    secret = page.wait_css("#private-key", timeout=30)
    private_key = secret.get_attribute("value")
    assert private_key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    warning = page.css("#secret-warning").text
    assert "only time" in warning and "forgets it" in warning
    page.shot("generate-private-key")
    assert page.active().text == "Download id_ed25519"
    page.keys(Keys.ENTER)
    downloaded = wait_download(page.d.downloads, "id_ed25519")
    assert downloaded.read_text() == private_key
    # The file is the key: ssh-keygen derives the listed public key from it.
    listed = env.api("GET", f"/projects/{env.p1}/keys/generated-by-keyboard").json()
    downloaded.chmod(0o600)
    derived = subprocess.run(["ssh-keygen", "-y", "-P", "correct horse battery", "-f",
                              str(downloaded)], capture_output=True, text=True, check=True)
    assert derived.stdout.split()[:2] == listed["public_key"].split()[:2]
    page.keys(Keys.TAB)
    assert page.active().text == "Copy private key"
    page.keys(Keys.ENTER)
    page.wait(lambda: page.clipboard() == private_key, what="private key copied")
    # Closing forgets it: nothing of it stays in the page or the tab's storage.
    page.keys(Keys.ESCAPE)
    page.wait(lambda: not page.all("dialog"), what="dialog gone")
    assert "PRIVATE KEY" not in page.d.page_source
    assert page.d.execute_script(
        "return JSON.stringify(sessionStorage) + JSON.stringify(localStorage)"
    ).count("PRIVATE") == 0
    page.wait(lambda: "generated-by-keyboard" in page.row_names(), what="generated key listed")
    # The API never shows the private key again.
    assert "private_key" not in listed


@pytest.mark.parametrize("fmt,key_type,file_name,first_line", [
    ("pkcs8", "ecdsa-p256", "gen-pkcs8.pem", "-----BEGIN PRIVATE KEY-----"),
    ("ppk", "ed25519", "gen-ppk.ppk", "PuTTY-User-Key-File-3: ssh-ed25519"),
])
def test_generate_names_the_download_after_the_format(page, env, fmt, key_type, file_name,
                                                      first_line):
    page.keys_page(env.writer, env.p1)
    page.css("#generate-key").click()
    page.wait_css("dialog[open]")
    page.all("dialog[open] input[type=text]")[0].send_keys(file_name.split(".")[0])
    selects = page.all("dialog[open] select")
    Select(selects[0]).select_by_value(key_type)
    Select(selects[1]).select_by_value(fmt)
    page.css("dialog[open] button[type=submit]").click()
    download = page.wait_css("dialog[open] .secret-view .btn-primary", timeout=30)
    assert download.text == f"Download {file_name}"
    download.click()
    saved = wait_download(page.d.downloads, file_name)
    assert saved.read_text().splitlines()[0].startswith(first_line.split(":")[0])
    assert saved.read_text() == page.css("#private-key").get_attribute("value")
    page.css("dialog[open] .dialog-close").click()
    page.wait(lambda: not page.all("dialog"), what="dialog gone")


# ---------------------------------------------------------------------------------------
# The key page.

def test_key_page_edits_labels_sharing_state_expiry_and_name(page, env):
    key = env.create(env.p1, "edit-me", labels={"team": "web"})
    page.open(env.writer, f"#/projects/{env.p1}/keys/{key['id']}")
    page.wait_text("#key-title", "edit-me")
    page.shot("key", full=True)

    # Labels: change one, add one, save; the API has exactly those.
    page.css("#edit-labels-v1").clear()
    page.css("#edit-labels-v1").send_keys("db")
    page.css(".labels-editor .actions-left .btn").click()  # Add label
    new_key = page.active()
    new_key.send_keys("login", Keys.TAB, "deploy")
    page.css("#save-labels").click()
    page.wait(lambda: env.api("GET", f"/projects/{env.p1}/keys/{key['id']}").json()["labels"]
              == {"team": "db", "login": "deploy"}, what="labels saved")
    page.wait_text(".details", "login=deploy")
    # A bad label is caught before it is sent.
    page.css("#edit-labels-k1").send_keys(Keys.CONTROL, "a", Keys.NULL, "Bad Key")
    page.css("#save-labels").click()
    assert "not a valid label key" in page.wait_css("#edit-labels-error").text

    # Share off, disable on: saved at once.
    page.css("#edit-shared").click()
    page.wait(lambda: not env.api("GET", f"/projects/{env.p1}/keys/{key['id']}")
              .json()["shared_in_project"], what="unshared")
    page.wait_text(".badges", "Private")
    page.css("#edit-disabled").click()
    page.wait_text("#key-status", "Disabled")
    assert env.api("GET", f"/projects/{env.p1}/keys/{key['id']}").json()["disabled"] is True

    # Expiry: set in the future, then cleared.
    page.d.execute_script("arguments[0].value = '2099-06-01T12:30'", page.css("#edit-expires"))
    page.css("#save-expiry").click()
    page.wait(lambda: (env.api("GET", f"/projects/{env.p1}/keys/{key['id']}").json()
                       ["expires_at"] or "").startswith("2099-06-01"), what="expiry saved")
    page.wait_text(".details", "2099")
    page.wait_css("#clear-expiry").click()
    page.wait(lambda: env.api("GET", f"/projects/{env.p1}/keys/{key['id']}").json()
              ["expires_at"] is None, what="expiry cleared")
    page.wait(lambda: not page.all("#clear-expiry"), what="page redrawn")

    # Rename; a clash is a 409 said by the name field.
    env.create(env.p1, "already-here")
    page.wait_css("#edit-name").send_keys(Keys.CONTROL, "a", Keys.NULL, "already-here", Keys.ENTER)
    page.expect_failure(f"/keys/{key['id']}", 409)
    assert "already named" in page.wait_css("#edit-name-error").text
    page.css("#edit-name").send_keys(Keys.CONTROL, "a", Keys.NULL, "edited", Keys.ENTER)
    page.wait_text("#key-title", "edited")
    assert env.api("GET", f"/projects/{env.p1}/keys/{key['id']}").json()["name"] == "edited"


def test_a_change_made_elsewhere_is_explained_not_overwritten(page, env):
    key = env.create(env.p1, "raced", labels={"v": "1"})
    page.open(env.writer, f"#/projects/{env.p1}/keys/{key['id']}")
    page.wait_text("#key-title", "raced")
    # Someone else changes the key after the page read it.
    r = env.api("PATCH", f"/projects/{env.p1}/keys/{key['id']}", {"labels": {"v": "2"}})
    assert r.status == 200, r
    page.expect_failure(f"/keys/{key['id']}", 412)
    page.css("#edit-disabled").click()
    banner = page.wait_css(".banner")
    assert "changed elsewhere" in banner.text and "nothing was saved" in banner.text
    assert not page.css("#edit-disabled").is_selected()
    page.shot("key-conflict")
    assert env.api("GET", f"/projects/{env.p1}/keys/{key['id']}").json()["disabled"] is False
    page.css("#reload-key").click()
    page.wait_text(".details", "v=2")
    page.css("#edit-disabled").click()
    page.wait_text("#key-status", "Disabled")

    # Delete too sends If-Match.
    env.api("PATCH", f"/projects/{env.p1}/keys/{key['id']}", {"labels": {"v": "3"}})
    page.css("#delete-key").click()
    page.wait_css("#confirm-name").send_keys("raced", Keys.ENTER)
    page.expect_failure(f"/keys/{key['id']}", 412)
    assert "changed elsewhere" in page.wait_css("dialog[open] .form-error").text
    assert env.api("GET", f"/projects/{env.p1}/keys/{key['id']}").status == 200


def test_delete_is_confirmed_by_typing_the_name(page, env):
    key = env.create(env.p1, "doomed")
    page.open(env.writer, f"#/projects/{env.p1}/keys/{key['id']}")
    page.wait_css("#delete-key").click()
    confirm = page.wait_css("#confirm-name")
    go = page.css("#confirm-delete")
    assert not go.is_enabled()
    confirm.send_keys("doome")
    assert not go.is_enabled()
    page.shot("key-delete")
    confirm.send_keys("d")
    assert go.is_enabled()
    go.click()
    page.wait_text("#keys-title", "SSH keys")
    assert "doomed" not in page.row_names()
    assert env.api("GET", f"/projects/{env.p1}/keys/{key['id']}").status == 404


def test_someone_elses_key_and_a_read_only_token_show_no_write_controls(page, env):
    key = env.create(env.p1, "owned-by-other", env.other)
    page.open(env.writer, f"#/projects/{env.p1}/keys/{key['id']}")
    page.wait_text("#key-title", "owned-by-other")
    assert "Only the key's owner (user 12)" in page.css(".notice").text
    assert not page.all("#edit-name, #edit-shared, #delete-key, form")

    page.keys_page(env.reader, env.p1)
    assert "read-only" in page.css("#who").text
    assert page.css("#read-only-note").is_displayed()
    assert not page.all("#import-key, #generate-key")
    page.shot("keys-read-only")
    page.css(".key-link").click()
    page.wait_css("#key-title")
    assert "read-only" in page.css("#read-only-note").text
    assert not page.all("#edit-name, #edit-shared, #edit-disabled, #edit-expires, "
                        "#save-labels, #delete-key, form")


# ---------------------------------------------------------------------------------------
# SSH access: the project's CA, the KRL, authorized_keys, certificates.

def test_ssh_access_shows_the_ca_key_with_the_sshd_lines_and_downloads_the_krl(page, env):
    ca = env.api("POST", f"/projects/{env.p1}/ssh_ca").json()
    ca2 = env.api("POST", f"/projects/{env.p2}/ssh_ca").json()
    page.d.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": env.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    page.keys_page(env.writer, env.p1)
    assert page.css("#nav-keys").get_attribute("aria-current") == "page"
    page.css("#nav-ssh").click()
    page.wait_text("#ssh-title", "SSH access")
    assert page.d.current_url.endswith(f"#/projects/{env.p1}/ssh")
    assert page.css("#nav-ssh").get_attribute("aria-current") == "page"
    assert page.css("#nav-keys").get_attribute("aria-current") is None
    assert page.wait_css("#ca-public-key").text == ca["public_key"]
    assert page.css("#ca-fingerprint").text == ca["fingerprint_sha256"]
    sshd = page.css("#sshd-config").text.splitlines()
    assert sshd == ["TrustedUserCAKeys /etc/ssh/keypaird-ca.pub",
                    "RevokedKeys /var/lib/keypaird-krl/revoked.krl"]
    akc = page.css("#akc-config").text
    assert akc.startswith("AuthorizedKeysCommand /usr/bin/keypaird authorized-keys --url http")
    assert f"--project {env.p1}" in akc and "--label-selector login=%u" in akc
    page.wait(lambda: page.all("#ak-lines, #ak-result .empty"), what="preview loaded")
    page.shot("ssh-access", full=True)

    page.css("button[aria-label='Copy public key of the CA']").click()
    page.wait(lambda: page.clipboard() == ca["public_key"], what="CA key copied")
    page.css("button[aria-label='Copy lines: sshd_config lines']").click()
    page.wait(lambda: page.clipboard().splitlines() == sshd, what="sshd lines copied")

    # The KRL is fetched with the token in a header and saved from memory.
    page.css("#download-krl").click()
    krl = wait_download(page.d.downloads, "keypaird.krl")
    assert krl.read_bytes().startswith(b"SSHKRL")
    krl.unlink()
    page.css("#download-ca").click()
    assert wait_download(page.d.downloads, "keypaird-ca.pub").read_text() == ca["public_key"] + "\n"
    urls = page.d.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert any(u.endswith(f"/projects/{env.p1}/ssh_ca/krl") for u in urls)
    assert not any(env.writer.split("_")[-1] in u for u in urls + [page.d.current_url])

    # The project switcher stays in SSH access.
    Select(page.css("#project-select")).select_by_value(str(env.p2))
    page.wait_text("#ssh-title", f"project {env.p2}")
    page.wait(lambda: page.css("#ca-public-key").text == ca2["public_key"], what="p2's CA")
    assert ca2["public_key"] != ca["public_key"]  # a CA per project


def test_a_project_without_a_ca_offers_to_make_it(page, env):
    """A read never makes a CA: the view says there is none and, for a token that may write,
    makes it on request; a read-only token is told who can."""
    p = new_project()
    writer = env.token("--user", "11", "--projects", str(p))
    reader = env.token("--user", "11", "--projects", str(p), "--read-only")
    page.expect_failure("/ssh_ca", 404)
    page.open(reader, f"#/projects/{p}/ssh")
    assert "no certificate authority yet" in page.wait_css("#ca-missing").text
    assert "read-only" in page.css("#ca-card").text
    assert not page.all("#create-ca, #ca-public-key")
    assert env.api("GET", f"/projects/{p}/ssh_ca", token=writer).status == 404  # still none
    page.open(writer, f"#/projects/{p}/ssh")
    page.wait_css("#ca-missing")
    page.css("#create-ca").click()
    key = page.wait_css("#ca-public-key").text
    assert key == env.api("GET", f"/projects/{p}/ssh_ca", token=writer).json()["public_key"]
    assert not page.all("#ca-missing, #create-ca")


def test_a_read_only_admin_token_is_not_offered_to_make_the_ca(page, env):
    """An admin token made --read-only is an admin that may not write: SSH access says so
    instead of offering a button the API would refuse (403)."""
    p = new_project()
    read_only_admin = env.token("--user", "24", "--admin", "--read-only")
    page.expect_failure("/ssh_ca", 404)
    page.open(read_only_admin, f"#/projects/{p}/ssh")
    assert "no certificate authority yet" in page.wait_css("#ca-missing").text
    assert "read-only" in page.css("#ca-card").text
    assert not page.all("#create-ca")
    page.open(env.admin, f"#/projects/{p}/ssh")
    page.wait_css("#ca-missing")
    page.wait_css("#create-ca")
    assert env.api("GET", f"/projects/{p}/ssh_ca", token=env.admin).status == 404  # none made


def test_authorized_keys_preview_shows_exactly_the_matching_usable_keys(page, env):
    p = new_project()
    token = env.token("--user", "31", "--projects", str(p))

    def make(name, **body):
        return env.create(p, name, token, public_key=env.public_key(f"ak-{name}").read_text(),
                          **body)

    a = make("deploy-a", labels={"login": "deploy"})
    b = make("deploy-b", labels={"login": "deploy", "team": "web"})
    make("deploy-off", labels={"login": "deploy"}, disabled=True)  # not usable
    c = make("ops-c", labels={"login": "ops"})

    page.expect_failure("/ssh_ca", 404)  # the project has no CA: the view offers to make it
    page.open(token, f"#/projects/{p}/ssh")
    page.wait_text("#ak-count", "3 keys")  # no selector: every usable key
    assert page.css("#ak-lines").text.splitlines() == [a["public_key"], b["public_key"],
                                                       c["public_key"]]
    page.css("#ak-selector").send_keys("login=deploy")
    page.wait_text("#ak-count", "2 keys for login=deploy")
    lines = page.css("#ak-lines").text.splitlines()
    assert lines == [a["public_key"], b["public_key"]]
    api = env.api("GET", f"/projects/{p}/authorized_keys?label_selector=login%3Ddeploy",
                  token=token)
    assert api.body.decode() == "".join(line + "\n" for line in lines)
    page.d.execute_script("arguments[0].scrollIntoView()", page.css("#ak-card"))
    page.shot("ssh-authorized-keys")

    page.css("#ak-selector").send_keys(Keys.CONTROL, "a", Keys.NULL, "login=deploy,team=web",
                                       Keys.ENTER)
    page.wait_text("#ak-count", "1 key for login=deploy,team=web")
    assert page.css("#ak-lines").text == b["public_key"]

    page.css("#ak-selector").send_keys(Keys.CONTROL, "a", Keys.NULL, "login=nobody")
    empty = page.wait_css("#ak-result .empty")
    assert "No key matches login=nobody" in empty.text and "usable" in empty.text
    assert not page.all("#ak-lines")

    page.expect_failure("/authorized_keys?label_selector=%3Dx", 400)
    page.css("#ak-selector").send_keys(Keys.CONTROL, "a", Keys.NULL, "=x")
    error = page.wait_css("#ak-selector-error")
    assert "login=deploy" in error.text
    assert page.css("#ak-selector").get_attribute("aria-invalid") == "true"


def test_request_a_certificate_download_it_and_revoke_it(page, env):
    pub = env.public_key("certified")
    key = env.create(env.p1, "certified", public_key=pub.read_text())
    page.open(env.writer, f"#/projects/{env.p1}/keys/{key['id']}")
    page.wait_text("#key-title", "certified")
    boxes = page.all("#cert-principals input[type=checkbox]")
    assert [b.get_attribute("value") for b in boxes] == ["deploy", "ops"]  # the token's
    assert not any(b.is_selected() for b in boxes)

    # Nothing chosen: said before anything is sent.
    page.css("#request-cert").click()
    assert "at least one principal" in page.wait_css("#cert-principals-error").text

    # Longer than the CA signs: the API's own message, by the validity field.
    page.css("#cert-principal-0").click()
    Select(page.css("#cert-validity")).select_by_value(str(7 * 24 * 3600))
    refused = env.api("POST", f"/projects/{env.p1}/keys/{key['id']}/certificates",
                      {"principals": ["deploy"], "valid_for": 7 * 24 * 3600})
    assert refused.status == 400, refused
    page.expect_failure(f"/keys/{key['id']}/certificates", 400)
    page.css("#request-cert").click()
    error = page.wait_css("#cert-validity-error")
    assert error.text == " ".join(refused.json()["invalid_fields"]["valid_for"])
    assert page.css("#cert-validity").get_attribute("aria-invalid") == "true"
    assert not page.all("#cert-principals-error:not([hidden])")

    Select(page.css("#cert-validity")).select_by_value("3600")
    page.css("#request-cert").click()
    text = page.wait_css("#certificate").text
    assert text.startswith("ssh-ed25519-cert-v01@openssh.com ")
    assert page.css("#cert-principals-issued").text == "deploy"
    serial = page.css("#cert-serial").text
    assert re.fullmatch(r"[1-9][0-9]*", serial)
    assert not page.all("#cert-validity-error:not([hidden])")
    assert page.active().text == "Download certified-cert.pub"
    page.d.execute_script("arguments[0].scrollIntoView()", page.css("#cert-card"))
    page.shot("key-certificate")

    page.active().send_keys(Keys.ENTER)
    saved = wait_download(page.d.downloads, "certified-cert.pub")
    assert saved.read_text() == text + "\n"
    shown = subprocess.run(["ssh-keygen", "-L", "-f", str(saved)], capture_output=True,
                           text=True, check=True).stdout
    assert f"Serial: {serial}" in shown
    assert re.search(r"Principals:\s+deploy\s+Critical", shown), shown

    # Revoke, confirmed: the serial goes into the KRL.
    page.css("#revoke-cert").click()
    page.wait_css("#confirm-revoke")
    page.shot("key-certificate-revoke")
    page.css("#confirm-revoke").click()
    page.wait_text("#cert-status", "Revoked")
    assert not page.all("#revoke-cert, dialog")
    krl = env.workdir / "after-revoke.krl"
    krl.write_bytes(env.api("GET", f"/projects/{env.p1}/ssh_ca/krl").body)
    checked = subprocess.run(["ssh-keygen", "-Q", "-f", str(krl), str(saved)],
                             capture_output=True, text=True)
    assert checked.returncode != 0 and "REVOKED" in checked.stdout, checked


def test_who_may_not_request_certificates_sees_no_request_button(page, env):
    # A read-only token: the key and SSH access, but no write controls.
    key = env.create(env.p1, "reader-sees")
    page.open(env.reader, f"#/projects/{env.p1}/keys/{key['id']}")
    page.wait_text("#key-title", "reader-sees")
    assert not page.all("#request-cert, #cert-card, form")
    page.css("#nav-ssh").click()
    page.wait_css("#ca-public-key")
    assert page.css("#download-krl").is_displayed()  # reading the KRL is a read
    # Someone else's key.
    other = env.create(env.p1, "not-yours", env.other)
    page.open(env.writer, f"#/projects/{env.p1}/keys/{other['id']}")
    page.wait_text("#key-title", "not-yours")
    assert not page.all("#request-cert, #cert-card")
    # A token without principals, on its own key: told why, and what to ask for.
    page.open(env.other, f"#/projects/{env.p1}/keys/{other['id']}")
    page.wait_text("#key-title", "not-yours")
    assert "--principals" in page.wait_css("#cert-no-principals").text
    assert not page.all("#request-cert")
    # A disabled key cannot be certified.
    off = env.create(env.p1, "off-key", disabled=True)
    page.open(env.writer, f"#/projects/{env.p1}/keys/{off['id']}")
    assert "usable" in page.wait_css("#cert-unusable").text
    assert not page.all("#request-cert")
    # An admin token may name any principal: it types them.
    page.open(env.admin, f"#/projects/{env.p1}/keys/{key['id']}")
    page.wait_css("#cert-principals").send_keys("root, backup")
    page.css("#request-cert").click()
    assert page.wait_css("#certificate").text.startswith("ssh-ed25519-cert-v01@openssh.com ")
    assert page.css("#cert-principals-issued").text == "root, backup"


def test_without_a_ca_the_console_says_how_to_enable_it(page, env, tmp_path):
    server = Server(tmp_path).start()  # no --ca-kek-file
    try:
        bare = Env(server, tmp_path)
        other = Page(page.d, bare)
        for part, status in (("/ssh_ca", 404), ("/certificates", 404), ("/favicon.ico", 404)):
            page.expect_failure(part, status)
        key = bare.create(bare.p1, "no-ca-key", labels={"login": "deploy"})
        other.open(bare.writer, f"#/projects/{bare.p1}/ssh")
        notice = other.wait_css("#ca-disabled")
        assert "not enabled" in notice.text
        assert "--ca-kek-file" in other.css("#ca-enable").text
        assert not other.all("#ca-public-key, #download-krl")
        # authorized_keys needs no CA.
        other.wait_text("#ak-count", "1 key")
        assert other.css("#ak-lines").text == key["public_key"]
        other.shot("ssh-access-no-ca")
        # Asking for a certificate: the 404 is explained, not swallowed.
        other.open(bare.writer, f"#/projects/{bare.p1}/keys/{key['id']}")
        other.wait_css("#cert-principal-0").click()
        other.css("#request-cert").click()
        error = other.wait_css("#cert-form-error")
        assert "not enabled" in error.text and "--ca-kek-file" in error.text
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------
# Accessibility and layout.

def event_actions(page):
    return page.d.execute_script(  # in one call: rows may be redrawn meanwhile
        "return [...document.querySelectorAll('table.events tbody tr')]"
        ".map(r => r.querySelector('td[data-label=Action]').textContent)")


def test_events_show_an_admin_the_projects_changes_newest_first(page, env):
    p = new_project()
    ids = [env.create(p, f"ev-{i}", token=env.admin)["id"] for i in range(3)]
    assert env.api("PATCH", f"/projects/{p}/keys/{ids[1]}", {"labels": {"team": "x"}},
                   env.admin).status == 200
    assert env.api("DELETE", f"/projects/{p}/keys/{ids[0]}", token=env.admin).status == 204
    page.open(env.admin, f"#/projects/{p}/keys")
    page.wait_css("#nav-events").click()
    page.wait_css("table.events")
    assert page.d.execute_script("return location.hash") == f"#/projects/{p}/events"
    page.wait(lambda: event_actions(page) == ["Key deleted", "Key changed", "Key created",
                                              "Key created", "Key created"], what="events")
    first = page.css("table.events tbody tr")
    assert ids[0] in first.text and "user 14" in first.text and "127.0.0.1" in first.text
    page.shot("events")
    # Filtered by action, then by resource.
    Select(page.css("#events-action")).select_by_value("key.create")
    page.wait(lambda: event_actions(page) == ["Key created"] * 3, what="created only")
    Select(page.css("#events-action")).select_by_value("")
    page.css("#events-resource").send_keys(ids[1], Keys.ENTER)
    page.wait(lambda: event_actions(page) == ["Key changed", "Key created"], what="one key")
    page.css("#events-resource").send_keys("x", Keys.ENTER)
    page.wait_text("#events-results", "No events match these filters")
    # Keyset pages of 50: older, then newer again.
    q = new_project()
    for i in range(51):
        assert env.api("POST", f"/projects/{q}/keys", {"name": f"many-{i}"},
                       env.admin).status == 201
    page.open(env.admin, f"#/projects/{q}/events")
    page.wait(lambda: len(event_actions(page)) == 50, what="a page of 50")
    assert page.css("#events-newer").get_attribute("disabled") is not None
    page.css("#events-older").click()
    page.wait(lambda: len(event_actions(page)) == 1, what="the oldest event")
    assert page.css("#events-page-no").text == "Page 2"
    assert page.css("#events-older").get_attribute("disabled") is not None
    page.css("#events-newer").click()
    page.wait(lambda: len(event_actions(page)) == 50, what="back to the newest")
    assert page.console_errors() == []


def test_events_are_for_administrators_only(page, env):
    page.keys_page(env.writer, env.p1)
    assert not page.css("#nav-events").is_displayed()
    page.open(env.writer, f"#/projects/{env.p1}/events")
    page.wait_text("main", "Only administrators read the audit trail")
    assert page.all("table.events") == []
    assert page.console_errors() == []


# ---------------------------------------------------------------------------------------
# People: the grants of a project and the users (administrators).

def people_grant(env, project, group):
    """A grant naming `project` (and another), for the pages that show People."""
    r = env.api("POST", "/grants", {"group": group, "projects": [project, project + 900],
                                   "role": "editor", "principals": ["deploy", "ops"]},
                env.admin)
    assert r.status == 201, r
    return r.json()["id"]


def grant_rows(page):
    return page.d.execute_script(  # in one call: rows may be redrawn meanwhile
        "return [...document.querySelectorAll('#grants-results tr[data-grant]')]"
        ".map(r => r.dataset.grant)")


def api_grants(env):
    r = env.api("GET", "/grants", token=env.admin)
    assert r.status == 200, r
    return {g["id"]: g for g in r.json()["results"]}


def test_people_an_admin_adds_a_grant_by_keyboard_sees_field_errors_and_deletes_it(page, env):
    p = new_project()
    other = env.api("POST", "/grants", {"group": "elsewhere", "projects": [p + 5000],
                                        "role": "viewer"}, env.admin).json()["id"]
    page.keys_page(env.admin, p)
    # The section link, by keyboard.
    page.tab_to("#nav-people")
    page.keys(Keys.ENTER)
    page.wait_text("#people-title", f"project {p}")
    assert page.d.execute_script("return location.hash") == f"#/projects/{p}/people"
    assert page.css("#nav-people").get_attribute("aria-current") == "page"
    empty = page.wait_css("#grants-results .empty")
    assert f"No grants name project {p} yet" in empty.text and "Add a grant" in empty.text
    assert other not in grant_rows(page)  # a grant of another project is not this page's
    assert page.css("#grant-projects").get_attribute("value") == str(p)

    # Kind, value, role, principals by keyboard; Enter sends it.
    page.tab_to("#grant-kind")
    page.keys("g")  # "Group"
    page.tab_to("#grant-value")
    page.keys("ops-console")
    page.tab_to("#grant-role")
    page.keys("e")  # "Editor: …"
    assert Select(page.css("#grant-role")).first_selected_option.get_attribute("value") == "editor"
    page.tab_to("#grant-principals")
    page.keys("deploy, backup", Keys.ENTER)
    page.wait(lambda: len(grant_rows(page)) == 1, what="the new grant listed")
    made = [g for g in api_grants(env).values() if g["group"] == "ops-console"]
    assert len(made) == 1 and made[0]["projects"] == [p] and made[0]["role"] == "editor"
    assert made[0]["principals"] == ["deploy", "backup"]
    row = page.css(f"tr[data-grant='{made[0]['id']}']")
    assert "Group ops-console" in row.text and "editor" in row.text
    assert "deploy" in row.text and "backup" in row.text
    assert page.active() == page.css("#grant-value")  # ready for the next one
    assert page.css("#grant-value").get_attribute("value") == ""
    page.d.execute_script("window.scrollTo(0, 0)")  # the grants, not the form's focus
    page.shot("people")

    # A principal the API refuses: its own message, next to the principals field.
    body = {"user_email": "carol@example.com", "projects": [p], "role": "viewer",
            "principals": ["not/valid"]}
    refused = env.api("POST", "/grants", body, env.admin)
    assert refused.status == 400, refused
    said = " ".join(m for k, v in refused.json()["invalid_fields"].items()
                    if k.startswith("principals") for m in v)
    assert said
    Select(page.css("#grant-kind")).select_by_value("user_email")
    assert page.css("label[for=grant-value]").text == "E-mail address"
    page.css("#grant-value").send_keys("carol@example.com")
    Select(page.css("#grant-role")).select_by_value("viewer")
    page.css("#grant-principals").send_keys("not/valid")
    page.expect_failure("/api/v1/grants", 400)
    page.css("#grant-add").click()
    error = page.wait_css("#grant-principals-error")
    assert error.text == said
    assert page.css("#grant-principals").get_attribute("aria-invalid") == "true"
    assert page.active() == page.css("#grant-principals")
    assert page.css("#grant-value").get_attribute("aria-invalid") is None
    assert len(grant_rows(page)) == 1
    # Nothing to send without a value: said before anything is sent.
    page.css("#grant-value").clear()
    page.css("#grant-add").click()
    assert "e-mail address" in page.wait_css("#grant-value-error").text

    # Delete, confirmed: gone from the page and from the API.
    page.css(f"#delete-grant-{made[0]['id']}").click()
    dialog = page.wait_css("dialog[open]")
    assert "Group ops-console" in dialog.text and f"project {p}" in dialog.text
    page.shot("people-delete-grant")
    assert page.active() == page.css("#confirm-delete-grant")
    page.keys(Keys.ENTER)
    page.wait_text("#grants-results", f"No grants name project {p} yet")
    assert not page.all("dialog")
    grants = api_grants(env)
    assert made[0]["id"] not in grants and other in grants
    # Both changes are in the project's events, named.
    page.css("#nav-events").click()
    page.wait(lambda: event_actions(page) == ["Grant deleted", "Grant made"], what="events")
    assert "grant for group ops-console" in page.css("table.events tbody tr").text


def test_people_an_admin_lists_users_and_disables_and_enables_one(page, env):
    p = new_project()
    token = env.token("--user", "31", "--projects", str(p))
    assert env.api("POST", "/grants", {"user_id": 31, "projects": [p], "role": "viewer"},
                   env.admin).status == 201
    page.open(env.admin, f"#/projects/{p}/people")
    row = page.wait_css("#users-results tr[data-user='31']")
    cells = {c.get_attribute("data-label"): c.text for c in row.find_elements(By.CSS_SELECTOR,
                                                                                "td")}
    assert cells["Id"] == "31" and cells["Issuer"] == "token user"
    assert cells["Last sign-in"] == "never" and cells["State"] == "Active"
    assert cells["Groups"] == "none" and cells["Created"]
    page.wait_text("#grants-results", "User 31")
    page.shot("people-users")

    # Disabling asks first, and says it ends the user's sessions and tokens at once.
    page.css("#disable-user-31").click()
    dialog = page.wait_css("dialog[open]")
    assert "at once" in dialog.text and "session" in dialog.text and "token" in dialog.text
    page.d.find_element(By.XPATH, "//dialog[@open]//button[text()='Cancel']").click()
    page.wait(lambda: not page.all("dialog"), what="the dialog closed")
    assert request(env.server.port, "GET", f"/api/v1/projects/{p}/keys",
                   token=token).status == 200
    page.css("#disable-user-31").click()
    page.wait_css("#confirm-disable-user").click()
    enable = page.wait_css("#enable-user-31")
    page.wait(lambda: page.active() == enable, what="the focus on Enable")
    assert "Disabled" in page.css("tr[data-user='31'] td[data-label=State]").text
    users = {u["id"]: u for u in env.api("GET", "/users", token=env.admin).json()["results"]}
    assert users[31]["disabled"] is True
    assert request(env.server.port, "GET", f"/api/v1/projects/{p}/keys",
                   token=token).status == 401

    # Enabling needs no confirmation.
    page.keys(Keys.ENTER)
    page.wait_css("#disable-user-31")
    assert "Active" in page.css("tr[data-user='31'] td[data-label=State]").text
    users = {u["id"]: u for u in env.api("GET", "/users", token=env.admin).json()["results"]}
    assert users[31]["disabled"] is False
    assert request(env.server.port, "GET", f"/api/v1/projects/{p}/keys",
                   token=token).status == 200


def test_people_is_for_administrators_only(page, env):
    page.keys_page(env.writer, env.p1)
    assert not page.css("#nav-people").is_displayed()
    page.open(env.writer, f"#/projects/{env.p1}/people")
    refused = page.wait_css("#people-refused")
    assert "Only administrators manage people" in refused.text
    assert page.css("#people-title").text.startswith("People")
    assert not page.all("#grants-results, #users-results, form")
    # The switcher keeps the section: the other project's People page refuses too.
    Select(page.css("#project-select")).select_by_value(str(env.p2))
    page.wait_text("#people-title", f"project {env.p2}")
    assert page.d.execute_script("return location.hash") == f"#/projects/{env.p2}/people"
    page.wait_css("#people-refused")
    # A read-only administrator reads the grants and users and is offered no change.
    p = new_project()
    people_grant(env, p, "read-only-sees")
    reader = env.token("--user", "15", "--admin", "--read-only")
    page.open(reader, f"#/projects/{p}/people")
    page.wait_text("#grants-results", "Group read-only-sees")
    page.wait_css("#users-results tr[data-user='15']")
    assert "read-only" in page.css("#people-read-only").text
    assert not page.all("form, main button")
    assert page.console_errors() == []


# ---------------------------------------------------------------------------------------
# Hosts: the project's enrolled servers, its join tokens and its host CA.

JOIN_TOKEN = re.compile(r"^kpj_([0-9a-f]{16})_([0-9a-f]{64})$")


def join_token(env, project, hostnames, uses=1):
    r = env.api("POST", f"/projects/{project}/host_join_tokens",
                {"hostnames": hostnames, "uses": uses}, env.admin)
    assert r.status == 201, r
    return r.json()


def enroll(env, token, project, hostnames, public_keys):
    return request(env.server.port, "POST", "/api/v1/hosts/enroll",
                   {"project_id": project, "hostnames": hostnames, "public_keys": public_keys},
                   headers={"Authorization": f"Bearer {token}"})


def enrolled(env, token, project, hostnames, *key_names):
    """Enrols a server with fresh host keys (ssh-keygen): its answer and its keys' SHA-256
    fingerprints as ssh-keygen computes them."""
    paths = [env.public_key(n, kind="ecdsa" if n.endswith("-ecdsa") else "ed25519")
             for n in key_names]
    r = enroll(env, token, project, hostnames, [p.read_text().strip() for p in paths])
    assert r.status == 201, r
    fps = [subprocess.run(["ssh-keygen", "-l", "-f", str(p)], capture_output=True, text=True,
                          check=True).stdout.split()[1] for p in paths]
    return r.json(), fps


def renew(env, answer):
    return request(env.server.port, "POST", f"/api/v1/hosts/{answer['host_id']}/renew", {},
                   headers={"Authorization": f"Bearer {answer['host_token']}"})


def api_hosts(env, project):
    r = env.api("GET", f"/projects/{project}/hosts", token=env.admin)
    assert r.status == 200, r
    return {h["id"]: h for h in r.json()["results"]}


def api_join_tokens(env, project):
    r = env.api("GET", f"/projects/{project}/host_join_tokens", token=env.admin)
    assert r.status == 200, r
    return {t["id"]: t for t in r.json()["results"]}


def set_host_times(env, host_id, valid_before_s, renewed_at_s):
    """Moves a host's certificate expiry and last renewal (the module runs on SQLite only)."""
    con = sqlite3.connect(env.server.database.removeprefix("sqlite:"), timeout=10)
    try:
        with con:
            n = con.execute("UPDATE hosts SET valid_before_s = ?, renewed_at_us = ? WHERE id = ?",
                            (valid_before_s, renewed_at_s * 1000000, host_id)).rowcount
    finally:
        con.close()
    assert n == 1


def host_cells(page, host_id):
    row = page.wait_css(f"tr[data-host='{host_id}']")
    return {c.get_attribute("data-label"): c for c in row.find_elements(By.CSS_SELECTOR, "td")}


def hosts_page(page, token, project):
    page.open(token, f"#/projects/{project}/hosts")
    page.wait_text("#hosts-title", f"project {project}")


def test_hosts_an_admin_sees_enrolled_hosts_their_fingerprints_and_expiry(page, env):
    page.d.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": env.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    p = new_project()
    join = join_token(env, p, ["web-1.example.com", "*.db.example.com"], uses=3)
    web, web_fps = enrolled(env, join["token"], p, ["web-1.example.com"], "web-1", "web-1-ecdsa")
    soon, _ = enrolled(env, join["token"], p, ["pg-1.db.example.com"], "pg-1")
    gone, _ = enrolled(env, join["token"], p, ["pg-2.db.example.com"], "pg-2")
    now = int(time.time())
    # One whose renewals stopped 28 days ago (2 days left of 30), one expired an hour ago.
    set_host_times(env, soon["host_id"], now + 2 * 86400, now - 28 * 86400)
    set_host_times(env, gone["host_id"], now - 3600, now - 31 * 86400)
    listed = api_hosts(env, p)

    # Hosts is one of the project's sections, reached by keyboard.
    page.open(env.admin, f"#/projects/{p}/keys")
    page.wait(lambda: page.all("table.keys, .empty"), what="the keys page")
    page.tab_to("#nav-hosts")
    page.keys(Keys.ENTER)
    page.wait_text("#hosts-title", f"project {p}")
    assert page.d.execute_script("return location.hash") == f"#/projects/{p}/hosts"
    assert page.css("#nav-hosts").get_attribute("aria-current") == "page"

    # Oldest enrolment first, each with its names, its keys' fingerprints and its times.
    page.wait(lambda: len(page.all("#hosts-results tbody tr")) == 3, what="three hosts")
    assert [r.get_attribute("data-host") for r in page.all("#hosts-results tbody tr")] == [
        web["host_id"], soon["host_id"], gone["host_id"]]
    cells = host_cells(page, web["host_id"])
    assert cells["Host names"].find_element(By.CSS_SELECTOR, ".chip").text == "web-1.example.com"
    assert [e.text for e in cells["Key fingerprints"].find_elements(
        By.CSS_SELECTOR, ".fp-text")] == web_fps
    assert listed[web["host_id"]]["key_fingerprints"] == web_fps
    cert = cells["Certificates"]
    assert cert.find_element(By.CSS_SELECTOR, ".badge").text == "Valid"
    assert cert.find_element(By.CSS_SELECTOR, "time").get_attribute("datetime") == \
        web["certificates"][0]["valid_before"]
    assert "(in 30 days)" in cert.text, cert.text
    assert cells["Enrolled"].find_element(By.CSS_SELECTOR, "time").get_attribute(
        "datetime") == listed[web["host_id"]]["enrolled_at"]
    assert cells["Last renewed"].text == "not yet"
    # Expiring soon and expired are flagged, with when.
    cells = host_cells(page, soon["host_id"])
    assert cells["Certificates"].find_element(By.CSS_SELECTOR, ".badge").text == "Expires soon"
    assert "(in 2 days)" in cells["Certificates"].text
    assert cells["Last renewed"].find_element(By.CSS_SELECTOR, "time").get_attribute(
        "datetime") == listed[soon["host_id"]]["renewed_at"]
    cells = host_cells(page, gone["host_id"])
    badge = cells["Certificates"].find_element(By.CSS_SELECTOR, ".badge")
    assert badge.text == "Expired" and "badge-bad" in badge.get_attribute("class")
    assert "(1 hour ago)" in cells["Certificates"].text
    # A fingerprint copies.
    host_cells(page, web["host_id"])["Key fingerprints"].find_element(
        By.CSS_SELECTOR, "button").click()
    page.wait(lambda: page.clipboard() == web_fps[0], what="fingerprint copied")

    # The host CA that signed them, and its known_hosts line for the names typed.
    ca = env.api("GET", f"/projects/{p}/ssh_host_ca", token=env.admin).json()
    assert page.wait_css("#host-ca-fingerprint").text == ca["fingerprint_sha256"]
    line = page.wait_css("#known-hosts-line")
    assert line.text == f"@cert-authority * {ca['public_key']}"
    page.css("#known-hosts-patterns").send_keys("*.example.com,web-1", Keys.ENTER)
    page.wait_text("#known-hosts-line", "@cert-authority *.example.com,web-1 ")
    said = request(env.server.port, "GET",
                   f"/api/v1/projects/{p}/ssh_host_ca/known_hosts?hosts=*.example.com,web-1",
                   token=env.admin)
    assert page.css("#known-hosts-line").text + "\n" == said.body.decode()
    command = page.css("#ssh-config-command").text
    assert command == (f"keypaird ssh-config --url {env.base} --project {p} "
                       "--hosts '*.example.com,web-1' --write ~/.ssh/known_hosts")
    page.d.find_element(By.CSS_SELECTOR, "button[aria-label='Copy line: known_hosts']").click()
    page.wait(lambda: page.clipboard() == said.body.decode(), what="known_hosts line copied")
    assert "~/.ssh/known_hosts" in page.css("#known-hosts-result").text
    page.d.execute_script("window.scrollTo(0, 0)")
    page.shot("hosts")
    # A pattern the API refuses: its message at the field.
    page.css("#known-hosts-patterns").send_keys(Keys.CONTROL, "a", Keys.NULL, "web 1/x")
    page.expect_failure("/ssh_host_ca/known_hosts", 400)
    page.keys(Keys.ENTER)
    error = page.wait_css("#known-hosts-patterns-error")
    assert "patterns" in error.text
    assert page.css("#known-hosts-patterns").get_attribute("aria-invalid") == "true"
    assert not page.all("#known-hosts-line")


def test_hosts_a_join_token_made_in_the_console_is_shown_once_and_enrols_a_server(page, env):
    page.d.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": env.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    p = new_project()
    page.expect_failure("/ssh_host_ca", 404)  # no host has enrolled: no host CA yet
    hosts_page(page, env.admin, p)
    assert f"No hosts enrolled in project {p} yet" in page.wait_css("#hosts-results .empty").text
    assert f"No join tokens in project {p}" in page.wait_css("#join-tokens-results .empty").text
    assert "no host certificate authority yet" in page.wait_css("#host-ca-missing").text

    # A bad host name pattern: the API's own message, at the field; nothing is made.
    page.tab_to("#join-hostnames")
    page.keys("web-1.example.com a.*.example.com")
    page.expect_failure("/host_join_tokens", 400)
    page.keys(Keys.ENTER)
    error = page.wait_css("#join-hostnames-error")
    refused = env.api("POST", f"/projects/{p}/host_join_tokens",
                      {"hostnames": ["web-1.example.com", "a.*.example.com"], "uses": 1,
                       "expires_in": 3600}, env.admin)
    assert refused.status == 400, refused
    assert error.text == " ".join(refused.json()["invalid_fields"]["hostnames"])
    assert "a.*.example.com" in error.text
    assert page.css("#join-hostnames").get_attribute("aria-invalid") == "true"
    assert page.active() == page.css("#join-hostnames")
    assert page.css("#join-uses").get_attribute("aria-invalid") is None
    assert api_join_tokens(env, p) == {}
    page.shot("hosts-join-token-error")

    # Names, uses and validity by keyboard; the button makes it.
    page.css("#join-hostnames").send_keys(Keys.CONTROL, "a", Keys.NULL,
                                          "App-1.example.com, *.cache.example.com")
    page.tab_to("#join-uses").send_keys(Keys.CONTROL, "a", Keys.NULL, "2")
    page.tab_to("#join-expires")
    page.keys("7")  # "7 days"
    assert Select(page.css("#join-expires")).first_selected_option.text == "7 days"
    page.tab_to("#join-create")
    page.keys(Keys.ENTER)
    secret = page.wait_css("#join-token-secret")
    token = secret.get_attribute("value")
    m = JOIN_TOKEN.match(token)
    assert m, token
    assert "only time" in page.css("#join-token-warning").text
    assert page.css("#join-hostnames").get_attribute("aria-invalid") is None
    [made] = api_join_tokens(env, p).values()
    assert made["id"] == m.group(1)
    assert made["hostnames"] == ["app-1.example.com", "*.cache.example.com"]
    assert made["uses"] == made["uses_left"] == 2
    expires = datetime.fromisoformat(made["expires_at"]) - datetime.now(timezone.utc)
    assert abs(expires.total_seconds() - 7 * 86400) < 600, made
    # Copied by keyboard: the focus is on Copy.
    assert page.active() == page.css("#join-token-copy")
    page.keys(Keys.ENTER)
    page.wait(lambda: page.clipboard() == token, what="join token copied")
    # The enrolment command, ready but for the token file.
    command = page.css("#enroll-command").text
    assert (f"keypaird host enroll --url {env.base} --project {p} --join-token-file "
            "/root/join-token --hostname app-1.example.com") in command
    assert "install -m 0600 /dev/stdin /root/join-token" in command
    assert token not in command
    # Listed, without its secret.
    row = page.wait_css(f"tr[data-join-token='{made['id']}']")
    assert "2 of 2" in row.text and "app-1.example.com" in row.text
    assert "*.cache.example.com" in row.text and "Usable" in row.text
    page.d.execute_script("document.getElementById('join-token-made').scrollIntoView()")
    page.shot("hosts-join-token")

    # Gone once the page is left: away to Keys and back to Hosts.
    page.css("#nav-keys").click()
    page.wait_text("#keys-title", f"project {p}")
    page.css("#nav-hosts").click()
    page.wait_css(f"tr[data-join-token='{made['id']}']")
    assert not page.all("#join-token-secret, #join-token-made")
    assert m.group(2) not in page.d.page_source
    assert page.d.execute_script(
        "return [...document.querySelectorAll('input, textarea')].map(e => e.value).join(' ')"
        " + JSON.stringify(sessionStorage) + JSON.stringify(localStorage)").count(m.group(2)) == 0

    # It enrols a server through the API; the console then lists the host and one use spent.
    answer, fps = enrolled(env, token, p, ["app-1.example.com"], "app-1")
    page.d.refresh()
    cells = host_cells(page, answer["host_id"])
    assert cells["Host names"].text.startswith("app-1.example.com")
    assert [e.text for e in cells["Key fingerprints"].find_elements(
        By.CSS_SELECTOR, ".fp-text")] == fps
    assert "1 of 2" in page.wait_css(f"tr[data-join-token='{made['id']}']").text
    page.wait_css("#known-hosts-line")  # the enrolment made the host CA


def test_hosts_deleting_a_join_token_and_a_host_asks_first(page, env):
    p = new_project()
    join = join_token(env, p, ["db-1.example.com"], uses=2)
    spare = join_token(env, p, ["*.spare.example.com"])
    answer, _ = enrolled(env, join["token"], p, ["db-1.example.com"], "db-1")
    assert renew(env, answer).status == 201  # its token works until the host is deleted
    hosts_page(page, env.admin, p)
    page.wait_css(f"tr[data-host='{answer['host_id']}']")

    # The join token: asked, said what it means, deleted; it enrols nobody any more.
    page.css(f"#delete-join-token-{spare['id']}").click()
    dialog = page.wait_css("dialog[open]")
    assert "No server can enrol with it" in dialog.text and "*.spare.example.com" in dialog.text
    assert page.active() == page.css("#confirm-delete-join-token")
    page.d.find_element(By.XPATH, "//dialog[@open]//button[text()='Cancel']").click()
    page.wait(lambda: not page.all("dialog"), what="the dialog closed")
    assert spare["id"] in api_join_tokens(env, p)
    page.css(f"#delete-join-token-{spare['id']}").click()
    page.wait_css("#confirm-delete-join-token")
    page.keys(Keys.ENTER)
    page.wait(lambda: not page.all(f"tr[data-join-token='{spare['id']}']"),
              what="the join token gone")
    assert page.active() == page.css("#join-tokens-list-title")
    assert list(api_join_tokens(env, p)) == [join["id"]]
    key = env.public_key("spare-1").read_text().strip()
    assert enroll(env, spare["token"], p, ["a.spare.example.com"], [key]).status == 401

    # The host: asked, told its token stops and its certificates are revoked, deleted.
    page.css(f"#delete-host-{answer['host_id']}").click()
    dialog = page.wait_css("dialog[open]")
    assert "db-1.example.com" in dialog.text
    assert "token stops" in dialog.text and "certificates are revoked" in dialog.text
    page.shot("hosts-delete-host")
    assert page.active() == page.css("#confirm-delete-host")
    page.keys(Keys.ENTER)
    page.wait_text("#hosts-results", f"No hosts enrolled in project {p} yet")
    assert not page.all("dialog")
    assert page.active() == page.css("#hosts-list-title")
    assert api_hosts(env, p) == {}
    assert renew(env, answer).status == 401
    # The join token it enrolled with stays.
    assert "1 of 2" in page.css(f"tr[data-join-token='{join['id']}']").text


def test_hosts_read_only_admins_see_no_buttons_and_others_only_the_host_ca(page, env):
    p = new_project()
    join = join_token(env, p, ["ro-1.example.com"], uses=2)
    answer, _ = enrolled(env, join["token"], p, ["ro-1.example.com"], "ro-1")
    reader = env.token("--user", "16", "--admin", "--read-only")
    hosts_page(page, reader, p)
    page.wait_css(f"tr[data-host='{answer['host_id']}']")
    page.wait_css(f"tr[data-join-token='{join['id']}']")
    page.wait_css("#known-hosts-line")
    assert "read-only" in page.css("#hosts-read-only").text
    assert "read-only" in page.css("#join-tokens-read-only").text
    assert not page.all("#join-create, .join-form, main .btn-danger, #create-host-ca")
    assert not page.all("th:nth-child(6)")  # no Actions column
    # What buttons there are only copy, or show the known_hosts line for other names.
    buttons = [b.get_attribute("id") or b.text for b in page.all("main button")]
    assert buttons and all(b in ("Copy", "Copy line", "Copy command", "known-hosts-show")
                           for b in buttons), buttons

    # Not an administrator of the project: said so; the host CA's line is there for them too.
    q = new_project()
    viewer = env.token("--user", "17", "--projects", str(q), "--read-only")
    editor = env.token("--user", "18", "--projects", str(q))
    page.expect_failure("/ssh_host_ca", 404)
    page.keys_page(editor, q)
    assert page.css("#nav-hosts").is_displayed()
    hosts_page(page, viewer, q)
    refused = page.wait_css("#hosts-refused")
    assert "Only administrators manage hosts" in refused.text
    page.wait_css("#host-ca-missing")
    assert not page.all("#hosts-results, #join-tokens-results, form, main button")
    # One that may write makes the host CA, and gets its line.
    hosts_page(page, editor, q)
    page.wait_css("#hosts-refused")
    page.wait_css("#create-host-ca").click()
    line = page.wait_css("#known-hosts-line")
    ca = env.api("GET", f"/projects/{q}/ssh_host_ca", token=env.admin)
    assert ca.status == 200 and line.text == f"@cert-authority * {ca.json()['public_key']}"
    assert page.active() == page.css("#host-ca-title")
    assert not page.all("#hosts-results, #join-tokens-results, .join-form")
    # The switcher keeps the section.
    page.open(env.writer, f"#/projects/{env.p1}/hosts")
    page.wait_css("#hosts-refused")
    Select(page.css("#project-select")).select_by_value(str(env.p2))
    page.wait_text("#hosts-title", f"project {env.p2}")
    assert page.d.execute_script("return location.hash") == f"#/projects/{env.p2}/hosts"


def test_hosts_axe_scan_and_layout_at_1280_and_390_px_in_light_and_dark(page, env):
    p = new_project()
    join = join_token(env, p, ["layout-host-with-a-long-name.eu-west.example.com",
                               "*.db.example.com"], uses=5)
    enrolled(env, join["token"], p, ["layout-host-with-a-long-name.eu-west.example.com"],
             "layout-host", "layout-host-ecdsa")
    old, _ = enrolled(env, join["token"], p, ["pg-1.db.example.com"], "layout-pg")
    now = int(time.time())
    set_host_times(env, old["host_id"], now + 86400, now - 29 * 86400)
    problems = []
    for scheme in ("light", "dark"):
        page.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": scheme}]})
        for width, height in ((1280, 860), (390, 844)):
            page.d.set_window_size(width, height)
            what = f"{scheme} {width} px"
            hosts_page(page, env.admin, p)
            page.wait_css("#hosts-results table.hosts")
            page.wait_css("#join-tokens-results table.join-tokens")
            page.wait_css("#known-hosts-line")
            assert page.no_horizontal_overflow(), f"hosts overflow at {what}"
            if width == 390:  # the tables turn into cards
                assert page.css("table.hosts thead").is_displayed() is False
                assert page.css("table.join-tokens thead").is_displayed() is False
            problems += page.axe(f"{what} hosts")
            if (width, scheme) != (1280, "light"):
                page.shot(f"hosts{'-phone' if width == 390 else ''}"
                          f"{'-dark' if scheme == 'dark' else ''}", full=width == 390)
            # The form with the API's error at a field.
            page.css("#join-hostnames").send_keys("bad_name")
            page.expect_failure("/host_join_tokens", 400)
            page.css("#join-create").click()
            page.wait_css("#join-hostnames-error")
            problems += page.axe(f"{what} join token form with errors")
            # A join token shown once.
            page.css("#join-hostnames").send_keys(Keys.CONTROL, "a", Keys.NULL,
                                                  "new-1.example.com")
            page.css("#join-create").click()
            page.wait_css("#join-token-secret")
            assert page.no_horizontal_overflow(), f"the join token overflows at {what}"
            problems += page.axe(f"{what} join token made")
            page.css("#join-token-done").click()
            page.wait(lambda: not page.all("#join-token-secret"), what="the token hidden")
            assert page.active() == page.css("#join-hostnames")
            # The delete dialogs.
            page.css("#hosts-results button.btn-danger").click()
            page.wait_css("dialog[open]")
            assert page.no_horizontal_overflow(), f"the dialog overflows at {what}"
            problems += page.axe(f"{what} delete host dialog")
            page.keys(Keys.ESCAPE)
            page.wait(lambda: not page.all("dialog"), what="the dialog closed")
            page.css("#join-tokens-results button.btn-danger").click()
            page.wait_css("dialog[open]")
            problems += page.axe(f"{what} delete join token dialog")
            page.keys(Keys.ESCAPE)
            page.wait(lambda: not page.all("dialog"), what="the dialog closed")
            # Not an administrator.
            page.expect_failure("/ssh_host_ca", 404)
            hosts_page(page, env.writer, env.p2)
            page.wait_css("#hosts-refused")
            page.wait_css("#host-ca-card:not([aria-busy])")
            assert page.no_horizontal_overflow(), f"hosts refused overflows at {what}"
            problems += page.axe(f"{what} hosts refused")
    assert not problems, "\n".join(problems)


def test_hosts_without_a_ca_the_page_says_hosts_cannot_enrol(page, env, tmp_path):
    server = Server(tmp_path).start()  # no --ca-kek-file
    try:
        bare = Env(server, tmp_path)
        other = Page(page.d, bare)
        for part, status in (("/ssh_host_ca", 404), ("/favicon.ico", 404)):
            page.expect_failure(part, status)
        made = join_token(bare, bare.p1, ["web-1.example.com"])
        other.open(bare.admin, f"#/projects/{bare.p1}/hosts")
        notice = other.wait_css("#host-ca-disabled")
        assert "not enabled" in notice.text and "--ca-kek-file" in notice.text
        assert not other.all("#known-hosts-line, #create-host-ca")
        # The lists still work: the join token is there, no host is.
        other.wait_css(f"tr[data-join-token='{made['id']}']")
        assert "No hosts enrolled" in other.wait_css("#hosts-results .empty").text
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------
# CA rotation: a CA's keys on SSH access (the user CA) and on Hosts (the host CA), rotated
# and retired early by the project's administrators.

def ca_keys_shown(page, which):
    """The fingerprints listed as the keys of a CA, in order (`which`: "ca" or "host-ca")."""
    return page.d.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.dataset.fingerprint)",
        f"#{which}-keys li.ca-key")


def wait_ca_keys(page, which, n):
    page.wait(lambda: len(ca_keys_shown(page, which)) == n, what=f"{n} keys of {which}")
    return ca_keys_shown(page, which)


def api_ca(env, project, which):
    r = env.api("GET", f"/projects/{project}/{which}", token=env.admin)
    assert r.status == 200, r
    return r.json()


def api_text(env, path):
    r = request(env.server.port, "GET", "/api/v1" + path, token=env.admin)
    assert r.status == 200, r
    return r.body.decode()


def user_certificate(env, project, name):
    """A certificate the project's user CA signs now for a fresh key (valid 1 hour), saved
    as a file: a key that signed something stays trusted after a rotation."""
    pub = env.public_key(name).read_text().strip()
    r = env.api("POST", f"/projects/{project}/ssh_ca/sign",
                {"public_key": pub, "principals": ["deploy"], "valid_for": 3600}, env.admin)
    assert r.status == 201, r
    path = env.keydir / f"{name}-cert.pub"
    path.write_text(r.json()["certificate"] + "\n")
    return path


def krl_revokes(env, project, cert):
    """Whether the project's KRL, as the API serves it now, revokes the certificate file."""
    r = env.api("GET", f"/projects/{project}/ssh_ca/krl", token=env.admin)
    assert r.status == 200, r
    krl = env.keydir / f"project-{project}.krl"
    krl.write_bytes(r.body)
    out = subprocess.run(["ssh-keygen", "-Q", "-f", str(krl), str(cert)],
                         capture_output=True, text=True)
    assert "REVOKED" in out.stdout or out.stdout.strip().endswith(": ok"), (out.stdout,
                                                                            out.stderr)
    return "REVOKED" in out.stdout


def test_ssh_access_an_admin_rotates_the_ca_and_stops_trusting_the_old_key(page, env):
    p = new_project()
    assert env.api("POST", f"/projects/{p}/ssh_ca", token=env.admin).status in (200, 201)
    cert = user_certificate(env, p, "rotation-user")
    old = api_ca(env, p, "ssh_ca")
    page.open(env.admin, f"#/projects/{p}/ssh")
    assert wait_ca_keys(page, "ca", 1) == [old["fingerprint_sha256"]]
    assert "Signs now" in page.css("#ca-keys li.ca-key").text
    assert not page.all(".ca-key-delete")  # the signing key cannot be deleted
    assert page.css("#ca-public-key").text.splitlines() == [old["public_key"]]

    # Asked first, told what happens; Cancel changes nothing.
    page.css("#ca-rotate").click()
    dialog = page.wait_css("dialog[open]")
    assert "A new key signs" in dialog.text and old["fingerprint_sha256"] in dialog.text
    assert "stays trusted until the last certificate it signed expires" in dialog.text
    assert "keypaird host renew" in dialog.text
    assert page.active() == page.css("#confirm-ca-rotate")
    problems = page.axe("rotate the CA dialog")
    page.d.find_element(By.XPATH, "//dialog[@open]//button[text()='Cancel']").click()
    page.wait(lambda: not page.all("dialog"), what="the dialog closed")
    assert len(api_ca(env, p, "ssh_ca")["keys"]) == 1
    page.css("#ca-rotate").click()
    page.wait_css("#confirm-ca-rotate")
    page.keys(Keys.ENTER)

    # Both keys: the new one signs, the old one is trusted until its certificate expires.
    shown = wait_ca_keys(page, "ca", 2)
    new = api_ca(env, p, "ssh_ca")
    assert shown == [k["fingerprint_sha256"] for k in new["keys"]]
    assert shown[0] == new["fingerprint_sha256"] != old["fingerprint_sha256"]
    assert shown[1] == old["fingerprint_sha256"]
    assert page.css("#ca-fingerprint").text == new["fingerprint_sha256"]
    assert not page.all("dialog")
    assert page.active() == page.css("#ca-keys-title")
    signing, rotated = page.all("#ca-keys li.ca-key")
    assert "Signs now" in signing.text and "trusted until" not in signing.text
    assert "trusted until" in rotated.text, rotated.text
    # The certificate's hour, less the seconds since it was signed.
    assert re.search(r"\(in (1 hour|60 minutes|59 minutes)\)", rotated.text), rotated.text
    assert rotated.find_element(By.CSS_SELECTOR, "time").get_attribute("datetime") == \
        new["keys"][1]["retires_at"]
    # The public keys servers need, both lines, as …/ssh_ca/public_key serves them.
    lines = page.css("#ca-public-key").text.splitlines()
    assert len(lines) == 2 and lines[0] == new["public_key"]
    assert lines == api_text(env, f"/projects/{p}/ssh_ca/public_key").splitlines()
    assert not signing.find_elements(By.CSS_SELECTOR, ".ca-key-delete")
    page.shot("ssh-access-rotated", full=True)
    page.d.set_window_size(390, 844)
    assert page.no_horizontal_overflow(), "the CA's keys overflow at 390 px"
    page.d.set_window_size(1280, 860)

    # The old key retired early: asked, told that its certificates are revoked.
    assert not krl_revokes(env, p, cert)
    rotated.find_element(By.CSS_SELECTOR, ".ca-key-delete").click()
    dialog = page.wait_css("dialog[open]")
    assert old["fingerprint_sha256"] in dialog.text
    assert "every certificate it signed is revoked" in dialog.text
    assert page.active() == page.css("#confirm-ca-key-delete")
    problems += page.axe("stop trusting a CA key dialog")
    page.keys(Keys.ENTER)
    assert wait_ca_keys(page, "ca", 1) == [new["fingerprint_sha256"]]
    assert [k["fingerprint_sha256"] for k in api_ca(env, p, "ssh_ca")["keys"]] == \
        [new["fingerprint_sha256"]]
    assert krl_revokes(env, p, cert)
    assert page.css("#ca-public-key").text.splitlines() == [new["public_key"]]
    assert not page.all("dialog, .ca-key-delete")
    assert not problems, "\n".join(problems)


def test_hosts_an_admin_rotates_the_host_ca_and_stops_trusting_the_old_key(page, env):
    p = new_project()
    join = join_token(env, p, ["rotation-1.example.com"])
    answer, _ = enrolled(env, join["token"], p, ["rotation-1.example.com"], "rotation-1")
    cert = env.keydir / "rotation-1-host-cert.pub"
    cert.write_text(answer["certificates"][0]["certificate"] + "\n")
    old = api_ca(env, p, "ssh_host_ca")
    hosts_page(page, env.admin, p)
    assert wait_ca_keys(page, "host-ca", 1) == [old["fingerprint_sha256"]]
    assert page.wait_css("#known-hosts-line").text == f"@cert-authority * {old['public_key']}"

    page.css("#host-ca-rotate").click()
    dialog = page.wait_css("dialog[open]")
    assert "host certificates" in dialog.text and old["fingerprint_sha256"] in dialog.text
    assert "keypaird host renew" in dialog.text and "keypaird ssh-config --write" in dialog.text
    assert page.active() == page.css("#confirm-host-ca-rotate")
    problems = page.axe("rotate the host CA dialog")
    page.keys(Keys.ENTER)

    shown = wait_ca_keys(page, "host-ca", 2)
    new = api_ca(env, p, "ssh_host_ca")
    assert shown == [k["fingerprint_sha256"] for k in new["keys"]]
    assert shown[0] == new["fingerprint_sha256"] != old["fingerprint_sha256"]
    assert shown[1] == old["fingerprint_sha256"]
    assert page.css("#host-ca-fingerprint").text == new["fingerprint_sha256"]
    assert page.active() == page.css("#host-ca-keys-title")
    signing, rotated = page.all("#host-ca-keys li.ca-key")
    assert "Signs now" in signing.text
    assert "trusted until" in rotated.text and "(in 30 days)" in rotated.text, rotated.text
    # The known_hosts lines computers need: both keys, as the API serves them.
    said = api_text(env, f"/projects/{p}/ssh_host_ca/known_hosts")
    page.wait(lambda: page.css("#known-hosts-line").text + "\n" == said,
              what="both known_hosts lines")
    assert said.splitlines() == [f"@cert-authority * {new['public_key']}",
                                 f"@cert-authority * {old['public_key']}"]
    page.d.execute_script("document.getElementById('host-ca-card').scrollIntoView()")
    page.shot("hosts-rotated")
    page.d.set_window_size(390, 844)
    assert page.no_horizontal_overflow(), "the host CA's keys overflow at 390 px"
    page.d.set_window_size(1280, 860)

    assert not krl_revokes(env, p, cert)
    rotated.find_element(By.CSS_SELECTOR, ".ca-key-delete").click()
    dialog = page.wait_css("dialog[open]")
    assert old["fingerprint_sha256"] in dialog.text
    assert "every host certificate it signed is revoked" in dialog.text
    assert page.active() == page.css("#confirm-host-ca-key-delete")
    problems += page.axe("stop trusting a host CA key dialog")
    page.keys(Keys.ENTER)
    assert wait_ca_keys(page, "host-ca", 1) == [new["fingerprint_sha256"]]
    assert [k["fingerprint_sha256"] for k in api_ca(env, p, "ssh_host_ca")["keys"]] == \
        [new["fingerprint_sha256"]]
    page.wait(lambda: page.css("#known-hosts-line").text ==
              f"@cert-authority * {new['public_key']}", what="one known_hosts line")
    assert krl_revokes(env, p, cert)
    assert not page.all("dialog, .ca-key-delete")
    assert not problems, "\n".join(problems)


def test_ca_keys_only_administrators_with_a_token_that_may_write_rotate_or_retire(page, env):
    """Editors (a plain project token), read-only tokens and a read-only admin token see a
    rotated CA's keys but no Rotate or Stop trusting buttons; an admin token does."""
    p = new_project()
    assert env.api("POST", f"/projects/{p}/ssh_ca", token=env.admin).status in (200, 201)
    user_certificate(env, p, "perms-user")
    assert env.api("POST", f"/projects/{p}/ssh_ca/rotate", token=env.admin).status == 200
    join = join_token(env, p, ["perms-1.example.com"])
    enrolled(env, join["token"], p, ["perms-1.example.com"], "perms-1")
    assert env.api("POST", f"/projects/{p}/ssh_host_ca/rotate", token=env.admin).status == 200
    user_keys = [k["fingerprint_sha256"] for k in api_ca(env, p, "ssh_ca")["keys"]]
    host_keys = [k["fingerprint_sha256"] for k in api_ca(env, p, "ssh_host_ca")["keys"]]
    editor = env.token("--user", "21", "--projects", str(p))
    reader = env.token("--user", "22", "--projects", str(p), "--read-only")
    read_only_admin = env.token("--user", "23", "--admin", "--read-only")
    for who, token, may in (("admin", env.admin, True), ("editor", editor, False),
                            ("reader", reader, False), ("read-only admin", read_only_admin,
                                                        False)):
        page.open(token, f"#/projects/{p}/ssh")
        assert wait_ca_keys(page, "ca", 2) == user_keys, who
        assert bool(page.all("#ca-rotate")) == may, who
        assert len(page.all("#ca-keys .ca-key-delete")) == (1 if may else 0), who
        hosts_page(page, token, p)
        assert wait_ca_keys(page, "host-ca", 2) == host_keys, who
        assert bool(page.all("#host-ca-rotate")) == may, who
        assert len(page.all("#host-ca-keys .ca-key-delete")) == (1 if may else 0), who


def test_axe_finds_no_serious_or_critical_violations_in_light_and_dark(page, env):
    key = env.create(env.p1, "axe-key", labels={"team": "a11y"})
    people_grant(env, env.p1, "axe-group")
    problems = []
    for scheme in ("light", "dark"):
        page.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": scheme}]})
        page.open()
        page.wait_css("#token")
        problems += page.axe(f"{scheme} sign-in")
        page.keys_page(env.writer, env.p1)
        problems += page.axe(f"{scheme} keys")
        page.css("#import-key").click()
        page.wait_css("dialog[open]")
        page.css("dialog[open] button[type=submit]").click()  # empty: field errors shown
        page.wait_css("dialog[open] .field-error:not([hidden])")
        problems += page.axe(f"{scheme} import with errors")
        page.keys(Keys.ESCAPE)
        page.css("#generate-key").click()
        page.wait_css("dialog[open]")
        problems += page.axe(f"{scheme} generate")
        page.keys(Keys.ESCAPE)
        page.open(env.writer, f"#/projects/{env.p1}/keys/{key['id']}")
        page.wait_text("#key-title", "axe-key")
        problems += page.axe(f"{scheme} key page")
        # A certificate refused (errors by the fields), then issued.
        page.css("#request-cert").click()
        page.wait_css("#cert-principals-error")
        problems += page.axe(f"{scheme} certificate form with errors")
        page.css("#cert-principal-1").click()
        page.css("#request-cert").click()
        page.wait_css("#certificate")
        problems += page.axe(f"{scheme} certificate issued")
        page.css("#revoke-cert").click()
        page.wait_css("dialog[open]")
        problems += page.axe(f"{scheme} revoke dialog")
        page.keys(Keys.ESCAPE)
        page.open(env.writer, f"#/projects/{env.p1}/ssh")
        page.wait_css("#ca-public-key")
        page.wait_css("#ak-lines")
        problems += page.axe(f"{scheme} SSH access")
        page.css("#ak-selector").send_keys("login=nobody")
        page.wait_css("#ak-result .empty")
        problems += page.axe(f"{scheme} SSH access, no key matches")
        page.open(env.writer, "#/account")
        page.wait_css("#account-roles")
        problems += page.axe(f"{scheme} account")
        page.open(env.admin, f"#/projects/{env.p1}/events")
        page.wait_css("table.events")
        problems += page.axe(f"{scheme} events")
        page.open(env.admin, f"#/projects/{env.p1}/people")
        page.wait_css("#grants-results table.grants")
        page.wait_css("#users-results table.users")
        problems += page.axe(f"{scheme} people")
        page.css("#grant-add").click()  # no value: the field's error shown
        page.wait_css("#grant-value-error")
        problems += page.axe(f"{scheme} people, grant form with errors")
        page.css("#grants-results button.btn-danger").click()
        page.wait_css("dialog[open]")
        problems += page.axe(f"{scheme} delete grant dialog")
        page.keys(Keys.ESCAPE)
        page.open(env.writer, f"#/projects/{env.p1}/people")
        page.wait_css("#people-refused")
        problems += page.axe(f"{scheme} people refused")
    assert not problems, "\n".join(problems)


def test_layout_fits_from_1280_to_390_px_in_both_themes(page, env):
    key = env.create(env.p1, "layout-key-with-a-rather-long-name", labels={"team": "mobile"},
                     public_key=env.public_key("layout").read_text())
    people_grant(env, env.p1, "layout-group-with-a-rather-long-name-for-a-narrow-screen")
    for scheme in ("light", "dark"):
        page.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": scheme}]})
        for width, height in ((1280, 860), (390, 844)):
            page.d.set_window_size(width, height)
            # The wide light screens are shot by the tests of their flows.
            suffix = ("" if width == 1280 else "-phone") + ("" if scheme == "light" else "-dark")
            shoot = suffix != ""
            page.keys_page(env.writer, env.p1)
            page.wait(lambda: page.row_names(), what="rows")
            assert page.no_horizontal_overflow(), f"keys overflow at {width} px ({scheme})"
            if width == 390:  # the table turns into cards
                assert page.css("table.keys thead").is_displayed() is False
            if shoot:
                page.shot("keys" + suffix)
            page.open(env.writer, f"#/projects/{env.p1}/keys/{key['id']}")
            page.wait_css("#key-title")
            assert page.no_horizontal_overflow(), f"key page overflows at {width} px ({scheme})"
            if shoot:
                page.shot("key" + suffix, full=width == 390)
            page.css("#cert-principal-0").click()
            page.css("#request-cert").click()
            page.wait_css("#certificate")
            assert page.no_horizontal_overflow(), f"certificate overflows at {width} px ({scheme})"
            page.open(env.writer, f"#/projects/{env.p1}/ssh")
            page.wait_css("#ca-public-key")
            page.wait_css("#ak-lines")
            assert page.no_horizontal_overflow(), f"SSH access overflows at {width} px ({scheme})"
            if shoot:
                page.shot("ssh-access" + suffix)
            page.open(env.admin, f"#/projects/{env.p1}/events")
            page.wait_css("table.events")
            assert page.no_horizontal_overflow(), f"events overflow at {width} px ({scheme})"
            if width == 390:
                assert page.css("table.events thead").is_displayed() is False
            page.open(env.admin, f"#/projects/{env.p1}/people")
            page.wait_css("#grants-results table.grants")
            page.wait_css("#users-results table.users")
            assert page.no_horizontal_overflow(), f"people overflow at {width} px ({scheme})"
            if width == 390:
                assert page.css("table.grants thead").is_displayed() is False
            if shoot:
                page.shot("people" + suffix, full=width == 390)
            page.keys_page(env.writer, env.p1)
            page.css("#generate-key").click()
            page.wait_css("dialog[open]")
            assert page.no_horizontal_overflow(), f"dialog overflows at {width} px ({scheme})"
            page.keys(Keys.ESCAPE)
        background = page.d.execute_script(
            "return getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(245, 246, 248)" if scheme == "light" else "rgb(15, 20, 25)")
