#pragma once
/// Addresses and sides shared by every layer of sio::wire.

#include <array>
#include <compare>
#include <cstdint>
#include <string>

namespace sio::wire {

/// An IPv4 or IPv6 address and a TCP port. IPv4 addresses live in the first 4 bytes of `addr`
/// (the rest zero), so that two endpoints compare equal exactly when they are the same.
struct Endpoint {
  std::array<std::uint8_t, 16> addr{};
  bool v6 = false;
  std::uint16_t port = 0;

  /// "127.0.0.1:4080", "[::1]:4080".
  [[nodiscard]] std::string to_string() const;
  /// The address alone: "127.0.0.1", "::1".
  [[nodiscard]] std::string address() const;
  auto operator<=>(const Endpoint&) const = default;
};

/// The two directions of a TCP connection. `client` sent the SYN (or, for a capture that starts
/// mid-connection, is the side guessed to be the client: see ConnInfo::saw_syn).
enum class Side : std::uint8_t { client = 0, server = 1 };

inline Side other(Side s) noexcept {
  return s == Side::client ? Side::server : Side::client;
}
inline const char* to_string(Side s) noexcept {
  return s == Side::client ? "c->s" : "s->c";
}

} // namespace sio::wire
