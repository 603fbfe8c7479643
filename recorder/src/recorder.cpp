#include "sio/recorder/recorder.hpp"

#include "sio/common/file_io.hpp"
#include "sio/common/session_json.hpp"
#include "sio/common/socketio.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

namespace sio::recorder {

InputFormat sniff_format(std::string_view head) noexcept {
  if (head.size() >= 4) {
    std::uint32_t magic = 0;
    std::memcpy(&magic, head.data(), 4);
    for (const std::uint32_t m : {0xa1b2c3d4u, 0xd4c3b2a1u, 0xa1b23c4du, 0x4d3cb2a1u})
      if (magic == m) return InputFormat::pcap;
    if (magic == 0x0a0d0d0au) return InputFormat::pcapng;
  }
  std::size_t i = 0;
  if (head.substr(0, 3) == "\xEF\xBB\xBF") i = 3; // UTF-8 byte order mark
  while (i < head.size() &&
         (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t'))
    ++i;
  if (i < head.size() && head[i] == '{') return InputFormat::har;
  return InputFormat::unknown;
}

namespace {

/// The progress line of a capture being read (stderr, overwritten in place).
void show_progress(const wire::PacketSource& src, std::uint64_t packets, std::uint64_t flows,
                   std::uint64_t sessions) {
  static const auto started = std::chrono::steady_clock::now();
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double mb = static_cast<double>(src.bytes_read()) / 1e6;
  if (src.size() > 0)
    std::fprintf(stderr,
                 "\r  %s: %.0f%%  %.0f MB  %.0f MB/s  %llu packets  %llu flows  %llu sessions   ",
                 src.name().c_str(),
                 100.0 * static_cast<double>(src.bytes_read()) / static_cast<double>(src.size()),
                 mb, s > 0 ? mb / s : 0.0, static_cast<unsigned long long>(packets),
                 static_cast<unsigned long long>(flows), static_cast<unsigned long long>(sessions));
  else
    std::fprintf(stderr, "\r  %s: %.0f s  %llu packets  %llu flows  %llu sessions   ",
                 src.name().c_str(), s, static_cast<unsigned long long>(packets),
                 static_cast<unsigned long long>(flows), static_cast<unsigned long long>(sessions));
}

Status read_capture(std::unique_ptr<wire::PacketSource> src, const RecordOptions& options,
                    const wire::KeyLog& keys, SessionBuilder& builder, InputStats& st,
                    SessionBuilder::Sink* sink, std::function<bool()> enough) {
  if (!options.filter.empty())
    if (auto s = src->set_filter(options.filter); !s) return s;
  PcapOptions po;
  po.path = options.path;
  po.ports = options.ports;
  po.keys = &keys;
  po.leg = options.leg;
  po.stop = options.stop;
  po.duration_s = options.duration_s;
  if (options.progress) po.progress = show_progress;
  po.sink = sink;
  po.session_idle_us = static_cast<std::int64_t>(options.session_idle_s * 1e6);
  po.enough = std::move(enough);
  Status s = read_packets(*src, builder, po, st.pcap);
  if (options.progress) std::fputs("\r\033[K", stderr);
  return s;
}

/// What was read, for the "no Socket.IO traffic" message.
struct ReadCounts {
  std::uint64_t entries = 0, packets = 0;
  bool any_har = false, any_pcap = false;
};

Status read_inputs(const RecordOptions& options, SessionBuilder& builder,
                   std::vector<InputStats>& stats, ReadCounts& counts,
                   SessionBuilder::Sink* sink = nullptr, std::function<bool()> enough = {}) {
  HarOptions har_options;
  har_options.path = options.path;

  wire::KeyLog keys;
  for (const auto& path : options.keylogs) {
    auto file = InputFile::open(path);
    if (!file) return fail(std::move(file).error());
    auto k = wire::KeyLog::parse(file->data(), path);
    if (!k) return fail(std::move(k).error());
    keys.merge(*k);
  }

  if (!options.interface.empty()) {
    auto src = wire::PacketSource::open_live(options.interface);
    if (!src) return fail(std::move(src).error());
    InputStats st;
    st.path = "interface " + options.interface;
    st.format = "live";
    if (auto s = read_capture(std::move(*src), options, keys, builder, st, sink, enough); !s)
      return s;
    counts.packets += st.pcap.packets;
    counts.any_pcap = true;
    stats.push_back(std::move(st));
  }

  for (const auto& path : options.inputs) {
    if (enough && enough()) break;
    InputFormat format = InputFormat::unknown;
    {
      auto file = InputFile::open(path);
      if (!file) return fail(std::move(file).error());
      format = sniff_format(file->data().substr(0, 64));
      if (format == InputFormat::har) {
        const std::string_view data = file->data();
        if (data.substr(0, data.find('\n')).find("\"sioreplay-recording\"") !=
            std::string_view::npos)
          return fail(errc::bad_har, path + ": line 1: a sioreplay recording, not a HAR or a "
                                            "capture (convert and replay read recordings)");
        if (sink)
          return fail(errc::unsupported, path + ": HAR files cannot be streamed with captures");
        InputStats st;
        st.path = path;
        st.format = "har";
        Status s = read_har(*file, builder, har_options, st.har);
        if (!s) return s;
        counts.entries += st.har.entries;
        counts.any_har = true;
        stats.push_back(std::move(st));
        continue;
      }
    }
    if (format == InputFormat::unknown)
      return fail(errc::bad_har,
                  path + ": byte 0: neither a HAR (JSON object) nor a pcap/pcapng file", 0);
    if (path == "-")
      return fail(errc::unsupported, "-: read pcap/pcapng captures from a file, not stdin");
    wire::KeyLog file_keys = keys;
    if (format == InputFormat::pcapng) {
      auto secrets = wire::read_pcapng_tls_secrets(path);
      if (!secrets) return fail(std::move(secrets).error());
      if (!secrets->empty()) {
        auto k = wire::KeyLog::parse(*secrets, path + " (Decryption Secrets Block)");
        if (!k) return fail(std::move(k).error());
        file_keys.merge(*k);
      }
    }
    auto src = wire::PacketSource::open_file(path);
    if (!src) return fail(std::move(src).error());
    InputStats st;
    st.path = path;
    st.format = format == InputFormat::pcapng ? "pcapng" : "pcap";
    if (auto s = read_capture(std::move(*src), options, file_keys, builder, st, sink, enough); !s)
      return s;
    counts.packets += st.pcap.packets;
    counts.any_pcap = true;
    stats.push_back(std::move(st));
  }
  return ok_status();
}

std::vector<std::string> sources_of(const RecordOptions& options) {
  std::vector<std::string> sources = options.inputs;
  if (!options.interface.empty()) sources.insert(sources.begin(), "interface " + options.interface);
  return sources;
}

/// The error for inputs that held no session.
Failure nothing_found(const RecordOptions& options, const ReadCounts& counts,
                      const std::vector<Diagnostic>& diagnostics) {
  std::string files;
  for (const auto& p : sources_of(options)) files += (files.empty() ? "" : ", ") + p;
  std::string in;
  if (counts.any_har)
    in = std::to_string(counts.entries) + " HAR entr" + (counts.entries == 1 ? "y" : "ies");
  if (counts.any_pcap)
    in += (in.empty() ? "" : " and ") + std::to_string(counts.packets) + " packet" +
          (counts.packets == 1 ? "" : "s");
  std::string why = files + ": no Socket.IO traffic found in " + in;
  // A diagnostic's place (or its text) starts with its file: printed once, at the start.
  const auto place = [&files](const Diagnostic& d) {
    const auto strip = [&files](std::string_view s) {
      if (s == files) return std::string_view();
      if (s.starts_with(files) && s.substr(files.size()).starts_with(": "))
        s.remove_prefix(files.size() + 2);
      return s;
    };
    const std::string_view where = strip(d.where), what = strip(d.what);
    return where.empty() ? std::string(what) : std::string(where) + ": " + std::string(what);
  };
  for (const auto& d : diagnostics)
    if (d.kind == "tls_encrypted")
      return fail(errc::no_socketio_traffic, why + "; TLS traffic is encrypted: " + place(d));
  // With a problem (a damaged capture, a frame over a limit) the Engine.IO requests may have been
  // there: the problem is the news, not the URL hint.
  if (!diagnostics.empty())
    return fail(errc::no_socketio_traffic, why + "; first problem: " + place(diagnostics.front()));
  why += " (no request with EIO= and transport= in its URL";
  why += options.path.empty() ? ")" : " on path " + options.path + ")";
  return fail(errc::no_socketio_traffic, why);
}

/// Sessions spilled to a temporary file as they end; written in start order at the end.
constexpr std::size_t spool_buffer_size = std::size_t{1} << 20;

class Spool final : public SessionBuilder::Sink {
public:
  Spool(const RecordOptions& options, RecordingTotals& totals, Redactor* redactor)
      : options_(options), totals_(totals), redactor_(redactor), file_(std::tmpfile()),
        buffer_(std::make_unique<char[]>(spool_buffer_size)) {
    // Sessions are spilled a line at a time: a 1 MiB buffer keeps write(2) calls few.
    if (file_) std::setvbuf(file_, buffer_.get(), _IOFBF, spool_buffer_size);
  }
  ~Spool() override {
    if (file_) std::fclose(file_);
  }
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  [[nodiscard]] bool ok() const noexcept { return file_ != nullptr && !failed_; }
  [[nodiscard]] std::uint64_t count() const noexcept { return index_.size(); }
  [[nodiscard]] bool full() const noexcept {
    return options_.max_sessions > 0 && index_.size() >= options_.max_sessions;
  }

  void on_session(Session&& s) override {
    if (full()) {
      ++totals_.not_written;
      return;
    }
    if (redactor_) redactor_->redact(s);
    if (options_.on_session_end) options_.on_session_end(s);
    totals_.add(s);
    line_.clear();
    s.id = 0; // the real position is patched in when the recording is written
    append_session_line(line_, s);
    line_ += '\n';
    index_.push_back({s.started_us, s.sid, offset_, line_.size()});
    if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size()) failed_ = true;
    offset_ += line_.size();
    if (!options_.interface.empty()) std::fflush(file_); // live: each session is on disk
  }

  /// Writes header, sessions (in start order, numbered) and diagnostics.
  Status write(AtomicOutput& out, const std::vector<std::string>& sources) {
    if (!ok()) return fail(errc::io_error, "temporary file for the recording: write failed");
    std::fflush(file_);
    std::sort(index_.begin(), index_.end(), [](const Entry& a, const Entry& b) {
      return a.started_us != b.started_us ? a.started_us < b.started_us : a.sid < b.sid;
    });
    std::string line = recording_header_line(sources, index_.size(), totals_.messages);
    line += '\n';
    out.write(line);
    static constexpr std::string_view unnumbered = R"({"kind":"session","id":0,)";
    std::uint64_t id = 0;
    for (const Entry& e : index_) {
      line.resize(e.length);
      if (!read_at(e.offset, line))
        return fail(errc::io_error, "temporary file for the recording: read failed");
      const std::string numbered = R"({"kind":"session","id":)" + std::to_string(++id) + ",";
      if (line.compare(0, unnumbered.size(), unnumbered) == 0)
        line.replace(0, unnumbered.size(), numbered);
      out.write(line);
    }
    Recording trailer;
    trailer.diagnostics = totals_.diagnostics;
    line = recording_diagnostics_line(trailer);
    line += '\n';
    out.write(line);
    return ok_status();
  }

private:
  /// Exactly line.size() bytes at `offset`, read past stdio: a seek and a read through its
  /// 1 MiB buffer would fill the whole buffer for every session.
  bool read_at(std::uint64_t offset, std::string& line) const {
    std::size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::pread(::fileno(file_), line.data() + done, line.size() - done,
                                static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  struct Entry {
    std::int64_t started_us;
    std::string sid;
    std::uint64_t offset, length;
  };
  const RecordOptions& options_;
  RecordingTotals& totals_;
  Redactor* redactor_; ///< --redact, or null
  std::FILE* file_;
  std::unique_ptr<char[]> buffer_; ///< file_'s stdio buffer
  bool failed_ = false;
  std::uint64_t offset_ = 0;
  std::vector<Entry> index_;
  std::string line_;
};

} // namespace

InputFormat sniff_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return InputFormat::unknown;
  char head[64];
  const std::size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  return sniff_format(std::string_view(head, n));
}

bool captures_only(const RecordOptions& options) {
  for (const auto& path : options.inputs) {
    if (path == "-") return false;
    const auto k = sniff_file(path);
    // An unreadable file counts as a capture here: record_to() reports it with its path.
    if (k == InputFormat::har) return false;
  }
  return true;
}

Result<Recording> record(const RecordOptions& options, std::vector<InputStats>& stats) {
  SessionBuilder builder;
  ReadCounts counts;
  if (auto s = read_inputs(options, builder, stats, counts); !s) return fail(std::move(s).error());
  Recording rec = builder.finish(sources_of(options));
  if (options.redact.enabled) {
    Redactor redactor(options.redact);
    for (auto& s : rec.sessions) redactor.redact(s);
    redactor.redact(rec.diagnostics);
  }
  if (rec.sessions.empty()) return nothing_found(options, counts, rec.diagnostics);
  return rec;
}

Result<RecordingTotals> record_to(const RecordOptions& options, AtomicOutput& out,
                                  std::vector<InputStats>& stats) {
  SessionBuilder builder;
  ReadCounts counts;
  RecordingTotals totals;
  std::optional<Redactor> redactor;
  if (options.redact.enabled) redactor.emplace(options.redact);
  Spool spool(options, totals, redactor ? &*redactor : nullptr);
  if (!spool.ok()) return fail(errc::io_error, "cannot create a temporary file for the recording");
  const auto enough = [&spool] { return spool.full(); };
  if (auto s = read_inputs(options, builder, stats, counts, &spool, enough); !s)
    return fail(std::move(s).error());
  totals.diagnostics = builder.take_diagnostics();
  if (redactor) redactor->redact(totals.diagnostics);
  if (spool.count() == 0) return nothing_found(options, counts, totals.diagnostics);
  if (auto s = spool.write(out, sources_of(options)); !s) return fail(std::move(s).error());
  return totals;
}

void RecordingTotals::add(const Session& s) {
  ++sessions;
  messages += s.messages.size();
  Brief b;
  b.sid = s.sid;
  b.url = s.url;
  b.eio = s.eio;
  b.transports = s.transports;
  b.messages = s.messages.size();
  for (const auto& m : s.messages) {
    const bool c2s = m.dir == Direction::client_to_server;
    b.c2s += c2s ? 1 : 0;
    ++by_type[std::string(sock::to_string(m.type, sock::protocol_for_eio(s.eio)))][c2s ? 0 : 1];
  }
  b.started_us = s.started_us;
  b.duration_us = s.duration_us;
  // Keep the 20 earliest-started, in start order.
  const auto before = [](const Brief& x, const Brief& y) {
    return x.started_us != y.started_us ? x.started_us < y.started_us : x.sid < y.sid;
  };
  if (first.size() == 20 && !before(b, first.back())) return;
  first.insert(std::upper_bound(first.begin(), first.end(), b, before), std::move(b));
  if (first.size() > 20) first.pop_back();
}

RecordingTotals RecordingTotals::of(const Recording& rec) {
  RecordingTotals t;
  for (const auto& s : rec.sessions) t.add(s);
  t.diagnostics = rec.diagnostics;
  return t;
}

std::string summary(const Recording& rec, const std::vector<InputStats>& stats) {
  return summary(RecordingTotals::of(rec), stats);
}

std::string summary(const RecordingTotals& rec, const std::vector<InputStats>& stats) {
  std::ostringstream o;
  const std::uint64_t messages = rec.messages;
  o << "sioreplay record: " << rec.sessions << " session" << (rec.sessions == 1 ? "" : "s") << ", "
    << messages << " Socket.IO message" << (messages == 1 ? "" : "s") << ", "
    << rec.diagnostics.size() << " diagnostic" << (rec.diagnostics.size() == 1 ? "" : "s") << "\n";
  for (const auto& st : stats) {
    if (st.format != "har") {
      const PcapStats& p = st.pcap;
      o << "  input " << st.path << " (" << st.format << ", " << p.link_type << "): " << p.packets
        << " packets, " << p.connections << " TCP connections (" << p.http_connections << " HTTP, "
        << p.websocket_connections << " websocket, " << p.tls_connections << " TLS of which "
        << p.tls_decrypted << " decrypted), " << p.http_exchanges << " HTTP exchanges";
      if (p.gaps) o << ", " << p.gaps << " gaps (" << p.gap_bytes << " bytes missing)";
      if (p.ip_fragments) o << ", " << p.ip_fragments << " IP fragments skipped";
      if (p.bad_packets) o << ", " << p.bad_packets << " damaged packets";
      if (p.quic_flows) o << ", " << p.quic_flows << " QUIC flows (not supported)";
      if (p.http2_connections) o << ", " << p.http2_connections << " HTTP/2 (not supported)";
      o << "\n";
      if (p.proxied_sessions)
        o << "  " << p.proxied_sessions
          << " sessions seen on both legs of a proxy (client and upstream): see --leg\n";
      if (p.live)
        o << "  kernel: " << p.live->received << " packets received, " << p.live->dropped
          << " dropped by the kernel, " << p.live->if_dropped << " dropped by the interface\n";
      std::size_t shown = 0;
      for (const auto& e : p.encrypted) {
        if (++shown > 5) {
          o << "    ... " << p.encrypted.size() - 5 << " more encrypted flows\n";
          break;
        }
        o << "    encrypted: " << e << "\n";
      }
      if (!p.damage.empty())
        o << "  warning: damaged capture: " << p.damage << " (the intact sessions are kept)\n";
      continue;
    }
    o << "  input " << st.path << " (HAR";
    if (!st.har.creator.empty()) o << " by " << st.har.creator;
    o << "): " << st.har.entries << " entries, " << st.har.engineio_entries << " Engine.IO, "
      << st.har.websocket_entries << " websocket with " << st.har.websocket_frames << " frames, "
      << st.har.page_entries << " other HTTP\n";
  }
  // Sessions: at most 20 lines, then a count.
  std::uint64_t id = 0;
  for (const auto& s : rec.first) {
    const std::uint64_t c2s = s.c2s;
    std::string tr;
    for (const auto t : s.transports) tr += (tr.empty() ? "" : "->") + std::string(to_string(t));
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.1f s", static_cast<double>(s.duration_us) / 1e6);
    o << "  session " << ++id << "  sid " << s.sid << "  EIO " << s.eio << "  " << tr << "  "
      << s.messages << " messages (" << c2s << " c->s, " << s.messages - c2s << " s->c)  " << dur
      << "  " << s.url << "\n";
  }
  if (rec.sessions > rec.first.size())
    o << "  ... and " << rec.sessions - rec.first.size() << " more sessions\n";
  if (rec.not_written)
    o << "  " << rec.not_written
      << " sessions still open when --max-sessions was reached were not written\n";
  o << "  messages by type      c->s    s->c\n";
  for (const auto& [type, n] : rec.by_type) {
    char line[96];
    std::snprintf(line, sizeof line, "    %-16s %8llu %7llu\n", type.c_str(),
                  static_cast<unsigned long long>(n[0]), static_cast<unsigned long long>(n[1]));
    o << line;
  }
  if (!rec.diagnostics.empty()) {
    std::map<std::string, std::uint64_t> kinds;
    for (const auto& d : rec.diagnostics) ++kinds[d.kind];
    o << "  diagnostics:";
    for (const auto& [k, n] : kinds) o << " " << k << "=" << n;
    o << "\n";
    std::size_t listed = 0;
    for (const auto& d : rec.diagnostics) {
      if (++listed > 5) {
        o << "    ... " << rec.diagnostics.size() - 5 << " more in the recording's last line\n";
        break;
      }
      o << "    " << d.where << ": " << d.what << "\n";
    }
  }
  return o.str();
}

} // namespace sio::recorder
