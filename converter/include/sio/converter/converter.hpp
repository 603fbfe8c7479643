#pragma once
/// Recording -> Artillery v2 scenario (`engine: socketio`) that real Artillery runs unmodified,
/// with the load balancer's sticky cookie parameterized and secrets moved to a payload CSV.
///
/// The converter meets the recorder only at the recording model (sio/common/session.hpp).

#include "sio/common/session.hpp"
#include "sio/converter/think_time.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sio::converter {

/// What `sioreplay convert` was asked to do.
struct ConvertOptions {
  std::string target;                        ///< overrides the recorded target (scheme://host:port)
  std::vector<std::string> sticky_cookies;   ///< extra sticky cookie names (--sticky-cookie)
  bool no_sticky = false;                    ///< --no-sticky: no sticky cookie handling at all
  ThinkPolicy think;                         ///< --think
  bool match_acks = false;                   ///< --match-acks: match acks on the recorded payload
  bool responses = false;                    ///< --responses: wait for the server pushes
  bool http = false;                         ///< --http: the page's HTTP exchanges as steps
  bool inline_secrets = false;               ///< --inline-secrets: no payload CSV
  double scale = 1.0;                        ///< --scale: multiplies arrivals
  std::optional<double> duration_s;          ///< --duration override
  std::optional<double> arrival_rate;        ///< --arrival-rate override (users/s)
  std::string payload_file = "scenario.csv"; ///< CSV name, relative to the YAML file
  std::string source_name;                   ///< shown in the header comment
  /// Recorded-timing replay (`sioreplay replay RECORDING`): one scenario per session, named
  /// "session-<id>", in the recording's order; none merged with an identical one or left out
  /// for having no client event; and a last think up to the session's recorded end, so that
  /// the server's late pushes are received and the session lasts as long as it did.
  bool per_session = false;
};

/// The converter's output: the YAML text, the CSV text (empty when no secrets), and notes.
struct Conversion {
  std::string yaml;
  std::string csv;                   ///< payload CSV, empty if none is needed
  std::vector<std::string> warnings; ///< also in the YAML header comment
  std::vector<std::string> sticky;   ///< sticky cookie names found
  std::size_t scenarios = 0;
  std::size_t steps = 0;
};

/// Converts. Fails when the recording holds no session that Artillery can replay.
Result<Conversion> convert(const Recording& rec, const ConvertOptions& options);

} // namespace sio::converter
