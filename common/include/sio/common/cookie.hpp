#pragma once
/// Cookie headers: "Cookie: a=1; b=2" and "Set-Cookie: name=value; Path=/; HttpOnly".

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sio {

/// Splits a Cookie request header into (name, value) pairs, in order.
std::vector<std::pair<std::string, std::string>> parse_cookie_header(std::string_view header);

/// One Set-Cookie header.
struct SetCookie {
  std::string name;
  std::string value;
  std::string attributes; ///< everything after the first ';', trimmed ("Path=/; HttpOnly")
  std::string path;       ///< the Path attribute, empty when absent
  std::string domain;     ///< the Domain attribute, empty when absent
};

/// Parses a Set-Cookie header value. Returns false when it has no name=value pair.
bool parse_set_cookie(std::string_view header, SetCookie& out);

/// Trims ASCII spaces and tabs at both ends.
std::string_view trim(std::string_view s) noexcept;

} // namespace sio
