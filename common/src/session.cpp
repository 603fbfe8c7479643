#include "sio/common/session.hpp"

namespace sio {

std::string_view to_string(Direction d) noexcept {
  return d == Direction::client_to_server ? "client->server" : "server->client";
}

std::string_view to_string(Transport t) noexcept {
  return t == Transport::polling ? "polling" : "websocket";
}

} // namespace sio
