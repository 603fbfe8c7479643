/// `sioreplay replay`: runs an Artillery v2 Socket.IO scenario at N x load.

#include "commands.hpp"

#include "sio/common/file_io.hpp"
#include "sio/common/session_json.hpp"
#include "sio/converter/converter.hpp"
#include "sio/replayer/engine.hpp"
#include "sio/replayer/html_report.hpp"
#include "sio/replayer/metrics_server.hpp"
#include "sio/replayer/processes.hpp"
#include "sio/replayer/recorded.hpp"
#include "sio/replayer/report.hpp"
#include "sio/replayer/script.hpp"

#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <sys/ioctl.h>
#include <tuple>
#include <unistd.h>

namespace sio::cli {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signals{0};

/// The outputs' temporary files, removed by a second signal before it exits (no destructor
/// runs after std::_Exit): fixed buffers, written before the handler is installed.
constexpr std::size_t max_temps = 2;
std::array<std::array<char, 4096>, max_temps> g_temps{};

void remember_temp(const AtomicOutput& out) {
  const std::string& t = out.temp_path();
  if (t.empty() || t.size() >= g_temps[0].size()) return;
  for (auto& slot : g_temps)
    if (slot[0] == '\0') {
      std::memcpy(slot.data(), t.c_str(), t.size() + 1);
      return;
    }
}

extern "C" void on_signal(int) {
  // First signal: stop arrivals and close users; second: exit at once (unlink and _Exit are
  // async-signal-safe), leaving no temporary output behind.
  if (g_signals.fetch_add(1) >= 1) {
    for (const auto& slot : g_temps)
      if (slot[0] != '\0') ::unlink(slot.data());
    std::_Exit(130);
  }
  g_stop.store(true);
}

struct ReplayArgs {
  std::string script;
  std::string output;
  std::string html; ///< --html: the report page
  std::string environment;
  std::string target;
  bool quiet = false;
  std::string live = "auto"; ///< --live: auto (on a terminal), on, off (plain lines)
  replayer::EngineOptions engine;
  bool no_cookie_jar = false;
  double speed = 1.0;
  unsigned multiply = 1;
  bool scale_given = false, speed_given = false, multiply_given = false;
  std::string source_addresses;
  unsigned processes = 1;
  std::string shard;
  int metrics_port = -1; ///< -1: no metrics endpoint
  std::string metrics_address = "127.0.0.1";
};

/// The live display on a terminal: replayer::live_display's lines redrawn in place every
/// second (cursor up, erase line), each cut to the terminal's width so none wraps.
class LiveDisplay {
public:
  explicit LiveDisplay(double arrivals_s) : arrivals_s_(arrivals_s) {}

  void show(const replayer::Period& last, const replayer::Period& total, double elapsed,
            bool ended = false) {
    replayer::LiveRates rates;
    const double dt = elapsed - prev_elapsed_;
    const auto rate = [&](const char* name, std::uint64_t& prev) {
      const std::uint64_t now = replayer::counter(total, name);
      const double r = dt > 0 && now >= prev ? static_cast<double>(now - prev) / dt : 0.0;
      prev = now;
      return r;
    };
    rates.emits = rate("socketio.emit", prev_emits_);
    rates.pushes = rate("socketio.push", prev_pushes_);
    rates.http = rate("http.requests", prev_http_);
    prev_elapsed_ = elapsed;

    std::size_t columns = 80;
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1) columns = ws.ws_col;
    std::string out;
    if (drawn_ != 0) out += "\x1b[" + std::to_string(drawn_) + "F"; // back to the block's top
    const auto lines = replayer::live_display(last, total, elapsed, arrivals_s_, rates, ended);
    for (const auto& line : lines) {
      out += "\x1b[2K"; // erase the old line
      out.append(line, 0, columns - 1);
      out += '\n';
    }
    drawn_ = lines.size();
    std::fputs(out.c_str(), stderr);
    std::fflush(stderr);
  }

private:
  double arrivals_s_;
  std::size_t drawn_ = 0;
  double prev_elapsed_ = 0;
  std::uint64_t prev_emits_ = 0, prev_pushes_ = 0, prev_http_ = 0;
};

/// A recording, HAR or capture given instead of a scenario, replayed with its own timing: one
/// scenario per session (the converter's per-session mode: think steps are the recorded gaps
/// divided by the speed) in a temporary YAML + payload CSV, loaded from there.
Result<replayer::Script> load_recorded(const Recording& rec, const std::string& path,
                                       const replayer::LoadOptions& lo, double speed) {
  converter::ConvertOptions co;
  co.payload_file = "scenario.csv";
  const auto slash = path.rfind('/');
  co.source_name = slash == std::string::npos ? path : path.substr(slash + 1);
  co.per_session = true;
  co.think.kind = converter::ThinkPolicy::Kind::scale;
  co.think.factor = 1.0 / speed;
  auto conv = converter::convert(rec, co);
  if (!conv) return fail(conv.error().within(path));
  char dir_template[] = "/tmp/sioreplay-scenario-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (!dir) return fail(errc::io_error, "cannot create a temporary folder for the scenario");
  const std::string yaml = std::string(dir) + "/scenario.yml";
  const std::string csv = std::string(dir) + "/scenario.csv";
  Status written = write_file_atomically(yaml, conv->yaml);
  if (written && !conv->csv.empty()) written = write_file_atomically(csv, conv->csv);
  Result<replayer::Script> script =
      written ? replayer::load_script(yaml, lo) : Result<replayer::Script>(fail(written.error()));
  std::remove(yaml.c_str());
  std::remove(csv.c_str());
  ::rmdir(dir);
  if (script && script->scenarios.size() != rec.sessions.size())
    return fail(errc::unsupported, path + ": " + std::to_string(rec.sessions.size()) +
                                       " sessions became " +
                                       std::to_string(script->scenarios.size()) + " scenarios");
  return script;
}

const char* ordinal_suffix(unsigned n) {
  if (n % 100 >= 11 && n % 100 <= 13) return "th";
  switch (n % 10) {
  case 1:
    return "st";
  case 2:
    return "nd";
  case 3:
    return "rd";
  default:
    return "th";
  }
}

int usage_error(const char* text) {
  std::fprintf(stderr, "sioreplay replay: %s\n", text);
  return exit_usage;
}

int run_replay(ReplayArgs& a) {
  const bool recorded = is_recording_input(a.script);
  if (!recorded && (a.speed_given || a.multiply_given))
    return usage_error("--speed and --multiply replay a recording, HAR or capture with its own "
                       "timing; a scenario's load is set by its phases and --scale");
  if (recorded && a.scale_given)
    return usage_error("--scale multiplies a scenario's phases; a recording replays with its own "
                       "timing: use --multiply N (N copies of each session) and --speed F");
  if (!(a.engine.scale > 0)) return usage_error("--scale must be > 0");
  if (!(a.speed > 0) || a.speed > 1e6) return usage_error("--speed must be > 0 (and <= 1e6)");
  if (a.multiply < 1 || a.multiply > 100000)
    return usage_error("--multiply must be between 1 and 100000");
  if (!a.source_addresses.empty()) {
    auto sources = replayer::parse_source_addresses(a.source_addresses);
    if (!sources) return usage_error(sources.error().message().c_str());
    a.engine.source_addresses = std::move(*sources);
  }
  if (auto st = replayer::check_allow_hosts(a.engine.allow_hosts); !st)
    return usage_error(st.error().message().c_str());
  if (a.processes < 1 || a.processes > 1024)
    return usage_error("--processes must be between 1 and 1024");
  if (!a.shard.empty()) {
    auto shard = replayer::parse_shard(a.shard);
    if (!shard) return usage_error(shard.error().message().c_str());
    std::tie(a.engine.shard_index, a.engine.shard_count) = *shard;
  }
  replayer::LoadOptions lo;
  lo.environment = a.environment;
  lo.target = a.target;
  std::optional<Recording> rec;
  Result<replayer::Script> script = fail(errc::unsupported, "not loaded");
  if (recorded) {
    auto r = load_recording_input(a.script);
    if (r) {
      rec.emplace(std::move(*r));
      script = load_recorded(*rec, a.script, lo, a.speed);
    } else {
      script = fail(std::move(r).error());
    }
  } else {
    script = replayer::load_script(a.script, lo);
  }
  if (!script) {
    // The scenario loader's messages are whole ("s.yml:4: config.phases[0].duration: must not
    // be negative"): the error code's own words ("bad recording") would only mislead.
    const Error& e = script.error();
    std::fprintf(stderr, "sioreplay replay: error: %s\n",
                 (recorded || e.context.empty() ? e.message() : e.context).c_str());
    return exit_failure;
  }
  for (const auto& w : script->warnings)
    std::fprintf(stderr, "sioreplay replay: warning: %s\n", w.c_str());
  replayer::RecordedTiming timing;
  if (rec) {
    a.engine.schedule = replayer::recorded_schedule(*rec, a.speed, a.multiply);
    a.engine.tally_pushes = true;
    timing = replayer::recorded_timing(*rec, a.speed, a.multiply);
    std::fprintf(stderr,
                 "sioreplay replay: %s: %zu session(s) x %u replayed with their recorded timing "
                 "at --speed %g: %zu users over %.1f s\n",
                 a.script.c_str(), rec->sessions.size(), a.multiply, a.speed,
                 a.engine.schedule.size(), timing.due_s);
  }
  a.engine.cookie_jar = !a.no_cookie_jar;
  if (a.engine.insecure || !script->tls_reject_unauthorized)
    std::fprintf(stderr, "sioreplay replay: warning: TLS certificates are not verified (%s)\n",
                 a.engine.insecure ? "--insecure" : "config.tls.rejectUnauthorized: false");
  if (a.no_cookie_jar)
    std::fprintf(stderr, "sioreplay replay: warning: --no-cookie-jar: users do not keep cookies; "
                         "sticky load balancers will spread their requests\n");
  // Open the report file first: a bad path fails before the load, not after.
  std::optional<AtomicOutput> out;
  if (!a.output.empty()) {
    auto o = AtomicOutput::create(a.output);
    if (!o) {
      std::fprintf(stderr, "sioreplay replay: error: %s\n", o.error().message().c_str());
      return exit_failure;
    }
    out.emplace(std::move(*o));
    remember_temp(*out);
  }
  std::optional<AtomicOutput> html;
  if (!a.html.empty()) {
    auto o = open_html_output(a.html);
    if (!o) {
      std::fprintf(stderr, "sioreplay replay: error: %s\n", o.error().message().c_str());
      return exit_failure;
    }
    html.emplace(std::move(*o));
    remember_temp(*html);
  }
  std::unique_ptr<replayer::MetricsServer> metrics;
  if (a.metrics_port >= 0) {
    // --processes forks after this: the server's thread starts at the first period then.
    auto m = replayer::MetricsServer::start(
        a.metrics_address, static_cast<std::uint16_t>(a.metrics_port), a.processes > 1);
    if (!m) {
      std::fprintf(stderr, "sioreplay replay: error: %s\n", m.error().message().c_str());
      return exit_failure;
    }
    metrics = std::move(*m);
    if (!a.quiet)
      std::fprintf(stderr, "sioreplay replay: metrics at http://%s:%u/metrics (every 10 s)\n",
                   a.metrics_address.find(':') == std::string::npos
                       ? a.metrics_address.c_str()
                       : ("[" + a.metrics_address + "]").c_str(),
                   static_cast<unsigned>(metrics->port()));
  }
  double arrivals_s = 0; // when the phases' arrivals end: the live line's time left
  for (const auto& ph : script->phases) arrivals_s += ph.duration_s;
  const bool live =
      !a.quiet && (a.live == "on" ||
                   (a.live == "auto" && ::isatty(STDERR_FILENO) && std::getenv("TERM") != nullptr &&
                    std::string_view(std::getenv("TERM")) != "dumb"));
  auto display = std::make_shared<LiveDisplay>(arrivals_s);
  if (live) a.engine.progress_interval_s = 1;
  if (!a.quiet || metrics)
    a.engine.progress = [quiet = a.quiet, live, display, m = metrics.get(),
                         arrivals_s](const replayer::Period& last, const replayer::Period& total,
                                     double elapsed) {
      if (m) m->update(last, total, elapsed);
      if (live)
        display->show(last, total, elapsed);
      else if (!quiet)
        std::fprintf(stderr, "%s\n",
                     replayer::progress_line(last, total, elapsed, arrivals_s).c_str());
    };
  // Each connected user holds a descriptor or two: take all the kernel allows this process.
  const std::uint64_t open_files = replayer::raise_open_files_limit();
  if (!a.quiet) {
    std::fprintf(
        stderr, "sioreplay replay: open files limit %llu%s (one or two per connected user)\n",
        static_cast<unsigned long long>(open_files), a.processes > 1 ? " per process" : "");
    if (a.engine.shard_count > 1)
      std::fprintf(stderr, "sioreplay replay: shard %u/%u: every %u%s arrival from the %u%s\n",
                   a.engine.shard_index, a.engine.shard_count, a.engine.shard_count,
                   ordinal_suffix(a.engine.shard_count), a.engine.shard_index + 1,
                   ordinal_suffix(a.engine.shard_index + 1));
    if (a.processes > 1)
      std::fprintf(stderr,
                   "sioreplay replay: %u processes, each with 1/%u of the arrivals; one merged "
                   "report\n",
                   a.processes, a.processes);
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  auto result = replayer::run_processes(*script, a.engine, a.processes, &g_stop);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!result) {
    std::fprintf(stderr, "sioreplay replay: error: %s\n", result.error().message().c_str());
    return exit_failure;
  }
  if (live) { // the display's last state: the end of the run
    const replayer::Metrics& m = result->metrics;
    display->show(m.periods().empty() ? replayer::Period{} : m.periods().rbegin()->second,
                  m.aggregate(), result->elapsed_s, true);
  }
  std::fputs(replayer::summary_table(result->metrics, result->elapsed_s).c_str(), stderr);
  if (!result->metrics.examples().empty()) {
    std::fprintf(stderr, "First error of each cause\n");
    for (const auto& [cause, message] : result->metrics.examples())
      std::fprintf(stderr, "  errors.%s: %s\n", cause.c_str(), message.c_str());
  }
  std::optional<replayer::PushComparison> pushes;
  if (rec) {
    pushes = replayer::compare_pushes(*rec, result->pushes);
    std::fputs(replayer::recorded_summary(timing, result->elapsed_s, *pushes).c_str(), stderr);
  }
  if (result->interrupted)
    std::fprintf(stderr, "sioreplay replay: interrupted: the report covers the run so far\n");
  Json report = replayer::report_json(result->metrics);
  report[replayer::run_key] = replayer::run_json(*script, command_line(), result->elapsed_s);
  report[replayer::run_key]["script"] = a.script; // as given (a recording's YAML is temporary)
  if (rec) report[replayer::run_key]["phases"] = Json::array(); // recorded timing, no phases
  if (pushes)
    report["x-sioreplay-recorded"] = replayer::recorded_json(timing, result->elapsed_s, *pushes);
  if (!result->metrics.examples().empty()) {
    Json ex = Json::object();
    for (const auto& [cause, message] : result->metrics.examples()) ex[cause] = message;
    report["x-sioreplay-error-examples"] = std::move(ex);
  }
  // config.ensure: checked once, on the aggregate, as Artillery does.
  bool ensure_failed = false;
  if (!script->ensure.checks.empty()) {
    std::fprintf(stderr, "ensure:\n");
    for (const auto& o : replayer::evaluate_ensure(script->ensure, report["aggregate"])) {
      const char* mark = o.ok ? "ok  " : o.strict ? "FAIL" : "warn";
      std::fprintf(stderr, "  %s %s%s%s\n", mark, o.text.c_str(), o.detail.empty() ? "" : "  (",
                   o.detail.empty() ? "" : (o.detail + ")").c_str());
      ensure_failed |= !o.ok && o.strict;
    }
  }
  if (out) {
    if (result->interrupted) report["x-sioreplay-interrupted"] = true;
    out->write(dump_json(report));
    out->write("\n");
    if (auto st = out->commit(); !st) {
      std::fprintf(stderr, "sioreplay replay: error: %s\n", st.error().message().c_str());
      return exit_failure;
    }
    std::fprintf(stderr, "sioreplay replay: report written to %s\n", a.output.c_str());
  }
  if (html) {
    if (result->interrupted) report["x-sioreplay-interrupted"] = true;
    auto page = replayer::html_report(report);
    if (!page) {
      std::fprintf(stderr, "sioreplay replay: error: %s\n", page.error().message().c_str());
      return exit_failure;
    }
    html->write(*page);
    if (auto st = html->commit(); !st) {
      std::fprintf(stderr, "sioreplay replay: error: %s\n", st.error().message().c_str());
      return exit_failure;
    }
    std::fprintf(stderr, "sioreplay replay: HTML report written to %s\n", a.html.c_str());
  }
  if (ensure_failed) {
    std::fprintf(stderr, "sioreplay replay: config.ensure failed\n");
    return exit_failure;
  }
  return result->interrupted ? exit_failure : exit_ok;
}

} // namespace

void add_replay(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<ReplayArgs>();
  auto* sub = app.add_subcommand(
      "replay",
      "Run an Artillery v2 Socket.IO scenario (YAML) at N x load, or a recording with its own "
      "timing, with a cookie jar per user");
  sub->add_option("script", a->script,
                  "Scenario YAML (Artillery v2, engine: socketio), or a recording, HAR or "
                  "pcap/pcapng capture (replayed with its recorded timing)")
      ->required();
  sub->add_option("--scale", a->engine.scale,
                  "Scenario: multiply every phase's arrivals (and maxVusers)")
      ->capture_default_str();
  sub->add_option("--speed", a->speed,
                  "Recording: replay F times as fast (start offsets and gaps divided by F)")
      ->capture_default_str();
  sub->add_option("--multiply", a->multiply, "Recording: run N copies of each recorded session")
      ->capture_default_str();
  sub->add_option("--target", a->target, "Override config.target");
  sub->add_option("-e,--environment", a->environment, "Use config.environments.NAME");
  sub->add_option("--workers", a->engine.workers, "Worker threads (default: one per core)");
  sub->add_option("--source-addresses", a->source_addresses,
                  "Bind connections to these local addresses in turn (comma-separated, IPv4 "
                  "ranges like 127.0.0.1-127.0.0.8): each has its own ~28k local ports");
  sub->add_option("--processes", a->processes,
                  "Run as N local processes (shards of this run, each with its own open-files "
                  "limit), one merged report and live line")
      ->capture_default_str();
  sub->add_option("--shard", a->shard,
                  "I/N: run shard I (from 0) of N: every Nth arrival (and payload row, and "
                  "1/N of maxVusers); merge the N reports with `sioreplay report --merge`");
  sub->add_option("-o,--output", a->output, "Write the report (Artillery's JSON shape) here");
  sub->add_option("--metrics-port", a->metrics_port,
                  "Serve live metrics for Prometheus at http://ADDRESS:PORT/metrics (updated "
                  "every 10 s; 0: any free port)")
      ->check(CLI::Range(0, 65535));
  sub->add_option("--metrics-address", a->metrics_address,
                  "Address the metrics endpoint listens on")
      ->capture_default_str();
  sub->add_option("--html", a->html,
                  "Write an HTML report here: one self-contained page with charts over time, "
                  "the summary, errors, scenarios and phases");
  sub->add_flag(
      "--no-cookie-jar", a->no_cookie_jar,
      "Diagnostics: users keep no cookies (shows what a sticky balancer does without them)");
  sub->add_flag("--insecure", a->engine.insecure,
                "Do not verify TLS certificates (as config.tls.rejectUnauthorized: false)");
  sub->add_option("--ca-file", a->engine.ca_file,
                  "Also trust the CA certificates in this PEM file (https/wss targets)")
      ->check(CLI::ExistingFile);
  sub->add_option("--allow-host", a->engine.allow_hosts,
                  "Let HTTP steps go to this host too (HOST: any port, or HOST:PORT; "
                  "repeatable). Otherwise users connect only to the target")
      ->type_name("HOST[:PORT]");
  sub->add_option("--connect-timeout", a->engine.connect_timeout_s,
                  "Seconds a user waits for each setup step: TCP connect, TLS, the Engine.IO "
                  "handshake, the websocket upgrade, a namespace CONNECT, a polling POST")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  sub->add_option("--seed", a->engine.seed, "Random seed for variables, payload rows, scenarios");
  sub->add_flag("-q,--quiet", a->quiet, "No live progress");
  sub->add_option("--live", a->live,
                  "Live progress: on a terminal (auto) a display redrawn in place every second; "
                  "'off': a plain line every 10 s, as when stderr is not a terminal")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->default_str("auto");
  sub->footer(
      "Every user keeps its own cookie jar: the load balancer's Set-Cookie (route, AWSALB,\n"
      "SERVERID, ...) is sent back on every polling request and on the websocket upgrade,\n"
      "so sticky sessions work without a Cookie variable. If the script also sets a Cookie\n"
      "header, the live cookie of the same name wins. SIGINT/SIGTERM: users are closed within\n"
      "5 s and the report covers the run so far; a second signal exits at once.\n"
      "A recording, HAR or capture is replayed with its own timing: each session starts at its\n"
      "recorded offset with its recorded gaps between client messages (divided by --speed),\n"
      "--multiply copies of each, and the server events each session's copies receive are\n"
      "compared with the recording (missing/extra per session; in the report as\n"
      "x-sioreplay-recorded). To edit the load instead, `sioreplay convert` it to a scenario.\n"
      "Limits: the soft open-files limit is raised to the hard one; users stopped by a limit\n"
      "fail with errors.limit.open_files (use --processes N) or errors.limit.local_ports\n"
      "(use --source-addresses).\n"
      "Users connect only to the target (config.target or --target): an HTTP step to another\n"
      "host fails with errors.host_not_allowed unless --allow-host names it. Redirects are\n"
      "not followed (a 3xx is the step's response). TLS certificates and host names are\n"
      "verified (--ca-file adds a CA; --insecure skips the checks, with a warning).\n"
      "Exit codes: 0 the run completed (failed users are in the report; config.ensure turns\n"
      "them into a failure), 1 bad script, interrupted run, an output not written or a failed\n"
      "ensure check, 2 usage, 130 a second SIGINT/SIGTERM (no report).");
  sub->callback([a, sub, &exit_code] {
    a->scale_given = sub->count("--scale") > 0;
    a->speed_given = sub->count("--speed") > 0;
    a->multiply_given = sub->count("--multiply") > 0;
    exit_code = run_replay(*a);
  });
}

} // namespace sio::cli
