#include "store/sql/rows.h"

#include <charconv>

namespace keypaird::store::sql {
namespace {

// LIKE pattern for a literal substring: % _ and the escape character are escaped.
std::string ContainsPattern(std::string_view needle) {
  std::string pattern = "%";
  for (char c : needle) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '%';
  return pattern;
}

// Builds WHERE terms with numbered parameters: each '#' in a term takes the next value.
class Terms {
 public:
  explicit Terms(Dialect dialect, ListSql* out) : dialect_(dialect), out_(out) {}

  void Add(std::string term, std::initializer_list<SqlValue> values, char tag) {
    for (const SqlValue& v : values) {
      out_->params.push_back(v);
      const size_t at = term.find('#');
      term.replace(at, 1, Param(dialect_, out_->params.size()));
    }
    out_->where += out_->where.empty() ? " WHERE " : " AND ";
    out_->where += term;
    out_->shape += tag;
  }
  // The number of the next parameter, for terms that use one value twice.
  std::string Next() const { return Param(dialect_, out_->params.size() + 1); }
  void Push(SqlValue v) { out_->params.push_back(std::move(v)); }
  void AddRaw(const std::string& term, char tag) {
    out_->where += out_->where.empty() ? " WHERE " : " AND ";
    out_->where += term;
    out_->shape += tag;
  }

 private:
  Dialect dialect_;
  ListSql* out_;
};

const char* LabelTermSql(LabelTerm::Op op) {
  switch (op) {
    case LabelTerm::Op::kEquals:
      return "EXISTS (SELECT 1 FROM key_labels l WHERE l.key_id = k.id AND l.name = # AND "
             "l.value = #)";
    case LabelTerm::Op::kNotEquals:
      return "NOT EXISTS (SELECT 1 FROM key_labels l WHERE l.key_id = k.id AND l.name = # AND "
             "l.value = #)";
    case LabelTerm::Op::kExists:
      return "EXISTS (SELECT 1 FROM key_labels l WHERE l.key_id = k.id AND l.name = #)";
    case LabelTerm::Op::kNotExists:
      return "NOT EXISTS (SELECT 1 FROM key_labels l WHERE l.key_id = k.id AND l.name = #)";
  }
  return "";
}

}  // namespace

std::string Param(Dialect dialect, size_t n) {
  std::string p(1, dialect == Dialect::kSqlite ? '?' : '$');
  return p += std::to_string(n);
}

std::string KeyColumnsOf(std::string_view alias) {
  std::string out;
  std::string_view columns = kKeyColumns;
  while (!columns.empty()) {
    const size_t comma = columns.find(", ");
    if (!out.empty()) out += ", ";
    out.append(alias).append(columns.substr(0, comma));
    if (comma == std::string_view::npos) break;
    columns.remove_prefix(comma + 2);
  }
  return out;
}

std::vector<SqlValue> KeyValues(const KeyRecord& key) {
  return {key.id,
          key.project_id,
          key.user_id,
          key.name,
          key.public_key,
          key.fingerprint,
          key.shared_in_project,
          key.created_at_us,
          key.type,
          static_cast<int64_t>(key.bits),
          key.comment,
          key.fingerprint_sha256,
          EncodeLabels(key.labels),
          key.disabled,
          key.expires_at_us ? SqlValue(*key.expires_at_us) : SqlValue(SqlNull{}),
          key.updated_at_us,
          key.revision};
}

std::vector<std::vector<SqlValue>> LabelRows(const KeyRecord& key) {
  std::vector<std::vector<SqlValue>> rows;
  for (const auto& [name, value] : key.labels) {
    rows.push_back({key.id, key.project_id, key.created_at_us, name, value});
  }
  return rows;
}

std::string UpdateKeySql(Dialect dialect, bool check_revision) {
  auto p = [dialect](size_t n) { return Param(dialect, n); };
  std::string sql = "UPDATE keys SET name = " + p(2) + ", shared_in_project = " + p(3) +
                    ", labels = " + p(4) + ", disabled = " + p(5) + ", expires_at_us = " + p(6) +
                    ", updated_at_us = " + p(7) + ", revision = revision + 1 WHERE id = " + p(1);
  if (check_revision) sql += " AND revision = " + p(8);
  return sql + " RETURNING " + std::string(kKeyColumns);
}

std::vector<SqlValue> UpdateValues(const KeyRecord& key, std::optional<int64_t> expected_revision) {
  std::vector<SqlValue> values = {
      key.id,
      key.name,
      key.shared_in_project,
      EncodeLabels(key.labels),
      key.disabled,
      key.expires_at_us ? SqlValue(*key.expires_at_us) : SqlValue(SqlNull{}),
      key.updated_at_us};
  if (expected_revision) values.emplace_back(*expected_revision);
  return values;
}

std::vector<SqlValue> CaValues(const CaRecord& ca) {
  return {ca.project_id, std::string(CaKindName(ca.kind)), ca.public_key,
          SqlBlob{ca.sealed_seed}, ca.created_at_us, ca.generation};
}

std::vector<SqlValue> HostValues(const HostRecord& h) {
  return {h.id,
          h.project_id,
          SqlBlob{h.token_hash},
          JoinPrincipals(h.hostnames),
          JoinPrincipals(h.public_keys),
          h.enrolled_at_us,
          h.renewed_at_us,
          h.valid_before_s,
          h.join_token_id};
}

std::vector<SqlValue> HostCertificateValues(const HostCertificateRecord& c) {
  return {c.project_id,
          c.serial,
          c.host_id,
          SqlBlob{c.key_sha256},
          JoinPrincipals(c.principals),
          c.valid_after_s,
          c.valid_before_s,
          c.issued_at_us,
          c.revoked_at_us ? SqlValue(*c.revoked_at_us) : SqlValue(SqlNull{}),
          c.ca_generation};
}

std::vector<SqlValue> CertificateValues(const CertificateRecord& c) {
  return {c.project_id,
          c.serial,
          c.key_id.empty() ? SqlValue(SqlNull{}) : SqlValue(c.key_id),
          c.key_owner_id,
          SqlBlob{c.key_sha256},
          JoinPrincipals(c.principals),
          c.valid_after_s,
          c.valid_before_s,
          c.issued_at_us,
          c.issued_by,
          c.revoked_at_us ? SqlValue(*c.revoked_at_us) : SqlValue(SqlNull{}),
          c.ca_generation};
}

std::vector<SqlValue> EventValues(const EventRecord& e) {
  return {e.id,        e.time_us,         e.action,      e.project_id, e.actor_user_id,
          e.actor_token_id, e.via,        e.source_ip,   e.user_agent, e.resource_type,
          e.resource_id,    e.resource_name, e.details};
}

EventListSql BuildEventListSql(const EventQuery& q, Dialect dialect) {
  std::string where;
  std::vector<SqlValue> params;
  const auto add = [&](const std::string& condition) {
    where += where.empty() ? " WHERE " : " AND ";
    where += condition;
  };
  const auto param = [&](SqlValue value) {
    params.push_back(std::move(value));
    return Param(dialect, params.size());
  };
  const auto any_of = [&](std::string_view column, const auto& values) {
    std::string in;
    for (const auto& v : values) in += (in.empty() ? "" : ", ") + param(v);
    add(std::string(column) + " IN (" + in + ")");
  };
  if (q.project_ids) {
    if (q.project_ids->empty()) {
      add("1 = 0");
    } else {
      any_of("project_id", *q.project_ids);
    }
  }
  if (q.actor_user_id) add("actor_user_id = " + param(*q.actor_user_id));
  if (!q.actions.empty()) any_of("action", q.actions);
  if (!q.resource_ids.empty()) any_of("resource_id", q.resource_ids);
  if (!q.resource_types.empty()) any_of("resource_type", q.resource_types);
  if (!q.resource_name.empty()) add("resource_name = " + param(q.resource_name));
  if (!q.source_ips.empty()) any_of("source_ip", q.source_ips);
  if (!q.user_agents.empty()) any_of("user_agent", q.user_agents);
  if (q.since_us) add("time_us >= " + param(*q.since_us));
  if (q.until_us) add("time_us < " + param(*q.until_us));
  EventListSql out;
  out.count = "SELECT count(*) FROM events" + where;
  out.count_params = params;
  if (q.after) {
    const std::string t = param(q.after->time_us);
    const std::string id = param(q.after->id);
    add(std::string("(time_us, id) ") + (q.ascending ? ">" : "<") + " (" + t + ", " + id + ")");
  }
  const char* dir = q.ascending ? "ASC" : "DESC";
  out.page = std::string("SELECT ") + kEventColumns + " FROM events" + where +
             " ORDER BY time_us " + dir + ", id " + dir + " LIMIT " + param(q.limit) +
             " OFFSET " + param(q.offset);
  out.page_params = std::move(params);
  return out;
}

std::string WithParams(std::string_view sql, Dialect dialect) {
  std::string out;
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '#' && i + 1 < sql.size() && sql[i + 1] >= '1' && sql[i + 1] <= '9') {
      size_t n = 0;
      while (i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
        n = n * 10 + static_cast<size_t>(sql[++i] - '0');
      }
      out += Param(dialect, n);
    } else {
      out += sql[i];
    }
  }
  return out;
}

std::string JoinProjects(const std::vector<int64_t>& projects, Dialect dialect) {
  std::string out;
  for (int64_t p : projects) {
    if (!out.empty()) out += ',';
    out += std::to_string(p);
  }
  return dialect == Dialect::kPostgres ? "{" + out + "}" : out;
}

std::string JoinPrincipals(const std::vector<std::string>& principals) {
  std::string out;
  for (const std::string& p : principals) {
    if (!out.empty()) out += ',';
    out += p;
  }
  return out;
}

std::vector<SqlValue> TokenValues(const TokenRecord& token, Dialect dialect) {
  return {token.id,
          token.user_id,
          token.admin,
          JoinProjects(token.projects, dialect),
          SqlBlob{token.secret_hash},
          token.created_at_us,
          token.revoked_at_us ? SqlValue(*token.revoked_at_us) : SqlValue(SqlNull{}),
          token.read_only,
          JoinPrincipals(token.principals),
          token.kind,
          token.expires_at_us ? SqlValue(*token.expires_at_us) : SqlValue(SqlNull{}),
          EncodeRoles(token.roles),
          token.parent_id.empty() ? SqlValue(SqlNull{}) : SqlValue(token.parent_id)};
}

std::vector<SqlValue> DeviceValues(const DeviceRecord& d) {
  return {SqlBlob{d.code_hash},
          d.user_code,
          d.created_at_us,
          d.expires_at_us,
          d.interval_s,
          d.last_poll_us ? SqlValue(*d.last_poll_us) : SqlValue(SqlNull{}),
          d.state,
          d.user_id,
          d.session_id};
}

std::string EncodeRoles(const std::vector<TokenRole>& roles) {
  std::string out;
  for (const TokenRole& r : roles) {
    if (!out.empty()) out += ';';
    out += std::to_string(r.project_id) + ':' + r.role + ':' + JoinPrincipals(r.principals);
  }
  return out;
}

StatusOr<std::vector<TokenRole>> ParseRoles(std::string_view text) {
  const Status corrupt = Internal("corrupt token roles in the database");
  std::vector<TokenRole> roles;
  while (!text.empty()) {
    const size_t end = text.find(';');
    std::string_view item = text.substr(0, end);
    const size_t first = item.find(':');
    const size_t second = first == std::string_view::npos ? first : item.find(':', first + 1);
    if (second == std::string_view::npos) return corrupt;
    TokenRole role;
    const std::string_view id = item.substr(0, first);
    auto [ptr, ec] = std::from_chars(id.data(), id.data() + id.size(), role.project_id);
    if (ec != std::errc() || ptr != id.data() + id.size() || role.project_id < 1) return corrupt;
    role.role = std::string(item.substr(first + 1, second - first - 1));
    if (role.role != "viewer" && role.role != "editor" && role.role != "admin") return corrupt;
    role.principals = ParsePrincipals(item.substr(second + 1));
    roles.push_back(std::move(role));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
    if (text.empty()) return corrupt;
  }
  return roles;
}

std::vector<SqlValue> GrantValues(const GrantRecord& grant, Dialect dialect) {
  return {grant.id,
          grant.group,
          grant.user_id,
          grant.user_email,
          JoinProjects(grant.projects, dialect),
          grant.role,
          JoinPrincipals(grant.principals),
          grant.created_at_us};
}

std::vector<SqlValue> JoinTokenValues(const JoinTokenRecord& token) {
  return {token.id,           token.project_id,    SqlBlob{token.secret_hash},
          JoinPrincipals(token.hostnames), token.uses, token.uses_left,
          token.expires_at_us, token.created_at_us, token.created_by};
}

StatusOr<std::vector<int64_t>> ParseProjects(std::string_view text) {
  const Status corrupt = Internal("corrupt token record in the database");
  if (text.starts_with('{')) {
    if (!text.ends_with('}')) return corrupt;
    text = text.substr(1, text.size() - 2);
  }
  std::vector<int64_t> projects;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    int64_t value = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (ec != std::errc() || end != item.data() + item.size()) return corrupt;
    projects.push_back(value);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return corrupt;
  }
  return projects;
}

std::vector<std::string> ParsePrincipals(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

ListSql BuildListSql(const ListQuery& q, Dialect dialect) {
  ListSql out;
  Terms terms(dialect, &out);
  const bool by_created = q.order == OrderBy::kCreatedAtAsc || q.order == OrderBy::kCreatedAtDesc;
  // A label selector with an equality term, in one project, ordered by creation: walk the
  // label index (project, name, value, created_at, key) in order instead of the project.
  const LabelTerm* driver = nullptr;
  if (q.project_id && by_created) {
    for (const LabelTerm& t : q.labels) {
      if (t.op == LabelTerm::Op::kEquals) {
        driver = &t;
        break;
      }
    }
  }
  // The columns the order (and the keyset) is on.
  std::string created = "k.created_at_us";
  std::string id = "k.id";
  if (driver != nullptr) {
    out.from = " FROM key_labels d JOIN keys k ON k.id = d.key_id";
    created = "d.created_at_us";
    id = "d.key_id";
    terms.Add("d.project_id = # AND d.name = # AND d.value = #",
              {*q.project_id, driver->key, driver->value}, 'L');
  } else {
    out.from = " FROM keys k";
  }
  if (q.project_id) {
    if (driver == nullptr) terms.Add("k.project_id = #", {*q.project_id}, 'p');
  } else if (!q.project_ids.empty()) {
    std::string in = "k.project_id IN (";
    for (size_t i = 0; i < q.project_ids.size(); ++i) {
      in += (i > 0 ? ", " : "") + terms.Next();
      terms.Push(q.project_ids[i]);
    }
    terms.AddRaw(in + ")", 'P');
    out.shape += std::to_string(q.project_ids.size());
  }
  if (q.owner_id) terms.Add("k.user_id = #", {*q.owner_id}, 'o');
  if (q.visible_to_user) {
    terms.Add("(k.shared_in_project = TRUE OR k.user_id = #)", {*q.visible_to_user}, 'v');
  }
  if (!q.name_contains.empty()) {
    // LIKE (SQLite) and ILIKE on a "C"-collation column (PostgreSQL) fold ASCII letters
    // only, as the contract says.
    terms.Add(std::string("k.name ") + (dialect == Dialect::kSqlite ? "LIKE" : "ILIKE") +
                  " # ESCAPE '\\'",
              {ContainsPattern(q.name_contains)}, 'n');
    out.counted_columns_only = false;
  }
  if (!q.fingerprint.empty()) terms.Add("k.fingerprint = #", {q.fingerprint}, 'f');
  if (!q.fingerprint_sha256.empty()) {
    terms.Add("k.fingerprint_sha256 = #", {q.fingerprint_sha256}, 's');
  }
  if (!q.type.empty()) terms.Add("k.type = #", {q.type}, 't');
  for (const LabelTerm& t : q.labels) {
    if (&t == driver) continue;
    const bool with_value = t.op == LabelTerm::Op::kEquals || t.op == LabelTerm::Op::kNotEquals;
    static constexpr char kTags[] = {'e', 'E', 'x', 'X'};  // one statement shape per op
    const char tag = kTags[static_cast<int>(t.op)];
    if (with_value) {
      terms.Add(LabelTermSql(t.op), {t.key, t.value}, tag);
    } else {
      terms.Add(LabelTermSql(t.op), {t.key}, tag);
    }
  }
  if (q.usable) {
    const char* usable =
        "(k.disabled = FALSE AND (k.expires_at_us IS NULL OR k.expires_at_us > #))";
    const char* unusable =
        "(k.disabled = TRUE OR (k.expires_at_us IS NOT NULL AND k.expires_at_us <= #))";
    terms.Add(*q.usable ? usable : unusable, {q.now_us}, *q.usable ? 'u' : 'U');
  }
  if (q.owner_enabled) {
    terms.Add("NOT EXISTS (SELECT 1 FROM users u WHERE u.id = k.user_id AND u.disabled = TRUE)", {},
              'd');
  }
  if (!q.fingerprint.empty() || !q.fingerprint_sha256.empty() || !q.type.empty() ||
      !q.labels.empty() || q.usable || q.owner_enabled || !q.project_ids.empty()) {
    out.counted_columns_only = false;
  }
  // Keyset: only keys after the cursor. The first term bounds an index range; the second
  // leaves out the keys at the boundary up to and including the cursor.
  const bool unique_names = q.project_id.has_value();  // names are unique in a project
  if (q.after) {
    // Only the parameters the order uses (PostgreSQL cannot type an unused one).
    auto param = [&terms](SqlValue v) {
      const std::string p = terms.Next();
      terms.Push(std::move(v));
      return p;
    };
    switch (q.order) {
      case OrderBy::kCreatedAtAsc:
      case OrderBy::kCreatedAtDesc: {
        const char* cmp = q.order == OrderBy::kCreatedAtAsc ? ">" : "<";
        const std::string c = param(q.after->created_at_us);
        const std::string i = param(q.after->id);
        terms.AddRaw(created + " " + cmp + "= " + c + " AND (" + created + " " + cmp + " " + c +
                         " OR " + id + " > " + i + ")",
                     'a');
        break;
      }
      case OrderBy::kNameAsc:
      case OrderBy::kNameDesc: {
        const char* cmp = q.order == OrderBy::kNameAsc ? ">" : "<";
        const std::string n = param(q.after->name);
        if (unique_names) {
          terms.AddRaw("k.name " + std::string(cmp) + " " + n, 'a');
        } else {
          const std::string i = param(q.after->id);
          terms.AddRaw("k.name " + std::string(cmp) + "= " + n + " AND (k.name " + cmp + " " + n +
                           " OR k.id > " + i + ")",
                       'a');
        }
        break;
      }
    }
    out.counted_columns_only = false;
  }
  // Ties are broken by id. Within one project names are unique, so name order needs no
  // tie-break there, which lets the (project_id, name) index give the order by itself.
  switch (q.order) {
    case OrderBy::kCreatedAtAsc:
      out.order = " ORDER BY " + created + " ASC, " + id + " ASC";
      out.shape += "_ca";
      break;
    case OrderBy::kCreatedAtDesc:
      out.order = " ORDER BY " + created + " DESC, " + id + " ASC";
      out.shape += "_cd";
      break;
    case OrderBy::kNameAsc:
      out.order = unique_names ? " ORDER BY k.name ASC" : " ORDER BY k.name ASC, k.id ASC";
      out.shape += "_na";
      break;
    case OrderBy::kNameDesc:
      out.order = unique_names ? " ORDER BY k.name DESC" : " ORDER BY k.name DESC, k.id ASC";
      out.shape += "_nd";
      break;
  }
  return out;
}

}  // namespace keypaird::store::sql
