#include "http/render.h"

#include <string_view>

#include "common/json_writer.h"
#include "common/rfc3339.h"

namespace keypaird::http {
namespace {

enum class PrivateKeyField { kOmit, kNull, kValue };

void RenderKey(JsonWriter& w, const store::KeyRecord& k, PrivateKeyField pk_field,
               std::string_view private_key = {}) {
  w.BeginObject();
  w.Key("id").String(k.id);
  w.Key("name").String(k.name);
  w.Key("public_key").String(k.public_key);
  w.Key("fingerprint").String(k.fingerprint);
  if (pk_field == PrivateKeyField::kValue) {
    w.Key("private_key").String(private_key);
  } else if (pk_field == PrivateKeyField::kNull) {
    w.Key("private_key").Null();
  }
  w.Key("project_id").Int(k.project_id);
  w.Key("shared_in_project").Bool(k.shared_in_project);
  w.Key("state").String("ACTIVE");
  w.Key("created_at").String(FormatRfc3339(k.created_at_us));
  w.EndObject();
}

PrivateKeyField FieldFor(Family family) {
  return family == Family::kKeypairs ? PrivateKeyField::kNull : PrivateKeyField::kOmit;
}

}  // namespace

HttpResponse KeyResponse(int status, const store::KeyRecord& k, Family family,
                         const std::string& request_id) {
  std::string body;
  JsonWriter w(&body);
  RenderKey(w, k, FieldFor(family));
  return MakeResponse(status, std::move(body), request_id);
}

HttpResponse CreatedResponse(int status, service::CreatedKey& created,
                             const std::string& request_id) {
  const store::KeyRecord& k = created.key;
  std::string body;
  body.reserve(512 + 2 * (k.public_key.size() + k.name.size() + created.private_key.size()));
  JsonWriter w(&body);
  if (created.private_key.empty()) {
    RenderKey(w, k, PrivateKeyField::kNull);
  } else {
    RenderKey(w, k, PrivateKeyField::kValue, created.private_key.view());
  }
  created.private_key.Wipe();
  return MakeResponse(status, std::move(body), request_id, /*secret=*/true);
}

HttpResponse ListResponse(const store::KeyPage& page, Family family,
                          const std::string& request_id) {
  std::string body;
  body.reserve(128 + page.keys.size() * 512);
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("count").Int(page.total);
  w.Key("results").BeginArray();
  for (const auto& k : page.keys) RenderKey(w, k, FieldFor(family));
  w.EndArray();
  w.EndObject();
  return MakeResponse(200, std::move(body), request_id);
}

}  // namespace keypaird::http
