#pragma once
/// A per-user cookie jar (RFC 6265, the parts a load tester needs): domain and host-only
/// matching, path matching, expiry (Max-Age, Expires), Secure. Fed by every Set-Cookie,
/// applied to every polling request and to the websocket upgrade: this is what keeps a user on
/// one replica behind a sticky load balancer.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sio::replayer {

class CookieJar {
public:
  /// Stores the cookie of one Set-Cookie header received from `host` for request `path`.
  /// `now_s` is the current epoch time in seconds.
  void set(std::string_view set_cookie, std::string_view host, std::string_view request_path,
           std::int64_t now_s);
  /// The Cookie header value for a request (empty when no cookie applies).
  [[nodiscard]] std::string header(std::string_view host, std::string_view path, bool secure,
                                   std::int64_t now_s) const;
  /// Number of cookies stored (expired ones included until the next set()).
  [[nodiscard]] std::size_t size() const noexcept { return cookies_.size(); }
  void clear() noexcept { cookies_.clear(); }

private:
  struct Cookie {
    std::string name, value, domain, path;
    bool host_only = true;
    bool secure = false;
    std::int64_t expires_s = -1; ///< -1: session cookie
  };
  std::vector<Cookie> cookies_;
};

/// Epoch seconds now.
std::int64_t now_epoch_s();

} // namespace sio::replayer
