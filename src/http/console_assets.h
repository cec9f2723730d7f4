// The web console's files (console/ at the top of the repository), embedded in the binary
// at build time: cmake/embed_files.cmake writes their bytes into a generated source file
// of the keypaird_console_assets library, so the one binary serves the console with
// nothing else installed. The bytes live in static storage for the life of the process;
// everything here is immutable and safe to read from any thread.
//
// A route serving GET /console/{file} looks the file up by its path below console/ and
// answers with its bytes, content type and ETag (see README.md "Console" for the headers
// it must add).
#ifndef KEYPAIRD_HTTP_CONSOLE_ASSETS_H_
#define KEYPAIRD_HTTP_CONSOLE_ASSETS_H_

#include <span>
#include <string_view>

namespace keypaird::http {

struct ConsoleAsset {
  std::string_view path;  // below console/, e.g. "index.html", "app.js"
  // "text/html; charset=utf-8", ...; a NUL-terminated literal, as HttpResponse wants.
  const char* content_type;
  std::string_view bytes;
  std::string_view etag;  // strong, quoted: "\"<32 hex digits of the SHA-256>\""
};

// The asset at `path` (relative to console/, no leading '/'), or null if there is none.
// The empty path (the console's root, /console/) is "index.html". No path with a "."
// or ".." segment, a leading '/' or a hidden name ever matches: only the embedded files
// exist here.
const ConsoleAsset* FindConsoleAsset(std::string_view path);

// Every embedded file, sorted by path. Defined in the generated source.
std::span<const ConsoleAsset> ConsoleAssets();

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_CONSOLE_ASSETS_H_
