#pragma once
/// What counts as a secret in recorded traffic, and which cookies are the load balancer's
/// sticky-session cookies: one list for the converter (secrets to the payload CSV) and the
/// recorder (`record --redact`).

#include <string_view>

namespace sio {

/// True when a header, cookie, query parameter or JSON field name looks like it holds a
/// secret: it contains (case-insensitively) token, auth, secret, password, passwd, pwd, key,
/// jwt, session, sig, credential, bearer or cookie ("Authorization", "X-Api-Key", "sessionId",
/// "access_token"). Errs on the side of secrecy ("author", "keyboard" match too).
bool looks_secret(std::string_view name) noexcept;

/// True for the load balancers' affinity cookies: route, INGRESSCOOKIE, AWSALB* (AWSALB,
/// AWSALBCORS, AWSALBTG, AWSALBTGCORS), AWSELB, SERVERID (HAProxy's usual name), ARRAffinity*,
/// __cflb, GCLB, BIGipServer<pool>, JSESSIONID_ROUTE, sticky.
bool is_known_sticky_cookie(std::string_view name) noexcept;

} // namespace sio
