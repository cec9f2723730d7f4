// ForwardingStore: a KeyStore that hands every call to another one, for tests that
// decorate a store (count, fail or observe some calls) and override only those.
#ifndef KEYPAIRD_STORE_TESTING_FORWARDING_STORE_H_
#define KEYPAIRD_STORE_TESTING_FORWARDING_STORE_H_

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "store/key_store.h"

namespace keypaird::store::testing {

class ForwardingStore : public KeyStore {
 public:
  // Not owned; must outlive this store.
  explicit ForwardingStore(KeyStore* inner) : inner_(inner) {}

  StatusOr<KeyRecord> GetKey(std::string_view id) override { return inner_->GetKey(id); }
  StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    return inner_->GetKeyByName(project_id, name);
  }
  StatusOr<KeyPage> ListKeys(const ListQuery& query) override { return inner_->ListKeys(query); }
  StatusOr<TokenRecord> GetToken(std::string_view id) override { return inner_->GetToken(id); }
  std::unique_ptr<KeyReader> Snapshot() override { return inner_->Snapshot(); }
  Status InsertKey(const KeyRecord& key, const EventRecord& event) override {
    return inner_->InsertKey(key, event);
  }
  void InsertKeyAsync(KeyRecord key, EventRecord event, WriteDone done) override {
    inner_->InsertKeyAsync(std::move(key), std::move(event), std::move(done));
  }
  Status DeleteKey(std::string_view id, std::optional<int64_t> expected_revision,
                   const EventRecord& event) override {
    return inner_->DeleteKey(id, expected_revision, event);
  }
  StatusOr<KeyRecord> UpdateKey(std::string_view id, const KeyUpdate& update,
                                std::optional<int64_t> expected_revision,
                                const EventRecord& event) override {
    return inner_->UpdateKey(id, update, expected_revision, event);
  }
  Status InsertToken(const TokenRecord& token, const EventRecord& event) override {
    return inner_->InsertToken(token, event);
  }
  StatusOr<std::vector<TokenRecord>> ListTokens() override { return inner_->ListTokens(); }
  Status RevokeToken(std::string_view id, int64_t at_us, const EventRecord& event) override {
    return inner_->RevokeToken(id, at_us, event);
  }
  StatusOr<EventPage> ListEvents(const EventQuery& query) override {
    return inner_->ListEvents(query);
  }
  StatusOr<int64_t> PruneEvents(int64_t before_us, int64_t max_rows) override {
    return inner_->PruneEvents(before_us, max_rows);
  }
  StatusOr<CaRecord> GetOrCreateCa(const CaRecord& candidate, const EventRecord& event) override {
    return inner_->GetOrCreateCa(candidate, event);
  }
  StatusOr<CaRecord> GetCa(int64_t project_id, CaKind kind) override {
    return inner_->GetCa(project_id, kind);
  }
  StatusOr<int64_t> NextSerial(int64_t project_id, CaKind kind) override {
    return inner_->NextSerial(project_id, kind);
  }
  StatusOr<CaRecord> RotateCa(const CaRecord& next, const EventRecord& event) override {
    return inner_->RotateCa(next, event);
  }
  StatusOr<std::vector<CaKeyRecord>> CaKeysOf(int64_t project_id, CaKind kind) override {
    return inner_->CaKeysOf(project_id, kind);
  }
  Status DeleteCaKey(int64_t project_id, CaKind kind, int64_t generation, int64_t at_us,
                     const EventRecord& event) override {
    return inner_->DeleteCaKey(project_id, kind, generation, at_us, event);
  }
  Status RecordCertificate(const CertificateRecord& certificate,
                           const EventRecord& event) override {
    return inner_->RecordCertificate(certificate, event);
  }
  StatusOr<CertificateRecord> GetCertificate(int64_t project_id, int64_t serial) override {
    return inner_->GetCertificate(project_id, serial);
  }
  Status RevokeCertificate(int64_t project_id, int64_t serial, int64_t at_us,
                           const EventRecord& event) override {
    return inner_->RevokeCertificate(project_id, serial, at_us, event);
  }
  StatusOr<Revocations> RevocationsOf(int64_t project_id, int64_t now_s) override {
    return inner_->RevocationsOf(project_id, now_s);
  }
  StatusOr<UserRecord> SignIn(const UserRecord& claims, int64_t now_us,
                              const EventRecord& event) override {
    return inner_->SignIn(claims, now_us, event);
  }
  Status EnsureUser(int64_t id, int64_t now_us, const EventRecord& event) override {
    return inner_->EnsureUser(id, now_us, event);
  }
  StatusOr<UserRecord> GetUser(int64_t id) override { return inner_->GetUser(id); }
  StatusOr<std::vector<UserRecord>> ListUsers() override { return inner_->ListUsers(); }
  Status SetUserDisabled(int64_t id, bool disabled, int64_t now_us,
                         const EventRecord& event) override {
    return inner_->SetUserDisabled(id, disabled, now_us, event);
  }
  Status StartLogin(const LoginRecord& login) override { return inner_->StartLogin(login); }
  StatusOr<LoginRecord> FinishLogin(std::string_view state_hash, int64_t now_us) override {
    return inner_->FinishLogin(state_hash, now_us);
  }
  Status RecordEvent(const EventRecord& event) override { return inner_->RecordEvent(event); }
  Status StartDevice(const DeviceRecord& device) override { return inner_->StartDevice(device); }
  Status DecideDevice(std::string_view user_code, bool approved, int64_t user_id,
                      std::string_view session_id, int64_t now_us) override {
    return inner_->DecideDevice(user_code, approved, user_id, session_id, now_us);
  }
  StatusOr<DeviceRecord> PollDevice(std::string_view code_hash, int64_t now_us) override {
    return inner_->PollDevice(code_hash, now_us);
  }
  Status InsertGrant(const GrantRecord& grant, const EventRecord& event) override {
    return inner_->InsertGrant(grant, event);
  }
  StatusOr<std::vector<GrantRecord>> ListGrants() override { return inner_->ListGrants(); }
  Status DeleteGrant(std::string_view id, const EventRecord& event) override {
    return inner_->DeleteGrant(id, event);
  }
  Status InsertJoinToken(const JoinTokenRecord& token, const EventRecord& event) override {
    return inner_->InsertJoinToken(token, event);
  }
  StatusOr<JoinTokenRecord> GetJoinToken(std::string_view id) override {
    return inner_->GetJoinToken(id);
  }
  StatusOr<std::vector<JoinTokenRecord>> ListJoinTokens(int64_t project_id) override {
    return inner_->ListJoinTokens(project_id);
  }
  Status DeleteJoinToken(int64_t project_id, std::string_view id,
                         const EventRecord& event) override {
    return inner_->DeleteJoinToken(project_id, id, event);
  }
  Status EnrollHost(std::string_view join_token_id, std::string_view join_secret_hash,
                    int64_t now_us, const HostRecord& host,
                    const std::vector<HostCertificateRecord>& certificates,
                    const EventRecord& event) override {
    return inner_->EnrollHost(join_token_id, join_secret_hash, now_us, host, certificates, event);
  }
  StatusOr<HostRecord> GetHost(std::string_view id) override { return inner_->GetHost(id); }
  StatusOr<std::vector<HostRecord>> ListHosts(int64_t project_id) override {
    return inner_->ListHosts(project_id);
  }
  Status RenewHost(const HostRecord& host, const std::vector<HostCertificateRecord>& certificates,
                   const EventRecord& event) override {
    return inner_->RenewHost(host, certificates, event);
  }
  Status DeleteHost(int64_t project_id, std::string_view id, int64_t at_us,
                    const EventRecord& event) override {
    return inner_->DeleteHost(project_id, id, at_us, event);
  }
  Status Ping() override { return inner_->Ping(); }
  StatusOr<int64_t> AuthGeneration() override { return inner_->AuthGeneration(); }
  StatusOr<ProjectGenerations> GenerationsOf(int64_t project_id) override {
    return inner_->GenerationsOf(project_id);
  }

 protected:
  KeyStore* inner() const { return inner_; }

 private:
  KeyStore* inner_;
};

}  // namespace keypaird::store::testing

#endif  // KEYPAIRD_STORE_TESTING_FORWARDING_STORE_H_
