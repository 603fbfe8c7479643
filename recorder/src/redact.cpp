#include "sio/recorder/redact.hpp"

#include "sio/common/cookie.hpp"
#include "sio/common/secrets.hpp"
#include "sio/common/session_json.hpp"
#include "sio/common/url.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace sio::recorder {
namespace {

constexpr std::string_view marker_prefix = "[redacted:";
constexpr std::size_t key_bytes = 32;

bool is_marker(std::string_view v) {
  return v.starts_with(marker_prefix) && v.ends_with("]") &&
         v.size() == marker_prefix.size() + 8 + 1;
}

/// Replaces every occurrence of `needle` in `text` by `with`.
void replace_all(std::string& text, const std::string& needle, const std::string& with) {
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + with.size()))
    text.replace(at, needle.size(), with);
}

} // namespace

Redactor::Redactor(RedactOptions options) : options_(std::move(options)), key_(key_bytes, '\0') {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("record --redact: no random key from OpenSSL (RAND_bytes)");
}

Redactor::Redactor(RedactOptions options, std::string key)
    : options_(std::move(options)), key_(std::move(key)) {}

std::string Redactor::marker(std::string_view value) const {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), mac.data(), &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(marker_prefix);
  for (std::size_t i = 0; i < 4; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out + "]";
}

bool Redactor::secret_name(std::string_view name) const {
  if (looks_secret(name)) return true;
  return std::any_of(options_.fields.begin(), options_.fields.end(),
                     [&](const std::string& f) { return iequals(f, name); });
}

bool Redactor::kept_cookie(std::string_view name) const {
  if (is_known_sticky_cookie(name)) return true;
  return std::find(options_.keep_cookies.begin(), options_.keep_cookies.end(), name) !=
         options_.keep_cookies.end();
}

std::string Redactor::hide(std::string_view value) {
  // Empty stays empty ("no token" is worth seeing); a marker stays (a redacted recording
  // redacted again); the Engine.IO sid (Engine.IO's own "io" cookie) is in the recording anyway.
  if (value.empty() || is_marker(value) || value == sid_) return std::string(value);
  ++replaced_;
  if (value.size() >= min_echo_length) {
    session_values_.emplace(value);
    if (known_.size() < max_known) known_.emplace(value);
  }
  return marker(value);
}

void Redactor::hide_all(Json& v) {
  if (v.is_string()) {
    v = hide(v.get_ref<const std::string&>());
  } else if (v.is_number()) {
    v = hide(dump_json(v));
  } else if (v.is_structured()) {
    for (auto& e : v) hide_all(e);
  }
}

void Redactor::hide_fields(Json& v) {
  if (v.is_object()) {
    for (auto& [k, e] : v.items()) {
      if (secret_name(k))
        hide_all(e);
      else
        hide_fields(e);
    }
  } else if (v.is_array()) {
    for (auto& e : v) hide_fields(e);
  }
}

void Redactor::hide_header(const std::string& name, std::string& value) {
  if (iequals(name, "cookie")) {
    value = hide_cookie_header(value);
    return;
  }
  if (iequals(name, "set-cookie")) {
    SetCookie c;
    if (parse_set_cookie(value, c) && !kept_cookie(c.name))
      value = c.name + "=" + hide(c.value) + (c.attributes.empty() ? "" : "; " + c.attributes);
    return;
  }
  if (!secret_name(name)) return;
  // "Bearer abc", "Basic dXNlcjpwYXNz": the scheme tells how to refill it; the rest is secret.
  const auto space = value.find(' ');
  const bool scheme =
      space != std::string::npos && space > 0 &&
      std::all_of(value.begin(), value.begin() + static_cast<std::ptrdiff_t>(space),
                  [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
  value = scheme ? value.substr(0, space + 1) + hide(trim(value.substr(space + 1))) : hide(value);
}

std::string Redactor::hide_cookie_header(std::string_view value) {
  std::string out;
  for (const auto& [name, v] : parse_cookie_header(value))
    out += (out.empty() ? "" : "; ") + name + "=" + (kept_cookie(name) ? v : hide(v));
  return out;
}

std::string Redactor::hide_query(std::string_view query, bool form) {
  std::string out;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    const std::size_t amp = std::min(query.find('&', pos), query.size());
    std::string_view part = query.substr(pos, amp - pos);
    const auto eq = part.find('=');
    if (eq != std::string_view::npos && secret_name(percent_decode(part.substr(0, eq), form))) {
      const std::string value = percent_decode(part.substr(eq + 1), form);
      out.append(part.substr(0, eq + 1));
      out += percent_encode(hide(value));
    } else {
      out.append(part);
    }
    if (amp == query.size()) break;
    out += '&';
    pos = amp + 1;
  }
  return out;
}

std::string Redactor::hide_url(const std::string& url) {
  const auto q = url.find('?');
  if (q == std::string::npos) return url;
  const auto hash = std::min(url.find('#', q), url.size());
  return url.substr(0, q + 1) +
         hide_query(std::string_view(url).substr(q + 1, hash - q - 1), false) + url.substr(hash);
}

std::string Redactor::hide_body(const std::string& body) {
  Json j = parse_json_bounded(body);
  if (j.is_structured()) {
    hide_fields(j);
    return dump_json(j);
  }
  // A form (a=1&b=2): no spaces or line breaks, at least one '='.
  if (body.find('=') != std::string::npos && body.find_first_of(" \r\n") == std::string::npos)
    return hide_query(body, true);
  return body;
}

void Redactor::echo(std::string& text, const std::set<std::string>& values) const {
  if (text.size() < min_echo_length) return;
  for (const auto& v : values)
    if (text.find(v) != std::string::npos) replace_all(text, v, marker(v));
}

void Redactor::echo_json(Json& v, const std::set<std::string>& values) const {
  if (v.is_string())
    echo(v.get_ref<std::string&>(), values);
  else if (v.is_structured())
    for (auto& e : v) echo_json(e, values);
}

void Redactor::redact(Session& s) {
  session_values_.clear();
  sid_ = s.sid;
  // ---- by name, by place --------------------------------------------------------------------
  for (auto& [k, v] : s.query)
    if (secret_name(k)) v = hide(v);
  for (auto& [name, value] : s.headers) hide_header(name, value);
  if (s.handshake) hide_fields(*s.handshake);
  for (auto& c : s.cookies) {
    if (!kept_cookie(c.name)) c.value = hide(c.value);
    c.url = hide_url(c.url);
  }
  for (auto& h : s.http) {
    h.url = hide_url(h.url);
    for (auto& [name, value] : h.request_headers) hide_header(name, value);
    if (h.request_body) *h.request_body = hide_body(*h.request_body);
  }
  for (auto& m : s.messages) {
    if (m.data) {
      // A client CONNECT's payload is the namespace's auth: all of it.
      if (m.dir == Direction::client_to_server && m.type == sock::PacketType::connect)
        hide_all(*m.data);
      else
        hide_fields(*m.data);
    }
    if (m.args) hide_fields(*m.args);
    // Socket.IO protocol 4 (Engine.IO 3) puts a namespace's query in its name: "/chat?token=x".
    if (m.nsp.find('?') != std::string::npos) m.nsp = hide_url(m.nsp);
  }
  if (session_values_.empty()) return;
  // ---- the same values wherever else they appear ---------------------------------------------
  const auto& vals = session_values_;
  for (auto& [k, v] : s.query) echo(v, vals);
  for (auto& [name, value] : s.headers) echo(value, vals);
  echo(s.user_agent, vals);
  echo(s.origin, vals);
  if (s.handshake) echo_json(*s.handshake, vals);
  for (auto& c : s.cookies) {
    echo(c.value, vals);
    echo(c.attributes, vals);
    echo(c.url, vals);
  }
  for (auto& h : s.http) {
    echo(h.url, vals);
    for (auto& [name, value] : h.request_headers) echo(value, vals);
    if (h.request_body) echo(*h.request_body, vals);
  }
  for (auto& m : s.messages) {
    echo(m.nsp, vals);
    if (m.data) echo_json(*m.data, vals);
    if (m.args) echo_json(*m.args, vals);
  }
}

void Redactor::redact(std::vector<Diagnostic>& diagnostics) {
  for (auto& d : diagnostics) {
    echo(d.where, known_);
    echo(d.what, known_);
  }
}

} // namespace sio::recorder
