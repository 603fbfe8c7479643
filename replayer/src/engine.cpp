#include "sio/replayer/engine.hpp"

#include "detail/vu.hpp"
#include "sio/common/cookie.hpp"
#include "sio/common/url.hpp"
#include "sio/replayer/template.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <future>
#include <optional>
#include <sys/resource.h>
#include <thread>

namespace sio::replayer {
namespace {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

struct Worker {
  net::io_context ioc{1};
  Metrics metrics;
  std::mt19937_64 rng;
  std::size_t active = 0;
  detail::UserEnv env;
  std::map<std::string, PushTally> pushes;
  std::size_t next_source = 0;
  std::thread thread;
};

/// A CSV cell as a typed value when `cast` is on (numbers and booleans), else a string.
Json cell(const std::string& v, bool cast) {
  if (cast) {
    if (v == "true") return true;
    if (v == "false") return false;
    if (!v.empty()) {
      std::int64_t i = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), i);
      if (ec == std::errc{} && p == v.data() + v.size()) return i;
      double d = 0;
      auto [p2, ec2] = std::from_chars(v.data(), v.data() + v.size(), d);
      if (ec2 == std::errc{} && p2 == v.data() + v.size() && std::isfinite(d)) return d;
    }
  }
  return v;
}

/// Counts the users a stop cut off (neither completed nor failed) as vusers.interrupted and,
/// per scenario, vusers.interrupted_by_name.X: created minus completed minus failed.
void count_interrupted(Metrics& m) {
  const Period agg = m.aggregate();
  const auto get = [&](const std::string& name) -> std::uint64_t {
    const auto it = agg.counters.find(name);
    return it == agg.counters.end() ? 0 : it->second;
  };
  const auto cut_off = [&](const std::string& suffix) {
    const std::uint64_t done = get("vusers.completed" + suffix) + get("vusers.failed" + suffix);
    const std::uint64_t created = get("vusers.created" + suffix);
    return created > done ? created - done : 0;
  };
  if (const auto n = cut_off(""); n > 0) m.count("vusers.interrupted", n);
  constexpr std::string_view by_name = "vusers.created_by_name.";
  for (const auto& counter : agg.counters) {
    const std::string& name = counter.first;
    if (!name.starts_with(by_name)) continue;
    const std::string scenario = name.substr(by_name.size());
    if (const auto n = cut_off("_by_name." + scenario); n > 0)
      m.count("vusers.interrupted_by_name." + scenario, n);
  }
}

} // namespace

Result<std::vector<std::string>> parse_source_addresses(std::string_view text) {
  std::vector<std::string> out;
  const auto bad = [&](std::string_view item, const std::string& why) {
    return fail(errc::usage, "--source-addresses: \"" + std::string(item) + "\": " + why);
  };
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    boost::system::error_code ec;
    const auto dash = item.find('-');
    if (dash == std::string_view::npos) {
      const auto a = net::ip::make_address(std::string(item), ec);
      if (ec) return bad(item, "not an IP address");
      out.push_back(a.to_string());
    } else {
      const auto first = net::ip::make_address_v4(std::string(item.substr(0, dash)), ec);
      if (ec) return bad(item, "a range is two IPv4 addresses: FIRST-LAST");
      const auto last = net::ip::make_address_v4(std::string(item.substr(dash + 1)), ec);
      if (ec) return bad(item, "a range is two IPv4 addresses: FIRST-LAST");
      const std::uint32_t lo = first.to_uint(), hi = last.to_uint();
      if (hi < lo) return bad(item, "the range ends before it starts");
      if (hi - lo >= 65536 || out.size() + (hi - lo) >= 65536)
        return bad(item, "more than 65,536 addresses");
      for (std::uint32_t v = lo;; ++v) {
        out.push_back(net::ip::address_v4(v).to_string());
        if (v == hi) break;
      }
    }
    if (out.size() > 65536) return bad(item, "more than 65,536 addresses");
  }
  if (out.empty()) return fail(errc::usage, "--source-addresses: no address given");
  return out;
}

std::uint64_t raise_open_files_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return static_cast<std::uint64_t>(rl.rlim_cur);
}

Status check_shard(const EngineOptions& opt) {
  if (opt.shard_count == 0 || opt.shard_index >= opt.shard_count)
    return fail(errc::usage, "shard " + std::to_string(opt.shard_index) + "/" +
                                 std::to_string(opt.shard_count) + ": expected I/N with I < N");
  return ok_status();
}

Result<std::pair<unsigned, unsigned>> parse_shard(std::string_view text) {
  const auto bad =
      fail(errc::usage, "--shard \"" + std::string(text) +
                            "\": expected I/N with 0 <= I < N <= 100000 (I counts from 0)");
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad;
  unsigned i = 0, n = 0;
  const auto whole = [](std::string_view t, unsigned& v) {
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return !t.empty() && ec == std::errc{} && p == t.data() + t.size();
  };
  if (!whole(text.substr(0, slash), i) || !whole(text.substr(slash + 1), n) || n == 0 ||
      n > 100000 || i >= n)
    return bad;
  return std::pair{i, n};
}

std::string push_key(std::string_view nsp, std::string_view event) {
  std::string k;
  if (!nsp.empty() && nsp != "/") {
    k.reserve(nsp.size() + 1 + event.size());
    k += nsp;
    k += ' ';
  }
  k += event;
  return k;
}

std::vector<double> arrival_times(const Phase& phase, double scale) {
  std::vector<double> t;
  const double d = phase.duration_s;
  if (phase.pause || d <= 0) return t;
  if (phase.arrival_count) {
    const auto n =
        static_cast<std::int64_t>(std::llround(static_cast<double>(*phase.arrival_count) * scale));
    for (std::int64_t i = 0; i < n; ++i)
      t.push_back(d * static_cast<double>(i) / static_cast<double>(n));
    return t;
  }
  const double r0 = phase.arrival_rate * scale;
  const double r1 = (phase.ramp_to ? *phase.ramp_to : phase.arrival_rate) * scale;
  const auto n = static_cast<std::int64_t>(std::llround((r0 + r1) / 2.0 * d));
  if (n <= 0) return t;
  if (std::abs(r1 - r0) < 1e-12) {
    for (std::int64_t i = 0; i < n; ++i)
      t.push_back(d * static_cast<double>(i) / static_cast<double>(n));
    return t;
  }
  // Linear ramp: users so far N(t) = r0 t + (r1 - r0) t^2 / (2 d); the k-th user arrives where
  // N(t) = k * total / n (the total rounded to a whole number of users).
  const double a = (r1 - r0) / d;
  const double total = (r0 + r1) / 2.0 * d;
  for (std::int64_t k = 0; k < n; ++k) {
    const double target = static_cast<double>(k) * total / static_cast<double>(n);
    const double disc = r0 * r0 + 2.0 * a * target;
    t.push_back(std::min(d, (-r0 + std::sqrt(std::max(0.0, disc))) / a));
  }
  return t;
}

namespace {

/// One --allow-host: "host", "host:port", "[v6]" or "[v6]:port" (a bare IPv6 address is a host).
Result<detail::AllowedHost> parse_allowed_host(std::string_view text) {
  const auto bad = [&](const char* why) {
    return fail(errc::usage, "--allow-host " + std::string(text) + ": " + why);
  };
  detail::AllowedHost a;
  std::string_view port;
  if (text.starts_with("[")) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad("expected [IPv6] or [IPv6]:PORT");
    a.host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return bad("expected [IPv6] or [IPv6]:PORT");
      port = text.substr(close + 2);
    }
  } else if (const auto colon = text.find(':');
             colon != std::string_view::npos &&
             text.find(':', colon + 1) == std::string_view::npos) {
    a.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  } else {
    a.host = std::string(text);
  }
  if (a.host.empty()) return bad("no host");
  if (a.host.find_first_of("/?#@ ") != std::string::npos)
    return bad("a host name or address, not a URL");
  for (auto& c : a.host) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (!port.empty() || text.ends_with(":")) {
    unsigned v = 0;
    const auto r = std::from_chars(port.data(), port.data() + port.size(), v);
    if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || v == 0 ||
        v > 65535)
      return bad("the port must be 1-65535");
    a.port = std::to_string(v);
  }
  return a;
}

} // namespace

Status check_allow_hosts(const std::vector<std::string>& hosts) {
  for (const auto& h : hosts)
    if (auto a = parse_allowed_host(h); !a) return fail(a.error());
  return ok_status();
}

Result<RunResult> run(const Script& script, const EngineOptions& opt,
                      const std::atomic<bool>* stop) {
  auto url = parse_url(script.target);
  if (!url) return fail(errc::usage, "target " + script.target + ": " + url.error().context);
  if (url->scheme != "http" && url->scheme != "https" && url->scheme != "ws" &&
      url->scheme != "wss")
    return fail(errc::usage, "target " + script.target + ": expected http(s):// or ws(s)://");
  if (script.scenarios.empty()) return fail(errc::usage, script.file + ": no scenario to run");
  for (std::size_t i = 0; i < opt.schedule.size(); ++i) {
    const Arrival& a = opt.schedule[i];
    if (a.scenario >= script.scenarios.size() || !(a.at_s >= 0) ||
        (i > 0 && a.at_s < opt.schedule[i - 1].at_s))
      return fail(errc::usage, "schedule entry " + std::to_string(i) +
                                   ": scenario out of range, negative or unsorted time");
  }
  if (auto st = check_shard(opt); !st) return fail(st.error());
  detail::Target target;
  target.host = url->host;
  target.port = std::to_string(url->port);
  target.secure = url->scheme == "https" || url->scheme == "wss";
  {
    boost::system::error_code ec;
    (void)net::ip::make_address(target.host, ec);
    target.ip_literal = !ec;
  }
  target.base_path = url->path;
  while (!target.base_path.empty() && target.base_path.back() == '/') target.base_path.pop_back();
  // One TLS client context for all workers (OpenSSL contexts are safe to share once set up).
  std::optional<net::ssl::context> tls;
  const bool verify = !opt.insecure && script.tls_reject_unauthorized;
  if (target.secure) {
    tls.emplace(net::ssl::context::tls_client);
    boost::system::error_code ec;
    tls->set_default_verify_paths(ec);
    if (!opt.ca_file.empty()) {
      tls->load_verify_file(opt.ca_file, ec);
      if (ec) return fail(errc::io_error, "--ca-file " + opt.ca_file + ": " + ec.message());
    }
    tls->set_verify_mode(verify ? net::ssl::verify_peer : net::ssl::verify_none);
  }
  std::vector<detail::AllowedHost> allowed;
  for (const auto& text : opt.allow_hosts) {
    auto a = parse_allowed_host(text);
    if (!a) return fail(a.error());
    allowed.push_back(std::move(*a));
  }
  std::vector<net::ip::address> sources;
  for (const auto& text : opt.source_addresses) {
    boost::system::error_code ec;
    sources.push_back(net::ip::make_address(text, ec));
    if (ec) return fail(errc::usage, "--source-addresses: " + text + ": not an IP address");
  }
  {
    net::io_context resolve_ctx;
    net::ip::tcp::resolver resolver(resolve_ctx);
    boost::system::error_code ec;
    target.endpoints = resolver.resolve(target.host, target.port, ec);
    if (ec)
      return fail(errc::io_error, "target " + script.target + ": cannot resolve: " + ec.message());
  }

  const unsigned n_workers =
      opt.workers > 0 ? opt.workers : std::max(1u, std::thread::hardware_concurrency());
  // A seed gives each shard its own sequence (else shards would pick the same uuids).
  std::mt19937_64 rng(opt.seed != 0 ? opt.seed + 0x9E3779B97F4A7C15ULL * opt.shard_index
                                    : std::random_device{}());
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < n_workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->rng.seed(rng());
    w->env.script = &script;
    w->env.target = target;
    w->env.cookie_jar = opt.cookie_jar;
    w->env.connect_timeout_s = opt.connect_timeout_s;
    w->env.tls = tls ? &*tls : nullptr;
    w->env.tls_verify = verify;
    w->env.allow_hosts = allowed;
    w->env.metrics = &w->metrics;
    w->env.rng = &w->rng;
    w->env.active = &w->active;
    w->env.pushes = opt.tally_pushes ? &w->pushes : nullptr;
    w->env.source_addresses = sources;
    w->next_source = i; // workers start at different addresses
    w->env.next_source = &w->next_source;
    workers.push_back(std::move(w));
  }
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& w : workers) {
    guards.push_back(net::make_work_guard(w->ioc));
    w->thread = std::thread([&ioc = w->ioc] { ioc.run(); });
  }

  // Users alive across all workers, for maxVusers and for the end of the run.
  std::atomic<std::int64_t> alive{0};
  std::atomic<std::uint64_t> skipped{0};
  RunResult result;
  const auto start = opt.start_at ? std::max(*opt.start_at, Clock::now()) : Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  const auto progress_every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::clamp(opt.progress_interval_s, 0.1, 3600.0)));
  auto next_progress = start + progress_every;
  Period last_total;

  // The latest period and the aggregate over all workers, each worker's taken on its own
  // thread (Metrics::totals: the latest period and a kept sum, not every period). The latest
  // period is the newest one any worker has; a worker still in the one before has nothing in it.
  const auto report_progress = [&] {
    if (!opt.progress) return;
    std::vector<Metrics::Totals> each(workers.size());
    for (std::size_t i = 0; i < workers.size(); ++i) {
      std::promise<void> p;
      auto f = p.get_future();
      net::post(workers[i]->ioc, [&w = *workers[i], &t = each[i], &p] {
        t = w.metrics.totals();
        p.set_value();
      });
      f.wait();
    }
    Period last, total;
    std::int64_t newest = INT64_MIN;
    for (const auto& t : each)
      if (!t.last.counters.empty() || !t.last.histograms.empty())
        newest = std::max(newest, t.last.period_ms);
    for (const auto& t : each) {
      total.merge(t.total);
      if (t.last.period_ms == newest) last.merge(t.last);
    }
    opt.progress(last, total, elapsed());
  };
  // The live line every 10 s (or progress_interval_s), also when a wait ends exactly at its
  // time (the last arrival of a 10 s run, whose users end at once, must not skip the 10 s line).
  const auto progress_due = [&] {
    if (Clock::now() < next_progress) return;
    report_progress();
    next_progress += progress_every;
  };
  const auto wait_until = [&](Clock::time_point t) {
    while (Clock::now() < t) {
      if (stop != nullptr && stop->load()) return false;
      progress_due();
      std::this_thread::sleep_until(
          std::min({t, Clock::now() + std::chrono::milliseconds(50), next_progress}));
    }
    progress_due();
    return !(stop != nullptr && stop->load());
  };

  // Scenario choice by weight; payload rows in sequence or at random.
  double weight_sum = 0;
  for (const auto& s : script.scenarios) weight_sum += std::max(0.0, s.weight);
  const bool sharded = opt.shard_count > 1;
  const auto mine = [&](std::uint64_t k) { return k % opt.shard_count == opt.shard_index; };
  std::uint64_t arrival_no = 0; // over all phases, all shards
  std::uint64_t created = 0;
  // The user's variables: one pick of each list, one payload row (`row`, else row `seq` of a
  // sequential payload or a random one), a uuid, the target.
  const auto make_vars = [&](std::optional<std::size_t> row, std::uint64_t seq) {
    Json vars = Json::object();
    for (const auto& [k, v] : script.variables.items())
      vars[k] = v.is_array() && !v.empty() ? v[rng() % v.size()] : v;
    for (std::size_t pi = 0; pi < script.payloads.size(); ++pi) {
      const Payload& pl = script.payloads[pi];
      if (pl.rows.empty()) continue;
      if (pl.load_all) {
        Json all = Json::array();
        for (const auto& r : pl.rows) {
          Json o = Json::object();
          for (std::size_t c = 0; c < pl.fields.size() && c < r.size(); ++c)
            o[pl.fields[c]] = cell(r[c], pl.cast);
          all.push_back(std::move(o));
        }
        vars[pl.name.empty() ? "payload" : pl.name] = std::move(all);
        continue;
      }
      const auto& r = row           ? pl.rows[*row % pl.rows.size()]
                      : pl.sequence ? pl.rows[seq % pl.rows.size()]
                                    : pl.rows[rng() % pl.rows.size()];
      for (std::size_t c = 0; c < pl.fields.size() && c < r.size(); ++c)
        vars[pl.fields[c]] = cell(r[c], pl.cast);
    }
    vars["$uuid"] = uuid_v4(rng);
    vars["target"] = script.target;
    return vars;
  };
  const auto spawn = [&](Clock::time_point at, const Scenario* sc, Json vars) {
    Worker& w = *workers[created % workers.size()];
    ++created;
    ++alive;
    net::co_spawn(
        w.ioc,
        [&w, sc, vars = std::move(vars), at, &alive]() mutable -> net::awaitable<void> {
          co_await detail::run_user(w.env, *sc, std::move(vars), at);
          --alive;
        },
        net::detached);
  };
  const auto at_offset = [&](double s) {
    return start + std::chrono::microseconds(static_cast<std::int64_t>(s * 1e6));
  };

  // A schedule: its users at its times.
  for (const Arrival& a : opt.schedule) {
    if (!mine(arrival_no++)) continue;
    const auto at = at_offset(a.at_s);
    if (!wait_until(at)) break;
    spawn(at, &script.scenarios[a.scenario], make_vars(a.payload_row, 0));
  }
  // Otherwise the phases.
  double phase_start = 0;
  static const std::vector<Phase> no_phases;
  for (const Phase& phase : opt.schedule.empty() ? script.phases : no_phases) {
    const auto times = arrival_times(phase, opt.scale);
    std::int64_t cap =
        phase.max_vusers ? std::llround(static_cast<double>(*phase.max_vusers) * opt.scale) : -1;
    if (cap >= 0 && sharded) // this shard's share of the cap
      cap = cap / opt.shard_count + (static_cast<std::int64_t>(opt.shard_index) <
                                             cap % static_cast<std::int64_t>(opt.shard_count)
                                         ? 1
                                         : 0);
    for (const double t : times) {
      const std::uint64_t k = arrival_no++;
      if (!mine(k)) continue;
      const auto at = at_offset(phase_start + t);
      if (!wait_until(at)) break;
      if (cap >= 0 && alive.load() >= cap) {
        ++skipped;
        continue;
      }
      // A sequential payload: the next row; sharded, arrival k takes row k, as one unsharded
      // run would give it.
      Json vars = make_vars(std::nullopt, sharded ? k : created);
      double pick = std::uniform_real_distribution<double>(0, weight_sum)(rng);
      const Scenario* sc = &script.scenarios.back();
      for (const auto& sn : script.scenarios) {
        pick -= std::max(0.0, sn.weight);
        if (pick < 0) {
          sc = &sn;
          break;
        }
      }
      spawn(at, sc, std::move(vars));
    }
    phase_start += phase.duration_s;
    if (stop != nullptr && stop->load()) break;
  }
  // Wait for the users still running (a stop gives them 5 s, then cuts them off).
  std::optional<Clock::time_point> cut;
  while (alive.load() > 0) {
    if (stop != nullptr && stop->load() && !cut) cut = Clock::now() + std::chrono::seconds(5);
    if (cut && Clock::now() > *cut) break;
    progress_due();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  progress_due();
  result.interrupted = stop != nullptr && stop->load();
  guards.clear();
  for (auto& w : workers) {
    if (cut) w->ioc.stop();
    w->thread.join();
  }
  for (auto& w : workers) {
    result.metrics.merge(w->metrics);
    for (auto& [name, t] : w->pushes) {
      PushTally& all = result.pushes[name];
      all.users += t.users;
      all.failed += t.failed;
      for (const auto& [k, n] : t.events) all.events[k] += n;
    }
  }
  if (skipped > 0) result.metrics.count("vusers.skipped", skipped.load());
  // Users cut off by a stop neither completed nor failed: counted apart, overall and per
  // scenario, so that created = completed + failed + interrupted. Counted from the merged
  // counters once the workers are joined (a user may still end between the cut and the stop).
  if (cut) count_interrupted(result.metrics);
  result.elapsed_s = elapsed();
  result.users_created = created;
  return result;
}

} // namespace sio::replayer
