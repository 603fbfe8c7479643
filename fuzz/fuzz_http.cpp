// The HTTP/1.1 stream parser of one TCP connection (both sides, pipelining, chunked bodies,
// gzip/deflate, 101 upgrades, resynchronisation after gaps). Input, as a script of operations:
// a byte whose low bits choose the operation (data from the client or the server, a gap, the
// end of the connection) and a length, then the data. The handler checks what the parser
// promises: stream offsets only grow, nothing comes after close.
#include "fuzz_support.hpp"

#include "sio/wire/http_stream.hpp"

using namespace sio;
using namespace sio::wire;

namespace {

class Checker final : public HttpConnection::Handler {
public:
  void on_request(const HttpRequest& req) override {
    SIO_FUZZ_CHECK(!closed);
    SIO_FUZZ_CHECK(req.body.size() <= limits.max_body);
  }
  void on_response(HttpRequest*, HttpResponse& resp) override {
    SIO_FUZZ_CHECK(resp.body.size() <= limits.max_body);
  }
  void on_upgrade(const HttpRequest*, const HttpResponse&) override { upgraded = true; }
  void on_raw(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset, std::int64_t,
              std::uint64_t) override {
    SIO_FUZZ_CHECK(upgraded);
    const auto s = static_cast<int>(side);
    SIO_FUZZ_CHECK(offset >= raw_end[s]);
    raw_end[s] = offset + bytes.size();
  }
  void on_error(Side, HttpConnection::ErrorKind, std::uint64_t, std::string what) override {
    SIO_FUZZ_CHECK(!what.empty());
  }

  HttpConnection::Limits limits{.max_head = 4096, .max_body = 1u << 16};
  bool upgraded = false, closed = false;
  std::uint64_t raw_end[2] = {};
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  Checker checker;
  HttpConnection conn(checker, checker.limits);
  std::uint64_t offset[2] = {};
  std::int64_t ts = 1'000'000'000;
  std::uint64_t packet = 0;
  while (!in.empty()) {
    const std::uint8_t op = in.u8();
    const Side side = (op & 1) != 0 ? Side::server : Side::client;
    const auto s = static_cast<int>(side);
    ts += op;
    ++packet;
    if ((op & 0x0e) == 0x0e) { // a gap of 1..256 bytes
      const std::uint64_t length = in.u8() + 1u;
      conn.gap(side, offset[s], length, ts);
      offset[s] += length;
      continue;
    }
    // Data: the length is the operation's high bits times 16, plus one byte (up to 4 KB).
    const std::size_t length = static_cast<std::size_t>(op >> 4) * 256u + in.u8();
    const auto bytes = in.bytes(length);
    if (bytes.empty()) continue;
    conn.feed(side, bytes, offset[s], ts, packet);
    offset[s] += bytes.size();
  }
  conn.close(ts + 1);
  checker.closed = true;
  return 0;
}
