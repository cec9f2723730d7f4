// A real OpenID provider for keypaird's sign-in tests: npm `oidc-provider` (OpenID
// Certified; pinned in package.json), on 127.0.0.1 only, with its development login form
// (any password; the login name is the account). Test-only: never shipped.
//
//   node tools/oidc_provider.mjs CONFIG.json
//
// CONFIG: {
//   "port": 40123,
//   "clients": [{"client_id", "client_secret", "redirect_uris": [...],
//                "id_token_signed_response_alg": "RS256" | "ES256" | "EdDSA"}],
//   "accounts": {"alice": {"email", "name", "groups": [...]}},
//   "keys": ["RS256", "ES256", "EdDSA"]   // signing keys made at start (new kids each start)
// }
// Prints one line "ready ISSUER" on stdout once it listens; the signing keys' public JWKS is
// what the provider serves at its jwks_uri. Stops on SIGTERM.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = config.accounts || {};

function signingKey(alg) {
  const kid = `${alg.toLowerCase()}-${randomBytes(6).toString("hex")}`;
  const pair =
    alg === "RS256"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : alg === "ES256"
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : generateKeyPairSync("ed25519");
  return { ...pair.privateKey.export({ format: "jwk" }), kid, alg, use: "sig" };
}

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: (config.keys || ["RS256"]).map(signingKey) },
  enabledJWA: { idTokenSigningAlgValues: ["RS256", "ES256", "EdDSA"] },
  findAccount: async (ctx, id) => {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      claims: async () => ({
        sub: id,
        email: account.email,
        email_verified: true,
        name: account.name,
        groups: account.groups || [],
      }),
    };
  },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups"],
  // The scopes' claims go into the ID token itself: keypaird reads groups from it.
  conformIdTokenClaims: false,
  pkce: { methods: ["S256"], required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  ttl: {
    IdToken: 600,
    AccessToken: 600,
    AuthorizationCode: 60,
    Session: 3600,
    Interaction: 600,
    Grant: 3600,
  },
});
// What went wrong goes to stderr (the tests keep it in a log file).
for (const event of ["server_error", "authorization.error", "grant.error", "end_session.error"]) {
  provider.on(event, (ctx, error) => console.error(`${event}: ${error.stack || error}`));
}

const server = provider.listen(config.port, "127.0.0.1", () => {
  process.stdout.write(`ready ${issuer}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
