#pragma once
/// One function per subcommand: each adds its CLI11 subcommand and options to the app.

#include "sio/common/file_io.hpp"
#include "sio/common/result.hpp"
#include "sio/common/session.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace sio::cli {

/// Exit codes: 0 success, 1 bad input or failed run, 2 usage.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

void add_record(CLI::App& app, int& exit_code);
void add_convert(CLI::App& app, int& exit_code);
void add_replay(CLI::App& app, int& exit_code);
void add_report(CLI::App& app, int& exit_code);
/// `completion` and `man` describe every subcommand of `app` (read when they run).
void add_completion(CLI::App& app, int& exit_code);
void add_man(CLI::App& app, int& exit_code);

/// The command line as given (argv), for reports; set by main before parsing.
const std::vector<std::string>& command_line();

/// Opens `path` for an HTML page (--html): fails at once on a bad path, before any work;
/// "-" is refused (the page is a file to open in a browser).
Result<AtomicOutput> open_html_output(const std::string& path);

/// A recording (rec.jsonl) read as it is, or anything `record` reads (HAR, pcap, pcapng)
/// recorded in memory.
Result<Recording> load_recording_input(const std::string& path);

/// Batch work (record, convert) allocates and frees at a high rate: keeps freed memory a few
/// seconds before returning it to the system (no-op without mimalloc).
void tune_allocator_for_batch();

/// True when `path` starts like a recording, a HAR or a capture rather than a YAML scenario.
bool is_recording_input(const std::string& path);

} // namespace sio::cli
