#include "service/observed_store.h"

namespace keypaird::service {
namespace {

class ObservedStore final : public store::KeyStore {
 public:
  ObservedStore(store::KeyStore* inner, Metrics* metrics) : inner_(inner), metrics_(metrics) {}

  Status InsertKey(const store::KeyRecord& key, const store::EventRecord& event) override {
    return Seen("insert_key", inner_->InsertKey(key, event));
  }
  StatusOr<store::KeyRecord> GetKey(std::string_view id) override {
    return Seen("get_key", inner_->GetKey(id));
  }
  StatusOr<store::KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    return Seen("get_key_by_name", inner_->GetKeyByName(project_id, name));
  }
  StatusOr<store::KeyPage> ListKeys(const store::ListQuery& query) override {
    return Seen("list_keys", inner_->ListKeys(query));
  }
  Status DeleteKey(std::string_view id, std::optional<int64_t> expected_revision,
                   const store::EventRecord& event) override {
    return Seen("delete_key", inner_->DeleteKey(id, expected_revision, event));
  }
  StatusOr<store::KeyRecord> UpdateKey(std::string_view id, const store::KeyUpdate& update,
                                       std::optional<int64_t> expected_revision,
                                       const store::EventRecord& event) override {
    return Seen("update_key", inner_->UpdateKey(id, update, expected_revision, event));
  }
  Status InsertToken(const store::TokenRecord& token, const store::EventRecord& event) override {
    return Seen("insert_token", inner_->InsertToken(token, event));
  }
  StatusOr<store::TokenRecord> GetToken(std::string_view id) override {
    return Seen("get_token", inner_->GetToken(id));
  }
  StatusOr<std::vector<store::TokenRecord>> ListTokens() override {
    return Seen("list_tokens", inner_->ListTokens());
  }
  Status RevokeToken(std::string_view id, int64_t at_us,
                     const store::EventRecord& event) override {
    return Seen("revoke_token", inner_->RevokeToken(id, at_us, event));
  }
  StatusOr<store::EventPage> ListEvents(const store::EventQuery& query) override {
    return Seen("list_events", inner_->ListEvents(query));
  }
  StatusOr<int64_t> PruneEvents(int64_t before_us, int64_t max_rows) override {
    return Seen("prune_events", inner_->PruneEvents(before_us, max_rows));
  }
  std::unique_ptr<store::KeyReader> Snapshot() override { return inner_->Snapshot(); }
  void InsertKeyAsync(store::KeyRecord key, store::EventRecord event, WriteDone done) override {
    inner_->InsertKeyAsync(std::move(key), std::move(event),
                           [this, done = std::move(done)](Status s) {
      done(Seen("insert_key", std::move(s)));
    });
  }
  StatusOr<store::CaRecord> GetOrCreateCa(const store::CaRecord& candidate,
                                          const store::EventRecord& event) override {
    return Seen("get_or_create_ca", inner_->GetOrCreateCa(candidate, event));
  }
  StatusOr<store::CaRecord> GetCa(int64_t project_id, store::CaKind kind) override {
    return Seen("get_ca", inner_->GetCa(project_id, kind));
  }
  StatusOr<int64_t> NextSerial(int64_t project_id, store::CaKind kind) override {
    return Seen("next_serial", inner_->NextSerial(project_id, kind));
  }
  StatusOr<store::CaRecord> RotateCa(const store::CaRecord& next,
                                     const store::EventRecord& event) override {
    return Seen("rotate_ca", inner_->RotateCa(next, event));
  }
  StatusOr<std::vector<store::CaKeyRecord>> CaKeysOf(int64_t project_id,
                                                     store::CaKind kind) override {
    return Seen("ca_keys_of", inner_->CaKeysOf(project_id, kind));
  }
  Status DeleteCaKey(int64_t project_id, store::CaKind kind, int64_t generation, int64_t at_us,
                     const store::EventRecord& event) override {
    return Seen("delete_ca_key", inner_->DeleteCaKey(project_id, kind, generation, at_us, event));
  }
  Status RecordCertificate(const store::CertificateRecord& c,
                           const store::EventRecord& event) override {
    return Seen("record_certificate", inner_->RecordCertificate(c, event));
  }
  StatusOr<store::CertificateRecord> GetCertificate(int64_t project_id, int64_t serial) override {
    return Seen("get_certificate", inner_->GetCertificate(project_id, serial));
  }
  Status RevokeCertificate(int64_t project_id, int64_t serial, int64_t at_us,
                           const store::EventRecord& event) override {
    return Seen("revoke_certificate",
                inner_->RevokeCertificate(project_id, serial, at_us, event));
  }
  StatusOr<store::Revocations> RevocationsOf(int64_t project_id, int64_t now_s) override {
    return Seen("revocations", inner_->RevocationsOf(project_id, now_s));
  }
  StatusOr<store::UserRecord> SignIn(const store::UserRecord& claims, int64_t now_us,
                                     const store::EventRecord& event) override {
    return Seen("sign_in", inner_->SignIn(claims, now_us, event));
  }
  Status EnsureUser(int64_t id, int64_t now_us, const store::EventRecord& event) override {
    return Seen("ensure_user", inner_->EnsureUser(id, now_us, event));
  }
  StatusOr<store::UserRecord> GetUser(int64_t id) override {
    return Seen("get_user", inner_->GetUser(id));
  }
  StatusOr<std::vector<store::UserRecord>> ListUsers() override {
    return Seen("list_users", inner_->ListUsers());
  }
  Status SetUserDisabled(int64_t id, bool disabled, int64_t now_us,
                         const store::EventRecord& event) override {
    return Seen("set_user_disabled", inner_->SetUserDisabled(id, disabled, now_us, event));
  }
  Status StartLogin(const store::LoginRecord& login) override {
    return Seen("start_login", inner_->StartLogin(login));
  }
  StatusOr<store::LoginRecord> FinishLogin(std::string_view state_hash, int64_t now_us) override {
    return Seen("finish_login", inner_->FinishLogin(state_hash, now_us));
  }
  Status StartDevice(const store::DeviceRecord& device) override {
    return Seen("start_device", inner_->StartDevice(device));
  }
  Status DecideDevice(std::string_view user_code, bool approved, int64_t user_id,
                      std::string_view session_id, int64_t now_us) override {
    return Seen("decide_device",
                inner_->DecideDevice(user_code, approved, user_id, session_id, now_us));
  }
  StatusOr<store::DeviceRecord> PollDevice(std::string_view code_hash, int64_t now_us) override {
    return Seen("poll_device", inner_->PollDevice(code_hash, now_us));
  }
  Status RecordEvent(const store::EventRecord& event) override {
    return Seen("record_event", inner_->RecordEvent(event));
  }
  Status InsertGrant(const store::GrantRecord& grant, const store::EventRecord& event) override {
    return Seen("insert_grant", inner_->InsertGrant(grant, event));
  }
  StatusOr<std::vector<store::GrantRecord>> ListGrants() override {
    return Seen("list_grants", inner_->ListGrants());
  }
  Status DeleteGrant(std::string_view id, const store::EventRecord& event) override {
    return Seen("delete_grant", inner_->DeleteGrant(id, event));
  }
  Status InsertJoinToken(const store::JoinTokenRecord& token,
                         const store::EventRecord& event) override {
    return Seen("insert_join_token", inner_->InsertJoinToken(token, event));
  }
  StatusOr<store::JoinTokenRecord> GetJoinToken(std::string_view id) override {
    return Seen("get_join_token", inner_->GetJoinToken(id));
  }
  StatusOr<std::vector<store::JoinTokenRecord>> ListJoinTokens(int64_t project_id) override {
    return Seen("list_join_tokens", inner_->ListJoinTokens(project_id));
  }
  Status DeleteJoinToken(int64_t project_id, std::string_view id,
                         const store::EventRecord& event) override {
    return Seen("delete_join_token", inner_->DeleteJoinToken(project_id, id, event));
  }
  Status EnrollHost(std::string_view join_token_id, std::string_view join_secret_hash,
                    int64_t now_us, const store::HostRecord& host,
                    const std::vector<store::HostCertificateRecord>& certificates,
                    const store::EventRecord& event) override {
    return Seen("enroll_host", inner_->EnrollHost(join_token_id, join_secret_hash, now_us, host,
                                                  certificates, event));
  }
  StatusOr<store::HostRecord> GetHost(std::string_view id) override {
    return Seen("get_host", inner_->GetHost(id));
  }
  StatusOr<std::vector<store::HostRecord>> ListHosts(int64_t project_id) override {
    return Seen("list_hosts", inner_->ListHosts(project_id));
  }
  Status RenewHost(const store::HostRecord& host,
                   const std::vector<store::HostCertificateRecord>& certificates,
                   const store::EventRecord& event) override {
    return Seen("renew_host", inner_->RenewHost(host, certificates, event));
  }
  Status DeleteHost(int64_t project_id, std::string_view id, int64_t at_us,
                    const store::EventRecord& event) override {
    return Seen("delete_host", inner_->DeleteHost(project_id, id, at_us, event));
  }
  Status Ping() override { return Seen("ping", inner_->Ping()); }
  StatusOr<int64_t> AuthGeneration() override {
    return Seen("auth_generation", inner_->AuthGeneration());
  }
  StatusOr<store::ProjectGenerations> GenerationsOf(int64_t project_id) override {
    return Seen("project_generations", inner_->GenerationsOf(project_id));
  }

 private:
  void Count(const char* operation, StatusCode code) {
    if (code == StatusCode::kUnavailable || code == StatusCode::kInternal) {
      metrics_->ObserveStoreError(operation);
    }
  }
  Status Seen(const char* operation, Status s) {
    Count(operation, s.code());
    return s;
  }
  template <typename T>
  StatusOr<T> Seen(const char* operation, StatusOr<T> s) {
    if (!s.ok()) Count(operation, s.status().code());
    return s;
  }

  store::KeyStore* inner_;
  Metrics* metrics_;
};

}  // namespace

std::unique_ptr<store::KeyStore> NewObservedStore(store::KeyStore* inner, Metrics* metrics) {
  return std::make_unique<ObservedStore>(inner, metrics);
}

}  // namespace keypaird::service
