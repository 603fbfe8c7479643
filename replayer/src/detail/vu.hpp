#pragma once
/// One virtual user: an Engine.IO v4 or v3 client (polling, upgrade to websocket, or websocket
/// only; plain or TLS) with a per-user cookie jar, a Socket.IO v5/v4 client on top (namespaces,
/// acks, binary), HTTP steps, and the scenario's flow. Runs as C++20 coroutines on one worker's
/// single-threaded io_context.
///
///   connect (TCP [+ TLS]) -> EIO open (GET polling | ws) -> CONNECT "/" (auth)
///   -> [upgrade: ws 2probe/3probe, polling released by noop, 5] -> flow steps -> close

#include "sio/replayer/cookie_jar.hpp"
#include "sio/replayer/engine.hpp"
#include "sio/replayer/metrics.hpp"
#include "sio/replayer/script.hpp"

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>; g++ gets it through
// other headers, clang with libstdc++ does not.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <random>
#include <string>

namespace sio::replayer::detail {

/// Where the users connect.
struct Target {
  std::string host;        ///< for Host headers, SNI, certificate checks and cookies
  std::string port;        ///< as text
  bool secure = false;     ///< https/wss
  bool ip_literal = false; ///< host is an IP address (no SNI; the certificate must name the IP)
  std::string base_path;   ///< the target URL's path without a trailing "/" (HTTP steps)
  boost::asio::ip::tcp::resolver::results_type endpoints; ///< resolved once
};

/// A host HTTP steps may go to besides the target (--allow-host).
struct AllowedHost {
  std::string host; ///< lower case, IPv6 without brackets
  std::string port; ///< empty: any port
};

/// What every user of a worker shares (read-only during the run, except metrics and rng).
struct UserEnv {
  const Script* script = nullptr;
  Target target;
  bool cookie_jar = true;
  double connect_timeout_s = 10;
  boost::asio::ssl::context* tls = nullptr; ///< client context (verification set up), or null
  bool tls_verify = true;                   ///< check the certificate chain and the host name
  std::vector<AllowedHost> allow_hosts;     ///< --allow-host
  Metrics* metrics = nullptr;
  std::mt19937_64* rng = nullptr;
  std::size_t* active = nullptr; ///< users running on this worker
  /// When set, each user counts the server events it receives, added here by scenario name.
  std::map<std::string, PushTally>* pushes = nullptr;
  /// --source-addresses: users take these in turn, and bind their connections to their own
  /// (empty: the kernel chooses).
  std::vector<boost::asio::ip::address> source_addresses;
  std::size_t* next_source = nullptr; ///< this worker's round-robin position
};

/// Runs one user to its end: counts vusers.completed or vusers.failed (+ errors.<cause>).
/// `vars` are the user's variables (config.variables picked, payload row, $uuid, target).
/// Latencies are measured from when things were due: the handshake from `scheduled` (the
/// arrival time the phases gave this user), so a late generator cannot hide latency.
boost::asio::awaitable<void> run_user(const UserEnv& env, const Scenario& scenario, Json vars,
                                      std::chrono::steady_clock::time_point scheduled);

} // namespace sio::replayer::detail
