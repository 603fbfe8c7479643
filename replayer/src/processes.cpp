#include "sio/replayer/processes.hpp"

#include "sio/common/session_json.hpp"
#include "sio/replayer/report.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace sio::replayer {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_child_stop{false};
extern "C" void on_child_term(int) {
  g_child_stop.store(true);
}

/// Writes all of `s` to `fd` (a pipe); false when the reader is gone.
bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// One Period as a lossless report (a Metrics holding just it), and back.
Json period_lossless(const Period& p) {
  Metrics m;
  m.merge(p);
  return report_json(m);
}

Result<Period> period_from_lossless(const Json& j) {
  auto m = metrics_from_report(j);
  if (!m) return fail(m.error());
  return m->aggregate();
}

/// The child's side: run the shard, stream progress and the result, never return.
[[noreturn]] void child_main(int fd, const Script& script, EngineOptions o) {
  // The parent decides when to stop (a terminal's SIGINT reaches the whole process group);
  // it sends SIGTERM. If the parent dies, so does the child.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, on_child_term);
  std::signal(SIGPIPE, SIG_IGN);
  o.progress = [fd](const Period& last, const Period& total, double elapsed) {
    Json msg = Json::object();
    msg["progress"] = {
        {"last", period_lossless(last)}, {"total", period_lossless(total)}, {"elapsed_s", elapsed}};
    write_all(fd, dump_json(msg) + "\n");
  };
  auto r = run(script, o, &g_child_stop);
  Json msg = Json::object();
  if (r)
    msg["result"] = run_result_json(*r);
  else
    msg["error"] = r.error().message();
  const bool sent = write_all(fd, dump_json(msg) + "\n");
  ::close(fd);
  std::_Exit(sent && r ? 0 : 1);
}

struct Child {
  pid_t pid = -1;
  int fd = -1;
  std::string buffer;
  std::size_t progress_count = 0;
  Period last, total;
  double elapsed = 0;
  std::optional<RunResult> result;
  std::string error;
  bool eof = false;
};

std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + ::strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

} // namespace

Json run_result_json(const RunResult& r) {
  Json j = Json::object();
  j["report"] = report_json(r.metrics);
  Json ex = Json::object();
  for (const auto& [cause, message] : r.metrics.examples()) ex[cause] = message;
  j["examples"] = std::move(ex);
  j["elapsed_s"] = r.elapsed_s;
  j["users_created"] = r.users_created;
  j["interrupted"] = r.interrupted;
  Json pushes = Json::object();
  for (const auto& [name, t] : r.pushes) {
    Json events = Json::object();
    for (const auto& [k, n] : t.events) events[k] = n;
    pushes[name] = {{"users", t.users}, {"failed", t.failed}, {"events", std::move(events)}};
  }
  j["pushes"] = std::move(pushes);
  return j;
}

Result<RunResult> run_result_from_json(const Json& j) {
  const auto bad = [](const std::string& what) {
    return fail(errc::bad_recording, "run result: " + what);
  };
  if (!j.is_object()) return bad("not an object");
  RunResult r;
  const auto report = j.find("report");
  if (report == j.end()) return bad("no report");
  auto m = metrics_from_report(*report);
  if (!m) return fail(m.error());
  r.metrics = std::move(*m);
  try {
    for (const auto& [cause, message] : j.at("examples").items())
      r.metrics.example(cause, message.get<std::string>());
    r.elapsed_s = j.at("elapsed_s").get<double>();
    r.users_created = j.at("users_created").get<std::uint64_t>();
    r.interrupted = j.at("interrupted").get<bool>();
    for (const auto& [name, t] : j.at("pushes").items()) {
      PushTally& tally = r.pushes[name];
      tally.users = t.at("users").get<std::uint64_t>();
      tally.failed = t.at("failed").get<std::uint64_t>();
      for (const auto& [k, n] : t.at("events").items()) tally.events[k] = n.get<std::uint64_t>();
    }
  } catch (const Json::exception& e) {
    return bad(e.what());
  }
  return r;
}

void merge_result(RunResult& into, const RunResult& other) {
  into.metrics.merge(other.metrics);
  into.elapsed_s = std::max(into.elapsed_s, other.elapsed_s);
  into.users_created += other.users_created;
  into.interrupted = into.interrupted || other.interrupted;
  for (const auto& [name, t] : other.pushes) {
    PushTally& all = into.pushes[name];
    all.users += t.users;
    all.failed += t.failed;
    for (const auto& [k, n] : t.events) all.events[k] += n;
  }
}

Result<RunResult> run_processes(const Script& script, const EngineOptions& opt, unsigned processes,
                                const std::atomic<bool>* stop) {
  if (processes <= 1) return run(script, opt, stop);
  if (processes > 1024) return fail(errc::usage, "--processes: at most 1024");
  if (auto st = check_shard(opt); !st) return fail(st.error());
  // All shards time their arrivals from one instant, a moment from now (set-up time).
  EngineOptions child_opt = opt;
  child_opt.start_at = opt.start_at ? *opt.start_at : Clock::now() + std::chrono::milliseconds(300);
  child_opt.shard_count = opt.shard_count * processes;
  if (child_opt.workers == 0)
    child_opt.workers = std::max(1u, std::thread::hardware_concurrency() / processes);
  child_opt.progress = nullptr;

  std::vector<Child> children(processes);
  const auto reap_all = [&] {
    for (auto& c : children) {
      if (c.fd >= 0) ::close(c.fd);
      c.fd = -1;
      if (c.pid > 0) {
        ::kill(c.pid, SIGKILL);
        int status = 0;
        while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {}
        c.pid = -1;
      }
    }
  };
  for (unsigned p = 0; p < processes; ++p) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      const int e = errno;
      reap_all();
      return fail(errc::io_error, std::string("--processes: pipe: ") + std::strerror(e));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int e = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      reap_all();
      return fail(errc::io_error, std::string("--processes: fork: ") + std::strerror(e));
    }
    if (pid == 0) {
      ::close(fds[0]);
      for (unsigned q = 0; q < p; ++q) ::close(children[q].fd);
      EngineOptions o = child_opt;
      o.shard_index = opt.shard_index + opt.shard_count * p;
      child_main(fds[1], script, std::move(o));
    }
    ::close(fds[1]);
    children[p].pid = pid;
    children[p].fd = fds[0];
  }

  bool stop_sent = false;
  std::size_t progress_shown = 0;
  std::vector<pollfd> polls;
  for (;;) {
    // A stop, or a process that failed or ended without a result: the others close their
    // users and report.
    const bool one_failed = std::any_of(children.begin(), children.end(), [](const Child& c) {
      return !c.error.empty() || (c.eof && !c.result);
    });
    if (((stop != nullptr && stop->load()) || one_failed) && !stop_sent) {
      stop_sent = true;
      for (auto& c : children)
        if (c.pid > 0 && !c.eof) ::kill(c.pid, SIGTERM);
    }
    polls.clear();
    std::vector<Child*> open;
    for (auto& c : children)
      if (!c.eof) {
        polls.push_back({c.fd, POLLIN, 0});
        open.push_back(&c);
      }
    if (polls.empty()) break;
    const int n = ::poll(polls.data(), polls.size(), 100);
    if (n < 0 && errno != EINTR) {
      const int e = errno;
      reap_all();
      return fail(errc::io_error, std::string("--processes: poll: ") + std::strerror(e));
    }
    for (std::size_t i = 0; n > 0 && i < polls.size(); ++i) {
      if (polls[i].revents == 0) continue;
      Child& c = *open[i];
      char buf[65536];
      const ssize_t got = ::read(c.fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        c.eof = true;
        continue;
      }
      c.buffer.append(buf, static_cast<std::size_t>(got));
      std::size_t nl;
      while ((nl = c.buffer.find('\n')) != std::string::npos) {
        const std::string line = c.buffer.substr(0, nl);
        c.buffer.erase(0, nl + 1);
        const Json msg = Json::parse(line, nullptr, false);
        if (msg.is_discarded() || !msg.is_object()) {
          c.error = "sent a line that is not JSON";
        } else if (const auto pr = msg.find("progress"); pr != msg.end()) {
          auto last = period_from_lossless(pr->value("last", Json()));
          auto total = period_from_lossless(pr->value("total", Json()));
          if (last && total) {
            c.last = std::move(*last);
            c.total = std::move(*total);
            c.elapsed = pr->value("elapsed_s", 0.0);
            ++c.progress_count;
          }
        } else if (const auto res = msg.find("result"); res != msg.end()) {
          auto r = run_result_from_json(*res);
          if (r)
            c.result = std::move(*r);
          else
            c.error = r.error().message();
        } else if (const auto err = msg.find("error"); err != msg.end() && err->is_string()) {
          c.error = err->get<std::string>();
        }
      }
    }
    // One merged live line once every process still running has reported its next one.
    if (opt.progress) {
      std::size_t least = SIZE_MAX;
      for (const auto& c : children)
        if (!c.result && c.error.empty()) least = std::min(least, c.progress_count);
      if (least != SIZE_MAX && least > progress_shown) {
        progress_shown = least;
        Period last, total;
        double elapsed = 0;
        for (const auto& c : children) {
          last.merge(c.last);
          total.merge(c.total);
          elapsed = std::max(elapsed, c.elapsed);
        }
        opt.progress(last, total, elapsed);
      }
    }
  }

  RunResult merged;
  std::string failure;
  for (unsigned p = 0; p < processes; ++p) {
    Child& c = children[p];
    ::close(c.fd);
    c.fd = -1;
    int status = 0;
    while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {}
    c.pid = -1;
    if (c.result) {
      merge_result(merged, *c.result);
    } else if (failure.empty()) {
      failure = "process " + std::to_string(p + 1) + " of " + std::to_string(processes) + ": " +
                (c.error.empty() ? "ended without a result (" + exit_text(status) + ")" : c.error);
    }
  }
  if (!failure.empty()) return fail(errc::io_error, failure);
  return merged;
}

} // namespace sio::replayer
