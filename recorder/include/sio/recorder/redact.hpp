#pragma once
/// `record --redact`: secrets in a recording replaced by markers before anything is written.
///
/// A marker is "[redacted:" + 8 hex digits + "]": the first 32 bits of HMAC-SHA256 of the value
/// under a key drawn at random for the run (and never written), so equal secrets get equal
/// markers within one recording, while a marker cannot be checked against a guessed password.
///
/// What is replaced (docs/recording.md, "Redaction"):
///  - request headers Authorization, Proxy-Authorization and any header whose name looks like a
///    secret (sio::looks_secret) or is a --redact-field name; an "Auth-Scheme credentials" value
///    keeps its scheme ("Bearer [redacted:…]");
///  - cookies sent and set, except the sticky-session ones (sio::is_known_sticky_cookie and
///    --keep-cookie), in the session's cookie list and in Cookie headers;
///  - every value of a client CONNECT's auth payload;
///  - JSON fields anywhere in messages (event and ack arguments, CONNECT/CONNECT_ERROR data,
///    the handshake) and in JSON request bodies, whose names look like secrets or are
///    --redact-field names: a scalar becomes the marker, an object or array has every string
///    and number inside replaced (its shape is kept);
///  - query parameters with such names, in the session's query, in every recorded URL and in
///    a namespace's name ("/chat?token=…", Socket.IO protocol 4), and fields of form-encoded
///    request bodies;
///  - then every other occurrence, in any string of the session (and in the diagnostics), of a
///    value replaced above that is at least `min_echo_length` characters long: a server that
///    echoes the token in an error message does not leak it.
/// Not replaced: event names, positional string arguments with no name (nothing tells a
/// secret from a chat message), binary attachments, the Engine.IO sid (also as the value of
/// Engine.IO's "io" cookie).

#include "sio/common/session.hpp"

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sio::recorder {

/// What `record --redact` was asked to do.
struct RedactOptions {
  bool enabled = false;                  ///< --redact
  std::vector<std::string> fields;       ///< --redact-field: more names (exact, any case)
  std::vector<std::string> keep_cookies; ///< --keep-cookie: more cookies kept as they are
};

/// Replaces secrets in sessions and diagnostics. Keeps the secrets it has replaced (at most
/// `max_known` of them) to find them again elsewhere.
class Redactor {
public:
  /// Values at least this long are also replaced where they appear inside other strings.
  static constexpr std::size_t min_echo_length = 8;
  /// At most this many replaced values are remembered across sessions (for the diagnostics).
  static constexpr std::size_t max_known = 4096;

  /// A random key (OpenSSL RAND_bytes).
  explicit Redactor(RedactOptions options);
  /// A given key, for tests.
  Redactor(RedactOptions options, std::string key);

  /// Redacts one session in place.
  void redact(Session& s);
  /// Replaces the known secrets in the diagnostics' texts.
  void redact(std::vector<Diagnostic>& diagnostics);
  /// The marker of a value.
  [[nodiscard]] std::string marker(std::string_view value) const;
  /// How many values were replaced so far.
  [[nodiscard]] std::uint64_t replaced() const noexcept { return replaced_; }

private:
  [[nodiscard]] bool secret_name(std::string_view name) const;
  [[nodiscard]] bool kept_cookie(std::string_view name) const;
  std::string hide(std::string_view value);
  void hide_all(Json& v);
  void hide_fields(Json& v);
  void hide_header(const std::string& name, std::string& value);
  std::string hide_cookie_header(std::string_view value);
  std::string hide_query(std::string_view query, bool form);
  std::string hide_url(const std::string& url);
  std::string hide_body(const std::string& body);
  void echo(std::string& text, const std::set<std::string>& values) const;
  void echo_json(Json& v, const std::set<std::string>& values) const;

  RedactOptions options_;
  std::string key_;
  std::uint64_t replaced_ = 0;
  std::set<std::string> session_values_; ///< replaced in the current session (long enough)
  std::set<std::string> known_;          ///< replaced so far (long enough), at most max_known
  std::string sid_;                      ///< the current session's Engine.IO sid: not a secret
};

} // namespace sio::recorder
