/// `sioreplay record`: HAR files in, a recording (JSON Lines) out.

#include "commands.hpp"

#include "sio/common/file_io.hpp"
#include "sio/common/session_json.hpp"
#include "sio/recorder/recorder.hpp"

#include <cstdio>
#include <memory>

namespace sio::cli {
namespace {

struct RecordArgs {
  recorder::RecordOptions options;
  std::string output = "-";
  bool quiet = false;
};

int run_record(const RecordArgs& args) {
  std::vector<recorder::InputStats> stats;
  auto rec = recorder::record(args.options, stats);
  if (!rec) {
    std::fprintf(stderr, "sioreplay record: error: %s\n", rec.error().message().c_str());
    return exit_failure;
  }
  auto out = AtomicOutput::create(args.output);
  if (!out) {
    std::fprintf(stderr, "sioreplay record: error: %s\n", out.error().message().c_str());
    return exit_failure;
  }
  write_recording(*rec, *out);
  if (auto st = out->commit(); !st) {
    std::fprintf(stderr, "sioreplay record: error: %s\n", st.error().message().c_str());
    return exit_failure;
  }
  if (!args.quiet) {
    std::string text = recorder::summary(*rec, stats);
    if (args.output != "-") text += "  wrote " + args.output + "\n";
    std::fputs(text.c_str(), stderr);
  }
  return exit_ok;
}

} // namespace

void add_record(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RecordArgs>();
  auto* sub = app.add_subcommand(
      "record",
      "Rebuild every Socket.IO session of browser HAR files into a recording (JSON Lines)");
  sub->add_option(
         "inputs", args->options.inputs,
         "HAR files (Chrome/Chromium DevTools, Playwright, Firefox); - reads standard input")
      ->required();
  sub->add_option("-o,--output", args->output,
                  "Recording to write (atomically); - is standard output")
      ->capture_default_str();
  sub->add_option(
      "--path", args->options.path,
      "Only Engine.IO requests on this path (e.g. /socket.io/); default: any path whose "
      "query has EIO= and transport=");
  sub->add_flag("-q,--quiet", args->quiet, "Do not print the summary on standard error");
  sub->footer("The summary (sessions, messages by type, diagnostics) goes to standard error.\n"
              "Exit 1 when an input is unreadable or malformed (the error names the file and the\n"
              "place) or holds no Socket.IO traffic; no output file is left behind then.");
  sub->callback([args, &exit_code] { exit_code = run_record(*args); });
}

void add_pending(CLI::App& app, int& exit_code) {
  for (const auto& [name, what] :
       {std::pair{"report", "Merge and render reports (not yet implemented)"}}) {
    auto* sub = app.add_subcommand(name, what);
    sub->allow_extras();
    const std::string n = name;
    sub->callback([n, &exit_code] {
      std::fprintf(stderr, "sioreplay %s: not yet implemented in this version\n", n.c_str());
      exit_code = exit_usage;
    });
  }
}

} // namespace sio::cli
