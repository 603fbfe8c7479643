#include "sio/recorder/recorder.hpp"

#include "sio/common/file_io.hpp"

#include <array>
#include <cstring>
#include <map>
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

Result<Recording> record(const RecordOptions& options, std::vector<InputStats>& stats) {
  SessionBuilder builder;
  HarOptions har_options;
  har_options.path = options.path;
  std::uint64_t entries = 0;
  for (const auto& path : options.inputs) {
    auto file = InputFile::open(path);
    if (!file) return fail(std::move(file).error());
    const auto format = sniff_format(file->data().substr(0, 64));
    if (format == InputFormat::pcap || format == InputFormat::pcapng)
      return fail(errc::unsupported,
                  path + ": pcap/pcapng capture: this build reads HAR files only (packet capture "
                         "input is not implemented yet)");
    if (format == InputFormat::unknown)
      return fail(errc::bad_har,
                  path + ": byte 0: neither a HAR (JSON object) nor a pcap/pcapng file", 0);
    InputStats st;
    st.path = path;
    st.format = "har";
    Status s = read_har(*file, builder, har_options, st.har);
    if (!s) return fail(std::move(s).error());
    entries += st.har.entries;
    stats.push_back(std::move(st));
  }
  Recording rec = builder.finish(options.inputs);
  if (rec.sessions.empty()) {
    std::string files;
    for (const auto& p : options.inputs) files += (files.empty() ? "" : ", ") + p;
    std::string why = files + ": no Socket.IO traffic found in " + std::to_string(entries) +
                      " HAR entr" + (entries == 1 ? "y" : "ies") +
                      " (no request with EIO= and transport= in its URL";
    why += options.path.empty() ? ")" : " on path " + options.path + ")";
    if (!rec.diagnostics.empty())
      why +=
          "; first problem: " + rec.diagnostics.front().where + ": " + rec.diagnostics.front().what;
    return fail(errc::no_socketio_traffic, why);
  }
  return rec;
}

std::string summary(const Recording& rec, const std::vector<InputStats>& stats) {
  std::ostringstream o;
  std::uint64_t messages = 0;
  for (const auto& s : rec.sessions) messages += s.messages.size();
  o << "sioreplay record: " << rec.sessions.size() << " session"
    << (rec.sessions.size() == 1 ? "" : "s") << ", " << messages << " Socket.IO message"
    << (messages == 1 ? "" : "s") << ", " << rec.diagnostics.size() << " diagnostic"
    << (rec.diagnostics.size() == 1 ? "" : "s") << "\n";
  for (const auto& st : stats) {
    o << "  input " << st.path << " (HAR";
    if (!st.har.creator.empty()) o << " by " << st.har.creator;
    o << "): " << st.har.entries << " entries, " << st.har.engineio_entries << " Engine.IO, "
      << st.har.websocket_entries << " websocket with " << st.har.websocket_frames << " frames, "
      << st.har.page_entries << " other HTTP\n";
  }
  // Sessions: at most 20 lines, then a count.
  std::size_t shown = 0;
  for (const auto& s : rec.sessions) {
    if (++shown > 20) {
      o << "  ... and " << rec.sessions.size() - 20 << " more sessions\n";
      break;
    }
    std::uint64_t c2s = 0;
    for (const auto& m : s.messages) c2s += m.dir == Direction::client_to_server ? 1 : 0;
    std::string tr;
    for (const auto t : s.transports) tr += (tr.empty() ? "" : "->") + std::string(to_string(t));
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.1f s", static_cast<double>(s.duration_us) / 1e6);
    o << "  session " << s.id << "  sid " << s.sid << "  EIO " << s.eio << "  " << tr << "  "
      << s.messages.size() << " messages (" << c2s << " c->s, " << s.messages.size() - c2s
      << " s->c)  " << dur << "  " << s.url << "\n";
  }
  // Messages by type and direction.
  std::map<std::string, std::array<std::uint64_t, 2>> by_type;
  for (const auto& s : rec.sessions)
    for (const auto& m : s.messages)
      ++by_type[std::string(sock::to_string(m.type, sock::protocol_for_eio(s.eio)))]
               [m.dir == Direction::client_to_server ? 0 : 1];
  o << "  messages by type      c->s    s->c\n";
  for (const auto& [type, n] : by_type) {
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
