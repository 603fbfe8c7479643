#pragma once
/// A fast path for parsing the JSON of Socket.IO packets.
///
/// The recorder parses one JSON document per Socket.IO packet, and nlohmann's parser (a
/// character-at-a-time lexer that copies every token) was the largest single cost of reading a
/// capture. parse_json_fast() reads the same grammar in one pass over the bytes and builds the
/// same nlohmann value. It only says yes when it is sure: anything unusual (a syntax error, a
/// lone surrogate escape, nesting past the limit) makes it return false, and the caller parses
/// the text again with nlohmann, which then gives the value or the exact error.

#include "sio/common/socketio.hpp"

#include <cstddef>
#include <string_view>

namespace sio {

/// Parses `text` (one JSON value, optional whitespace around it) into `out`. Returns false,
/// with `out` unspecified, when the text is not valid JSON, nests arrays/objects deeper than
/// `max_depth`, or has a \u escape of a surrogate; otherwise `out` equals
/// `Json::parse(text)`, number types included (non-negative integers unsigned, negative ones
/// signed, integers past 64 bits and numbers with a fraction or exponent double).
bool parse_json_fast(std::string_view text, Json& out, std::size_t max_depth);

/// The same check without building a value or allocating: true when `text` is certainly one
/// valid JSON value that parse_json_fast would read (false also when it is only unsure). For
/// fast paths that skip the parse but must not take broken JSON for a message.
bool json_surely_valid(std::string_view text, std::size_t max_depth);

} // namespace sio
