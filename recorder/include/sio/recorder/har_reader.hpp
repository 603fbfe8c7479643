#pragma once
/// HAR 1.2 reader (Chrome/Chromium DevTools, Playwright, Firefox, chrome-har): streams the
/// entries of a HAR held in memory and feeds Engine.IO traffic to a SessionBuilder.
///
/// - websocket entries: Chrome's `_webSocketMessages` (time in epoch seconds; Playwright writes
///   milliseconds), opcode 1 text, 2 base64 binary, -1 error items skipped;
/// - polling XHR/fetch entries: POST request bodies (client->server) at startedDateTime, GET
///   response bodies (server->client) at startedDateTime + blocked+dns+connect+send+wait,
///   `content.encoding: "base64"` decoded first;
/// - every other entry: a page HTTP exchange (kept for the converter), Set-Cookie recorded.

#include "sio/common/file_io.hpp"
#include "sio/recorder/session_builder.hpp"

#include <cstdint>
#include <string>

namespace sio::recorder {

/// What to take from a HAR.
struct HarOptions {
  std::string path; ///< only Engine.IO requests on this path ("/socket.io/"); empty: any path
};

/// Counts for the summary.
struct HarStats {
  std::string creator;                ///< log.creator.name + version
  std::uint64_t entries = 0;          ///< all entries
  std::uint64_t engineio_entries = 0; ///< polling requests and websocket entries
  std::uint64_t websocket_entries = 0;
  std::uint64_t websocket_frames = 0; ///< text and binary frames read
  std::uint64_t page_entries = 0;     ///< other HTTP exchanges
};

/// Reads `file` (a HAR) into `builder`. Errors name the file, the JSON path and the byte offset;
/// problems inside Engine.IO traffic become diagnostics instead.
Status read_har(InputFile& file, SessionBuilder& builder, const HarOptions& options,
                HarStats& stats);

/// Parses an ISO-8601 date-time ("2026-11-28T00:38:33.562Z", "...+02:00") to epoch µs.
Result<std::int64_t> parse_iso8601_us(std::string_view text);

} // namespace sio::recorder
