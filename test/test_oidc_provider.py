"""The OpenID provider the sign-in tests run against (test/oidc.py, tools/oidc_provider.mjs):
a real `oidc-provider` on loopback hands out ID tokens signed with each algorithm keypaird
accepts, with the groups claim, only through the authorization code flow with PKCE and the
client's secret. keypaird's own verifier (src/identity/id_token.h) then checks those tokens
through `identity_crosscheck`, so that what its unit tests sign by themselves is also proven
against tokens another implementation made.

It needs no keypaird server and no database: in a PostgreSQL pass this module defines no
test at all (as test_bench_smoke.py)."""

import base64
import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import BIN
from oidc import Browser, OidcProvider, jwt_part, pkce_pair

REDIRECT = "http://127.0.0.1:9/auth/callback"
SECRET = "test-client-secret-0123456789abcdef"
ALGS = ("RS256", "ES256", "EdDSA")
CROSSCHECK = Path(BIN).resolve().parent / "src" / "identity" / "identity_crosscheck"
ACCOUNTS = {"alice": {"email": "alice@example.com", "name": "Alice", "groups": ["ops", "dev"]}}


def _postgres_pass():
    backend = os.environ.get("KEYPAIRD_TEST_BACKEND", "")
    database = os.environ.get("KEYPAIRD_TEST_DATABASE", "")
    return backend.startswith("postgres") or database.startswith("postgres")


def _client(alg):
    return {"client_id": f"keypaird-{alg.lower()}", "client_secret": SECRET,
            "redirect_uris": [REDIRECT], "id_token_signed_response_alg": alg}


def _authorize(provider, client_id, nonce, challenge):
    query = urllib.parse.urlencode({
        "client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "openid email profile groups", "state": "s-" + nonce, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256"})
    back = Browser().sign_in(provider.discovery()["authorization_endpoint"] + "?" + query,
                             "alice", provider.issuer)
    params = urllib.parse.parse_qs(urllib.parse.urlparse(back).query)
    assert params["state"] == ["s-" + nonce], back
    return params["code"][0]


def _token(provider, client_id, code, verifier):
    body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": REDIRECT, "code_verifier": verifier})
    basic = base64.b64encode(f"{client_id}:{SECRET}".encode()).decode()
    req = urllib.request.Request(provider.discovery()["token_endpoint"], data=body.encode(),
                                 headers={"Authorization": f"Basic {basic}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _signed_in(provider, alg):
    verifier, challenge = pkce_pair()
    code = _authorize(provider, f"keypaird-{alg.lower()}", "n-" + alg, challenge)
    status, answer = _token(provider, f"keypaird-{alg.lower()}", code, verifier)
    assert status == 200, answer
    return answer["id_token"]


def _crosscheck(tmp_path, provider, token, client_id, nonce):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(provider.jwks()))
    r = subprocess.run([str(CROSSCHECK), str(jwks), provider.issuer, client_id, nonce],
                       input=token, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout.strip()


if not _postgres_pass():

    @pytest.fixture(scope="module")
    def provider(tmp_path_factory):
        p = OidcProvider(tmp_path_factory.mktemp("oidc"), [_client(a) for a in ALGS], ACCOUNTS,
                         keys=ALGS)
        yield p
        p.stop()

    @pytest.mark.parametrize("alg", ALGS)
    def test_the_provider_signs_id_tokens_with_groups_after_code_and_pkce(provider, alg):
        token = _signed_in(provider, alg)
        header, claims = jwt_part(token, 0), jwt_part(token, 1)
        assert header["alg"] == alg
        assert header["kid"] in {k["kid"] for k in provider.jwks()["keys"]}
        assert claims["iss"] == provider.issuer and claims["aud"] == f"keypaird-{alg.lower()}"
        assert claims["nonce"] == "n-" + alg and claims["sub"] == "alice"
        assert claims["groups"] == ["ops", "dev"] and claims["email"] == "alice@example.com"

    def test_the_provider_refuses_a_code_without_its_verifier_and_a_code_used_twice(provider):
        verifier, challenge = pkce_pair()
        code = _authorize(provider, "keypaird-rs256", "n-pkce", challenge)
        status, answer = _token(provider, "keypaird-rs256", code, verifier[::-1])
        assert status == 400 and answer["error"] == "invalid_grant", answer
        # With its verifier the code is good once, and only once.
        status, answer = _token(provider, "keypaird-rs256", code, verifier)
        assert status == 200, answer
        status, answer = _token(provider, "keypaird-rs256", code, verifier)
        assert status == 400 and answer["error"] == "invalid_grant", answer

    @pytest.mark.parametrize("alg", ALGS)
    def test_keypairds_verifier_accepts_the_providers_tokens_and_nothing_changed(
            provider, tmp_path, alg):
        token = _signed_in(provider, alg)
        client_id = f"keypaird-{alg.lower()}"
        rc, out = _crosscheck(tmp_path, provider, token, client_id, "n-" + alg)
        assert rc == 0, out
        claims = json.loads(out)
        assert claims["sub"] == "alice" and claims["iss"] == provider.issuer
        assert claims["groups"] == ["ops", "dev"] and claims["email_verified"] is True
        # The same token for another client, with another nonce, or with one byte of its
        # payload changed is refused.
        assert _crosscheck(tmp_path, provider, token, "keypaird-other", "n-" + alg)[0] == 1
        assert _crosscheck(tmp_path, provider, token, client_id, "n-replayed")[0] == 1
        header, payload, signature = token.split(".")
        flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
        rc, out = _crosscheck(tmp_path, provider, f"{header}.{flipped}.{signature}", client_id,
                              "n-" + alg)
        assert rc == 1 and "refused" in out, out
