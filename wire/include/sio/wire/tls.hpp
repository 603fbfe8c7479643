#pragma once
/// TLS decryption with the session keys from an NSS key log (SSLKEYLOGFILE as browsers write it,
/// Node's --tls-keylog, pcapng Decryption Secrets Blocks). Passive: the records of both
/// directions of one TCP connection in, the application data out. OpenSSL EVP for the ciphers.
///
/// Supported: TLS 1.3 with TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
/// TLS_CHACHA20_POLY1305_SHA256 (key log labels CLIENT/SERVER_HANDSHAKE_TRAFFIC_SECRET and
/// CLIENT/SERVER_TRAFFIC_SECRET_0; KeyUpdate followed); TLS 1.2 with ECDHE (RSA or ECDSA) and
/// AES-128/256-GCM or ChaCha20-Poly1305 (label CLIENT_RANDOM = the master secret; the PRF with
/// SHA-256 or SHA-384 as the suite says). Anything else is reported, never mis-decoded.

#include "sio/common/result.hpp"
#include "sio/wire/endpoint.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sio::wire {

/// The secrets of one TLS session, by key log label ("CLIENT_RANDOM",
/// "CLIENT_TRAFFIC_SECRET_0", ...).
using TlsSecrets = std::map<std::string, std::vector<std::uint8_t>, std::less<>>;

/// An NSS key log: `<LABEL> <client_random hex> <secret hex>` lines, `#` comments, blank lines.
class KeyLog {
public:
  /// Parses a key log. A malformed line is an error naming `source` and the line
  /// ("keys.log:12: the client random must be 64 hex digits"); unknown labels are kept (ignored).
  static Result<KeyLog> parse(std::string_view text, const std::string& source);
  /// Adds the entries of `other` (later ones win).
  void merge(const KeyLog& other);
  /// The secrets of the session whose ClientHello random is `client_random`, or nullptr.
  [[nodiscard]] const TlsSecrets* find(std::span<const std::uint8_t> client_random) const;
  [[nodiscard]] std::size_t size() const noexcept { return sessions_.size(); }
  [[nodiscard]] bool empty() const noexcept { return sessions_.empty(); }

private:
  std::map<std::array<std::uint8_t, 32>, TlsSecrets> sessions_;
};

/// True when the first bytes of a client stream look like a TLS ClientHello record
/// (0x16 0x03 0x00..0x04, then a handshake of type 1). Needs at least 6 bytes.
bool looks_like_tls(std::span<const std::uint8_t> first_bytes) noexcept;

/// One TLS connection, both directions.
class TlsConnection {
public:
  class Handler {
  public:
    virtual ~Handler() = default;
    /// Decrypted application data of `side`, in order. `offset` counts plaintext bytes of that
    /// side from 0. `ts_ns`/`packet`: of the packet that completed the record.
    virtual void on_plaintext(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                              std::int64_t ts_ns, std::uint64_t packet) = 0;
    /// Decryption stopped on `side` (bad record MAC, unknown record type, gap, ...).
    virtual void on_error(Side side, std::string what) = 0;
  };

  enum class State {
    handshake,   ///< hello messages not complete yet
    decrypting,  ///< keys found, application data flows to the handler
    no_keys,     ///< the key log has no entry for this session's client random
    unsupported, ///< a version or cipher suite we do not decrypt (detail() names it)
    failed,      ///< decryption failed (wrong keys, damaged records, gap)
  };

  explicit TlsConnection(const KeyLog& keys);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  /// Bytes of `side`'s TCP stream, in order.
  void feed(Side side, std::span<const std::uint8_t> bytes, std::int64_t ts_ns,
            std::uint64_t packet, Handler& handler);
  /// Bytes missing on `side`: decryption of that side stops (reported through on_error).
  void gap(Side side, Handler& handler);

  [[nodiscard]] State state() const noexcept;
  [[nodiscard]] const std::string& sni() const noexcept;    ///< server_name of the ClientHello
  [[nodiscard]] const std::string& alpn() const noexcept;   ///< protocol the server chose, if any
  [[nodiscard]] std::string version() const;                ///< "TLS 1.3", "TLS 1.2"
  [[nodiscard]] std::string cipher() const;                 ///< "TLS_AES_128_GCM_SHA256", ...
  [[nodiscard]] const std::string& detail() const noexcept; ///< why no_keys/unsupported/failed

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace sio::wire
