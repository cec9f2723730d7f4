#include "sshkey/sshkey.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace keypaird::sshkey {
namespace {

using namespace std::string_literals;

// Test vectors made with OpenSSH 9.2 `ssh-keygen -t ... -C test-...` (public halves only);
// the fingerprints are what `ssh-keygen -l -E md5 -f key.pub` printed for them.
constexpr char kEd25519B64[] =
    "AAAAC3NzaC1lZDI1NTE5AAAAIGs1nTGTwiY9hbyZGgwtRCkBitbuYTizFFqhximGlQg0";
constexpr char kEd25519Md5[] = "c1:34:ea:b8:d6:1b:b2:06:ef:66:54:e0:e4:e2:09:1d";
constexpr char kEcdsa256B64[] =
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHhG+qZEg+TNdhi9NBQIf16KlmWrLD9yNsQkCdhv"
    "wC1o2HZixUs5aFM04c6kxW5RaJFkJmdxdTHp7XUYxtS9eJQ=";
constexpr char kEcdsa256Md5[] = "fd:d8:bf:5f:85:77:2a:6e:ac:e2:ee:a8:10:90:c2:6d";
constexpr char kEcdsa384B64[] =
    "AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBIBLaRe3E2iR5hpgqkIpbKdxq6IgrPJIJGdsMMUr"
    "vTrp1Ck4UT8WKkEZw1Uxb+1CKlSsbOr73UxdrVxlvU9TvdMunRJHAsi3GqdZviLgWm1UYSFolNM9l8VOouP8i9l/nA==";
constexpr char kEcdsa384Md5[] = "fa:1d:cd:14:f0:d1:4d:0c:7a:5a:e2:a0:71:ce:e2:73";
constexpr char kEcdsa521B64[] =
    "AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAGIfTLdaS4LE/KTW19ApLmK+X7+h1IiiYVUHjBv"
    "Blu0VFpwCQBxW5RknBNYJajKQ75xjtRD3CxRjz+St81XOvRBPgC+QOZBQZicM0z8w9+DWoHr3UiS7xW1cK0xGIflRyUj"
    "hz3rnxp6Elcy6DBK5Coy9NxFrSxekyXcx/YBAeLEy+8QDQ==";
constexpr char kEcdsa521Md5[] = "64:18:e6:fc:c0:14:d4:c0:30:1f:59:de:bc:96:58:78";
constexpr char kRsa2048B64[] =
    "AAAAB3NzaC1yc2EAAAADAQABAAABAQCtEyRbZjma1m8T9XNtZwU8qbBNIB6f3haEcBmcEnbWRhVuEZENfzqXdb0P823m"
    "tPyYC1pt13Ac3WUHy3fa4YX8Fg6BxEf/lgKlcpszpqd8WMNRDGKSNkVHhPtW88u04/Y5/QjGxoBhWEGzxO7BKO4S6si5"
    "1Qgr7XnxFAut5RQRxt3KDHQYubkSHtCNx1gev8ueYLL2y9Nf8lEuAZriUaGsH2NyP5p4z0Pys2B4ERSv8U5IiTJeBX8T"
    "DpLQkzIuUtwpoiC9R5dIf9usn08W+5di7B/EHx/yyrsQR0fo26vmEfUqAEBTEBSYODyUIl4usBr+36n9RiPez0Ngx+cg"
    "SYDj";
constexpr char kRsa2048Md5[] = "f3:b1:d8:16:ac:be:17:32:5e:9e:7f:d3:23:c9:4b:b3";
constexpr char kRsa1024B64[] =
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQD1UkopxTcrWn8B/zGhfM4baPsp7Ydr8zmbHoxgXFNwE7b+shz2KFRhjhZxOhWW"
    "DGZfxJM1qUce7Iu5RBt5q1MSeU7z83Z60Bma7kgrG6iZyPVu5/Ty/qnfdkWV5xalylKmouzV6VvJoAurf12qguZSnSUO"
    "85TO5telL71rOymZUQ==";
constexpr char kDssB64[] =
    "AAAAB3NzaC1kc3MAAACBAITfE3yQUkvLpMa99YdlxZW3M9g9wiIl66F/+Vj3hKLMQV9nhMIeXgFqd4nAV9U1SqRIXXx6"
    "/YiLORl280M2uvBRK1VfDnhY6+VBH+oUTzM0v/QEN+qVI7WRQCV4qXN5Ri2gCsqkb2XgkIKpq0Z0gVpZAwJgCCcAymor"
    "1ifNjzmxAAAAFQDs3vMtZlEXEMWLU+h6eJCtq7G9HQAAAIAnfUj1A4qfEOa2tX6LOIbLrkWHRg95cleAVVVnqngZR2DL"
    "hltCs1kzKsYV83rTOQ/Jgvb9XzdsdGtOPyetQ2Ut7ykxK09YwXC+t21wG2Zavhq/HQrIAnFpV2ilwE1AzBY2bMukvDNS"
    "+E5r/7jP4h0sHrEZ8gO7eXjPYyCr67s2DQAAAIARmWrNzpnM2BlwVKEh9yDK4pIOZi0kXyYNU3R3JR8RtLRNwWLeUdY9"
    "Fdv9LzOZ6490yL+g3xl0WSIKaSGB3i8pWTU9aPgmYZNytsBOQ5OhNnO7pBf73WKt7n8SLBUKcPpa6DTRU5WfZHr/+W1Y"
    "ozRwes+DnGSqP7nR2EsiKD4Gjw==";
// sk-* keys assembled from the fields above with application "ssh:"; fingerprints from
// `ssh-keygen -l -E md5` on the assembled lines.
constexpr char kSkEd25519Md5[] = "ee:d9:45:28:3c:92:23:2e:82:d3:ac:55:89:49:d8:9b";
constexpr char kSkEcdsaMd5[] = "ba:85:f3:3e:01:e4:84:38:a6:43:7a:87:af:02:4b:80";

// `ssh-keygen -e -m PKCS8` of the keys above.
constexpr char kRsa2048Pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArRMkW2Y5mtZvE/VzbWcF\n"
    "PKmwTSAen94WhHAZnBJ21kYVbhGRDX86l3W9D/Nt5rT8mAtabddwHN1lB8t32uGF\n"
    "/BYOgcRH/5YCpXKbM6anfFjDUQxikjZFR4T7VvPLtOP2Of0IxsaAYVhBs8TuwSju\n"
    "EurIudUIK+158RQLreUUEcbdygx0GLm5Eh7QjcdYHr/LnmCy9svTX/JRLgGa4lGh\n"
    "rB9jcj+aeM9D8rNgeBEUr/FOSIkyXgV/Ew6S0JMyLlLcKaIgvUeXSH/brJ9PFvuX\n"
    "YuwfxB8f8sq7EEdH6Nur5hH1KgBAUxAUmDg8lCJeLrAa/t+p/UYj3s9DYMfnIEmA\n"
    "4wIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kEcdsa256Pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeEb6pkSD5M12GL00FAh/XoqWZass\n"
    "P3I2xCQJ2G/ALWjYdmLFSzloUzThzqTFblFokWQmZ3F1MentdRjG1L14lA==\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kEcdsa384Pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEgEtpF7cTaJHmGmCqQilsp3GroiCs8kgk\n"
    "Z2wwxSu9OunUKThRPxYqQRnDVTFv7UIqVKxs6vvdTF2tXGW9T1O90y6dEkcCyLca\n"
    "p1m+IuBabVRhIWiU0z2XxU6i4/yL2X+c\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kEcdsa521Pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQBiH0y3WkuCxPyk1tfQKS5ivl+/odS\n"
    "IomFVB4wbwZbtFRacAkAcVuUZJwTWCWoykO+cY7UQ9wsUY8/krfNVzr0QT4AvkDm\n"
    "QUGYnDNM/MPfg1qB691Iku8VtXCtMRiH5UclI4c9658aehJXMugwSuQqMvTcRa0s\n"
    "XpMl3Mf2AQHixMvvEA0=\n"
    "-----END PUBLIC KEY-----\n";
// The Ed25519 key above as SubjectPublicKeyInfo (checked with `openssl pkey -pubin -text`;
// ssh-keygen 9.2 cannot export Ed25519 to PKCS8).
constexpr char kEd25519Pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAazWdMZPCJj2FvJkaDC1EKQGK1u5hOLMUWqHGKYaVCDQ=\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kRsa1024Pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQD1UkopxTcrWn8B/zGhfM4baPsp\n"
    "7Ydr8zmbHoxgXFNwE7b+shz2KFRhjhZxOhWWDGZfxJM1qUce7Iu5RBt5q1MSeU7z\n"
    "83Z60Bma7kgrG6iZyPVu5/Ty/qnfdkWV5xalylKmouzV6VvJoAurf12qguZSnSUO\n"
    "85TO5telL71rOymZUQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kDsaPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBtjCCASsGByqGSM44BAEwggEeAoGBAITfE3yQUkvLpMa99YdlxZW3M9g9wiIl\n"
    "66F/+Vj3hKLMQV9nhMIeXgFqd4nAV9U1SqRIXXx6/YiLORl280M2uvBRK1VfDnhY\n"
    "6+VBH+oUTzM0v/QEN+qVI7WRQCV4qXN5Ri2gCsqkb2XgkIKpq0Z0gVpZAwJgCCcA\n"
    "ymor1ifNjzmxAhUA7N7zLWZRFxDFi1PoeniQrauxvR0CgYAnfUj1A4qfEOa2tX6L\n"
    "OIbLrkWHRg95cleAVVVnqngZR2DLhltCs1kzKsYV83rTOQ/Jgvb9XzdsdGtOPyet\n"
    "Q2Ut7ykxK09YwXC+t21wG2Zavhq/HQrIAnFpV2ilwE1AzBY2bMukvDNS+E5r/7jP\n"
    "4h0sHrEZ8gO7eXjPYyCr67s2DQOBhAACgYARmWrNzpnM2BlwVKEh9yDK4pIOZi0k\n"
    "XyYNU3R3JR8RtLRNwWLeUdY9Fdv9LzOZ6490yL+g3xl0WSIKaSGB3i8pWTU9aPgm\n"
    "YZNytsBOQ5OhNnO7pBf73WKt7n8SLBUKcPpa6DTRU5WfZHr/+W1YozRwes+DnGSq\n"
    "P7nR2EsiKD4Gjw==\n"
    "-----END PUBLIC KEY-----\n";
// `openssl genpkey` keys of algorithms/curves that are not accepted.
constexpr char kSecp256k1Pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEDXi5jMl5Xk3Tez+0sg0UTQzg30tnn/QF\n"
    "TCGerTio36PH2NOD8BPhG0M0AqsV7LSz3M/QonUgK0IZCHAYdbcLmQ==\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kX25519Pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VuAyEAIrWGj0uAYtSvyFMSJVbUQTrTlwCnTNKpSJaPFeGGdAI=\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kEd448Pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MEMwBQYDK2VxAzoAU/g7eDetH0k1yTJgy5/YumtCUIOXo6VeRrJUWfCQKXGaiku4\n"
    "+ksalk9bv9doxWKrH18oJeycYgSA\n"
    "-----END PUBLIC KEY-----\n";

// ---------------------------------------------------------------------------------------
// Blob assembly.

std::string Str(std::string_view s) {
  std::string out;
  uint32_t n = static_cast<uint32_t>(s.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(s);
  return out;
}

std::string Blob(std::initializer_list<std::string_view> fields) {
  std::string out;
  for (std::string_view f : fields) out += Str(f);
  return out;
}

std::string Decode(std::string_view b64) {
  std::string out;
  EXPECT_TRUE(Base64DecodeStrict(b64, &out));
  return out;
}

// The SSH strings a buffer is made of (a trailing partial field is dropped).
std::vector<std::string> FieldsRaw(std::string_view blob) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i + 4 <= blob.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(blob.data() + i);
    size_t n = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
    if (n > blob.size() - i - 4) break;
    out.push_back(std::string(blob.substr(i + 4, n)));
    i += 4 + n;
  }
  return out;
}

// The fields of a test vector's blob.
std::vector<std::string> Fields(std::string_view b64) { return FieldsRaw(Decode(b64)); }

std::string Line(std::string_view type, std::string_view blob, std::string_view comment = "") {
  std::string line = std::string(type) + " " + Base64Encode(blob);
  if (!comment.empty()) line.append(" ").append(comment);
  return line;
}

std::string Ed25519Pub() { return Fields(kEd25519B64)[1]; }
std::string P256Point() { return Fields(kEcdsa256B64)[2]; }

std::string Ed25519Blob(std::string_view pk) { return Blob({"ssh-ed25519", pk}); }
std::string Ed25519Line(std::string_view pk) { return Line("ssh-ed25519", Ed25519Blob(pk)); }

// An RSA blob whose modulus is `bytes` long with leading byte `top`; odd unless told.
std::string RsaBlob(std::string_view e, size_t bytes, unsigned char top, bool odd = true) {
  std::string n(bytes, '\x5a');
  n[0] = static_cast<char>(top);
  n.back() = odd ? '\x01' : '\x02';
  if (top & 0x80) n.insert(n.begin(), '\0');
  return Blob({"ssh-rsa", e, n});
}

std::string SkEd25519Blob() { return Blob({"sk-ssh-ed25519@openssh.com", Ed25519Pub(), "ssh:"}); }
std::string SkEcdsaBlob() {
  return Blob({"sk-ecdsa-sha2-nistp256@openssh.com", "nistp256", P256Point(), "ssh:"});
}

std::string Pem(std::string_view der) {
  std::string b64 = Base64Encode(der);
  std::string out = "-----BEGIN PUBLIC KEY-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END PUBLIC KEY-----\n";
}

// The P-256 vector as a SubjectPublicKeyInfo with a compressed point.
std::string CompressedP256Pem() {
  std::string q = P256Point();
  std::string der =
      "\x30\x39\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48"
      "\xce\x3d\x03\x01\x07\x03\x22\x00"s;
  der.push_back((q.back() & 1) ? '\x03' : '\x02');
  der += q.substr(1, 32);
  return Pem(der);
}

// ---------------------------------------------------------------------------------------
// Accepted inputs.

struct AcceptCase {
  std::string name;
  std::string input;
  std::string line;     // expected normalised line
  std::string comment;  // expected comment
  int bits;
  std::string fingerprint;  // expected MD5, empty to skip
};

std::string Ed(std::string_view comment = "") {
  return Line("ssh-ed25519", Decode(kEd25519B64), comment);
}

std::vector<AcceptCase> AcceptCases() {
  const std::string ed = "ssh-ed25519 "s + kEd25519B64;
  const std::string rsa = "ssh-rsa "s + kRsa2048B64;
  const std::string ec256 = "ecdsa-sha2-nistp256 "s + kEcdsa256B64;
  const std::string ec384 = "ecdsa-sha2-nistp384 "s + kEcdsa384B64;
  const std::string ec521 = "ecdsa-sha2-nistp521 "s + kEcdsa521B64;
  std::vector<AcceptCase> c = {
      {"Ed25519WithComment", ed + " test-ed25519", ed + " test-ed25519", "test-ed25519", 256,
       kEd25519Md5},
      {"Ed25519WithoutComment", ed, ed, "", 256, kEd25519Md5},
      {"EcdsaP256", ec256 + " test-ecdsab256", ec256 + " test-ecdsab256", "test-ecdsab256", 256,
       kEcdsa256Md5},
      {"EcdsaP384", ec384 + " test-ecdsab384", ec384 + " test-ecdsab384", "test-ecdsab384", 384,
       kEcdsa384Md5},
      {"EcdsaP521", ec521 + " test-ecdsab521", ec521 + " test-ecdsab521", "test-ecdsab521", 521,
       kEcdsa521Md5},
      {"Rsa2048", rsa + " test-rsab2048", rsa + " test-rsab2048", "test-rsab2048", 2048,
       kRsa2048Md5},
      {"RsaExactly16384Bits", Line("ssh-rsa", RsaBlob("\x01\x00\x01"s, 2048, 0x80)),
       Line("ssh-rsa", RsaBlob("\x01\x00\x01"s, 2048, 0x80)), "", 16384, ""},
      {"RsaExponent3", Line("ssh-rsa", RsaBlob("\x03", 256, 0xc0)),
       Line("ssh-rsa", RsaBlob("\x03", 256, 0xc0)), "", 2048, ""},
      {"SkEd25519", Line("sk-ssh-ed25519@openssh.com", SkEd25519Blob(), "sk-test"),
       Line("sk-ssh-ed25519@openssh.com", SkEd25519Blob(), "sk-test"), "sk-test", 256,
       kSkEd25519Md5},
      {"SkEcdsaP256", Line("sk-ecdsa-sha2-nistp256@openssh.com", SkEcdsaBlob(), "sk-test"),
       Line("sk-ecdsa-sha2-nistp256@openssh.com", SkEcdsaBlob(), "sk-test"), "sk-test", 256,
       kSkEcdsaMd5},
      {"SkWithWebAuthnApplication",
       Line("sk-ssh-ed25519@openssh.com",
            Blob({"sk-ssh-ed25519@openssh.com", Ed25519Pub(), "https://example.com"})),
       Line("sk-ssh-ed25519@openssh.com",
            Blob({"sk-ssh-ed25519@openssh.com", Ed25519Pub(), "https://example.com"})),
       "", 256, ""},
      // Normalisation.
      {"TabsBetweenFields", "ssh-ed25519\t"s + kEd25519B64 + "\t\tme@host", Ed("me@host"),
       "me@host", 256, kEd25519Md5},
      {"MultipleSpacesBetweenFields", "ssh-ed25519    "s + kEd25519B64 + "   me@host",
       Ed("me@host"), "me@host", 256, kEd25519Md5},
      {"TrailingNewline", ed + " me@host\n", Ed("me@host"), "me@host", 256, kEd25519Md5},
      {"TrailingCrLf", ed + " me@host\r\n", Ed("me@host"), "me@host", 256, kEd25519Md5},
      {"SurroundingWhitespaceAndBlankLines", "\n  \r\n\t " + ed + " me@host \t\n\n", Ed("me@host"),
       "me@host", 256, kEd25519Md5},
      {"CommentWithSpacesKeptAsIs", ed + " my  laptop key  ", Ed("my  laptop key"),
       "my  laptop key", 256, kEd25519Md5},
      {"CommentUtf8", ed + " cl\xc3\xa9 \xf0\x9f\x94\x91", Ed("cl\xc3\xa9 \xf0\x9f\x94\x91"),
       "cl\xc3\xa9 \xf0\x9f\x94\x91", 256, kEd25519Md5},
      {"CommentMentioningAKeyType", ed + " my ssh-rsa replacement", Ed("my ssh-rsa replacement"),
       "my ssh-rsa replacement", 256, kEd25519Md5},
      {"ExactlyMaxSize", ed + std::string(kMaxPublicKeyInput - ed.size(), ' '), ed, "", 256,
       kEd25519Md5},
      // RFC 4716.
      {"Rfc4716QuotedComment",
       "---- BEGIN SSH2 PUBLIC KEY ----\n"
       "Comment: \"256-bit ED25519, converted by root@vm from OpenSSH\"\n"s +
           kEd25519B64 + "\n---- END SSH2 PUBLIC KEY ----\n",
       Ed("256-bit ED25519, converted by root@vm from OpenSSH"),
       "256-bit ED25519, converted by root@vm from OpenSSH", 256, kEd25519Md5},
      {"Rfc4716UnquotedComment",
       "---- BEGIN SSH2 PUBLIC KEY ----\nComment: me@host\n"s + kEd25519B64 +
           "\n---- END SSH2 PUBLIC KEY ----",
       Ed("me@host"), "me@host", 256, kEd25519Md5},
      {"Rfc4716WithoutCommentWrappedBody",
       "---- BEGIN SSH2 PUBLIC KEY ----\n"
       "AAAAB3NzaC1yc2EAAAADAQABAAABAQCtEyRbZjma1m8T9XNtZwU8qbBNIB6f3haEcBmcEn\n"
       "bWRhVuEZENfzqXdb0P823mtPyYC1pt13Ac3WUHy3fa4YX8Fg6BxEf/lgKlcpszpqd8WMNR\n"
       "DGKSNkVHhPtW88u04/Y5/QjGxoBhWEGzxO7BKO4S6si51Qgr7XnxFAut5RQRxt3KDHQYub\n"
       "kSHtCNx1gev8ueYLL2y9Nf8lEuAZriUaGsH2NyP5p4z0Pys2B4ERSv8U5IiTJeBX8TDpLQ\n"
       "kzIuUtwpoiC9R5dIf9usn08W+5di7B/EHx/yyrsQR0fo26vmEfUqAEBTEBSYODyUIl4usB\n"
       "r+36n9RiPez0Ngx+cgSYDj\n"
       "---- END SSH2 PUBLIC KEY ----\n",
       rsa, "", 2048, kRsa2048Md5},
      {"Rfc4716ContinuationLinesAndOtherHeaders",
       "---- BEGIN SSH2 PUBLIC KEY ----\n"
       "Subject: root\n"
       "x-Long-Header: first part \\\n"
       "second part\n"
       "Comment: \"a comment that is \\\n"
       "continued\"\n"s +
           kEd25519B64 + "\n---- END SSH2 PUBLIC KEY ----\n",
       Ed("a comment that is continued"), "a comment that is continued", 256, kEd25519Md5},
      {"Rfc4716CrLf",
       "---- BEGIN SSH2 PUBLIC KEY ----\r\nComment: \"me\"\r\n"s + std::string(kEcdsa521B64, 70) +
           "\r\n" + std::string(kEcdsa521B64 + 70) + "\r\n---- END SSH2 PUBLIC KEY ----\r\n",
       ec521 + " me", "me", 521, kEcdsa521Md5},
      // PEM SubjectPublicKeyInfo.
      {"PemRsa2048", kRsa2048Pem, rsa, "", 2048, kRsa2048Md5},
      {"PemEcdsaP256", kEcdsa256Pem, ec256, "", 256, kEcdsa256Md5},
      {"PemEcdsaP384", kEcdsa384Pem, ec384, "", 384, kEcdsa384Md5},
      {"PemEcdsaP521", kEcdsa521Pem, ec521, "", 521, kEcdsa521Md5},
      {"PemEd25519", kEd25519Pem, ed, "", 256, kEd25519Md5},
      {"PemEcdsaCompressedPoint", CompressedP256Pem(), ec256, "", 256, kEcdsa256Md5},
      {"PemCrLf",
       "-----BEGIN PUBLIC KEY-----\r\n"
       "MCowBQYDK2VwAyEAazWdMZPCJj2FvJkaDC1EKQGK1u5hOLMUWqHGKYaVCDQ=\r\n"
       "-----END PUBLIC KEY-----\r\n",
       ed, "", 256, kEd25519Md5},
  };
  return c;
}

void PrintTo(const AcceptCase& c, std::ostream* os) { *os << c.name; }

class AcceptTest : public testing::TestWithParam<AcceptCase> {};

TEST_P(AcceptTest, ParsesAndNormalises) {
  const AcceptCase& c = GetParam();
  StatusOr<PublicKey> key = ParsePublicKey(c.input);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->line, c.line);
  EXPECT_EQ(key->comment, c.comment);
  EXPECT_EQ(key->bits, c.bits);
  EXPECT_EQ(key->type, c.line.substr(0, c.line.find(' ')));
  if (!c.fingerprint.empty()) {
    EXPECT_EQ(key->fingerprint, c.fingerprint);
  }
  EXPECT_EQ(key->fingerprint, FingerprintMd5(key->blob));
  EXPECT_EQ(Line(key->type, key->blob, key->comment), key->line);
  // The normalised form is a fixed point.
  StatusOr<PublicKey> again = ParsePublicKey(key->line);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->line, key->line);
}

INSTANTIATE_TEST_SUITE_P(Keys, AcceptTest, testing::ValuesIn(AcceptCases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------
// Rejected inputs.

struct RejectCase {
  std::string name;
  std::string input;
  std::string message;  // a distinctive substring of the expected message
};

constexpr char kPrivateMsg[] =
    "this is a private key: send the public key (the contents of the .pub file) instead";
constexpr char kMultipleMsg[] = "more than one key: send exactly one public key";
constexpr char kOptionsMsg[] =
    "authorized_keys options (such as command=\"...\" or no-pty) are "
    "not allowed";
constexpr char kTypeMsg[] = "unsupported key type: accepted are ssh-ed25519";
constexpr char kControlMsg[] = "the comment contains control characters";
constexpr char kUtf8Msg[] = "the comment is not valid UTF-8";
constexpr char kTruncatedMsg[] = "the key data is malformed: a field is truncated";
constexpr char kEdPointMsg[] = "the Ed25519 public key is not a valid curve point";

std::string Rfc4716(std::string_view header, std::string_view body) {
  return "---- BEGIN SSH2 PUBLIC KEY ----\n" + std::string(header) + std::string(body) +
         "\n---- END SSH2 PUBLIC KEY ----\n";
}

// The Ed25519 vector with one character in the middle turned into '='.
std::string PaddingInside() {
  std::string b64 = kEd25519B64;
  b64[4] = '=';
  return b64;
}

std::vector<RejectCase> RejectCases() {
  const std::string ed = "ssh-ed25519 "s + kEd25519B64;
  const std::string ed_blob = Decode(kEd25519B64);
  const std::string rsa = "ssh-rsa "s + kRsa2048B64;
  const std::string ec256 = "ecdsa-sha2-nistp256 "s + kEcdsa256B64;
  const std::string pk = Ed25519Pub();
  const std::string q = P256Point();
  std::string q_off_curve = q;
  q_off_curve.back() = static_cast<char>(q_off_curve.back() ^ 1);
  std::string y2(32, '\0');  // y = 2: (y^2-1)/(d y^2+1) is not a square mod p
  y2[0] = 2;
  std::string y_too_big(32, '\xff');  // y = 2^255 - 1 >= p
  y_too_big[31] = '\x7f';
  std::string x0_negative(32, '\0');  // y = 1 gives x = 0, which cannot have the sign bit
  x0_negative[0] = 1;
  x0_negative[31] = '\x80';

  std::vector<RejectCase> c = {
      // Size and emptiness.
      {"Empty", "", "public key is empty"},
      {"WhitespaceOnly", " \t\r\n \n", "public key is empty"},
      {"OverMaxSize", ed + std::string(kMaxPublicKeyInput + 1 - ed.size(), ' '),
       "public key is too large: at most 16384 bytes"},
      // Private keys (bodies are placeholders, never real keys).
      {"OpenSshPrivateKey",
       "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
       "-----END OPENSSH PRIVATE KEY-----\n",
       kPrivateMsg},
      {"RsaPrivateKey",
       "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n"
       "-----END RSA PRIVATE KEY-----",
       kPrivateMsg},
      {"EcPrivateKey", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI\n-----END EC PRIVATE KEY-----",
       kPrivateMsg},
      {"DsaPrivateKey",
       "-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQ\n"
       "-----END DSA PRIVATE KEY-----",
       kPrivateMsg},
      {"EncryptedPkcs8PrivateKey",
       "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkq\n"
       "-----END ENCRYPTED PRIVATE KEY-----",
       kPrivateMsg},
      {"Pkcs8PrivateKey",
       "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n"
       "-----END PRIVATE KEY-----",
       kPrivateMsg},
      {"PuttyPrivateKey",
       "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n"
       "Comment: me\nPublic-Lines: 2\n",
       kPrivateMsg},
      {"Ssh2EncryptedPrivateKey",
       "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nP2/56w==\n"
       "---- END SSH2 ENCRYPTED PRIVATE KEY ----",
       kPrivateMsg},
      {"UnarmouredOpenSshPrivateKeyBody", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB",
       kPrivateMsg},
      {"PublicLineFollowedByPrivateKey",
       ed + "\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
            "-----END OPENSSH PRIVATE KEY-----\n",
       kPrivateMsg},
      // Key types.
      {"Dss", "ssh-dss "s + kDssB64 + " test-dsa", "ssh-dss (DSA) keys are not accepted"},
      {"DssInRfc4716", Rfc4716("", kDssB64), "ssh-dss (DSA) keys are not accepted"},
      {"DsaPem", kDsaPem, "ssh-dss (DSA) keys are not accepted"},
      {"Ed25519Certificate", "ssh-ed25519-cert-v01@openssh.com "s + kEd25519B64 + " me",
       "SSH certificates (*-cert-v01@openssh.com) are not accepted"},
      {"RsaCertificate", "ssh-rsa-cert-v01@openssh.com "s + kRsa2048B64,
       "SSH certificates (*-cert-v01@openssh.com) are not accepted"},
      {"UnknownType", "ssh-foo "s + kEd25519B64, kTypeMsg},
      {"UnknownEcdsaCurve", "ecdsa-sha2-nistp224 "s + kEcdsa256B64, kTypeMsg},
      {"UnknownInnerTypeInRfc4716", Rfc4716("", Base64Encode(Blob({"ssh-ed448", pk}))), kTypeMsg},
      {"TypeMissing", kEd25519B64, kTypeMsg},
      // RSA size.
      {"Rsa1024", "ssh-rsa "s + kRsa1024B64 + " test-rsab1024",
       "the RSA key has 1024 bits: at least 2048 bits are required"},
      {"Rsa2047", Line("ssh-rsa", RsaBlob("\x01\x00\x01"s, 256, 0x40)),
       "the RSA key has 2047 bits: at least 2048 bits are required"},
      {"Rsa16392", Line("ssh-rsa", RsaBlob("\x01\x00\x01"s, 2049, 0x80)),
       "the RSA key has 16392 bits: at most 16384 bits are accepted"},
      {"Rsa1024Pem", kRsa1024Pem, "the RSA key has 1024 bits: at least 2048 bits are required"},
      // More than one key.
      {"TwoLines", ed + " a\n" + rsa + " b\n", kMultipleMsg},
      {"TwoLinesWithBlankLineBetween", ed + "\n\n" + ed + "\n", kMultipleMsg},
      {"SecondKeyInComment", ed + " " + rsa, kMultipleMsg},
      {"SecondKeyInCommentAfterWords", ed + " my keys " + ec256 + " other", kMultipleMsg},
      {"SecondBase64InComment", ed + " " + kRsa2048B64, kMultipleMsg},
      {"TwoRfc4716Blocks", Rfc4716("", kEd25519B64) + Rfc4716("", kEd25519B64), kMultipleMsg},
      {"PemFollowedByLine", kEd25519Pem + ed, kMultipleMsg},
      {"LineBreakInComment", ed + " first\nsecond", "the public key must be a single line"},
      // authorized_keys options.
      {"OptionsCommand", "command=\"x\" " + ed, kOptionsMsg},
      {"OptionsQuotedSpaces", "command=\"echo hi there\" " + ed + " me", kOptionsMsg},
      {"OptionsList", "no-pty,from=\"a\" " + rsa, kOptionsMsg},
      {"OptionsRestrict", "restrict " + ed, kOptionsMsg},
      {"OptionsRestrictAlone", "restrict,pty", kOptionsMsg},
      {"OptionsEnvironment", "environment=\"A=B C\" " + ec256, kOptionsMsg},
      // Base64.
      {"Base64BadCharacter",
       "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5*AAAIGs1nTGTwiY9hbyZGgwtRCkBitbuY"
       "TizFFqhximGlQg0",
       "not valid base64: it contains a character outside the alphabet"},
      {"Base64UrlAlphabet",
       "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGs1nTGTwiY9hbyZGgwtRCkBitbuYT"
       "izFFqhximGl-g0",
       "not valid base64: it contains a character outside the alphabet"},
      {"Base64MissingPadding",
       "ecdsa-sha2-nistp256 "s +
           std::string(kEcdsa256B64, std::string_view(kEcdsa256B64).size() - 1),
       "not valid base64: its length is not a multiple of 4"},
      {"Base64ExtraPadding",
       ed + "====", "not valid base64: it has misplaced or extra '=' padding"},
      {"Base64PaddingInside", "ssh-ed25519 "s + PaddingInside(),
       "not valid base64: it has misplaced or extra '=' padding"},
      {"Base64NonZeroUnusedBits",
       "ecdsa-sha2-nistp256 "s +
           std::string(kEcdsa256B64, std::string_view(kEcdsa256B64).size() - 2) + "R=",
       "not valid base64: its unused bits before the padding are not zero"},
      {"Base64WhitespaceInsideRfc4716Body",
       Rfc4716("", std::string(kEd25519B64, 20) + " " + std::string(kEd25519B64 + 20)),
       "not valid base64: it contains whitespace"},
      {"Base64Missing", "ssh-ed25519", "the base64 key data after the key type is missing"},
      {"Base64MissingTrailingBlanks", "ssh-ed25519 \t ",
       "the base64 key data after the key type is missing"},
      // Blob structure.
      {"InnerTypeDiffers", "ssh-rsa "s + kEd25519B64,
       "the key data is of a different key type than the type declared"},
      {"InnerCurveTypeDiffers", "ecdsa-sha2-nistp256 "s + kEcdsa384B64,
       "the key data is of a different key type than the type declared"},
      {"TrailingBytes", Line("ssh-ed25519", ed_blob + '\0'),
       "the key data has trailing bytes after the key fields"},
      {"TrailingField", Line("ssh-rsa", Decode(kRsa2048B64) + Str("x")),
       "the key data has trailing bytes after the key fields"},
      {"TruncatedKey", Line("ssh-ed25519", ed_blob.substr(0, ed_blob.size() - 1)), kTruncatedMsg},
      {"TruncatedLength", Line("ssh-ed25519", Str("ssh-ed25519") + "\0\0"s), kTruncatedMsg},
      {"LengthBeyondData", Line("ssh-ed25519", Str("ssh-ed25519") + "\xff\xff\xff\xff"s + pk),
       kTruncatedMsg},
      {"EmptyBlob", "ssh-ed25519 AAAA", kTruncatedMsg},
      {"RsaModulusMissing", Line("ssh-rsa", Blob({"ssh-rsa", "\x01\x00\x01"s})), kTruncatedMsg},
      {"EcdsaPointMissing", Line("ecdsa-sha2-nistp256", Blob({"ecdsa-sha2-nistp256", "nistp256"})),
       kTruncatedMsg},
      // Ed25519 key material.
      {"Ed25519Key31Bytes", Ed25519Line(pk.substr(0, 31)),
       "the Ed25519 public key is not exactly 32 bytes"},
      {"Ed25519Key33Bytes", Ed25519Line(pk + '\0'),
       "the Ed25519 public key is not exactly 32 bytes"},
      {"Ed25519NotOnCurve", Ed25519Line(y2), kEdPointMsg},
      {"Ed25519YNotReduced", Ed25519Line(y_too_big), kEdPointMsg},
      {"Ed25519NegativeZeroX", Ed25519Line(x0_negative), kEdPointMsg},
      // ECDSA key material.
      {"EcdsaCurveNameMismatch",
       Line("ecdsa-sha2-nistp256", Blob({"ecdsa-sha2-nistp256", "nistp384", q})),
       "the ECDSA curve name does not match the key type"},
      {"EcdsaCompressedPoint",
       Line("ecdsa-sha2-nistp256",
            Blob({"ecdsa-sha2-nistp256", "nistp256",
                  std::string(1, (q.back() & 1) ? '\x03' : '\x02') + q.substr(1, 32)})),
       "the ECDSA public key is not an uncompressed curve point"},
      {"EcdsaPointWrongLength",
       Line("ecdsa-sha2-nistp256", Blob({"ecdsa-sha2-nistp256", "nistp256", q + '\0'})),
       "the ECDSA public key is not an uncompressed curve point"},
      {"EcdsaPointAtInfinity",
       Line("ecdsa-sha2-nistp256", Blob({"ecdsa-sha2-nistp256", "nistp256", "\0"s})),
       "the ECDSA public key is not an uncompressed curve point"},
      {"EcdsaPointNotOnCurve",
       Line("ecdsa-sha2-nistp256", Blob({"ecdsa-sha2-nistp256", "nistp256", q_off_curve})),
       "the ECDSA public key point is not on the curve"},
      // RSA key material.
      {"RsaEvenExponent", Line("ssh-rsa", RsaBlob("\x01\x00\x00"s, 256, 0x80)),
       "the RSA public exponent is invalid: it must be odd and >= 3"},
      {"RsaExponentOne", Line("ssh-rsa", RsaBlob("\x01", 256, 0x80)),
       "the RSA public exponent is invalid"},
      {"RsaExponentZero", Line("ssh-rsa", RsaBlob("", 256, 0x80)),
       "the RSA public exponent is invalid"},
      {"RsaEvenModulus", Line("ssh-rsa", RsaBlob("\x01\x00\x01"s, 256, 0x80, false)),
       "the RSA modulus is invalid: it must be odd"},
      {"RsaNegativeMpint", Line("ssh-rsa", Blob({"ssh-rsa", "\x81", std::string(256, '\x81')})),
       "an integer field is negative"},
      {"RsaMpintLeadingZero",
       Line("ssh-rsa", Blob({"ssh-rsa", "\x00\x01\x00\x01"s, std::string(256, '\x41')})),
       "an integer field has an unnecessary leading zero byte"},
      {"RsaMpintZeroAsZeroByte", Line("ssh-rsa", Blob({"ssh-rsa", "\x00"s, std::string(256, 'A')})),
       "an integer field has an unnecessary leading zero byte"},
      // Security keys.
      {"SkEd25519NoApplication",
       Line("sk-ssh-ed25519@openssh.com", Blob({"sk-ssh-ed25519@openssh.com", pk})),
       "the security key (sk-*) public key has no application string"},
      {"SkEd25519EmptyApplication",
       Line("sk-ssh-ed25519@openssh.com", Blob({"sk-ssh-ed25519@openssh.com", pk, ""})),
       "the security key (sk-*) public key has no application string"},
      {"SkEcdsaNoApplication",
       Line("sk-ecdsa-sha2-nistp256@openssh.com",
            Blob({"sk-ecdsa-sha2-nistp256@openssh.com", "nistp256", q})),
       "the security key (sk-*) public key has no application string"},
      {"SkEd25519BadPoint",
       Line("sk-ssh-ed25519@openssh.com", Blob({"sk-ssh-ed25519@openssh.com", y2, "ssh:"})),
       kEdPointMsg},
      {"SkEcdsaNotOnCurve",
       Line("sk-ecdsa-sha2-nistp256@openssh.com",
            Blob({"sk-ecdsa-sha2-nistp256@openssh.com", "nistp256", q_off_curve, "ssh:"})),
       "the ECDSA public key point is not on the curve"},
      {"SkEcdsaWrongCurve",
       Line("sk-ecdsa-sha2-nistp256@openssh.com",
            Blob({"sk-ecdsa-sha2-nistp256@openssh.com", "nistp384", q, "ssh:"})),
       "the ECDSA curve name does not match the key type"},
      {"SkTrailingBytes",
       Line("sk-ssh-ed25519@openssh.com",
            Blob({"sk-ssh-ed25519@openssh.com", pk, "ssh:", "extra"})),
       "the key data has trailing bytes after the key fields"},
      {"SkInnerTypeDiffers", "sk-ssh-ed25519@openssh.com "s + kEd25519B64,
       "the key data is of a different key type than the type declared"},
      // Comments.
      {"CommentTab", ed + " my\tkey", kControlMsg},
      {"CommentCarriageReturn", ed + " my\rkey", kControlMsg},
      {"CommentEscape", ed + " \x1b[31mred", kControlMsg},
      {"CommentNul", ed + " a\0b"s, kControlMsg},
      {"CommentDel",
       ed + " a\x7f"
            "b",
       kControlMsg},
      {"CommentC1Nel",
       ed + " a\xc2\x85"
            "b",
       kControlMsg},
      {"CommentC1Csi",
       ed + " a\xc2\x9b"
            "b",
       kControlMsg},
      {"CommentInvalidByte",
       ed + " a\xff"
            "b",
       kUtf8Msg},
      {"CommentTruncatedSequence", ed + " a\xc3", kUtf8Msg},
      {"CommentOverlong", ed + " \xc0\xaf", kUtf8Msg},
      {"CommentSurrogate", ed + " \xed\xa0\x80", kUtf8Msg},
      {"CommentAboveUnicode", ed + " \xf4\x90\x80\x80", kUtf8Msg},
      {"Rfc4716CommentControl", Rfc4716("Comment: \"a\tb\"\n", kEd25519B64), kControlMsg},
      // RFC 4716 structure.
      {"Rfc4716NoEnd", "---- BEGIN SSH2 PUBLIC KEY ----\n"s + kEd25519B64 + "\n",
       "the RFC 4716 block has no \"---- END SSH2 PUBLIC KEY ----\" line"},
      {"Rfc4716NoData", Rfc4716("Comment: x\n", ""), "the RFC 4716 block contains no key data"},
      {"Rfc4716ContinuationAtEnd", Rfc4716("", "Comment: x \\"), "header continuation line"},
      {"Rfc4716TrailingText", Rfc4716("", kEd25519B64) + "hello\n",
       "unexpected text after the end of the key block"},
      // PEM.
      {"PemNotSpki", Pem("\x30\x03\x02\x01\x01"),
       "the PEM public key is not a valid "
       "SubjectPublicKeyInfo"},
      {"PemTrailingDer",
       Pem(Decode("MCowBQYDK2VwAyEAazWdMZPCJj2FvJkaDC1EKQGK1u5hOLMUWqHGKYaVCDQ=") + '\0'),
       "the PEM public key is not a valid SubjectPublicKeyInfo"},
      {"PemBadBase64",
       "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAazWdMZPCJj2FvJkaDC1EKQGK1u5h"
       "OLMUWqHGKYaVCDQ\n-----END PUBLIC KEY-----\n",
       "the PEM body is not valid base64"},
      {"PemNoEnd", "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAazWdMZPCJj2FvJkaDC1EKQGK1u5h\n",
       "the PEM block has no \"-----END PUBLIC KEY-----\" line"},
      {"PemX25519", kX25519Pem, "the PEM public key has an unsupported algorithm"},
      {"PemEd448", kEd448Pem, "the PEM public key has an unsupported algorithm"},
      {"PemSecp256k1", kSecp256k1Pem, "the PEM public key uses an unsupported elliptic curve"},
      {"PemRsaPublicKeyPkcs1",
       "-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEA\n"
       "-----END RSA PUBLIC KEY-----\n",
       "unsupported block"},
      {"PemCertificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
       "unsupported block"},
  };
  return c;
}

void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }

class RejectTest : public testing::TestWithParam<RejectCase> {};

TEST_P(RejectTest, FailsWithMessage) {
  const RejectCase& c = GetParam();
  StatusOr<PublicKey> key = ParsePublicKey(c.input);
  ASSERT_FALSE(key.ok()) << "accepted: " << key->line;
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(key.status().message().find(c.message), std::string::npos)
      << "message: " << key.status().message();
  // The message never quotes the input.
  EXPECT_EQ(key.status().message().find("AAAA"), std::string::npos);
  EXPECT_EQ(key.status().message().find("b3Bl"), std::string::npos);
  EXPECT_EQ(key.status().message().find("MII"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Keys, RejectTest, testing::ValuesIn(RejectCases()),
                         [](const auto& info) { return info.param.name; });

TEST(ParsePublicKeyTest, PrivateKeyMessageSaysToSendThePubFile) {
  StatusOr<PublicKey> key = ParsePublicKey(
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
      "-----END OPENSSH PRIVATE KEY-----\n");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().message(),
            "this is a private key: send the public key (the contents of the .pub file) "
            "instead, and keep the private key secret");
}

TEST(ParsePublicKeyTest, OneByteOverTheLimitIsRejectedBeforeParsing) {
  std::string big(kMaxPublicKeyInput + 1, 'A');
  StatusOr<PublicKey> key = ParsePublicKey(big);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().message(), "public key is too large: at most 16384 bytes are accepted");
}

TEST(ParsePublicKeyTest, BlobIsTheDecodedBase64) {
  StatusOr<PublicKey> key = ParsePublicKey("ssh-ed25519 "s + kEd25519B64 + " x");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->blob, Decode(kEd25519B64));
  EXPECT_EQ(key->type, "ssh-ed25519");
}

// ---------------------------------------------------------------------------------------
// Base64 and fingerprints.

TEST(Base64Test, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64Test, DecodesRfc4648Vectors) {
  std::string out;
  for (auto [enc, dec] : std::vector<std::pair<std::string, std::string>>{{"", ""},
                                                                          {"Zg==", "f"},
                                                                          {"Zm8=", "fo"},
                                                                          {"Zm9v", "foo"},
                                                                          {"Zm9vYg==", "foob"},
                                                                          {"Zm9vYmE=", "fooba"},
                                                                          {"Zm9vYmFy", "foobar"},
                                                                          {"+/8=", "\xfb\xff"}}) {
    ASSERT_TRUE(Base64DecodeStrict(enc, &out)) << enc;
    EXPECT_EQ(out, dec);
  }
}

TEST(Base64Test, RoundTripsAllByteValuesAtEveryLength) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  for (size_t len = 0; len <= data.size(); ++len) {
    std::string in = data.substr(0, len);
    std::string enc = Base64Encode(in);
    EXPECT_EQ(enc.size(), (len + 2) / 3 * 4);
    std::string out;
    ASSERT_TRUE(Base64DecodeStrict(enc, &out)) << len;
    EXPECT_EQ(out, in);
  }
}

TEST(Base64Test, RejectsNonStrictInput) {
  std::string out;
  for (const char* bad :
       {"Zg", "Zg=", "Zg===", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", " Zm9v",
        "Zm9v====", "Zg==Zg==", "Zm-v", "Zm_v", "Zm9v=", "=Zm9", "Z===", "Zm\x80v", "===="}) {
    EXPECT_FALSE(Base64DecodeStrict(bad, &out)) << bad;
  }
}

TEST(FingerprintTest, MatchesSshKeygenMd5) {
  EXPECT_EQ(FingerprintMd5(Decode(kEd25519B64)), kEd25519Md5);
  EXPECT_EQ(FingerprintMd5(Decode(kRsa2048B64)), kRsa2048Md5);
  EXPECT_EQ(FingerprintMd5(""), "d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e");
}

// ---------------------------------------------------------------------------------------
// Generation. The OpenSSH tools check these keys too (openssh_crosscheck_test).

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};

TEST(GenerateEd25519Test, WritesTheOpenSshPrivateKeyFormat) {
  StatusOr<GeneratedKey> key = GenerateEd25519("my key");
  ASSERT_TRUE(key.ok()) << key.status().message();
  std::string_view pem = key->private_key.view();
  constexpr std::string_view kBegin = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
  constexpr std::string_view kEnd = "-----END OPENSSH PRIVATE KEY-----\n";
  ASSERT_TRUE(pem.starts_with(kBegin));
  ASSERT_TRUE(pem.ends_with(kEnd));
  std::string_view body = pem.substr(kBegin.size(), pem.size() - kBegin.size() - kEnd.size());
  std::string b64;
  while (!body.empty()) {
    size_t nl = body.find('\n');
    ASSERT_NE(nl, std::string_view::npos);
    std::string_view line = body.substr(0, nl);
    ASSERT_LE(line.size(), 70u);
    if (nl + 1 < body.size()) {
      ASSERT_EQ(line.size(), 70u);
    }
    b64.append(line);
    body.remove_prefix(nl + 1);
  }
  std::string bin = Decode(b64);
  ASSERT_TRUE(bin.starts_with("openssh-key-v1\0"s));
  std::vector<std::string> f = FieldsRaw(bin.substr(15, 20));
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], "none");
  EXPECT_EQ(f[1], "none");
  EXPECT_EQ(f[2], "");
  std::string rest = bin.substr(15 + 20);
  ASSERT_EQ(rest.substr(0, 4), "\0\0\0\1"s);  // one key
  std::vector<std::string> outer = FieldsRaw(rest.substr(4));
  ASSERT_EQ(outer.size(), 2u);
  EXPECT_EQ(outer[0], key->public_key.blob);
  const std::string& priv = outer[1];
  ASSERT_EQ(priv.size() % 8, 0u);
  EXPECT_EQ(priv.substr(0, 4), priv.substr(4, 4));  // checkints
  std::vector<std::string> p = FieldsRaw(priv.substr(8));
  ASSERT_GE(p.size(), 4u);
  EXPECT_EQ(p[0], "ssh-ed25519");
  std::string pub = FieldsRaw(key->public_key.blob)[1];
  EXPECT_EQ(p[1], pub);
  ASSERT_EQ(p[2].size(), 64u);
  EXPECT_EQ(p[2].substr(32), pub);
  EXPECT_EQ(p[3], "my key");
  size_t used = 8 + 4 + 11 + 4 + 32 + 4 + 64 + 4 + 6;
  for (size_t i = used; i < priv.size(); ++i) {
    EXPECT_EQ(static_cast<unsigned char>(priv[i]), i - used + 1);
  }
  // The seed really is the private half of the public key.
  std::unique_ptr<EVP_PKEY, PkeyFree> k(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(p[2].data()), 32));
  ASSERT_TRUE(k);
  unsigned char derived[32];
  size_t len = sizeof(derived);
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(k.get(), derived, &len), 1);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(derived), len), pub);
}

TEST(GenerateEd25519Test, PublicKeyCarriesTheComment) {
  StatusOr<GeneratedKey> key = GenerateEd25519("web-01 deploy");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->public_key.type, "ssh-ed25519");
  EXPECT_EQ(key->public_key.comment, "web-01 deploy");
  EXPECT_EQ(key->public_key.bits, 256);
  EXPECT_TRUE(key->public_key.line.ends_with(" web-01 deploy"));
  StatusOr<PublicKey> parsed = ParsePublicKey(key->public_key.line);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->line, key->public_key.line);
  EXPECT_EQ(parsed->fingerprint, key->public_key.fingerprint);
}

TEST(GenerateEd25519Test, EmptyCommentGivesTwoFieldLine) {
  StatusOr<GeneratedKey> key = GenerateEd25519("");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->public_key.line, Line("ssh-ed25519", key->public_key.blob));
}

TEST(GenerateEd25519Test, KeysAreFresh) {
  StatusOr<GeneratedKey> a = GenerateEd25519("k");
  StatusOr<GeneratedKey> b = GenerateEd25519("k");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->public_key.blob, b->public_key.blob);
  EXPECT_NE(a->private_key.view(), b->private_key.view());
}

TEST(GenerateEd25519Test, RejectsCommentWithControlCharacters) {
  StatusOr<GeneratedKey> key = GenerateEd25519("a\nssh-ed25519 AAAA");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(key.status().message().find(kControlMsg), std::string::npos);
}

}  // namespace
}  // namespace keypaird::sshkey
