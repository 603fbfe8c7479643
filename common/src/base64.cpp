#include "sio/common/base64.hpp"

#include <array>
#include <cstdint>

namespace sio {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_reverse() {
  std::array<std::int8_t, 256> r{};
  for (auto& v : r) v = -1;
  for (int i = 0; i < 64; ++i)
    r[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  return r;
}
constexpr auto reverse = make_reverse();

} // namespace

std::string base64_encode(std::string_view bytes) {
  // Written through a pointer into the sized string: appending a char at a time checked the
  // capacity four times per 3 bytes, and binary attachments are the recorder's largest strings.
  std::string out((bytes.size() + 2) / 3 * 4, '\0');
  char* o = out.data();
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t whole = bytes.size() / 3 * 3;
  for (std::size_t i = 0; i < whole; i += 3, o += 4) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16 | std::uint32_t{in[i + 1]} << 8 | in[i + 2];
    o[0] = alphabet[v >> 18 & 63];
    o[1] = alphabet[v >> 12 & 63];
    o[2] = alphabet[v >> 6 & 63];
    o[3] = alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - whole;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{in[whole]} << 16;
    if (rest == 2) v |= std::uint32_t{in[whole + 1]} << 8;
    o[0] = alphabet[v >> 18 & 63];
    o[1] = alphabet[v >> 12 & 63];
    o[2] = rest == 2 ? alphabet[v >> 6 & 63] : '=';
    o[3] = '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::size_t len = text.size();
  std::size_t pad = 0;
  while (len > 0 && text[len - 1] == '=' && pad < 2) {
    --len;
    ++pad;
  }
  // Characters first, so that the error names the first bad character.
  for (std::size_t i = 0; i < len; ++i) {
    if (reverse[static_cast<unsigned char>(text[i])] < 0)
      return fail(errc::bad_base64, "character outside the base64 alphabet", i);
  }
  if (pad > 0 && text.size() % 4 != 0)
    return fail(errc::bad_base64, "padding in a length that is not a multiple of 4", len);
  if (len % 4 == 1) return fail(errc::bad_base64, "length leaves a lone 6-bit group", len);
  std::string out;
  out.reserve(len / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const std::int8_t v = reverse[static_cast<unsigned char>(text[i])];
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(acc >> bits & 0xFF);
    }
  }
  return out;
}

} // namespace sio
