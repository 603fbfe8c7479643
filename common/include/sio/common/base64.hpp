#pragma once
/// Standard base64 (RFC 4648 §4, with padding), as used by HAR bodies, Chrome's binary
/// WebSocket frames and Engine.IO "b<base64>" packets.

#include "sio/common/result.hpp"

#include <string>
#include <string_view>

namespace sio {

/// Encodes bytes as padded standard base64.
std::string base64_encode(std::string_view bytes);

/// Decodes standard base64. Padding is optional; whitespace is not allowed. Errors name the byte
/// offset of the first bad character.
Result<std::string> base64_decode(std::string_view text);

} // namespace sio
