/// `sioreplay record`: HAR files, pcap/pcapng captures or a live interface in, a recording
/// (JSON Lines) out.

#include "commands.hpp"

#include "sio/common/file_io.hpp"
#include "sio/common/session_json.hpp"
#include "sio/recorder/html_timeline.hpp"
#include "sio/recorder/recorder.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <unistd.h>

#ifdef SIO_WITH_MIMALLOC
#include <mimalloc.h>
#endif

namespace sio::cli {
namespace {

struct RecordArgs {
  recorder::RecordOptions options;
  std::string output = "-";
  bool quiet = false;
  std::string leg = "client";
  std::string html; ///< --html: the timeline page
};

std::atomic<bool> g_stop{false};
extern "C" void on_record_signal(int) {
  // First signal: stop capturing and write what was captured; second: exit at once.
  if (g_stop.exchange(true)) std::_Exit(130);
}

int record_error(const Error& e) {
  std::fprintf(stderr, "sioreplay record: error: %s\n", e.message().c_str());
  return exit_failure;
}

/// --html: the timeline page's output, opened before the inputs are read so that a bad path
/// fails at once.
struct TimelineOutput {
  std::optional<AtomicOutput> out;
  recorder::TimelinePage page;
};

/// Commits the output (and the timeline page) and prints the summary (unless quiet).
int finish_record(const RecordArgs& args, AtomicOutput& out, const std::string& summary,
                  TimelineOutput& timeline, const std::vector<Diagnostic>& diagnostics) {
  if (timeline.out) {
    Recording trailer;
    trailer.diagnostics = diagnostics;
    auto page = timeline.page.html(args.options.inputs.empty()
                                       ? std::vector<std::string>{"live " + args.options.interface}
                                       : args.options.inputs,
                                   recording_diagnostics_line(trailer));
    if (!page) return record_error(page.error());
    timeline.out->write(*page);
  }
  if (auto st = out.commit(); !st) return record_error(st.error());
  if (timeline.out)
    if (auto st = timeline.out->commit(); !st) return record_error(st.error());
  if (!args.quiet) {
    std::string text = summary;
    if (args.options.redact.enabled)
      text += "  --redact: secrets replaced by [redacted:...] markers (docs/recording.md)\n";
    if (args.output != "-") text += "  wrote " + args.output + "\n";
    if (timeline.out) {
      text += "  wrote " + args.html + " (timeline of " + std::to_string(timeline.page.sessions()) +
              " session(s)";
      if (timeline.page.omitted() != 0)
        text += ", " + std::to_string(timeline.page.omitted()) + " left out";
      text += ")\n";
    }
    std::fputs(text.c_str(), stderr);
  }
  return exit_ok;
}

/// Captures: sessions are decoded as they end and spilled, so memory stays flat; the output
/// is opened first so that a bad output path fails before a long capture.
int record_streaming(RecordArgs& args, TimelineOutput& timeline) {
  auto out = AtomicOutput::create(args.output);
  if (!out) return record_error(out.error());
  const bool announce = !args.options.interface.empty() && !args.quiet;
  if (announce || timeline.out)
    args.options.on_session_end = [announce, &timeline](const Session& s) {
      if (timeline.out) timeline.page.add(s);
      if (!announce) return;
      std::uint64_t c2s = 0;
      for (const auto& m : s.messages) c2s += m.dir == Direction::client_to_server ? 1 : 0;
      std::fprintf(stderr, "  session ended: sid %s  %zu messages (%llu c->s)  %.1f s  %s\n",
                   s.sid.c_str(), s.messages.size(), static_cast<unsigned long long>(c2s),
                   static_cast<double>(s.duration_us) / 1e6, s.url.c_str());
    };
  std::vector<recorder::InputStats> stats;
  auto totals = recorder::record_to(args.options, *out, stats);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!totals) return record_error(totals.error());
  return finish_record(args, *out, args.quiet ? std::string() : recorder::summary(*totals, stats),
                       timeline, totals->diagnostics);
}

int run_record(RecordArgs& args) {
  tune_allocator_for_batch();
  if (args.options.inputs.empty() && args.options.interface.empty()) {
    std::fprintf(stderr, "sioreplay record: give capture files or --interface IF\n");
    return exit_usage;
  }
  args.options.leg = args.leg == "upstream" ? recorder::SessionBuilder::LegChoice::upstream
                     : args.leg == "both"   ? recorder::SessionBuilder::LegChoice::both
                                            : recorder::SessionBuilder::LegChoice::client;
  args.options.progress = !args.quiet && isatty(STDERR_FILENO) != 0;
  if (!args.options.interface.empty()) {
    args.options.stop = &g_stop;
    std::signal(SIGINT, on_record_signal);
    std::signal(SIGTERM, on_record_signal);
  }
  TimelineOutput timeline;
  if (!args.html.empty()) {
    auto o = open_html_output(args.html);
    if (!o) return record_error(o.error());
    timeline.out.emplace(std::move(*o));
  }
  if (recorder::captures_only(args.options)) return record_streaming(args, timeline);
  std::vector<recorder::InputStats> stats;
  auto rec = recorder::record(args.options, stats);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!rec) return record_error(rec.error());
  auto out = AtomicOutput::create(args.output);
  if (!out) return record_error(out.error());
  write_recording(*rec, *out);
  if (timeline.out)
    for (const auto& s : rec->sessions) timeline.page.add(s);
  return finish_record(args, *out, args.quiet ? std::string() : recorder::summary(*rec, stats),
                       timeline, rec->diagnostics);
}

} // namespace

void tune_allocator_for_batch() {
#ifdef SIO_WITH_MIMALLOC
  // mimalloc returns freed pages with madvise() 25 ms after they empty; on a VM each call costs
  // a TLB flush (0.3 ms). Reading a capture frees pages all the time: that was 12 % of record's
  // time. Five seconds leave a few calls per run; the peak memory does not change.
  mi_option_set(mi_option_decommit_delay, 5000);
#endif
}

void add_record(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RecordArgs>();
  auto* sub = app.add_subcommand(
      "record",
      "Rebuild every Socket.IO session of browser HAR files, pcap/pcapng captures or a live "
      "interface into a recording (JSON Lines)");
  sub->add_option("inputs", args->options.inputs,
                  "HAR files (Chrome/Chromium DevTools, Playwright, Firefox; - reads standard "
                  "input) and pcap/pcapng captures (tcpdump, dumpcap, Wireshark)");
  sub->add_option("-o,--output", args->output,
                  "Recording to write (atomically); - is standard output")
      ->capture_default_str();
  sub->add_option(
      "--path", args->options.path,
      "Only Engine.IO requests on this path (e.g. /socket.io/); default: any path whose "
      "query has EIO= and transport=");
  sub->add_option("-i,--interface", args->options.interface,
                  "Capture live on this interface (libpcap; needs root or CAP_NET_RAW and "
                  "CAP_NET_ADMIN); stops on SIGINT/SIGTERM or --duration");
  sub->add_option("--filter", args->options.filter,
                  "BPF filter for captures, e.g. \"tcp port 4080\"");
  sub->add_option("--port", args->options.ports,
                  "Decode only TCP connections to these server ports (repeatable); default: "
                  "every connection that speaks HTTP/1.1");
  sub->add_option("--keylog", args->options.keylogs,
                  "NSS key log file(s) for TLS (SSLKEYLOGFILE, node --tls-keylog); pcapng "
                  "Decryption Secrets Blocks are read too");
  sub->add_option("--leg", args->leg,
                  "A capture holding both legs of a proxy: keep the client-facing leg (client, "
                  "default), the proxy-to-replica leg (upstream) or both")
      ->check(CLI::IsMember({"client", "upstream", "both"}))
      ->capture_default_str();
  sub->add_option("--duration", args->options.duration_s,
                  "Live capture: stop after this many seconds (default: until SIGINT/SIGTERM)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--max-sessions", args->options.max_sessions,
                  "Captures: stop once this many sessions have ended (and write those)");
  sub->add_option("--session-idle", args->options.session_idle_s,
                  "Captures: a session silent this many seconds (capture time) has ended")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--html", args->html,
                  "Also write a timeline page of each session's messages (who sent what, when, "
                  "acks linked to their emits): one self-contained HTML file");
  auto* redact = sub->add_flag(
      "--redact", args->options.redact.enabled,
      "Replace secrets by [redacted:HASH] markers (equal secrets, equal markers): Authorization "
      "and secret-looking headers, cookies other than the sticky-session ones, CONNECT auth "
      "payloads, secret-looking JSON fields and query parameters. Off by default: a recording "
      "feeds replay, which needs the real values");
  sub->add_option("--redact-field", args->options.redact.fields,
                  "With --redact: also redact JSON fields, headers and query parameters of this "
                  "name (any case; repeatable)")
      ->needs(redact);
  sub->add_option("--keep-cookie", args->options.redact.keep_cookies,
                  "With --redact: keep this cookie's value too (repeatable; the sticky-session "
                  "cookies route, AWSALB*, SERVERID, ... are always kept)")
      ->needs(redact);
  sub->add_flag("-q,--quiet", args->quiet, "Do not print the summary on standard error");
  sub->footer(
      "The summary (inputs, sessions, messages by type, diagnostics) goes to standard error,\n"
      "with a progress line while a capture is read when standard error is a terminal.\n"
      "Exit 1 when an input is unreadable or malformed (the error names the file and the\n"
      "place) or holds no Socket.IO traffic; no output file is left behind then. A damaged\n"
      "capture (truncated, lost packets) keeps its intact sessions: exit 0 with a warning and\n"
      "the damage listed in the diagnostics.\n"
      "Captures are decoded session by session as sessions end (memory stays flat on big\n"
      "files); a live capture announces each ended session on stderr and flushes every open\n"
      "one at SIGINT/SIGTERM. See docs/pcap.md.\n"
      "Secrets: a recording keeps what the browser sent (tokens, cookies) unless --redact is\n"
      "given; keys from --keylog are never written anywhere. `sioreplay convert` moves secrets\n"
      "to a payload CSV by default.");
  sub->callback([args, &exit_code] { exit_code = run_record(*args); });
}

} // namespace sio::cli
