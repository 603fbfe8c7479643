#pragma once
/// UTF-8 helpers for protocol quirks (Engine.IO v3 counts lengths in UTF-16 code units).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sio {

/// Length of `utf8` in UTF-16 code units (JavaScript's String.length): 2 per code point above
/// U+FFFF, 1 otherwise. Invalid bytes count 1 each (as a decoder's U+FFFD would).
std::size_t utf16_length(std::string_view utf8) noexcept;

/// Byte length of the longest prefix of `utf8` that is exactly `units` UTF-16 code units long,
/// or nullopt when the text is shorter or the count ends inside a surrogate pair.
std::optional<std::size_t> utf8_prefix_for_utf16_units(std::string_view utf8,
                                                       std::size_t units) noexcept;

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

/// Byte length of the longest well-formed UTF-8 prefix of `s` (`s.size()` when all of it is):
/// the offset of the first bad byte, for error messages.
std::size_t valid_utf8_prefix(std::string_view s) noexcept;

/// Appends code point `cp` to `out` as UTF-8 (surrogates are written as-is, WTF-8 style).
void append_utf8(std::string& out, char32_t cp);

} // namespace sio
