/// The recorder against real packet captures (tcpdump, dumpcap; samples/pcap/*/README in
/// ../shared): every client's session must hold exactly the events the app itself logged
/// (truth.json), in order per direction, whatever the capture's format, link type, transport,
/// compression, Engine.IO version or encryption; damaged captures keep what is intact.

#include "../support/cli.hpp"
#include "../support/paths.hpp"
#include "../support/truth.hpp"

#include "sio/recorder/recorder.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>

namespace sio::recorder {
namespace {

using nlohmann::json;

Recording record_capture(const std::string& rel, std::vector<InputStats>& stats,
                         const std::vector<std::string>& keylogs = {},
                         SessionBuilder::LegChoice leg = SessionBuilder::LegChoice::client) {
  RecordOptions o;
  o.inputs = {test::sample("pcap/" + rel)};
  for (const auto& k : keylogs) o.keylogs.push_back(test::sample("pcap/" + k));
  o.leg = leg;
  auto rec = record(o, stats);
  if (!rec) ADD_FAILURE() << rec.error().message();
  return rec ? std::move(*rec) : Recording{};
}

json load_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

const Session* by_sid(const Recording& rec, const std::string& sid) {
  for (const auto& s : rec.sessions)
    if (s.sid == sid) return &s;
  return nullptr;
}

std::string diagnostics_text(const Recording& rec) {
  std::string out;
  for (const auto& d : rec.diagnostics) out += d.kind + " " + d.where + ": " + d.what + "\n";
  return out;
}

/// Checks every truth client against its session (found by Engine.IO sid); `lost` = truth
/// event indexes ("i") the capture does not hold.
void expect_clients_match(const Recording& rec, const std::string& truth_path,
                          const std::set<long long>& lost = {}) {
  const json truth = load_json(truth_path);
  const auto& clients = truth.at("clients");
  for (std::size_t c = 0; c < clients.size(); ++c) {
    const std::string sid = clients[c].at("engine").at("sid").get<std::string>();
    const Session* s = by_sid(rec, sid);
    ASSERT_NE(s, nullptr) << "client " << c << " sid " << sid << " not recorded\n"
                          << diagnostics_text(rec);
    auto events = test::load_truth(truth_path, c);
    std::erase_if(events, [&](const test::TruthEvent& e) { return lost.count(e.i) != 0; });
    for (const char* dir : {"client->server", "server->client"}) {
      const auto d = test::compare_direction(events, *s, dir);
      EXPECT_EQ(d.truth_count, d.recorded_count) << "client " << c << " " << dir;
      EXPECT_TRUE(d.mismatched.empty()) << "client " << c << ": " << d.first_difference;
    }
  }
}

/// The label of a truth event as the damage list names it: direction, type, namespace, event.
std::string label(const std::string& dir, const json& key) {
  return dir + " " + key.at("type").get<std::string>() + " " + key.at("nsp").get<std::string>() +
         " " + (key.contains("event") ? key.at("event").dump() : std::string());
}

/// A damaged capture: in each direction the recording must be the truth with some events left
/// out, in order, and the events left out must be the ones the damage list names. truth.json
/// names lost events by their label and an index "i" found by label, which for repeated labels
/// (three "tick" events) may point at another of the same label, so the lost ones are compared
/// as a multiset of labels.
void expect_truth_minus_lost(const Recording& rec, const std::string& truth_path,
                             const std::set<long long>& lost) {
  const json truth = load_json(truth_path);
  const std::string sid = truth.at("clients").at(0).at("engine").at("sid").get<std::string>();
  const Session* s = by_sid(rec, sid);
  ASSERT_NE(s, nullptr) << diagnostics_text(rec);
  const auto events = test::load_truth(truth_path, 0);
  for (const char* dir : {"client->server", "server->client"}) {
    std::vector<json> want, got;
    std::multiset<std::string> lost_labels, skipped_labels;
    for (const auto& e : events) {
      if (e.dir != dir) continue;
      want.push_back(e.key);
      if (lost.count(e.i)) lost_labels.insert(label(dir, e.key));
    }
    for (const auto& m : s->messages)
      if ((m.dir == Direction::client_to_server) == (std::string(dir) == "client->server"))
        got.push_back(test::message_key(m, s->eio));
    std::size_t w = 0;
    for (const auto& g : got) {
      while (w < want.size() && want[w] != g) skipped_labels.insert(label(dir, want[w++]));
      ASSERT_LT(w, want.size()) << dir
                                << ": recorded message not in the truth (in order): " << g.dump();
      ++w;
    }
    while (w < want.size()) skipped_labels.insert(label(dir, want[w++]));
    EXPECT_EQ(skipped_labels, lost_labels) << dir;
  }
}

struct Case {
  const char* file;
  const char* truth;
  const char* keylog;
  std::size_t sessions;
};

class PcapSamples : public ::testing::TestWithParam<Case> {};

TEST_P(PcapSamples, MessagesEqualTruthInOrder) {
  const Case c = GetParam();
  std::vector<InputStats> stats;
  const Recording rec = record_capture(
      c.file, stats, c.keylog ? std::vector<std::string>{c.keylog} : std::vector<std::string>{});
  EXPECT_EQ(rec.sessions.size(), c.sessions) << diagnostics_text(rec);
  expect_clients_match(rec, test::sample(std::string("pcap/") + c.truth));
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].pcap.gaps, 0u);
  EXPECT_TRUE(stats[0].pcap.damage.empty());
  EXPECT_TRUE(stats[0].pcap.encrypted.empty());
  for (const auto& s : rec.sessions) {
    EXPECT_FALSE(s.client.empty() && s.server.empty());
    EXPECT_TRUE(s.handshake.has_value()) << s.sid;
  }
}

INSTANTIATE_TEST_SUITE_P(Captures, PcapSamples,
                         ::testing::Values(Case{"b1/b1.pcap", "b1/truth.json", nullptr, 1},
                                           Case{"b2/b2.pcap", "b2/truth.json", nullptr, 1},
                                           Case{"b3/b3.pcap", "b3/truth.json", nullptr, 1},
                                           Case{"b4/b4.pcap", "b4/truth.json", nullptr, 1},
                                           Case{"b5/b5.pcap", "b5/truth.json", nullptr, 2},
                                           Case{"b6/b6.pcapng", "b6/truth.json", nullptr, 1},
                                           Case{"b7/b7.pcap", "b7/truth.json", nullptr, 1},
                                           Case{"b7/b7-sll1.pcap", "b7/truth.json", nullptr, 1},
                                           Case{"b8/b8.pcap", "b8/truth.json", nullptr, 20},
                                           Case{"b9/b9.pcap", "b9/truth.json", "b9/keys.log", 1}),
                         [](const auto& case_info) {
                           std::string n = case_info.param.file;
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(PcapTruthTest, TlsWithoutKeysIsReportedAsEncrypted) {
  std::vector<InputStats> stats;
  RecordOptions o;
  o.inputs = {test::sample("pcap/b9/b9.pcap")};
  auto rec = record(o, stats);
  ASSERT_FALSE(rec); // nothing decodable: no Socket.IO traffic, and the message says why
  EXPECT_NE(rec.error().message().find("encrypted"), std::string::npos) << rec.error().message();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_GT(stats[0].pcap.encrypted.size(), 0u);
  EXPECT_EQ(stats[0].pcap.tls_decrypted, 0u);
}

/// b9.pcap rewritten as a pcapng whose Decryption Secrets Block holds b9's key log, the way
/// `editcap --inject-secrets tls,keys.log` writes it: section header, secrets, interface,
/// one Enhanced Packet Block per packet (microsecond timestamps, the default resolution).
std::string pcapng_with_secrets(const std::string& pcap, const std::string& keylog) {
  std::string out;
  const auto u16 = [&](std::uint16_t v) { out.append(reinterpret_cast<const char*>(&v), 2); };
  const auto u32 = [&](std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  const auto pad = [&] { out.append((4 - out.size() % 4) % 4, '\0'); };
  const auto block = [&](std::uint32_t type, const std::function<void()>& body) {
    const std::size_t start = out.size();
    u32(type);
    u32(0); // total length, patched below
    body();
    pad();
    const auto total = static_cast<std::uint32_t>(out.size() - start + 4);
    u32(total);
    std::memcpy(out.data() + start + 4, &total, 4);
  };
  const auto rd32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    std::memcpy(&v, pcap.data() + at, 4);
    return v;
  };
  block(0x0A0D0D0A, [&] { // section header: byte-order magic, version 1.0, length unknown
    u32(0x1A2B3C4D);
    u16(1);
    u16(0);
    u32(0xffffffff);
    u32(0xffffffff);
  });
  block(0x0000000A, [&] { // decryption secrets: TLS key log
    u32(0x544c534b);
    u32(static_cast<std::uint32_t>(keylog.size()));
    out += keylog;
  });
  block(0x00000001, [&] { // interface: the pcap's link type and snap length
    u16(static_cast<std::uint16_t>(rd32(20)));
    u16(0);
    u32(rd32(16));
  });
  for (std::size_t at = 24; at + 16 <= pcap.size();) {
    const std::uint64_t us = std::uint64_t{rd32(at)} * 1'000'000 + rd32(at + 4);
    const std::uint32_t caplen = rd32(at + 8), len = rd32(at + 12);
    block(0x00000006, [&] {
      u32(0);
      u32(static_cast<std::uint32_t>(us >> 32));
      u32(static_cast<std::uint32_t>(us));
      u32(caplen);
      u32(len);
      out.append(pcap, at + 16, caplen);
    });
    at += 16 + caplen;
  }
  return out;
}

TEST(PcapTruthTest, TlsKeysFromAPcapngDecryptionSecretsBlock) {
  const std::string pcap = test::slurp(test::sample("pcap/b9/b9.pcap"));
  ASSERT_EQ(pcap.substr(0, 4), std::string("\xd4\xc3\xb2\xa1", 4)); // little-endian, microseconds
  const std::string file = ::testing::TempDir() + "b9-dsb.pcapng";
  std::ofstream(file, std::ios::binary)
      << pcapng_with_secrets(pcap, test::slurp(test::sample("pcap/b9/keys.log")));
  std::vector<InputStats> stats;
  RecordOptions o;
  o.inputs = {file}; // no --keylog: the keys come from the file itself
  auto rec = record(o, stats);
  std::remove(file.c_str());
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].format, "pcapng");
  EXPECT_EQ(stats[0].pcap.tls_decrypted, stats[0].pcap.tls_connections);
  EXPECT_TRUE(stats[0].pcap.encrypted.empty());
  EXPECT_EQ(rec->sessions.size(), 1u);
  expect_clients_match(*rec, test::sample("pcap/b9/truth.json"));
}

TEST(PcapTruthTest, ProxyLegsClientUpstreamAndBoth) {
  // b8: every session was captured twice, client<->HAProxy (:4080) and HAProxy<->replica.
  std::vector<InputStats> stats;
  const Recording client = record_capture("b8/b8.pcap", stats);
  ASSERT_EQ(client.sessions.size(), 20u);
  EXPECT_EQ(stats[0].pcap.proxied_sessions, 20u);
  for (const auto& s : client.sessions) {
    EXPECT_NE(s.server.find(":4080"), std::string::npos) << s.server;
    EXPECT_FALSE(s.upstream.empty());
    EXPECT_EQ(s.upstream.find(":4080"), std::string::npos) << s.upstream;
    bool route = false; // the sticky cookie is on the client leg only
    for (const auto& ck : s.cookies) route |= ck.name == "route";
    EXPECT_TRUE(route) << s.sid;
  }
  stats.clear();
  const Recording up = record_capture("b8/b8.pcap", stats, {}, SessionBuilder::LegChoice::upstream);
  ASSERT_EQ(up.sessions.size(), 20u);
  for (const auto& s : up.sessions) EXPECT_EQ(s.server.find(":4080"), std::string::npos);
  expect_clients_match(up, test::sample("pcap/b8/truth.json"));
  stats.clear();
  const Recording both = record_capture("b8/b8.pcap", stats, {}, SessionBuilder::LegChoice::both);
  EXPECT_EQ(both.sessions.size(), 40u);
}

TEST(PcapTruthTest, DamagedCapturesKeepWhatIsIntact) {
  const json truth = load_json(test::sample("pcap/b10/truth.json"));
  for (const auto& damage : truth.at("damage")) {
    const std::string file = damage.at("file").get<std::string>();
    SCOPED_TRACE(file);
    std::set<long long> lost;
    for (const auto& e : damage.value("truth_events_lost", json::array()))
      lost.insert(e.at("i").get<long long>());
    std::vector<InputStats> stats;
    RecordOptions o;
    o.inputs = {test::sample("pcap/b10/" + file)};
    auto rec = record(o, stats);
    if (file == "b1-snap96.pcap") {
      // Headers only: nothing to decode, and the error says how much was missing.
      if (rec) {
        for (const auto& s : rec->sessions) EXPECT_LT(s.messages.size(), 57u);
      } else {
        EXPECT_NE(rec.error().message().find("b1-snap96.pcap"), std::string::npos);
      }
      ASSERT_EQ(stats.size(), 1u);
      EXPECT_GT(stats[0].pcap.gaps, 0u);
      continue;
    }
    ASSERT_TRUE(rec) << rec.error().message();
    ASSERT_EQ(rec->sessions.size(), 1u) << diagnostics_text(*rec);
    expect_truth_minus_lost(*rec, test::sample("pcap/b10/truth.json"), lost);
    EXPECT_FALSE(rec->diagnostics.empty());
    if (file == "b1-truncated.pcap") {
      EXPECT_NE(stats[0].pcap.damage.find("packet 120"), std::string::npos) << stats[0].pcap.damage;
      EXPECT_EQ(stats[0].pcap.packets, 119u);
    } else {
      EXPECT_GE(stats[0].pcap.gaps, 4u);
    }
  }
}

TEST(PcapTruthTest, MutatedCapturesNeverCrashOrHang) {
  // Damage the real captures the way disks and networks do (bytes flipped in headers and
  // payloads, records cut short, a run of bytes zeroed): each copy must give a recording or a
  // clear error, never a crash, a hang or a sanitizer report (CI runs this under ASan+UBSan).
  std::uint64_t seed = 0x9E3779B97F4A7C15ull;
  const auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  const std::string file = ::testing::TempDir() + "mutated.pcap";
  std::size_t recorded = 0, refused = 0;
  for (const char* name : {"pcap/b1/b1.pcap", "pcap/b3/b3.pcap", "pcap/b4/b4.pcap",
                           "pcap/b6/b6.pcapng", "pcap/b9/b9.pcap"}) {
    const std::string original = test::slurp(test::sample(name));
    for (int round = 0; round < 12; ++round) {
      std::string bytes = original;
      switch (round % 3) {
      case 0: // scattered flips after the file header
        for (int k = 0; k < 40; ++k)
          bytes[24 + next() % (bytes.size() - 24)] ^= static_cast<char>(1u << (next() % 8));
        break;
      case 1: // a run zeroed
      {
        const std::size_t at = 24 + next() % (bytes.size() - 300);
        std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(at), 1 + next() % 256, '\0');
        break;
      }
      default: // cut anywhere
        bytes.resize(24 + next() % (bytes.size() - 24));
        break;
      }
      std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
      RecordOptions o;
      o.inputs = {file};
      o.keylogs = {test::sample("pcap/b9/keys.log")};
      std::vector<InputStats> stats;
      auto rec = record(o, stats);
      if (rec) {
        ++recorded;
      } else {
        ++refused;
        EXPECT_NE(rec.error().message().find("mutated.pcap"), std::string::npos)
            << rec.error().message();
      }
    }
  }
  std::remove(file.c_str());
  EXPECT_GT(recorded, 0u); // most damage leaves sessions to keep
  std::cout << "mutated captures: " << recorded << " recorded, " << refused << " refused\n";
}

} // namespace
} // namespace sio::recorder
