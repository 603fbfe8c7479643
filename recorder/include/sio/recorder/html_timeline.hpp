#pragma once
/// `record --html`: a timeline page of each session's Socket.IO messages (who sent what, when,
/// acks linked to their emits), one self-contained HTML file. The template is
/// recorder/html/timeline.html, embedded at build time; the sessions go in as their recording
/// JSON (docs/recording.md).

#include "sio/common/result.hpp"
#include "sio/common/session.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sio::recorder {

/// Collects sessions as they are recorded (streamed captures hand them over one by one) and
/// renders the page. Keeps at most `max_sessions` sessions and `max_messages` messages in all
/// (a session that would pass the message budget is left out); the page says how many were
/// left out.
class TimelinePage {
public:
  explicit TimelinePage(std::size_t max_sessions = 2000, std::size_t max_messages = 200000)
      : max_sessions_(max_sessions), max_messages_(max_messages) {}

  /// Adds one session (its recording JSON, without the page's other HTTP request bodies).
  void add(const Session& s);
  /// The page. `sources` are the inputs as given; `diagnostics` the recording's trailer
  /// (recording_diagnostics_line), "" when there is none.
  [[nodiscard]] Result<std::string> html(const std::vector<std::string>& sources,
                                         const std::string& diagnostics) const;

  [[nodiscard]] std::size_t sessions() const noexcept { return kept_; }
  [[nodiscard]] std::size_t omitted() const noexcept { return omitted_; }

private:
  std::size_t max_sessions_;
  std::size_t max_messages_;
  std::string sessions_json_; ///< the kept sessions' JSON objects, comma-separated
  std::size_t kept_ = 0, omitted_ = 0;
  std::uint64_t messages_ = 0;
};

} // namespace sio::recorder
