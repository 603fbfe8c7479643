/// Bad input, end to end (issue 7): every subcommand given a broken input (truncated, empty,
/// binary garbage, the wrong format, huge declared lengths, deep nesting, invalid UTF-8, header
/// injection, absurd counts, unreadable paths, an output folder that does not exist) answers with
/// exactly one error line naming the file and the place, the exit code its --help documents,
/// within a second, leaves no output file (nor a temporary) behind, never touches its input, and
/// a bad script never opens a connection. One data-driven table, one row per case; the small
/// inputs are files in tests/badinput/corpus/, the large or binary ones are generated here.
/// The asan-ubsan ctest pass runs the same table against the sanitized binary.

#include "../support/paths.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <regex>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace sio {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// One row: a command line and the answer it must get.
struct Case {
  std::string args;  ///< after `sioreplay`; words split on spaces, then {c} {g} {s} {o} {port}
  int exit;          ///< the exit code documented by the subcommand's --help
  std::string error; ///< ECMAScript regex the one stderr line must match (same placeholders)
};

// {c}: tests/badinput/corpus, {g}: inputs generated below, {s}: samples/, {o}: an empty folder
// for outputs (it must still be empty afterwards), {port}: a listener no bad script may reach.
// Exit codes (`sioreplay <cmd> --help`): record, convert, report: 1 bad input, 2 usage;
// replay: 1 bad script, 2 usage.
const std::vector<Case>& cases() {
  static const std::
      vector<Case>
          table =
              {
                  // ---- record: HAR and pcap/pcapng in
                  // ---------------------------------------------------
                  {"record {g}/empty.har -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/empty\.har: the file is empty)"},
                  {"record {g}/empty.pcap -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/empty\.pcap: the file is empty)"},
                  {"record {c}/truncated.har -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {c}/truncated\.har:\d+:\d+: the document ends inside .*\(byte 2000\)$)"},
                  {"record {g}/truncated-header.pcap -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/truncated-header\.pcap: the file ends inside the capture file header \(10 bytes)"},
                  {"record {g}/truncated-header.pcapng -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/truncated-header\.pcapng: the file ends inside the capture file header \(20 bytes)"},
                  {"record {g}/truncated-packet.pcap -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/truncated-packet\.pcap: no Socket.IO traffic found in 4 packets; first problem: packet 5 \(byte 373\): the file ends in the middle of a packet record)"},
                  {"record {g}/garbage.bin -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/garbage\.bin: byte 0: neither a HAR \(JSON object\) nor a pcap/pcapng file)"},
                  {"record {c}/good.yml -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {c}/good\.yml: byte 0: neither a HAR)"},
                  {"record {c}/good.jsonl -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {c}/good\.jsonl: line 1: a sioreplay recording, not a HAR or a capture)"},
                  {"record {c}/good-report.json -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {c}/good-report\.json:\d+:\d+: \$\.log: missing)"},
                  {"record {c}/not-a-har.json -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {c}/not-a-har\.json:\d+:\d+: \$\.log: )"},
                  {"record {c}/entries-not-a-list.har -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {c}/entries-not-a-list\.har:1:\d+: \$\.log\.entries: )"},
                  {"record {c}/users-missing-columns.csv -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {c}/users-missing-columns\.csv: byte 0: neither a HAR)"},
                  {"record {g}/reclen-2g.pcap -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/reclen-2g\.pcap: no Socket.IO traffic found in 0 packets; first problem: packet 1 \(byte 24\): .*2147483648)"},
                  {"record {g}/block-4g.pcapng -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/block-4g\.pcapng: byte 28 \(the blocks after the section header\): cannot read the capture: .*4294967280)"},
                  {"record {g}/ws-frame-2e63.pcap -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/ws-frame-2e63\.pcap: no Socket.IO traffic .*first problem: flow 1 \(127\.0\.0\.1:40000 -> 127\.0\.0\.2:80\) s->c byte \d+: 64-bit length)"},
                  {"record {g}/content-length-1e15.pcap -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/content-length-1e15\.pcap: no Socket.IO traffic .*first problem: flow 1 \(127\.0\.0\.1:40000 -> 127\.0\.0\.2:80\) s->c byte 0: response body of 1000000000000000 bytes, over the limit)"},
                  {"record {g}/request-content-length-1e15.pcap -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/request-content-length-1e15\.pcap: no Socket.IO traffic .*first problem: flow 1 \(127\.0\.0\.1:40000 -> 127\.0\.0\.2:80\) c->s byte 0: request body of 1000000000000000 bytes, over the limit)"},
                  {"record {g}/chunk-ffffffffffffffff.pcap -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/chunk-ffffffffffffffff\.pcap: no Socket.IO traffic .*first problem: flow 1 \(127\.0\.0\.1:40000 -> 127\.0\.0\.2:80\) s->c byte \d+: .*over the limit)"},
                  {"record {g}/linktype-usb.pcap -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/linktype-usb\.pcap: link type .* is not supported)"},
                  {"record {g}/deep.har -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/deep\.har:1:\d+: nesting deeper than \d+ levels)"},
                  {"record {g}/deep-entry.har -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/deep-entry\.har:1:\d+: nesting deeper than \d+ levels)"},
                  {"record {c}/invalid-utf8.har -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {c}/invalid-utf8\.har:1:\d+: invalid UTF-8 in a string)"},
                  {"record {g}/folder.har -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/folder\.har: expected a file, got a directory)"},
                  {"record {g}/missing.har -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/missing\.har: cannot open: No such file or directory)"},
                  {"record {s}/pcap/b1/b1.pcap -o {o}/missing/r.jsonl", 1,
                   R"(^sioreplay record: error: {o}/missing/r\.jsonl: cannot create the output file: No such file or directory)"},
                  {"record {s}/pcap/b1/b1.pcap -o {o}", 1,
                   R"(^sioreplay record: error: {o}: the output path is a directory)"},
                  {"record {s}/pcap/b1/b1.pcap -o {o}/r.jsonl --html {o}/missing/t.html", 1,
                   R"(^sioreplay record: error: {o}/missing/t\.html: )"},
                  {"record {s}/pcap/b1/b1.pcap --keylog {c}/keys-bad.log -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: .*{c}/keys-bad\.log:2: )"},
                  {"record {s}/pcap/b1/b1.pcap --keylog {g}/missing.log -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {g}/missing\.log: cannot open)"},
                  {"record {c}/truncated.har {g}/empty.har -o {o}/r.jsonl", 1,
                   R"(^sioreplay record: error: {c}/truncated\.har:\d+:\d+: )"},
                  {"record --no-such-flag {c}/truncated.har", 2,
                   R"(^The following argument was not expected: --no-such-flag$)"},

                  // ---- convert: a recording (or anything record reads) in
                  // --------------------------------
                  {"convert {g}/empty.jsonl -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {g}/empty\.jsonl: the file is empty)"},
                  {"convert {c}/truncated.jsonl -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {c}/truncated\.jsonl: line 2: column 106: not valid JSON \(.*missing closing quote)"},
                  {"convert {g}/deep.jsonl -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {g}/deep\.jsonl: line 2: column 513: JSON nested deeper than 512 levels)"},
                  {"convert {c}/invalid-utf8.jsonl -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {c}/invalid-utf8\.jsonl: line 2: column \d+: not valid JSON \(.*ill-formed UTF-8 byte; last read: '.*\\xe9)"},
                  {"convert {c}/number-overflow.jsonl -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {c}/number-overflow\.jsonl: line 2: column 57: not valid JSON \(number overflow parsing '1e999'\))"},
                  {"convert {c}/version-7.jsonl -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {c}/version-7\.jsonl: line 1: recording version 7 is not supported)"},
                  {"convert {c}/bad-direction.jsonl -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {c}/bad-direction\.jsonl: line 2: session\.messages\[0\]\.dir: )"},
                  {"convert {c}/good.yml -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {c}/good\.yml: byte 0: neither a HAR)"},
                  {"convert {g}/garbage.bin -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {g}/garbage\.bin: byte 0: neither a HAR)"},
                  {"convert {c}/good-report.json -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {c}/good-report\.json:\d+:\d+: \$\.log: missing)"},
                  {"convert {g}/deep.har -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {g}/deep\.har:1:\d+: nesting deeper than \d+ levels)"},
                  {"convert {g}/ws-frame-2e63.pcap -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {g}/ws-frame-2e63\.pcap: no Socket.IO traffic .*first problem: flow 1 .* 64-bit length)"},
                  {"convert {g}/reclen-2g.pcap -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {g}/reclen-2g\.pcap: .*packet 1 \(byte 24\))"},
                  {"convert {g}/folder.jsonl -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {g}/folder\.jsonl: expected a file, got a directory)"},
                  {"convert {g}/missing.jsonl -o {o}/s.yml", 1,
                   R"(^sioreplay convert: error: {g}/missing\.jsonl: cannot open: No such file or directory)"},
                  {"convert {c}/good.jsonl -o {o}/missing/s.yml", 1,
                   R"(^sioreplay convert: error: {o}/missing/s\.yml: cannot create the output file: No such file or directory)"},
                  {"convert {c}/good.jsonl -o {o}", 1,
                   R"(^sioreplay convert: error: {o}: the output path is a directory)"},
                  {"convert {c}/good.jsonl", 2, R"(^--output is required$)"},

                  // ---- replay: bad scripts fail before any connection
                  // ------------------------------------
                  {"replay {g}/empty.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {g}/empty\.yml: the script is empty)"},
                  {"replay {c}/truncated.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/truncated\.yml:\d+:\d+: )"},
                  {"replay {g}/garbage.bin --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {g}/garbage\.bin:1:\d+: invalid UTF-8 \(byte \d+\))"},
                  {"replay {c}/invalid-utf8.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/invalid-utf8\.yml:11:22: invalid UTF-8 \(byte \d+\))"},
                  {"replay {g}/deep.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {g}/deep\.yml:1:\d+: nested too deeply for the YAML parser)"},
                  {"replay {c}/crlf-extra-headers.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/crlf-extra-headers\.yml:8: config\.socketio\.extraHeaders\.X-Trace: the value contains a line break \(\\r or \\n\) at byte 3: refused)"},
                  {"replay {c}/crlf-http-header.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/crlf-http-header\.yml:12: scenarios\[0\]\.flow\[0\]\.get\.headers\.X-Trace: the value contains a line break \(\\r or \\n\) at byte 3: refused)"},
                  {"replay {c}/crlf-header-name.yml --target http://127.0.0.1:{port}", 1, R"(^sioreplay replay: error: {c}/crlf-header-name\.yml:12: scenarios\[0\]\.flow\[0\]\.get\.headers: a header name contains a line break \(\\r or \\n\) at byte 7: refused)"},
                  {"replay {c}/loop-1e12.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/loop-1e12\.yml:13: scenarios\[0\]\.flow\[0\]\.count: 1000000000000 is over the limit of 10000000)"},
                  {"replay {c}/negative-duration.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/negative-duration\.yml:4: config\.phases\[0\]\.duration: must not be negative)"},
                  {"replay {c}/negative-duration-string.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/negative-duration-string\.yml:4: config\.phases\[0\]\.duration: must not be negative)"},
                  {"replay {c}/negative-rate.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/negative-rate\.yml:5: config\.phases\[0\]\.arrivalRate: must not be negative)"},
                  {"replay {c}/bad-duration.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/bad-duration\.yml:4: config\.phases\[0\]\.duration: expected a number or a duration)"},
                  {"replay {c}/csv-missing-columns.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/users-missing-columns\.csv:3: 1 column\(s\), but config\.payload\.fields names 2 \(user, token\))"},
                  {"replay {c}/csv-missing-file.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/csv-missing-file\.yml:\d+: config\.payload\.path: cannot read the CSV: .*no-such-users\.csv: cannot open)"},
                  {"replay {c}/csv-is-a-directory.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/csv-is-a-directory\.yml:\d+: config\.payload\.path: cannot read the CSV: .*expected a file, got a directory)"},
                  {"replay {c}/not-a-map.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/not-a-map\.yml:1: expected a map with `config` and `scenarios`)"},
                  {"replay {c}/no-scenarios.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/no-scenarios\.yml: scenarios: missing)"},
                  {"replay {c}/users-missing-columns.csv --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/users-missing-columns\.csv:1: expected a map)"},
                  {"replay {c}/truncated.jsonl --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/truncated\.jsonl: line 2: column \d+: not valid JSON)"},
                  {"replay {g}/deep.jsonl --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {g}/deep\.jsonl: line 2: column 513: JSON nested deeper than 512 levels)"},
                  {"replay {c}/truncated.har --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {c}/truncated\.har:\d+:\d+: the document ends inside)"},
                  {"replay {g}/chunk-ffffffffffffffff.pcap --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {g}/chunk-ffffffffffffffff\.pcap: no Socket.IO traffic .*first problem: flow 1 )"},
                  {"replay {g}/block-4g.pcapng --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {g}/block-4g\.pcapng: byte 28 )"},
                  {"replay {g}/folder.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {g}/folder\.yml: expected a file, got a directory$)"},
                  {"replay {g}/missing.yml --target http://127.0.0.1:{port}", 1,
                   R"(^sioreplay replay: error: {g}/missing\.yml: cannot open: No such file or directory$)"},
                  {"replay {c}/good.yml --target http://127.0.0.1:{port} -q -o {o}/missing/r.json",
                   1,
                   R"(^sioreplay replay: error: {o}/missing/r\.json: cannot create the output file: No such file or directory)"},
                  {"replay {c}/good.yml --target http://127.0.0.1:{port} -q --html "
                   "{o}/missing/r.html",
                   1, R"(^sioreplay replay: error: {o}/missing/r\.html: )"},
                  {"replay {c}/good.yml --target http://127.0.0.1:{port} --speed 2", 2,
                   R"(^sioreplay replay: --speed and --multiply replay a recording)"},

                  // ---- report and report --merge: replay reports in
                  // ------------------------------------
                  {"report {g}/empty.json", 1,
                   R"(^sioreplay report: error: {g}/empty\.json: the file is empty)"},
                  {"report {c}/number-overflow-report.json -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {c}/number-overflow-report\.json: line 1, column 44: not JSON \(number overflow parsing '1e999'\))"},
                  {"report {c}/truncated-report.json -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {c}/truncated-report\.json: line 1, column 301: not JSON \(syntax error .*missing closing quote)"},
                  {"report {g}/deep-report.json -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {g}/deep-report\.json: line 1, column 543: JSON nested deeper than 512 levels$)"},
                  {"report --merge {c}/good-report.json {g}/deep-report.json -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {g}/deep-report\.json: line 1, column 543: JSON nested deeper than 512 levels$)"},
                  {"report {c}/invalid-utf8-report.json -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {c}/invalid-utf8-report\.json: line 1, column \d+: not JSON \(.*ill-formed UTF-8 byte; last read: '"\\xff'.*\)$)"},
                  {"report {g}/garbage.bin -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {g}/garbage\.bin: line 1, column 1: not JSON \(.*last read: '\\x[0-9a-f]{2}'\)$)"},
                  {"report {s}/pcap/b1/b1.pcap -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {s}/pcap/b1/b1\.pcap: line 1, column 1: not JSON \(.*last read: '\\xd4'\)$)"},
                  {"report {c}/good.yml -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {c}/good\.yml: line 1, column 1: not JSON)"},
                  {"report {c}/invalid-utf8.har -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {c}/invalid-utf8\.har: line 1, column \d+: not JSON \(.*ill-formed UTF-8)"},
                  {"report {c}/not-a-har.json -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {c}/not-a-har\.json: report: \$\.)"},
                  {"report {c}/wrong-shape-report.json -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {c}/wrong-shape-report\.json: report: \$\.)"},
                  {"report --merge {c}/good-report.json {c}/truncated-report.json -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {c}/truncated-report\.json: line 1, column \d+: not JSON)"},
                  {"report --merge {c}/good-report.json {g}/folder.json -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {g}/folder\.json: expected a file, got a directory)"},
                  {"report --merge {c}/good-report.json {g}/missing.json -o {o}/r.json", 1,
                   R"(^sioreplay report: error: {g}/missing\.json: cannot open: No such file or directory)"},
                  {"report {c}/good-report.json -o {o}/missing/r.json", 1,
                   R"(^sioreplay report: error: {o}/missing/r\.json: cannot create the output file: No such file or directory)"},
                  {"report {c}/good-report.json --html {o}/missing/r.html", 1,
                   R"(^sioreplay report: error: {o}/missing/r\.html: )"},
                  {"report {c}/good-report.json {c}/good-report.json", 2,
                   R"(^sioreplay report: 2 reports given: add --merge to merge them$)"},
              };
  return table;
}

// ---- generated inputs ---------------------------------------------------------------------

void write(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

void put_u32le(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>(v >> (8 * i) & 0xff);
}
void put_u16be(std::string& s, std::uint16_t v) {
  s += static_cast<char>(v >> 8);
  s += static_cast<char>(v & 0xff);
}
void put_u32be(std::string& s, std::uint32_t v) {
  put_u16be(s, static_cast<std::uint16_t>(v >> 16));
  put_u16be(s, static_cast<std::uint16_t>(v & 0xffff));
}

/// A classic pcap (microseconds, little-endian) with Ethernet frames (or `linktype`).
std::string pcap_header(std::uint32_t linktype = 1) {
  std::string h;
  put_u32le(h, 0xa1b2c3d4);
  h += std::string("\x02\x00\x04\x00", 4); // version 2.4
  put_u32le(h, 0);
  put_u32le(h, 0);
  put_u32le(h, 262144);
  put_u32le(h, linktype);
  return h;
}

std::string pcap_record(const std::string& frame, std::uint32_t t_s) {
  std::string r;
  put_u32le(r, t_s);
  put_u32le(r, 0);
  put_u32le(r, static_cast<std::uint32_t>(frame.size()));
  put_u32le(r, static_cast<std::uint32_t>(frame.size()));
  return r + frame;
}

/// Ethernet + IPv4 + TCP (no options) from 127.0.0.`from` to 127.0.0.`to`.
std::string tcp_frame(int from, int to, std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                      std::uint32_t ack, std::uint8_t flags, const std::string& payload) {
  std::string tcp;
  put_u16be(tcp, sport);
  put_u16be(tcp, dport);
  put_u32be(tcp, seq);
  put_u32be(tcp, ack);
  tcp += static_cast<char>(5 << 4);
  tcp += static_cast<char>(flags);
  put_u16be(tcp, 65535);
  put_u16be(tcp, 0); // checksum: not checked by readers of captures (offloading leaves it 0)
  put_u16be(tcp, 0);
  tcp += payload;
  std::string ip;
  ip += "\x45";
  ip += '\0';
  put_u16be(ip, static_cast<std::uint16_t>(20 + tcp.size()));
  put_u16be(ip, 1);
  put_u16be(ip, 0x4000);
  ip += static_cast<char>(64);
  ip += static_cast<char>(6);
  const std::string src{'\x7f', '\0', '\0', static_cast<char>(from)};
  const std::string dst{'\x7f', '\0', '\0', static_cast<char>(to)};
  std::uint32_t sum = 0;
  const std::string head = ip + std::string(2, '\0') + src + dst;
  for (std::size_t i = 0; i < head.size(); i += 2)
    sum += static_cast<std::uint32_t>(static_cast<unsigned char>(head[i]) << 8 |
                                      static_cast<unsigned char>(head[i + 1]));
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put_u16be(ip, static_cast<std::uint16_t>(~sum & 0xffff));
  ip += src + dst;
  return std::string(6, '\x02') + std::string(6, '\x04') + "\x08" + std::string(1, '\0') + ip + tcp;
}

/// One TCP connection 127.0.0.1:40000 -> 127.0.0.2:80: the handshake, then the client's
/// payloads, then the server's.
std::string tcp_flow(const std::vector<std::string>& c2s, const std::vector<std::string>& s2c) {
  constexpr std::uint8_t syn = 0x02, ack = 0x10, psh_ack = 0x18;
  std::uint32_t cs = 1000, ss = 5000;
  std::string out = pcap_header();
  out += pcap_record(tcp_frame(1, 2, 40000, 80, cs, 0, syn, ""), 1);
  out += pcap_record(tcp_frame(2, 1, 80, 40000, ss, cs + 1, syn | ack, ""), 1);
  ++cs;
  ++ss;
  out += pcap_record(tcp_frame(1, 2, 40000, 80, cs, ss, ack, ""), 1);
  for (const auto& p : c2s) {
    out += pcap_record(tcp_frame(1, 2, 40000, 80, cs, ss, psh_ack, p), 1);
    cs += static_cast<std::uint32_t>(p.size());
  }
  for (const auto& p : s2c) {
    out += pcap_record(tcp_frame(2, 1, 80, 40000, ss, cs, psh_ack, p), 1);
    ss += static_cast<std::uint32_t>(p.size());
  }
  return out;
}

std::string nested(char open, char close, std::size_t depth) {
  return std::string(depth, open) + std::string(depth, close);
}

/// Writes the generated inputs into `g`: the empty, binary, huge-length and deeply nested ones.
void generate_inputs(const fs::path& g) {
  for (const char* name : {"empty.har", "empty.pcap", "empty.jsonl", "empty.yml", "empty.json"})
    write(g / name, "");
  for (const char* name : {"folder.har", "folder.jsonl", "folder.yml", "folder.json"})
    fs::create_directory(g / name);
  // Binary garbage, the same bytes every run (a linear congruential generator).
  std::string garbage;
  std::uint32_t x = 12345;
  for (int i = 0; i < 4096; ++i) {
    x = x * 1103515245u + 12345u;
    garbage += static_cast<char>(x >> 24 | 0x80); // high bytes: not text, not a magic number
  }
  write(g / "garbage.bin", garbage);

  constexpr std::size_t deep = 100000;
  write(g / "deep.har",
        R"({"log":{"version":"1.2","pages":)" + nested('[', ']', deep) + R"(,"entries":[]}})");
  write(g / "deep-entry.har",
        R"({"log":{"version":"1.2","entries":[{"request":{"method":"GET","url":"http://h/",)"
        R"("postData":{"text":"","params":)" +
            nested('[', ']', deep) + "}}}]}}");
  write(g / "deep.jsonl",
        "{\"format\":\"sioreplay-recording\",\"version\":1}\n" + nested('[', ']', deep) + "\n");
  write(g / "deep-report.json",
        R"({"aggregate":{},"intermediate":)" + nested('[', ']', deep) + "}");
  write(g / "deep.yml", "config: " + nested('[', ']', deep) + "\n");

  // Captures: cut inside the file header, cut inside a packet, huge declared lengths.
  write(g / "truncated-header.pcap", pcap_header().substr(0, 10));
  std::string shb;
  put_u32le(shb, 0x0a0d0d0a);
  put_u32le(shb, 28);
  put_u32le(shb, 0x1a2b3c4d);
  shb += std::string("\x01\x00\x00\x00", 4); // version 1.0
  shb += std::string(8, '\xff');             // section length: unknown
  put_u32le(shb, 28);
  write(g / "truncated-header.pcapng", shb.substr(0, 20));
  std::string block = shb;
  put_u32le(block, 1);          // an Interface Description Block ...
  put_u32le(block, 0xfffffff0); // ... 4 GiB long
  block += std::string(8, '\0');
  write(g / "block-4g.pcapng", block);
  std::string reclen = pcap_header();
  put_u32le(reclen, 1);
  put_u32le(reclen, 0);
  put_u32le(reclen, 0x80000000u); // 2^31 bytes captured ...
  put_u32le(reclen, 0x80000000u); // ... of 2^31 on the wire
  write(g / "reclen-2g.pcap", reclen + "xyz");
  const std::string get_handshake =
      "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.2\r\n\r\n";
  const std::string flow =
      tcp_flow({get_handshake}, {"HTTP/1.1 200 OK\r\nContent-Length: 40"
                                 "\r\n\r\n0{\"sid\":\"abc\",\"upgrades\":[]}"});
  write(g / "truncated-packet.pcap", flow.substr(0, flow.size() - 30));
  write(g / "linktype-usb.pcap", pcap_header(189));
  const std::string ws_upgrade = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                                 "Host: 127.0.0.2\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Version: 13\r\n\r\n";
  const std::string ws_accept = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  // A text frame whose 64-bit length is 2^63.
  const std::string frame = std::string("\x81\x7f\x80", 3) + std::string(7, '\0') + "0{}";
  write(g / "ws-frame-2e63.pcap", tcp_flow({ws_upgrade}, {ws_accept, frame}));
  write(g / "content-length-1e15.pcap",
        tcp_flow({get_handshake}, {"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000\r\n\r\n"
                                   "0{\"sid\":\"abc\"}"}));
  write(g / "request-content-length-1e15.pcap",
        tcp_flow({"POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: 127.0.0.2"
                  "\r\nContent-Length: 1000000000000000\r\n\r\n42[\"x\"]"},
                 {}));
  write(g / "chunk-ffffffffffffffff.pcap",
        tcp_flow({get_handshake}, {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "ffffffffffffffff\r\n0{\"sid\":\"abc\"}"}));
}

// ---- running a case -------------------------------------------------------------------------

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A file's checksum (FNV-1a 64) and modification time.
struct Fingerprint {
  std::uint64_t checksum = 0;
  fs::file_time_type mtime;
  bool operator==(const Fingerprint&) const = default;
};

/// Every file and folder under `roots` (recursively) and the files among `extra`.
std::map<std::string, Fingerprint> snapshot(const std::vector<fs::path>& roots,
                                            const std::vector<std::string>& extra) {
  std::map<std::string, Fingerprint> m;
  const auto add = [&m](const fs::path& p) {
    Fingerprint f;
    f.mtime = fs::last_write_time(p);
    if (fs::is_regular_file(p)) {
      f.checksum = 1469598103934665603ull;
      for (const char c : slurp(p))
        f.checksum = (f.checksum ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    m[p.string()] = f;
  };
  for (const auto& r : roots)
    for (const auto& e : fs::recursive_directory_iterator(r)) add(e.path());
  for (const auto& e : extra)
    if (fs::is_regular_file(e)) add(e);
  return m;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

std::string regex_escaped(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (std::strchr(R"(\^$.|?*+()[]{}/)", c) != nullptr) out += '\\';
    out += c;
  }
  return out;
}

struct Outcome {
  int code = -1;          ///< exit code, -1 when killed or signalled
  int signal = 0;         ///< the signal that ended it, if one did
  double wall_s = 0;      ///< wall clock from fork to exit
  double queued_s = 0;    ///< of which waiting for a CPU (the machine busy with other work)
  double cpu_s = 0;       ///< user + system time
  bool timed_out = false; ///< killed after the hang limit
  std::string out, err;
};

/// Seconds the main thread of `pid` spent runnable but waiting for a CPU (/proc/PID/schedstat:
/// run time, run-queue wait time, time slices, in ns), 0 when the kernel does not say.
double queued_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/schedstat");
  std::uint64_t run_ns = 0, wait_ns = 0;
  if (!(in >> run_ns >> wait_ns)) return 0;
  return static_cast<double>(wait_ns) / 1e9;
}

/// Runs the CLI with `args` (no shell), standard input from /dev/null, in `scratch`; kills it
/// after `kill_after` so that a hang fails the case instead of blocking the suite.
Outcome run_cli(const std::vector<std::string>& args, const fs::path& scratch,
                std::chrono::milliseconds kill_after) {
  const fs::path out = scratch / "stdout", err = scratch / "stderr";
  std::vector<char*> argv;
  std::string exe = test::cli_path();
  argv.push_back(exe.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto started = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || o < 0 || e < 0 || ::chdir(scratch.c_str()) != 0) _exit(127);
    ::dup2(in, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  Outcome r;
  for (;;) {
    // Exited (not yet reaped, so its /proc entry still holds the scheduler's figures)?
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid)
      break;
    if (Clock::now() - started > kill_after) {
      ::kill(pid, SIGKILL);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  r.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  r.queued_s = queued_seconds(pid);
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  r.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
            static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

/// A TCP listener on 127.0.0.1 that no bad script may connect to.
class Listener {
public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot listen on 127.0.0.1");
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// Connections accepted since the last call (each is closed).
  int accepted() {
    int n = 0;
    for (int c; (c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0; ++n) ::close(c);
    return n;
  }

private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// The answer must come within a second of wall clock on a machine of its own. The tests share
/// two cores with other builds: the time the process waited for a CPU is not its own and is
/// taken off (it is printed). The sanitized binary (ASan + UBSan, debug) spends about 0.6 s of
/// CPU just starting; it gets twice the time.
#ifdef SIO_SANITIZED_CLI
constexpr double time_limit_s = 2.0;
#else
constexpr double time_limit_s = 1.0;
#endif

TEST(BadInput, EveryCaseGetsOneClearErrorQuicklyWithNoOutputAndNoConnection) {
  const fs::path corpus = fs::path(test::source_dir()) / "tests" / "badinput" / "corpus";
  const fs::path samples = fs::path(test::source_dir()) / "samples";
  char tmpl[] = "/tmp/sio_badinput_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path scratch = tmpl;
  const fs::path gen = scratch / "gen", outdir = scratch / "out";
  fs::create_directory(gen);
  generate_inputs(gen);
  Listener listener;
  const std::string port = std::to_string(listener.port());

  double slowest = 0, wall_total = 0, queued_total = 0, cpu_total = 0;
  std::string slowest_case;
  const auto all_started = Clock::now();
  for (const Case& c : cases()) {
    SCOPED_TRACE("sioreplay " + c.args);
    fs::remove_all(outdir);
    fs::create_directory(outdir);
    const auto fill = [&](std::string s, bool for_regex) {
      const auto v = [for_regex](const fs::path& p) {
        return for_regex ? regex_escaped(p.string()) : p.string();
      };
      s = replace_all(s, "{c}", v(corpus));
      s = replace_all(s, "{g}", v(gen));
      s = replace_all(s, "{s}", v(samples));
      s = replace_all(s, "{o}", v(outdir));
      return replace_all(s, "{port}", port);
    };
    std::vector<std::string> args;
    std::istringstream words(c.args);
    for (std::string w; words >> w;) args.push_back(fill(w, false));
    const auto before = snapshot({corpus, gen}, args);

    const Outcome r = run_cli(args, scratch, std::chrono::seconds(30));

    EXPECT_FALSE(r.timed_out) << "hung: killed after 30 s";
    EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal << "\n" << r.err;
    EXPECT_EQ(r.code, c.exit) << r.err;
    const double own_s = r.wall_s - r.queued_s;
    EXPECT_LT(own_s, time_limit_s) << "took " << r.wall_s << " s, of which " << r.queued_s
                                   << " s waiting for a CPU; " << r.cpu_s << " s of CPU";
    wall_total += r.wall_s;
    queued_total += r.queued_s;
    cpu_total += r.cpu_s;
    if (own_s > slowest) {
      slowest = own_s;
      slowest_case = c.args;
    }
    // CLI11's usage errors (exit 2) add a hint line of their own.
    const std::string err = replace_all(r.err, "Run with --help for more information.\n", "");
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one line on stderr:\n" << r.err;
    const std::string line = err.ends_with('\n') ? err.substr(0, err.size() - 1) : err;
    EXPECT_TRUE(std::regex_search(line, std::regex(fill(c.error, true))))
        << "stderr: " << r.err << "expected: " << fill(c.error, true);
    EXPECT_EQ(r.out, "") << "nothing on stdout";
    std::vector<std::string> left;
    for (const auto& e : fs::recursive_directory_iterator(outdir))
      left.push_back(e.path().string());
    EXPECT_EQ(left, std::vector<std::string>{}) << "output or temporary files left behind";
    EXPECT_TRUE(snapshot({corpus, gen}, args) == before) << "an input or its folder changed";
    EXPECT_EQ(listener.accepted(), 0) << "a bad input opened a connection";
  }
  const double total = std::chrono::duration<double>(Clock::now() - all_started).count();
  std::printf("%zu bad-input cases in %.2f s (CLI runs: %.2f s wall, %.2f s of it waiting for a "
              "CPU, %.2f s CPU); slowest %.3f s (wall less CPU wait): sioreplay %s\n",
              cases().size(), total, wall_total, queued_total, cpu_total, slowest,
              slowest_case.c_str());
  EXPECT_GE(cases().size(), 60u);
  fs::remove_all(scratch);
}

} // namespace
} // namespace sio
