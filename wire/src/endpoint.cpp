#include "sio/wire/endpoint.hpp"

#include <arpa/inet.h>
#include <charconv>

namespace sio::wire {

namespace {

/// Appends the decimal digits of `v` (0-255).
char* put_octet(char* p, unsigned v) {
  if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
  if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
  *p++ = static_cast<char>('0' + v % 10);
  return p;
}

/// "a.b.c.d" into `p` (room for 15 bytes); returns the end. inet_ntop() goes through sprintf,
/// and a capture names both ends of every connection.
char* put_ipv4(char* p, const std::array<std::uint8_t, 16>& a) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *p++ = '.';
    p = put_octet(p, a[static_cast<std::size_t>(i)]);
  }
  return p;
}

} // namespace

std::string Endpoint::address() const {
  if (!v6) {
    char buf[16];
    return {buf, put_ipv4(buf, addr)};
  }
  char buf[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, addr.data(), buf, sizeof buf)) return "?";
  return buf;
}

std::string Endpoint::to_string() const {
  if (!v6) {
    char buf[24];
    char* p = put_ipv4(buf, addr);
    *p++ = ':';
    p = std::to_chars(p, buf + sizeof buf, port).ptr;
    return {buf, p};
  }
  const std::string a = address();
  return (v6 ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

} // namespace sio::wire
