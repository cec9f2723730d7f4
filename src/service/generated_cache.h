// service: GeneratedCache — texts a node generated from the store for a project (its KRL,
// its authorized_keys answers), each kept with the project's generation it was built at,
// so that a request that reads the same generation sends the kept bytes instead of
// building them again (docs/BENCHMARKS.md "The login path's caches").
//
// Exact, like the token cache: every change to what such a text is built from moves the
// project's generation in the change's own transaction (KeyReader::GenerationsOf, kept by
// triggers, so the command line and other nodes move it too). A builder reads the
// generation first and the rest after it, so a text kept under generation g holds every
// change up to g (and perhaps some after: never fewer); a request that reads g gets it, one
// that reads a later generation builds anew. What the clock alone retires (a certificate's
// or a key's expiry) is covered by each text's own deadline: it is used only before it.
//
// Bounded: at most `max_entries` texts and `max_bytes` of them (the cache empties itself
// when either would be passed), and a text over an eighth of `max_bytes` is never kept — a
// caller who asks for many different large answers (every key of a big project under many
// selectors) costs the service its reads, not its memory. Keyed by what the builder says
// names the answer (project, the caller's view, the query). Thread-safe.
#ifndef KEYPAIRD_SERVICE_GENERATED_CACHE_H_
#define KEYPAIRD_SERVICE_GENERATED_CACHE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace keypaird::service {

// A generated text and its strong validator.
struct GeneratedText {
  std::shared_ptr<const std::string> body;
  std::string etag;  // BodyETag(*body)
};

// `body` with its ETag.
GeneratedText MakeGeneratedText(std::string body);

// What a request found: the generation it read (what a text it builds next is kept for;
// nullopt where the store keeps none) and the text kept for that generation, if any.
struct GeneratedLookup {
  std::optional<int64_t> generation;
  std::optional<GeneratedText> kept;
};

class GeneratedCache {
 public:
  static constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

  explicit GeneratedCache(size_t max_entries = 10000, size_t max_bytes = 64 << 20)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The text kept under `key` built at `generation`, if `now_us` is before its deadline.
  std::optional<GeneratedText> Find(std::string_view key, int64_t generation, int64_t now_us) const;
  // The same as a GeneratedLookup; nothing is found without a generation.
  GeneratedLookup LookUp(std::string_view key, std::optional<int64_t> generation,
                         int64_t now_us) const;
  // Keeps `text`, built at `generation` and right until `valid_until_us` (exclusive). A text
  // of an older generation than the one kept under `key` is not kept, nor one too large.
  void Keep(std::string key, int64_t generation, int64_t valid_until_us, GeneratedText text);

  size_t size() const;
  size_t bytes() const;  // of the texts kept

 private:
  struct Entry {
    int64_t generation = 0;
    int64_t valid_until_us = 0;
    GeneratedText text;
  };
  struct KeyHash {  // finds by string_view without making a string
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  const size_t max_entries_;
  const size_t max_bytes_;
  mutable std::shared_mutex mu_;
  size_t bytes_ = 0;
  std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> entries_;
};

}  // namespace keypaird::service

#endif  // KEYPAIRD_SERVICE_GENERATED_CACHE_H_
