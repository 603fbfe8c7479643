#pragma once
/// One virtual user: an Engine.IO v4 client (polling, upgrade to websocket, or websocket only)
/// with a per-user cookie jar, a Socket.IO v5 client on top (namespaces, acks, binary), and the
/// scenario's flow. Runs as C++20 coroutines on one worker's single-threaded io_context.
///
///   resolve (once per engine) -> connect -> EIO open (GET polling | ws) -> CONNECT "/" (auth)
///   -> [upgrade: ws 2probe/3probe, polling released by noop, 5] -> flow steps -> close

#include "sio/replayer/cookie_jar.hpp"
#include "sio/replayer/metrics.hpp"
#include "sio/replayer/script.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <random>
#include <string>

namespace sio::replayer::detail {

/// Where the users connect.
struct Target {
  std::string host;    ///< for Host headers and cookies
  std::string port;    ///< as text
  bool secure = false; ///< https/wss (not supported yet: reported as an error)
  boost::asio::ip::tcp::resolver::results_type endpoints; ///< resolved once
};

/// What every user of a worker shares (read-only during the run, except metrics and rng).
struct UserEnv {
  const Script* script = nullptr;
  Target target;
  bool cookie_jar = true;
  double connect_timeout_s = 10;
  Metrics* metrics = nullptr;
  std::mt19937_64* rng = nullptr;
  std::size_t* active = nullptr; ///< users running on this worker
};

/// Runs one user to its end: counts vusers.completed or vusers.failed (+ errors.<cause>).
/// `vars` are the user's variables (config.variables picked, payload row, $uuid, target).
boost::asio::awaitable<void> run_user(const UserEnv& env, const Scenario& scenario, Json vars,
                                      std::int64_t scheduled_ms);

} // namespace sio::replayer::detail
