#pragma once
/// The recorder's façade: capture files in, a Recording out.

#include "sio/common/session.hpp"
#include "sio/recorder/har_reader.hpp"

#include <string>
#include <vector>

namespace sio::recorder {

/// What `sioreplay record` was asked to do.
struct RecordOptions {
  std::vector<std::string> inputs; ///< .har files ("-" = standard input)
  std::string path;                ///< Engine.IO path filter, empty = any
};

/// Per-input counts, for the summary.
struct InputStats {
  std::string path;
  std::string format; ///< "har"
  HarStats har;
};

/// Kind of a capture file, told from its first bytes.
enum class InputFormat { har, pcap, pcapng, unknown };

/// Looks at the first bytes of a file.
InputFormat sniff_format(std::string_view head) noexcept;

/// Reads every input into one recording. Fails on unreadable or malformed input (the error names
/// the file and place) and when no Socket.IO session was found.
Result<Recording> record(const RecordOptions& options, std::vector<InputStats>& stats);

/// The human summary printed on stderr: inputs, sessions, messages by type, diagnostics.
std::string summary(const Recording& rec, const std::vector<InputStats>& stats);

} // namespace sio::recorder
