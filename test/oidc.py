"""A real OpenID provider for the sign-in tests (tools/oidc_provider.mjs: npm `oidc-provider`
on 127.0.0.1), and a person signing in to it without a browser: its development login form
and consent page are plain HTML forms, submitted here with a cookie jar. (The console's
tests drive the same pages in Chromium.)"""

import base64
import hashlib
import http.cookiejar
import json
import re
import secrets
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from conftest import REPO, free_port, stop_process

NODE_SCRIPT = REPO / "tools" / "oidc_provider.mjs"


class OidcProvider:
    def __init__(self, workdir, clients, accounts, keys=("RS256",)):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        workdir = Path(workdir)
        config = workdir / f"oidc-{self.port}.json"
        config.write_text(json.dumps({"port": self.port, "clients": clients,
                                      "accounts": accounts, "keys": list(keys)}))
        self.log_path = workdir / f"oidc-{self.port}.log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["node", str(NODE_SCRIPT), str(config)],
                                     stdout=subprocess.PIPE, stderr=self.log,
                                     cwd=REPO / "tools")
        line = self.proc.stdout.readline().decode()
        if not line.startswith("ready "):
            self.stop()
            raise RuntimeError(f"oidc provider did not start: {line!r}; see {self.log_path}")

    def discovery(self):
        with urllib.request.urlopen(f"{self.issuer}/.well-known/openid-configuration",
                                    timeout=10) as r:
            return json.loads(r.read())

    def jwks(self):
        with urllib.request.urlopen(self.discovery()["jwks_uri"], timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        stop_process(self.proc)
        self.proc.stdout.close()
        self.log.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Browser:
    """Follows redirects itself, keeps cookies, and stops at the first redirect that leaves
    the provider (the client's redirect_uri), which it returns unvisited."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect())

    def _open(self, url, data=None):
        req = urllib.request.Request(url, data=data)
        try:
            with self.opener.open(req, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode(errors="replace")

    def sign_in(self, authorize_url, login, provider_origin):
        """Opens authorize_url, signs in as `login`, consents; returns the URL the provider
        sends the browser back to."""
        url, data = authorize_url, None
        for _ in range(20):
            status, headers, body = self._open(url, data)
            data = None
            if status in (302, 303):
                url = urllib.parse.urljoin(url, headers["Location"])
                if not url.startswith(provider_origin):
                    return url
                continue
            if status != 200:
                raise RuntimeError(f"provider answered {status}: {body[:500]}")
            action = re.search(r'<form[^>]*action="([^"]+)"', body)
            if action is None:
                raise RuntimeError(f"no form on the provider's page: {body[:500]}")
            url = urllib.parse.urljoin(url, action.group(1))
            fields = dict(re.findall(
                r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', body))
            if 'name="login"' in body:
                fields.update(login=login, password="any")
            data = urllib.parse.urlencode(fields).encode()
        raise RuntimeError("too many steps at the provider")


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def jwt_part(token, index):
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
