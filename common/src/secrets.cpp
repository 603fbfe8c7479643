#include "sio/common/secrets.hpp"

#include <string>

namespace sio {

bool looks_secret(std::string_view name) noexcept {
  std::string n(name);
  for (auto& c : n) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  for (const std::string_view w : {"token", "auth", "secret", "password", "passwd", "pwd", "key",
                                   "jwt", "session", "sig", "credential", "bearer", "cookie"})
    if (n.find(w) != std::string::npos) return true;
  return false;
}

bool is_known_sticky_cookie(std::string_view name) noexcept {
  for (const std::string_view n :
       {"route", "INGRESSCOOKIE", "AWSALB", "AWSALBCORS", "AWSELB", "AWSALBTG", "AWSALBTGCORS",
        "SERVERID", "ARRAffinity", "ARRAffinitySameSite", "__cflb", "GCLB", "JSESSIONID_ROUTE",
        "sticky"})
    if (name == n) return true;
  return name.starts_with("BIGipServer"); // F5: BIGipServer<pool>
}

} // namespace sio
