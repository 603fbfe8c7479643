#include "sio/common/cookie.hpp"

#include "sio/common/url.hpp"

namespace sio {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::pair<std::string, std::string>> parse_cookie_header(std::string_view header) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!header.empty()) {
    const auto semi = header.find(';');
    const std::string_view part = trim(header.substr(0, semi));
    if (!part.empty()) {
      const auto eq = part.find('=');
      if (eq != std::string_view::npos)
        out.emplace_back(std::string(trim(part.substr(0, eq))),
                         std::string(trim(part.substr(eq + 1))));
      else
        out.emplace_back(std::string(), std::string(part)); // a nameless cookie (RFC 6265 §5.2)
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return out;
}

bool parse_set_cookie(std::string_view header, SetCookie& out) {
  out = SetCookie{}; // a reused result must not keep the previous cookie's Path or Domain
  const auto semi = header.find(';');
  const std::string_view pair = trim(header.substr(0, semi));
  const auto eq = pair.find('=');
  if (eq == std::string_view::npos) return false;
  out.name = std::string(trim(pair.substr(0, eq)));
  out.value = std::string(trim(pair.substr(eq + 1)));
  if (out.value.size() >= 2 && out.value.front() == '"' && out.value.back() == '"')
    out.value = out.value.substr(1, out.value.size() - 2);
  out.attributes =
      semi == std::string_view::npos ? std::string() : std::string(trim(header.substr(semi + 1)));
  std::string_view attrs = out.attributes;
  while (!attrs.empty()) {
    const auto s = attrs.find(';');
    const std::string_view a = trim(attrs.substr(0, s));
    const auto e = a.find('=');
    const std::string_view key = trim(a.substr(0, e));
    const std::string_view val =
        e == std::string_view::npos ? std::string_view() : trim(a.substr(e + 1));
    if (iequals(key, "path")) out.path = std::string(val);
    if (iequals(key, "domain")) out.domain = std::string(val);
    if (s == std::string_view::npos) break;
    attrs.remove_prefix(s + 1);
  }
  return !out.name.empty();
}

} // namespace sio
