"""The OpenID provider the sign-in tests run against (test/oidc.py, tools/oidc_provider.mjs):
a real `oidc-provider` on loopback hands out ID tokens signed with each algorithm keypaird
accepts, with the groups claim, only through the authorization code flow with PKCE and the
client's secret.

It needs no keypaird server and no database: in a PostgreSQL pass this module defines no
test at all (as test_bench_smoke.py)."""

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request

import pytest

from oidc import Browser, OidcProvider, jwt_part, pkce_pair

REDIRECT = "http://127.0.0.1:9/auth/callback"
SECRET = "test-client-secret-0123456789abcdef"
ALGS = ("RS256", "ES256", "EdDSA")
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


if not _postgres_pass():

    @pytest.fixture(scope="module")
    def provider(tmp_path_factory):
        p = OidcProvider(tmp_path_factory.mktemp("oidc"), [_client(a) for a in ALGS], ACCOUNTS,
                         keys=ALGS)
        yield p
        p.stop()

    @pytest.mark.parametrize("alg", ALGS)
    def test_the_provider_signs_id_tokens_with_groups_after_code_and_pkce(provider, alg):
        verifier, challenge = pkce_pair()
        code = _authorize(provider, f"keypaird-{alg.lower()}", "n-" + alg, challenge)
        status, answer = _token(provider, f"keypaird-{alg.lower()}", code, verifier)
        assert status == 200, answer
        header, claims = jwt_part(answer["id_token"], 0), jwt_part(answer["id_token"], 1)
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
