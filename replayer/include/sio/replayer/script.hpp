#pragma once
/// The load-test script: an Artillery v2 YAML (`engine: socketio`) as the replayer understands
/// it. load_script() reads the YAML; everything after that works on this model.

#include "sio/common/result.hpp"
#include "sio/common/socketio.hpp" // sio::Json
#include "sio/replayer/capture.hpp"
#include "sio/replayer/ensure.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sio::replayer {

/// One arrival phase (Artillery `config.phases[]`).
struct Phase {
  std::string name;
  double duration_s = 0;                     ///< `duration` (or `pause`), seconds
  double arrival_rate = 0;                   ///< users per second at the start (`arrivalRate`)
  std::optional<double> ramp_to;             ///< `rampTo`: linear ramp to this rate
  std::optional<std::int64_t> arrival_count; ///< `arrivalCount`: this many users, evenly spaced
  bool pause = false;                        ///< `pause: N`: no arrivals
  std::optional<std::int64_t> max_vusers;    ///< `maxVusers`: concurrency cap (excess: skipped)
};

/// socket.io-client options (`config.socketio` and the scenario-level `socketio` block). Values
/// may hold {{ templates }}; they are rendered per virtual user.
struct SocketIoOptions {
  std::optional<std::string> path;                    ///< default "/socket.io/"
  std::optional<std::vector<std::string>> transports; ///< "polling", "websocket"; default both
  std::optional<Json> query;                          ///< object (or a query string)
  std::optional<Json> extra_headers;                  ///< object name -> value
  std::optional<Json> auth;                           ///< CONNECT auth payload
  /// Engine.IO protocol: 4 (Socket.IO 3/4 servers) or 3 (Socket.IO 2.x). Extension `eio`;
  /// unset = 4, switching to 3 when a polling handshake is answered in the v3 format.
  std::optional<int> eio;
  /// Fields of `other` that are set replace ours (Artillery merges the scenario-level block
  /// over the config-level one).
  void merge_from(const SocketIoOptions& other);
};

/// A `response` / `acknowledge` / `waitFor` expectation.
struct Expect {
  std::optional<std::string> channel; ///< response/waitFor: the event to wait for
  std::optional<Json> data;           ///< `data`/`args`: array = all args, else the last arg
  std::vector<ExtractSpec> captures;  ///< `capture` (json paths on the args array)
  std::vector<ExtractSpec> matches;   ///< `match`
};

/// An HTTP step (`get`, `post`, `put`, `patch`, `delete`, `head`, `options`).
struct HttpStep {
  std::string method;                ///< "GET", "POST", ...
  std::string url;                   ///< relative to config.target, or absolute (same host)
  std::optional<Json> headers;       ///< name -> value
  std::optional<Json> json;          ///< `json`: sent as application/json
  std::optional<Json> body;          ///< `body`: sent as it is (text)
  std::vector<ExtractSpec> captures; ///< `capture`: json / header / regexp
  std::vector<ExtractSpec> matches;  ///< `match`
};

/// One flow step.
struct Step {
  enum class Kind : std::uint8_t { emit, think, loop, log, http, wait_for, unsupported };
  Kind kind = Kind::emit;
  int line = 0; ///< 1-based line in the YAML, for messages

  // emit: `emit: {channel, data}` or `emit: [channel, args...]`; `namespace` beside it.
  Json channel;              ///< string (may hold a template)
  Json args = Json::array(); ///< arguments (templates rendered per user)
  std::string nsp;           ///< `namespace` ("" = default "/"; may hold a template)
  /// The JSON text of [channel, args...] when nothing in them is templated or binary: sent as
  /// it is, without rendering per user (empty otherwise).
  std::string constant_args;
  /// Otherwise, when the templates are only in string values and nothing is binary: the JSON
  /// text of [channel, args...] cut at the templated strings, each piece's literal text then
  /// its template (empty in the last piece). Rendered per user without a JSON tree.
  struct Piece {
    std::string literal;
    std::string hole; ///< a string value holding a template
  };
  std::vector<Piece> arg_pieces;
  std::optional<Expect> acknowledge; ///< wants an ack
  std::optional<Expect> response;    ///< waits for a server event (also `waitFor`'s expectation)
  /// `timeout` beside a step (extension): overrides config.timeout for its ack, response,
  /// waitFor or HTTP request.
  std::optional<double> timeout_s;

  // http
  std::optional<HttpStep> http;

  // think: milliseconds (templated numbers are not supported), plus jitter (percent, 0 = none)
  std::int64_t think_ms = 0;
  double jitter_pct = 0;

  // loop: `count` (or `over`: a list, or a variable name holding one)
  std::int64_t count = 1;
  std::optional<Json> over;
  std::vector<Step> steps;

  // log
  std::string message;

  std::string unsupported_key; ///< the key of a step we cannot run (reported, skipped)
};

/// One scenario (`scenarios[]`).
struct Scenario {
  std::string name;         ///< `name`, or "scenario-<index>"
  double weight = 1;        ///< `weight`
  SocketIoOptions socketio; ///< the scenario-level `socketio` block (merged over config's)
  std::vector<Step> flow;
  bool waits_for_pushes = false; ///< a `waitFor` step exists: keep recent pushes in an inbox
};

/// A payload CSV (`config.payload`, object or list).
struct Payload {
  std::string path; ///< resolved relative to the YAML's folder
  std::vector<std::string> fields;
  bool sequence = false; ///< order: sequence (else random)
  bool skip_header = false;
  char delimiter = ',';
  bool cast = true;      ///< numbers and booleans become typed values
  bool load_all = false; ///< loadAll: the whole CSV into vars[name]
  std::string name;      ///< for loadAll
  std::vector<std::vector<std::string>> rows;
};

/// The whole script.
struct Script {
  std::string file;   ///< the YAML path
  std::string target; ///< config.target (after -e environment and --target)
  std::vector<Phase> phases;
  Json variables = Json::object(); ///< config.variables (a list value: pick one per user)
  std::vector<Payload> payloads;
  SocketIoOptions socketio;            ///< config.socketio
  double timeout_s = 10;               ///< config.timeout: how long a `response` waits
  bool tls_reject_unauthorized = true; ///< config.tls.rejectUnauthorized
  std::vector<Scenario> scenarios;
  Ensure ensure;                     ///< config.ensure / config.plugins.ensure
  std::vector<std::string> warnings; ///< unknown keys, unsupported steps: "file:line: ..."
};

/// Options of load_script.
struct LoadOptions {
  std::string environment; ///< -e NAME: merge config.environments.NAME over config
  std::string target;      ///< --target: overrides config.target
};

/// Reads and validates a script. Errors name the file, line and column (YAML syntax) or the
/// key and line (schema): "scenario.yml:12:5: phases[0].duration: expected a number".
/// Payload CSVs are read here too (errors name the CSV file and line).
Result<Script> load_script(const std::string& path, const LoadOptions& options = {});

/// Why `text` cannot be sent as a header name (`name`) or value: a CR, LF or NUL (a header
/// injection), or in a name a colon, space or control character; nullopt when it can.
std::optional<std::string> header_fault(std::string_view text, bool name);

/// Parses an Artillery duration: a number of seconds, or a string "500ms", "5s", "5m", "1h".
Result<double> parse_duration_s(const Json& value);

} // namespace sio::replayer
