// What keypaird's own API (/api/v1) puts in URLs and headers: list cursors, label
// selectors and ETags. Pure functions, fuzzed through the request fuzzer.
#ifndef KEYPAIRD_HTTP_NATIVE_CODEC_H_
#define KEYPAIRD_HTTP_NATIVE_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::http {

// A list cursor: the last key of a page and the order it was listed in, as an opaque
// URL-safe token ("c1." + base64url). It carries a checksum, so a cursor that was cut or
// edited is refused (kInvalidArgument on "cursor") rather than read as another position;
// it is not a secret and grants nothing (every page still applies the caller's
// visibility). A cursor from a list in another order is refused too.
std::string EncodeCursor(store::OrderBy order, const store::KeyRecord& last);
StatusOr<store::KeyCursor> DecodeCursor(std::string_view token, store::OrderBy order);

// The cursor of the audit trail's pages: the last event shown (opaque, checksummed).
std::string EncodeEventCursor(const store::EventRecord& last);
StatusOr<store::EventCursor> DecodeEventCursor(std::string_view token);

// The project of a /api/v1/projects/{project_id}/... path (its first capture); 400 on
// "project_id" when it is not one.
StatusOr<int64_t> ProjectOf(const std::vector<std::string>& params);

// A label selector: a comma-separated AND of k=v (or k==v), k!=v, k (has label k) and
// !k (has not), as in Kubernetes; kInvalidArgument on "label_selector" when malformed or
// when a key or value breaks the label rules. At most 32 terms.
StatusOr<std::vector<store::LabelTerm>> ParseLabelSelector(std::string_view text);

// A key's strong ETag: "\"<id>/<revision>\"", new with every change of the key.
std::string ETagOf(const store::KeyRecord& key);
// True if an If-None-Match header names `etag` (weak comparison) or is "*": answer 304.
bool IfNoneMatchHits(const std::optional<std::string>& header, std::string_view etag);
// The revision an If-Match header asks for, for the key `id`: nullopt when the header is
// absent or "*"; kFailedPrecondition when no entity tag in it is one of this key's
// (another key's, a weak tag, or garbage).
StatusOr<std::optional<int64_t>> IfMatchRevision(const std::optional<std::string>& header,
                                                 std::string_view id);

// The `hosts` of a known_hosts request: comma-separated known_hosts patterns (letters,
// digits, '.', '-', '_', ':', '*', '?', a leading '!'), "*" when absent; kInvalidArgument on
// "hosts" otherwise. At most 64 patterns, 1024 bytes.
StatusOr<std::string> KnownHostsPatterns(const std::optional<std::string>& hosts);
// known_hosts lines: "@cert-authority PATTERNS KEYLINE\n" for each host CA key line.
std::string KnownHostsText(std::string_view patterns, const std::vector<std::string>& ca_lines);

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_NATIVE_CODEC_H_
