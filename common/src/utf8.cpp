#include "sio/common/utf8.hpp"

#include <cstdint>

namespace sio {
namespace {

/// Length of the UTF-8 sequence starting at s[i] if it is well-formed, else 0.
std::size_t sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  const auto cont = [&](std::size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0; // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

} // namespace

std::size_t utf16_length(std::string_view utf8) noexcept {
  std::size_t units = 0;
  for (std::size_t i = 0; i < utf8.size();) {
    const std::size_t n = sequence_length(utf8, i);
    if (n == 0) {
      ++units;
      ++i;
      continue;
    }
    units += n == 4 ? 2 : 1;
    i += n;
  }
  return units;
}

std::optional<std::size_t> utf8_prefix_for_utf16_units(std::string_view utf8,
                                                       std::size_t units) noexcept {
  std::size_t i = 0;
  std::size_t counted = 0;
  while (counted < units) {
    if (i >= utf8.size()) return std::nullopt;
    std::size_t n = sequence_length(utf8, i);
    std::size_t u = n == 4 ? 2 : 1;
    if (n == 0) n = 1;
    if (counted + u > units) return std::nullopt; // the count ends inside a surrogate pair
    counted += u;
    i += n;
  }
  return i;
}

std::size_t valid_utf8_prefix(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = sequence_length(s, i);
    if (n == 0) break;
    i += n;
  }
  return i;
}

bool is_valid_utf8(std::string_view s) noexcept {
  return valid_utf8_prefix(s) == s.size();
}

void append_utf8(std::string& out, char32_t cp) {
  const auto put = [&](std::uint32_t v) { out += static_cast<char>(v); };
  /// Above U+10FFFF there is no UTF-8 form; write U+FFFD as a decoder would.
  const auto c = cp > 0x10FFFF ? std::uint32_t{0xFFFD} : static_cast<std::uint32_t>(cp);
  if (c < 0x80) {
    put(c);
  } else if (c < 0x800) {
    put(0xC0 | c >> 6);
    put(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    put(0xE0 | c >> 12);
    put(0x80 | (c >> 6 & 0x3F));
    put(0x80 | (c & 0x3F));
  } else {
    put(0xF0 | c >> 18);
    put(0x80 | (c >> 12 & 0x3F));
    put(0x80 | (c >> 6 & 0x3F));
    put(0x80 | (c & 0x3F));
  }
}

} // namespace sio
