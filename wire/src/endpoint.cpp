#include "sio/wire/endpoint.hpp"

#include <arpa/inet.h>

namespace sio::wire {

std::string Endpoint::address() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, addr.data(), buf, sizeof buf)) return "?";
  return buf;
}

std::string Endpoint::to_string() const {
  const std::string a = address();
  return (v6 ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

} // namespace sio::wire
