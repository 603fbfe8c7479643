#pragma once
/// The recorder's façade: capture files in, a Recording out.

#include "sio/common/session.hpp"
#include "sio/recorder/har_reader.hpp"
#include "sio/recorder/pcap_reader.hpp"
#include "sio/recorder/redact.hpp"

#include "sio/common/file_io.hpp"

#include <array>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sio::recorder {

/// What `sioreplay record` was asked to do.
struct RecordOptions {
  std::vector<std::string> inputs; ///< .har, .pcap, .pcapng files ("-" = standard input, HAR)
  std::string path;                ///< Engine.IO path filter, empty = any
  // Packet captures:
  std::string interface;            ///< live capture on this interface instead of files
  std::string filter;               ///< BPF filter
  std::vector<std::uint16_t> ports; ///< server ports to decode; empty = every TCP connection
  std::vector<std::string> keylogs; ///< NSS key log files (TLS)
  SessionBuilder::LegChoice leg = SessionBuilder::LegChoice::client;
  double duration_s = 0;                   ///< live: stop after this long (0 = until stopped)
  const std::atomic<bool>* stop = nullptr; ///< live: set by SIGINT/SIGTERM
  bool progress = false;                   ///< progress line on stderr while reading captures
  std::uint64_t max_sessions = 0; ///< captures: stop once this many sessions ended (0 = no limit)
  /// Captures: a session silent this long (capture time) has ended, even without a close.
  double session_idle_s = 120;
  /// Streaming: called with each session as it ends (e.g. a line on stderr in live capture),
  /// after redaction.
  std::function<void(const Session&)> on_session_end;
  /// --redact: secrets replaced by markers in every session and diagnostic (redact.hpp).
  RedactOptions redact;
};

/// Per-input counts, for the summary.
struct InputStats {
  std::string path;
  std::string format; ///< "har", "pcap", "pcapng", "live"
  HarStats har;
  PcapStats pcap;
};

/// Kind of a capture file, told from its first bytes.
enum class InputFormat { har, pcap, pcapng, unknown };

/// Looks at the first bytes of a file.
InputFormat sniff_format(std::string_view head) noexcept;
/// Looks at the first bytes of the file at `path`; unknown when it cannot be read.
InputFormat sniff_file(const std::string& path);

/// Reads every input into one recording. Fails on unreadable or malformed input (the error names
/// the file and place) and when no Socket.IO session was found.
Result<Recording> record(const RecordOptions& options, std::vector<InputStats>& stats);

/// What the summary says of a recording: built from a whole Recording, or added up session by
/// session while streaming (memory does not grow with the number of sessions).
struct RecordingTotals {
  /// One line of the session list.
  struct Brief {
    std::string sid, url;
    int eio = 4;
    std::vector<Transport> transports;
    std::uint64_t messages = 0, c2s = 0;
    std::int64_t started_us = 0, duration_us = 0;
  };
  std::uint64_t sessions = 0, messages = 0;
  std::vector<Brief> first; ///< the earliest-started sessions (at most 20), in start order
  std::map<std::string, std::array<std::uint64_t, 2>> by_type; ///< "EVENT" -> {c->s, s->c}
  std::vector<Diagnostic> diagnostics;
  std::uint64_t not_written = 0; ///< sessions still open at a --max-sessions stop

  void add(const Session& s);
  static RecordingTotals of(const Recording& rec);
};

/// The human summary printed on stderr: inputs, sessions, messages by type, diagnostics.
std::string summary(const RecordingTotals& totals, const std::vector<InputStats>& stats);
std::string summary(const Recording& rec, const std::vector<InputStats>& stats);

/// True when every input is a pcap/pcapng file (or a live interface), so record_to() applies.
bool captures_only(const RecordOptions& options);

/// Streams captures (pcap/pcapng files, a live interface; no HAR) into `out`: each session is
/// decoded when it ends and spilled to a temporary file, then all are written in start order
/// with the header and diagnostics, so memory does not grow with the capture. The caller
/// commits `out`. Fails like record().
Result<RecordingTotals> record_to(const RecordOptions& options, AtomicOutput& out,
                                  std::vector<InputStats>& stats);

} // namespace sio::recorder
