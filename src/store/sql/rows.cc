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

}  // namespace

std::string Param(Dialect dialect, size_t n) {
  return (dialect == Dialect::kSqlite ? "?" : "$") + std::to_string(n);
}

std::vector<SqlValue> KeyValues(const KeyRecord& key) {
  return {key.id,         key.project_id,  key.user_id,           key.name,
          key.public_key, key.fingerprint, key.shared_in_project, key.created_at_us};
}

std::vector<SqlValue> TokenValues(const TokenRecord& token, Dialect dialect) {
  std::string projects;
  for (int64_t p : token.projects) {
    if (!projects.empty()) projects += ',';
    projects += std::to_string(p);
  }
  if (dialect == Dialect::kPostgres) projects = "{" + projects + "}";
  return {token.id,
          token.user_id,
          token.admin,
          std::move(projects),
          SqlBlob{token.secret_hash},
          token.created_at_us,
          token.revoked_at_us ? SqlValue(*token.revoked_at_us) : SqlValue(SqlNull{})};
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

ListSql BuildListSql(const ListQuery& q, Dialect dialect) {
  ListSql out;
  auto add = [&](const std::string& term, SqlValue value, char tag) {
    out.params.push_back(std::move(value));
    out.where += out.where.empty() ? " WHERE " : " AND ";
    std::string text = term;
    text.replace(text.find('#'), 1, Param(dialect, out.params.size()));
    out.where += text;
    out.shape += tag;
  };
  if (q.project_id) add("project_id = #", *q.project_id, 'p');
  if (q.owner_id) add("user_id = #", *q.owner_id, 'o');
  if (q.visible_to_user) add("(shared_in_project = TRUE OR user_id = #)", *q.visible_to_user, 'v');
  if (!q.name_contains.empty()) {
    // LIKE (SQLite) and ILIKE on a "C"-collation column (PostgreSQL) fold ASCII letters
    // only, as the contract says.
    add(std::string("name ") + (dialect == Dialect::kSqlite ? "LIKE" : "ILIKE") +
            " # ESCAPE '\\'",
        ContainsPattern(q.name_contains), 'n');
    out.counted_columns_only = false;
  }
  // Ties are broken by id. Within one project names are unique, so name order needs no
  // tie-break there, which lets the (project_id, name) index give the order by itself.
  switch (q.order) {
    case OrderBy::kCreatedAtAsc:
      out.order = " ORDER BY created_at_us ASC, id ASC";
      out.shape += "_ca";
      break;
    case OrderBy::kCreatedAtDesc:
      out.order = " ORDER BY created_at_us DESC, id ASC";
      out.shape += "_cd";
      break;
    case OrderBy::kNameAsc:
      out.order = q.project_id ? " ORDER BY name ASC" : " ORDER BY name ASC, id ASC";
      out.shape += "_na";
      break;
    case OrderBy::kNameDesc:
      out.order = q.project_id ? " ORDER BY name DESC" : " ORDER BY name DESC, id ASC";
      out.shape += "_nd";
      break;
  }
  return out;
}

}  // namespace keypaird::store::sql
