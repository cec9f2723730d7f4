// Verifies an ID token a real OpenID provider made, with keypaird's verifier
// (test/test_oidc_provider.py runs it against npm oidc-provider's tokens, so that what the
// unit tests sign by themselves is also proven against another implementation's tokens):
//
//   identity_crosscheck JWKS_FILE ISSUER CLIENT_ID NONCE < TOKEN
//
// Prints the claims as one JSON object and exits 0, or prints why the token is refused and
// exits 1 (2: bad usage). A test tool: not installed.
#include <cstdio>
#include <ctime>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "identity/id_token.h"
#include "identity/jwks.h"

namespace keypaird::identity {
namespace {

int Run(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s JWKS_FILE ISSUER CLIENT_ID NONCE < TOKEN\n", argv[0]);
    return 2;
  }
  const std::string jwks_file = argv[1];
  JwksCache keys(
      [&]() -> StatusOr<std::string> {
        std::ifstream in(jwks_file, std::ios::binary);
        if (!in) return Unavailable("cannot read " + jwks_file);
        return std::string(std::istreambuf_iterator<char>(in), {});
      },
      [] { return static_cast<int64_t>(std::time(nullptr)); });
  IdTokenExpectations want;
  want.issuer = argv[2];
  want.client_id = argv[3];
  want.nonce = argv[4];
  want.now_s = static_cast<int64_t>(std::time(nullptr));
  std::string token(std::istreambuf_iterator<char>(std::cin), {});
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  StatusOr<IdTokenClaims> claims = VerifyIdToken(token, keys, want);
  if (!claims.ok()) {
    std::printf("refused: %s\n", claims.status().message().c_str());
    return 1;
  }
  const nlohmann::json out = {{"iss", claims->issuer},  {"sub", claims->subject},
                              {"email", claims->email}, {"email_verified", claims->email_verified},
                              {"name", claims->name},   {"groups", claims->groups},
                              {"iat", claims->iat},     {"exp", claims->exp}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace
}  // namespace keypaird::identity

int main(int argc, char** argv) {
  try {
    return keypaird::identity::Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "identity_crosscheck: %s\n", e.what());
    return 2;
  }
}
