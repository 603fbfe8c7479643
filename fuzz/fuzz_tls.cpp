// The TLS record layer of one connection (both directions) decrypted with a key log, and the key
// log parser. The key log is samples/pcap/b9's (so that records of its sessions decrypt) plus the
// fuzz input's own lines up to the first empty line; then operations as in fuzz_http: a byte
// (side, gap or data, the length's high bits), a length byte, the data.
#include "fuzz_support.hpp"

#include "sio/common/file_io.hpp"
#include "sio/wire/tls.hpp"

using namespace sio;
using namespace sio::wire;

namespace {

class Checker final : public TlsConnection::Handler {
public:
  void on_plaintext(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                    std::int64_t, std::uint64_t) override {
    const auto s = static_cast<int>(side);
    SIO_FUZZ_CHECK(offset == next[s]);
    next[s] += bytes.size();
  }
  void on_error(Side, std::string what) override { SIO_FUZZ_CHECK(!what.empty()); }
  std::uint64_t next[2] = {};
};

const KeyLog& sample_keys() {
  static const KeyLog keys = [] {
    auto file = InputFile::open(SIO_SOURCE_DIR "/samples/pcap/b9/keys.log");
    if (!file) fuzz::violated("cannot read samples/pcap/b9/keys.log");
    auto k = KeyLog::parse(file->data(), "keys.log");
    if (!k) fuzz::violated("samples/pcap/b9/keys.log does not parse");
    return std::move(*k);
  }();
  return keys;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  KeyLog keys = sample_keys();
  if (auto extra = KeyLog::parse(in.until("\n\n"), "fuzz.keylog"); extra) keys.merge(*extra);
  Checker checker;
  TlsConnection conn(keys);
  std::int64_t ts = 1'000'000'000;
  std::uint64_t packet = 0;
  while (!in.empty()) {
    const std::uint8_t op = in.u8();
    const Side side = (op & 1) != 0 ? Side::server : Side::client;
    ts += op;
    ++packet;
    if ((op & 0x0e) == 0x0e) {
      conn.gap(side, checker);
      continue;
    }
    const std::size_t length = static_cast<std::size_t>(op >> 4) * 256u + in.u8();
    const auto bytes = in.bytes(length);
    if (bytes.empty()) continue;
    conn.feed(side, bytes, ts, packet, checker);
  }
  (void)conn.version();
  (void)conn.cipher();
  return 0;
}
