/// sioreplay: record Socket.IO traffic, convert it to load-test scenarios, replay it.

#include "commands.hpp"

#include <cstdio>
#include <exception>
#include <iostream>

namespace sio::cli {
namespace {
std::vector<std::string> g_command_line;
} // namespace

const std::vector<std::string>& command_line() {
  return g_command_line;
}

Result<AtomicOutput> open_html_output(const std::string& path) {
  if (path == "-")
    return fail(errc::usage, "--html needs a file name (the page is opened in a browser), not -");
  return AtomicOutput::create(path);
}

} // namespace sio::cli

int main(int argc, char** argv) {
  CLI::App app{"sioreplay " SIO_VERSION
               ": record real Socket.IO traffic (HAR, pcap, live) and turn it into load tests",
               "sioreplay"};
  app.set_version_flag("--version", "sioreplay " SIO_VERSION);
  app.require_subcommand(1);
  app.footer("Exit codes: 0 success, 1 bad input or failed run, 2 usage error.\n"
             "Docs: README.md and docs/ in the source tree.");
  sio::cli::g_command_line.assign(argv, argv + argc);
  int exit_code = sio::cli::exit_ok;
  sio::cli::add_record(app, exit_code);
  sio::cli::add_convert(app, exit_code);
  sio::cli::add_replay(app, exit_code);
  sio::cli::add_report(app, exit_code);
  sio::cli::add_completion(app, exit_code);
  sio::cli::add_man(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : sio::cli::exit_usage;
  } catch (const std::exception& e) {
    // Last resort: library code reports errors as values; anything here is a bug.
    std::fprintf(stderr, "sioreplay: internal error: %s\n", e.what());
    return sio::cli::exit_failure;
  }
  return exit_code;
}
