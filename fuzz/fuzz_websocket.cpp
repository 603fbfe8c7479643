// WebSocket frames of one direction (masking, fragmentation, control frames, permessage-deflate
// with the negotiated window sizes and context takeover, resynchronisation after gaps), and the
// Sec-WebSocket-Extensions parser. Input: the extensions header up to a newline (what the 101
// response said), a byte for the sender's side, then operations as in fuzz_http: a byte (gap or
// data, and the length's high bits), a length byte, the data.
#include "fuzz_support.hpp"

#include "sio/wire/websocket.hpp"

using namespace sio;
using namespace sio::wire;

namespace {

class Checker final : public WsStream::Handler {
public:
  explicit Checker(std::uint64_t max_message) : max_message_(max_message) {}
  void on_message(Side, WsMessage&& m) override {
    SIO_FUZZ_CHECK(m.payload.size() <= max_message_);
    SIO_FUZZ_CHECK(m.opcode <= 10);
  }
  void on_error(Side, std::uint64_t, std::string what) override { SIO_FUZZ_CHECK(!what.empty()); }

private:
  std::uint64_t max_message_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::string_view header = in.until("\n");
  WsDeflate deflate;
  if (auto d = parse_ws_extensions(header); d) deflate = *d;
  const Side sender = in.flag() ? Side::server : Side::client;
  constexpr std::uint64_t max_message = 1u << 20;
  Checker checker(max_message);
  WsStream stream(sender, deflate, max_message);
  std::uint64_t offset = 0;
  std::int64_t ts = 1'000'000'000;
  std::uint64_t packet = 0;
  while (!in.empty()) {
    const std::uint8_t op = in.u8();
    ts += op;
    ++packet;
    if ((op & 0x0f) == 0x0f) { // a gap of 1..256 bytes
      const std::uint64_t length = in.u8() + 1u;
      stream.gap(offset, length, checker);
      offset += length;
      continue;
    }
    const std::size_t length = static_cast<std::size_t>(op >> 4) * 256u + in.u8();
    const auto bytes = in.bytes(length);
    if (bytes.empty()) continue;
    stream.feed(bytes, offset, ts, packet, checker);
    offset += bytes.size();
  }
  stream.close(checker);
  return 0;
}
