#include "cli/login.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli/agent.h"
#include "cli/secure_files.h"
#include "cli/ssh_agent.h"
#include "client/http_client.h"
#include "common/duration.h"
#include "common/secret.h"
#include "common/url.h"
#include "sshkey/certificate.h"
#include "sshkey/openssh_private_key.h"
#include "sshkey/private_key.h"
#include "sshkey/sshkey.h"

namespace keypaird::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kCertType = "ssh-ed25519-cert-v01@openssh.com";
// RFC 8628 section 3.5: a slow_down adds 5 seconds to the interval, for every later poll.
constexpr int64_t kSlowDownMs = 5000;
// When the service names no interval (RFC 8628 section 3.2: 5 s).
constexpr int64_t kDefaultIntervalMs = 5000;

bool IsTransient(int status) { return status >= 500 || status == 408 || status == 429; }

// The body of a token request, {"device_code":"..."}, built in one buffer that is wiped.
// The code is sent back as it came: one that would need escaping in JSON is refused.
StatusOr<SecretString> TokenRequestBody(const SecretString& device_code) {
  const std::string_view code = device_code.view();
  for (char ch : code) {
    if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
      return Unavailable("the service sent a device code that is not printable ASCII");
    }
  }
  constexpr std::string_view kOpen = "{\"device_code\":\"";
  constexpr std::string_view kClose = "\"}";
  std::string body;
  body.reserve(kOpen.size() + code.size() + kClose.size());
  body.append(kOpen).append(code).append(kClose);
  return SecretString(std::move(body));
}

int64_t SecondsField(const json& j, const char* name, int64_t fallback) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() <= 0) return fallback;
  return std::min<int64_t>(it->get<int64_t>(), 86400);
}

// The one-line certificate "TYPE BASE64[ COMMENT]" as the sign route answers it, checked
// to certify `public_blob` (this run's key), parsed.
StatusOr<sshkey::ParsedCertificate> ReadCertificate(std::string_view line,
                                                    std::string_view public_blob,
                                                    std::string* blob) {
  const size_t space = line.find(' ');
  const Status bad = InvalidArgument(
      "the service answered with something that is not an "
      "OpenSSH certificate of this key");
  if (space == std::string_view::npos || line.substr(0, space) != kCertType) return bad;
  std::string_view base64 = line.substr(space + 1);
  base64 = base64.substr(0, base64.find(' '));
  if (!sshkey::Base64DecodeStrict(base64, blob)) return bad;
  StatusOr<sshkey::ParsedCertificate> cert = sshkey::ParseCertificate(*blob);
  if (!cert.ok() || cert->key_blob != public_blob || cert->cert_type != sshkey::kCertTypeUser) {
    return bad;
  }
  return cert;
}

class Login {
 public:
  Login(const config::Config& c, const LoginIo& io) : c_(c), io_(io) {}

  int Run() {
    StatusOr<HttpUrl> url = ParseHttpUrl(c_.url);
    if (!url.ok()) return Fail("--url: " + url.status().message());
    url_ = std::move(*url);
    // Where the key goes is settled before the person is asked to sign in for it.
    if (!c_.no_agent) {
      agent_socket_ = io_.env("SSH_AUTH_SOCK").value_or("");
      if (agent_socket_.empty() && c_.out.empty()) {
        return Fail(
            "no ssh-agent here (SSH_AUTH_SOCK is not set): start one with eval $(ssh-agent), "
            "or write the key to files with --out FILE");
      }
    }
    StatusOr<SecretString> token = SignIn();
    if (!token.ok()) return Fail(token.status().message());
    StatusOr<sshkey::PrivateKey> key = sshkey::GeneratePrivateKey(sshkey::KeyType::kEd25519);
    if (!key.ok()) return Fail("cannot make a key: " + key.status().message());
    return Certify(token->view(), *key);
  }

 private:
  int Fail(const std::string& why) {
    io_.log(why);
    return 1;
  }

  StatusOr<client::HttpResponse> Post(std::string target, std::string_view json_body,
                                      std::string_view bearer = {}) {
    client::HttpRequest request;
    request.url = url_;
    request.target = std::move(target);
    request.json_body = json_body;
    request.bearer_token = bearer;
    request.headers.emplace_back("Accept", "application/json");
    return client::HttpCall(request, ClientOptions(c_));
  }

  // Steps 1 and 2: the device authorization, until the person approves it or it ends.
  StatusOr<SecretString> SignIn() {
    const std::string device_url = url_.ToString() + "/auth/device";
    StatusOr<client::HttpResponse> r = Post("/auth/device", "{}");
    if (!r.ok())
      return Status(r.status().code(), "cannot start the sign-in: " + r.status().message());
    if (r->status != 200) {
      return Unavailable("cannot start the sign-in: " + device_url + " answered " +
                         DescribeAnswer(*r));
    }
    json start = ParseSecretBody(&*r);
    const SecretString device_code = TakeSecret(&start, "device_code");
    const std::string user_code = Printable(StringField(start, "user_code"), 64);
    const std::string uri = Printable(StringField(start, "verification_uri"));
    const std::string uri_complete = Printable(StringField(start, "verification_uri_complete"));
    if (device_code.empty() || user_code.empty() || uri.empty()) {
      return Unavailable("cannot start the sign-in: " + device_url +
                         " answered 200 without a device code, user code and page");
    }
    int64_t interval_ms = SecondsField(start, "interval", kDefaultIntervalMs / 1000) * 1000;
    const int64_t expires_ms = SecondsField(start, "expires_in", 600) * 1000;
    const int64_t deadline_us = io_.now() + expires_ms * 1000;

    // A jump host has no browser to open: the person uses one anywhere else.
    if (!uri_complete.empty()) {
      io_.log("To sign in, open this page in any browser (a laptop or a phone will do):\n  " +
              uri_complete + "\nor open " + uri + " and type the code " + user_code);
    } else {
      io_.log("To sign in, open " + uri + " in any browser and type the code " + user_code);
    }
    io_.log("Waiting for the sign-in (the code expires in " + FormatDurationMs(expires_ms) +
            ")...");

    StatusOr<SecretString> body = TokenRequestBody(device_code);
    if (!body.ok()) return body.status();
    int failures = 0;
    for (;;) {
      io_.sleep(std::chrono::milliseconds(interval_ms));
      if (io_.now() >= deadline_us) {
        return FailedPrecondition(
            "the sign-in code expired before the sign-in was approved; "
            "run keypaird login again");
      }
      StatusOr<client::HttpResponse> poll = Post("/auth/device/token", body->view());
      std::string problem;
      if (!poll.ok()) {
        if (poll.status().code() == StatusCode::kInvalidArgument) return poll.status();
        problem = poll.status().message();
      } else if (poll->status == 200) {
        json answer = ParseSecretBody(&*poll);
        SecretString token = TakeSecret(&answer, "access_token");
        if (token.empty()) {
          return Unavailable("the service approved the sign-in but sent no access token");
        }
        return token;
      } else if (poll->status == 400) {
        const json answer = ParseSecretBody(&*poll);
        const std::string error = StringField(answer, "error");
        if (error == "authorization_pending") {
          failures = 0;
          continue;
        }
        if (error == "slow_down") {
          failures = 0;
          interval_ms += kSlowDownMs;
          continue;
        }
        if (error == "access_denied") {
          return PermissionDenied("the sign-in was refused (access_denied)");
        }
        if (error == "expired_token") {
          return FailedPrecondition(
              "the sign-in code expired before the sign-in was approved "
              "(expired_token); run keypaird login again");
        }
        // invalid_grant, invalid_request: RFC 6749 5.2's error_description says why.
        const std::string why = StringField(answer, "error_description");
        return Unavailable("the sign-in failed: the service answered 400 " +
                           Printable(error.empty() ? "without an error name" : error, 80) +
                           (why.empty() ? "" : ": " + Printable(why)));
      } else if (IsTransient(poll->status)) {
        problem = "the service answered " + DescribeAnswer(*poll);
      } else {
        return Unavailable("the sign-in failed: the service answered " + DescribeAnswer(*poll));
      }
      if (++failures >= kLoginMaxRetries) {
        return Unavailable("the sign-in failed: " + problem + " (" + std::to_string(failures) +
                           " times in a row)");
      }
    }
  }

  // Steps 3 and 4: the certificate of a fresh key, and where they go.
  int Certify(std::string_view token, const sshkey::PrivateKey& key) {
    StatusOr<sshkey::PublicKey> public_key = sshkey::PublicKeyOf(key, kLoginKeyComment);
    if (!public_key.ok()) return Fail("cannot make a key: " + public_key.status().message());
    json request = {{"public_key", public_key->line}, {"valid_for", c_.ttl_ms / 1000}};
    if (!c_.principals.empty()) request["principals"] = c_.principals;
    const std::string target = "/api/v1/projects/" + std::to_string(c_.project) + "/ssh_ca/sign";
    StatusOr<client::HttpResponse> r = Post(target, request.dump(), token);
    if (!r.ok()) return Fail("cannot have the key certified: " + r.status().message());
    if (r->status != 201 && r->status != 200) {
      return Fail("the certificate was refused: " + url_.ToString() + target + " answered " +
                  DescribeAnswer(*r));
    }
    const json answer = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    const std::string line = StringField(answer, "certificate");
    std::string blob;
    StatusOr<sshkey::ParsedCertificate> cert = ReadCertificate(line, public_key->blob, &blob);
    if (!cert.ok()) return Fail(cert.status().message());
    const int64_t now_s = io_.now() / 1000000;
    if (cert->valid_before <= static_cast<uint64_t>(now_s)) {
      return Fail("the certificate has already expired (is this machine's clock right?)");
    }
    const uint64_t left_s = cert->valid_before - static_cast<uint64_t>(now_s);

    std::vector<std::string> went;
    if (!c_.out.empty()) {
      StatusOr<SecretString> text = sshkey::WriteOpenSshPrivateKey(key, kLoginKeyComment, "");
      if (!text.ok()) return Fail("cannot write the key: " + text.status().message());
      if (Status s = WriteFileAtomically(c_.out, text->view(), 0600); !s.ok()) {
        return Fail(s.message());
      }
      const std::string cert_file = c_.out + "-cert.pub";
      if (Status s = WriteFileAtomically(cert_file, line + "\n", 0600); !s.ok()) {
        return Fail(s.message());
      }
      went.push_back(c_.out + " (certificate " + cert_file + ")");
    }
    if (!agent_socket_.empty()) {
      const auto lifetime = static_cast<uint32_t>(std::min<uint64_t>(left_s, UINT32_MAX));
      if (Status s = AddCertificateToAgent(agent_socket_, key, blob, kLoginKeyComment, lifetime);
          !s.ok()) {
        return Fail(s.message() + (went.empty() ? "" : "; the key is in " + went[0]));
      }
      went.push_back("ssh-agent (until then)");
    } else if (!c_.no_agent) {
      io_.log("no ssh-agent here (SSH_AUTH_SOCK is not set): the key is only in --out");
    }
    std::string principals;
    for (const std::string& p : cert->principals) {
      principals += (principals.empty() ? "" : ",") + Printable(p, 64);
    }
    std::string where;
    for (const std::string& w : went) where += (where.empty() ? "" : ", and in ") + w;
    io_.log("keypaird login: certificate " + std::to_string(cert->serial) + " for " + principals +
            ", valid until " + CertificateTime(static_cast<int64_t>(cert->valid_before)) + " (" +
            FormatDurationMs(static_cast<int64_t>(left_s) * 1000) + "); key in " + where);
    return 0;
  }

  const config::Config& c_;
  const LoginIo& io_;
  HttpUrl url_;
  std::string agent_socket_;
};

}  // namespace

int LoginCommand(const config::Config& c, const LoginIo& io) { return Login(c, io).Run(); }

}  // namespace keypaird::cli
