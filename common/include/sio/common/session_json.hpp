#pragma once
/// The recording's JSON Lines form (docs/recording.md): a header line, one line per session,
/// a diagnostics trailer. Writing is deterministic: the same Recording gives the same bytes.

#include "sio/common/file_io.hpp"
#include "sio/common/session.hpp"

#include <string>
#include <string_view>

namespace sio {

/// The header line (without newline).
std::string recording_header_line(const Recording& rec);
/// The header line from counts (streaming writers, which know them only at the end).
std::string recording_header_line(const std::vector<std::string>& sources, std::uint64_t sessions,
                                  std::uint64_t messages);
/// Appends one session as a JSON object (without newline) to `out`. Messages are written
/// straight from the model, without building a JSON tree of the whole session.
void append_session_line(std::string& out, const Session& s);
/// One session as a JSON value (convenience for tests and tools; parses append_session_line).
Json session_to_json(const Session& s);
/// The diagnostics trailer line (without newline).
std::string recording_diagnostics_line(const Recording& rec);

/// Writes the whole recording to `out` (the caller commits it).
void write_recording(const Recording& rec, AtomicOutput& out);
/// The whole recording as text (header, sessions, diagnostics; one per line).
std::string recording_text(const Recording& rec);

/// Serialises a JSON value compactly, as JSON.stringify would (UTF-8 kept, never throws).
std::string dump_json(const Json& j);

/// Appends `j` to `out` as compact JSON, byte for byte what dump_json(j) writes, without a new
/// string per value for the common cases (short strings, integers).
void append_json(std::string& out, const Json& j);
/// Appends `s` as a JSON string, as dump_json writes it.
void append_json_string(std::string& out, std::string_view s);

/// nlohmann's parse error for a message: without its "[json.exception...] parse error at line
/// L, column C: " prefix (callers print the place their own way), and the bytes it quotes
/// escaped as \xNN (a binary file must not print raw bytes to the terminal). Also for the
/// other errors a parse can raise: a number past double's range ("1e999") is an out_of_range
/// error, not a parse_error.
std::string json_parse_error_text(const Json::exception& e);
/// Where in `text` a parse of it failed with `e`: the byte offset (0-based) a parse_error
/// names, or where the number an out_of_range error quotes starts (0 when not found).
std::size_t json_parse_error_offset(const Json::exception& e, std::string_view text);

/// Reads a session back from its JSON object. Errors name the field.
Result<Session> session_from_json(const Json& j);

/// Reads a whole recording. `name` is used in errors ("rec.jsonl: line 3: ...").
Result<Recording> read_recording(std::string_view text, const std::string& name);

} // namespace sio
