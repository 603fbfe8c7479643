#include "sio/common/url.hpp"

#include <charconv>

namespace sio {
namespace {

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

int hex(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

int default_port(std::string_view scheme) noexcept {
  if (scheme == "http" || scheme == "ws") return 80;
  if (scheme == "https" || scheme == "wss") return 443;
  return 0;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      const int h = hex(s[i + 1]);
      const int l = hex(s[i + 2]);
      if (h >= 0 && l >= 0) {
        out += static_cast<char>(h * 16 + l);
        i += 2;
        continue;
      }
    }
    out += (c == '+' && plus_is_space) ? ' ' : c;
  }
  return out;
}

std::string percent_encode(std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += digits[u >> 4];
      out += digits[u & 15];
    }
  }
  return out;
}

Result<Url> parse_url(std::string_view text) {
  Url u;
  const auto colon = text.find("://");
  if (colon == std::string_view::npos || colon == 0)
    return fail(errc::bad_har, "not an absolute URL (no scheme://): '" + std::string(text) + "'");
  for (const char c : text.substr(0, colon)) u.scheme += lower(c);
  std::string_view rest = text.substr(colon + 3);
  const auto hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  if (authority.empty())
    return fail(errc::bad_har, "URL without a host: '" + std::string(text) + "'");
  std::string_view port_text;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return fail(errc::bad_har, "URL with an unclosed IPv6 bracket: '" + std::string(text) + "'");
    u.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port_text = authority.substr(close + 2);
  } else {
    const auto pc = authority.rfind(':');
    u.host = std::string(authority.substr(0, pc));
    if (pc != std::string_view::npos) port_text = authority.substr(pc + 1);
  }
  for (auto& c : u.host) c = lower(c);
  u.port = default_port(u.scheme);
  if (!port_text.empty()) {
    int p = 0;
    const auto [ptr, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || p <= 0 || p > 65535)
      return fail(errc::bad_har, "URL with a bad port: '" + std::string(text) + "'");
    u.port = p;
  }
  const auto q = rest.find('?');
  u.path = std::string(rest.substr(0, q));
  if (u.path.empty()) u.path = "/";
  if (q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      if (!pair.empty()) {
        const auto eq = pair.find('=');
        u.query.emplace_back(percent_decode(pair.substr(0, eq)),
                             eq == std::string_view::npos ? std::string()
                                                          : percent_decode(pair.substr(eq + 1)));
      }
      if (amp == std::string_view::npos) break;
      query = query.substr(amp + 1);
    }
  }
  return u;
}

std::string_view Url::param(std::string_view name) const noexcept {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return {};
}

bool Url::has_param(std::string_view name) const noexcept {
  for (const auto& [k, v] : query)
    if (k == name) return true;
  return false;
}

std::string Url::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string o = scheme + "://" + (v6 ? "[" + host + "]" : host);
  if (port != default_port(scheme)) o += ":" + std::to_string(port);
  return o;
}

} // namespace sio
