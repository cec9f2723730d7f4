#include "http/native_codec.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/base64.h"
#include "common/digest.h"
#include "common/strings.h"
#include "http/decoding.h"
#include "service/key_service.h"
#include "sshkey/wire.h"

namespace keypaird::http {
namespace {

constexpr std::string_view kCursorPrefix = "c1.";
constexpr std::string_view kEventCursorPrefix = "e1.";

std::string Checksum(std::string_view payload) {
  static const Digest kSha256("SHA256");
  return kSha256.Of(std::string("keypaird-cursor/") + std::string(payload)).substr(0, 8);
}

Status BadCursor() {
  return InvalidArgument("The cursor is not valid for this list.")
      .WithField("cursor",
                 "Not a cursor of this list: use next_cursor from the previous page as it is, "
                 "with the same order_by.");
}

Status BadSelector(std::string message) {
  return InvalidArgument("Invalid label selector.").WithField("label_selector", std::move(message));
}

}  // namespace

StatusOr<int64_t> ProjectOf(const std::vector<std::string>& params) {
  int64_t project_id = 0;
  if (Status s = PathInt(params[0], "project_id", &project_id); !s.ok()) return s;
  return project_id;
}

std::string EncodeCursor(store::OrderBy order, const store::KeyRecord& last) {
  std::string payload;
  sshkey::AppendU8(&payload, static_cast<uint8_t>(order));
  sshkey::AppendU64(&payload, static_cast<uint64_t>(last.created_at_us));
  sshkey::AppendString(&payload, last.id);
  sshkey::AppendString(&payload, last.name);
  return std::string(kCursorPrefix) + Base64UrlEncode(payload + Checksum(payload));
}

StatusOr<store::KeyCursor> DecodeCursor(std::string_view token, store::OrderBy order) {
  if (!token.starts_with(kCursorPrefix) || token.size() > 512) return BadCursor();
  std::string raw;
  const std::string_view encoded = token.substr(kCursorPrefix.size());
  // Only the canonical encoding: no extra characters, no stray padding bits.
  if (!Base64UrlDecode(encoded, &raw) || raw.size() < 8 || Base64UrlEncode(raw) != encoded) {
    return BadCursor();
  }
  const std::string_view payload = std::string_view(raw).substr(0, raw.size() - 8);
  if (Checksum(payload) != raw.substr(raw.size() - 8)) return BadCursor();
  sshkey::WireReader r(payload);
  uint8_t cursor_order = 0;
  uint64_t created = 0;
  std::string_view id;
  std::string_view name;
  if (!r.ReadU8(&cursor_order) || !r.ReadU64(&created) || !r.ReadString(&id) ||
      !r.ReadString(&name) || !r.empty() || cursor_order != static_cast<uint8_t>(order)) {
    return BadCursor();
  }
  return store::KeyCursor{static_cast<int64_t>(created), std::string(name), std::string(id)};
}

std::string EncodeEventCursor(const store::EventRecord& last) {
  std::string payload;
  sshkey::AppendU64(&payload, static_cast<uint64_t>(last.time_us));
  sshkey::AppendString(&payload, last.id);
  return std::string(kEventCursorPrefix) + Base64UrlEncode(payload + Checksum(payload));
}

StatusOr<store::EventCursor> DecodeEventCursor(std::string_view token) {
  if (!token.starts_with(kEventCursorPrefix) || token.size() > 512) return BadCursor();
  std::string raw;
  const std::string_view encoded = token.substr(kEventCursorPrefix.size());
  if (!Base64UrlDecode(encoded, &raw) || raw.size() < 8 || Base64UrlEncode(raw) != encoded) {
    return BadCursor();
  }
  const std::string_view payload = std::string_view(raw).substr(0, raw.size() - 8);
  if (Checksum(payload) != raw.substr(raw.size() - 8)) return BadCursor();
  sshkey::WireReader r(payload);
  uint64_t time = 0;
  std::string_view id;
  if (!r.ReadU64(&time) || !r.ReadString(&id) || !r.empty()) return BadCursor();
  return store::EventCursor{static_cast<int64_t>(time), std::string(id)};
}

StatusOr<std::vector<store::LabelTerm>> ParseLabelSelector(std::string_view text) {
  using Op = store::LabelTerm::Op;
  std::vector<store::LabelTerm> terms;
  if (TrimBlanks(text).empty()) return BadSelector("The selector is empty.");
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view term = TrimBlanks(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (term.empty()) return BadSelector("An empty term (two commas, or a comma at an end).");
    store::LabelTerm t;
    size_t op_at;
    if ((op_at = term.find("!=")) != std::string_view::npos) {
      t.op = Op::kNotEquals;
      t.key = std::string(TrimBlanks(term.substr(0, op_at)));
      t.value = std::string(TrimBlanks(term.substr(op_at + 2)));
    } else if ((op_at = term.find('=')) != std::string_view::npos) {
      t.op = Op::kEquals;
      const size_t skip = term.substr(op_at).starts_with("==") ? 2 : 1;
      t.key = std::string(TrimBlanks(term.substr(0, op_at)));
      t.value = std::string(TrimBlanks(term.substr(op_at + skip)));
    } else if (term.starts_with('!')) {
      t.op = Op::kNotExists;
      t.key = std::string(TrimBlanks(term.substr(1)));
    } else {
      t.op = Op::kExists;
      t.key = std::string(term);
    }
    if (!service::IsLabelKey(t.key)) {
      return BadSelector("'" + std::string(term) + "': the label key is not valid.");
    }
    if (!service::IsLabelValue(t.value)) {
      return BadSelector("'" + std::string(term) + "': the label value is not valid.");
    }
    terms.push_back(std::move(t));
    if (terms.size() > 32) return BadSelector("At most 32 terms.");
  }
  return terms;
}

std::string ETagOf(const store::KeyRecord& key) {
  return "\"" + key.id + "/" + std::to_string(key.revision) + "\"";
}

namespace {

// The entity tags of an If-Match / If-None-Match list, trimmed ("*" included as is).
std::vector<std::string_view> EntityTags(std::string_view header) {
  std::vector<std::string_view> tags;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    if (std::string_view tag = TrimBlanks(header.substr(pos, comma - pos)); !tag.empty()) {
      tags.push_back(tag);
    }
    pos = comma + 1;
  }
  return tags;
}

}  // namespace

bool IfNoneMatchHits(const std::optional<std::string>& header, std::string_view etag) {
  if (!header.has_value()) return false;
  for (std::string_view tag : EntityTags(*header)) {
    if (tag.starts_with("W/")) tag.remove_prefix(2);  // weak comparison
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

StatusOr<std::optional<int64_t>> IfMatchRevision(const std::optional<std::string>& header,
                                                 std::string_view id) {
  if (!header.has_value()) return std::optional<int64_t>();
  if (TrimBlanks(*header) == "*") return std::optional<int64_t>();
  for (std::string_view tag : EntityTags(*header)) {
    // Strong tags only: "<id>/<revision>" in quotes.
    if (tag.size() < 2 || tag.front() != '"' || tag.back() != '"') continue;
    tag = tag.substr(1, tag.size() - 2);
    const size_t slash = tag.rfind('/');
    if (slash == std::string_view::npos || tag.substr(0, slash) != id) continue;
    int64_t revision = 0;
    const std::string_view digits = tag.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), revision);
    if (ec == std::errc() && end == digits.data() + digits.size() && revision > 0) {
      return std::optional<int64_t>(revision);
    }
  }
  return FailedPrecondition(
      "If-Match names no version of this key: read it again and use its ETag.");
}

StatusOr<std::string> KnownHostsPatterns(const std::optional<std::string>& hosts) {
  if (!hosts.has_value()) return std::string("*");
  const Status bad = InvalidArgument("Invalid value for hosts: comma-separated known_hosts "
                                     "patterns (letters, digits, '.', '-', '_', ':', '*', '?', "
                                     "a leading '!'), at most 64, 1024 bytes.")
                         .WithField("hosts",
                                    "Comma-separated known_hosts patterns, at most 64.");
  if (hosts->empty() || hosts->size() > 1024) return bad;
  size_t count = 0;
  for (size_t start = 0; start <= hosts->size();) {
    const size_t comma = std::min(hosts->find(',', start), hosts->size());
    std::string_view pattern = std::string_view(*hosts).substr(start, comma - start);
    if (pattern.starts_with('!')) pattern.remove_prefix(1);
    if (pattern.empty() || ++count > 64) return bad;
    for (char c : pattern) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 &&
          std::string_view(".-_:*?").find(c) == std::string_view::npos) {
        return bad;
      }
    }
    start = comma + 1;
  }
  return *hosts;
}

std::string KnownHostsText(std::string_view patterns, const std::vector<std::string>& ca_lines) {
  std::string out;
  for (const std::string& line : ca_lines) {
    out.append("@cert-authority ").append(patterns).append(" ").append(line).append("\n");
  }
  return out;
}

}  // namespace keypaird::http
