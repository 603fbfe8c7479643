#pragma once
/// Just enough URL handling for Engine.IO endpoints: split, query parameters, origin.

#include "sio/common/result.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sio {

/// A parsed absolute URL (scheme://host[:port]/path?query).
struct Url {
  std::string scheme;                                     ///< lower case: http, https, ws, wss
  std::string host;                                       ///< without brackets for IPv6
  int port = 0;                                           ///< explicit or the scheme's default
  std::string path;                                       ///< "/" when empty
  std::vector<std::pair<std::string, std::string>> query; ///< decoded, in order

  /// The value of the first query parameter `name`, or empty.
  [[nodiscard]] std::string_view param(std::string_view name) const noexcept;
  /// True when the query has `name`.
  [[nodiscard]] bool has_param(std::string_view name) const noexcept;
  /// "scheme://host:port" (default ports omitted, IPv6 in brackets).
  [[nodiscard]] std::string origin() const;
  /// "host:port".
  [[nodiscard]] std::string authority() const;
};

/// Parses an absolute URL. Errors say which part is malformed.
Result<Url> parse_url(std::string_view text);

/// Decodes %XX escapes (and '+' as space when `plus_is_space`). Bad escapes are kept as-is.
std::string percent_decode(std::string_view s, bool plus_is_space = true);

/// Encodes a query component: unreserved characters stay, everything else becomes %XX.
std::string percent_encode(std::string_view s);

/// Default port of a scheme (80/443), 0 when unknown.
int default_port(std::string_view scheme) noexcept;

/// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b) noexcept;

} // namespace sio
