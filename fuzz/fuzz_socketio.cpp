// Socket.IO v4 (socket.io 2.x) and v5 (3.x/4.x) packet decoder, binary attachments
// (AttachmentCollector, placeholders) and the _binary_b64 form. Input: a protocol byte, the
// packet text up to a NUL byte, then attachments separated by NUL bytes. A packet that decodes
// must encode to text that decodes to the same packet.
#include "fuzz_support.hpp"

#include "sio/common/socketio.hpp"

using namespace sio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const int protocol = (in.u8() & 1) != 0 ? 4 : 5;
  const std::string_view text = in.until(std::string_view("\0", 1));
  const sock::Limits limits{.max_attachments = 64, .max_json_depth = 64};
  auto p = sock::decode(text, protocol, limits);
  if (!p) return 0;

  // A number as the data (only v4 ERROR allows one) is ambiguous on the wire: right after the
  // type or the ack id its digits read as (more of) an ack id, in socket.io-parser too. Such
  // packets are decoded as sent but cannot round-trip.
  if (!(p->data && p->data->is_number())) {
    const std::string wire = sock::encode(*p);
    auto back = sock::decode(wire, protocol, limits);
    SIO_FUZZ_CHECK(back.ok());
    SIO_FUZZ_CHECK(*back == *p);
  }

  // Binary values: placeholders <-> {"_binary_b64": ...}.
  if (p->data) {
    Json copy = *p->data;
    if (auto buffers = sock::deconstruct(copy); buffers) {
      Json again = copy;
      (void)sock::reconstruct(again, *buffers);
    }
  }
  if (p->attachments > 0) {
    sock::AttachmentCollector collector;
    SIO_FUZZ_CHECK(collector.start(*p).ok());
    while (collector.pending() && !in.empty()) {
      auto done = collector.add(std::string(in.until(std::string_view("\0", 1))));
      if (!done) break;
      if (*done) {
        SIO_FUZZ_CHECK(!collector.pending());
        (void)sock::encode(**done);
      }
    }
    (void)collector.abandon();
  }
  return 0;
}
