// CAs and certificates for the backends' migration tests (9, 12, 13): what a database held
// before each, and what must hold after it.
#ifndef KEYPAIRD_STORE_TESTING_CERTIFICATES_TESTING_H_
#define KEYPAIRD_STORE_TESTING_CERTIFICATES_TESTING_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::store::testing {

inline CertificateRecord CertificateOf(std::string key_id, int64_t serial) {
  CertificateRecord c;
  c.project_id = 1;
  c.serial = serial;
  c.key_id = std::move(key_id);
  c.key_owner_id = 9;
  c.key_sha256 = std::string(32, 's');
  c.principals = {"deploy"};
  c.valid_after_s = 10;
  c.valid_before_s = 1000;
  c.issued_at_us = 11;
  c.issued_by = "0123456789abcdef";
  return c;
}

// Project 1's user CA, as each migration test makes it before the migration.
inline Status MakeUserCa(KeyStore& store) {
  return store
      .GetOrCreateCa(CaRecord{.project_id = 1,
                              .kind = CaKind::kUser,
                              .public_key = "ssh-ed25519 AAAA ca",
                              .sealed_seed = "sealed",
                              .created_at_us = 5,
                              .generation = 1},
                     {})
      .status();
}

// Before migration 9: project 1's CA and a revoked certificate (serial 1) of a key "gone"
// that no longer exists.
inline Status AddACertificateOfAStoredKey(KeyStore& store) {
  if (Status s = MakeUserCa(store); !s.ok()) return s;
  if (StatusOr<int64_t> serial = store.NextSerial(1, CaKind::kUser); !serial.ok()) return serial.status();
  if (Status s = store.RecordCertificate(CertificateOf("gone", 1), {}); !s.ok()) return s;
  return store.RevokeCertificate(1, 1, 20, {});
}

// After it: that certificate reads back as it was and is still listed, serials go on, and
// a certificate without a stored key is recorded and not listed until revoked.
inline Status CheckCertificatesAfterMigration9(KeyStore& store) {
  CertificateRecord before = CertificateOf("gone", 1);
  before.revoked_at_us = 20;
  StatusOr<CertificateRecord> kept = store.GetCertificate(1, 1);
  if (!kept.ok()) return kept.status();
  if (*kept != before) return Internal("the certificate changed in the migration");
  StatusOr<int64_t> serial = store.NextSerial(1, CaKind::kUser);
  if (!serial.ok()) return serial.status();
  if (*serial != 2) return Internal("the next serial is " + std::to_string(*serial));
  if (Status s = store.RecordCertificate(CertificateOf("", 2), {}); !s.ok()) return s;
  StatusOr<CertificateRecord> keyless = store.GetCertificate(1, 2);
  if (!keyless.ok()) return keyless.status();
  if (*keyless != CertificateOf("", 2)) return Internal("the keyless certificate changed");
  StatusOr<Revocations> revoked = store.RevocationsOf(1, 100);
  if (!revoked.ok()) return revoked.status();
  if (revoked->serials != std::vector<int64_t>{1}) return Internal("the KRL is not serial 1 alone");
  return Status::Ok();
}

// Before migration 12: project 1's (user) CA, two serials taken.
inline Status AddAUserCaWithTwoSerials(KeyStore& store) {
  if (Status s = MakeUserCa(store); !s.ok()) return s;
  for (int i = 0; i < 2; ++i) {
    if (StatusOr<int64_t> s = store.NextSerial(1, CaKind::kUser); !s.ok()) return s.status();
  }
  return Status::Ok();
}

// After it: the CA is the project's user CA, as it was, its serials go on, and the project
// has no host CA until one is made, whose serials start at 1.
inline Status CheckCasAfterMigration12(KeyStore& store) {
  StatusOr<CaRecord> user = store.GetCa(1, CaKind::kUser);
  if (!user.ok()) return user.status();
  if (user->kind != CaKind::kUser || user->public_key != "ssh-ed25519 AAAA ca" ||
      user->sealed_seed != "sealed" || user->created_at_us != 5) {
    return Internal("the CA changed in the migration");
  }
  StatusOr<int64_t> serial = store.NextSerial(1, CaKind::kUser);
  if (!serial.ok()) return serial.status();
  if (*serial != 3) return Internal("the next serial is " + std::to_string(*serial));
  if (store.GetCa(1, CaKind::kHost).status().code() != StatusCode::kNotFound) {
    return Internal("a host CA appeared");
  }
  CaRecord host = *user;
  host.kind = CaKind::kHost;
  host.public_key = "ssh-ed25519 AAAA host";
  if (StatusOr<CaRecord> made = store.GetOrCreateCa(host, {}); !made.ok() || *made != host) {
    return Internal("the host CA was not made");
  }
  serial = store.NextSerial(1, CaKind::kHost);
  if (!serial.ok()) return serial.status();
  return *serial == 1 ? Status::Ok() : Internal("the host CA's first serial is not 1");
}

// After migration 13 (CA rotation), on what AddACertificateOfAStoredKey made: the CA and
// its certificate are of generation 1, it is the CA's only key, and it rotates (the old key
// kept until its certificate's expiry).
inline Status CheckCasAfterMigration13(KeyStore& store) {
  StatusOr<CaRecord> user = store.GetCa(1, CaKind::kUser);
  if (!user.ok()) return user.status();
  if (user->generation != 1 || user->public_key != "ssh-ed25519 AAAA ca") {
    return Internal("the CA is not its first generation");
  }
  StatusOr<CertificateRecord> cert = store.GetCertificate(1, 1);
  if (!cert.ok()) return cert.status();
  if (cert->ca_generation != 1) return Internal("the certificate is not the first key's");
  StatusOr<std::vector<CaKeyRecord>> keys = store.CaKeysOf(1, CaKind::kUser);
  if (!keys.ok()) return keys.status();
  if (keys->size() != 1 || keys->front().generation != 1) return Internal("not one CA key");
  StatusOr<CaRecord> rotated = store.RotateCa(CaRecord{.project_id = 1,
                                                       .kind = CaKind::kUser,
                                                       .public_key = "ssh-ed25519 AAAA two",
                                                       .sealed_seed = "sealed-two",
                                                       .created_at_us = 50,
                                                       .generation = 0},
                                              {});
  if (!rotated.ok()) return rotated.status();
  if (rotated->generation != 2) return Internal("the rotation is not generation 2");
  keys = store.CaKeysOf(1, CaKind::kUser);
  if (!keys.ok()) return keys.status();
  if (keys->size() != 2 || (*keys)[1].signed_until_s != cert->valid_before_s) {
    return Internal("the old key is not kept until its certificate's expiry");
  }
  return Status::Ok();
}

}  // namespace keypaird::store::testing

#endif  // KEYPAIRD_STORE_TESTING_CERTIFICATES_TESTING_H_
