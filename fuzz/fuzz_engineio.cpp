// Engine.IO v3/v4 decoders: one packet from a WebSocket text or binary message, and the polling
// payloads (v4, v3 text, v3 binary). The first byte picks the decoder; a payload that decodes
// cleanly must encode back to bytes that decode to the same packets.
#include "fuzz_support.hpp"

#include "sio/common/engineio.hpp"

using namespace sio;

namespace {

void round_trip(const eio::PayloadResult& r, int which) {
  if (r.error) return;
  std::string again;
  eio::PayloadResult back;
  if (which == 0) {
    back = eio::decode_payload_v4(eio::encode_payload_v4(r.packets));
  } else if (which == 1) {
    back = eio::decode_payload_v3_text(eio::encode_payload_v3_text(r.packets));
  } else {
    back = eio::decode_payload_v3_binary(eio::encode_payload_v3_binary(r.packets));
  }
  SIO_FUZZ_CHECK(!back.error);
  SIO_FUZZ_CHECK(back.packets == r.packets);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t mode = in.u8();
  const std::string_view body = fuzz::Input::text(in.rest());
  const eio::Limits limits{.max_packet_bytes = 1u << 16, .max_packets = 1u << 12};
  switch (mode % 6) {
  case 0:
    if (auto p = eio::decode_text_packet(body); p) {
      bool binary = false;
      const std::string wire = eio::encode_ws_packet(*p, 4, &binary);
      SIO_FUZZ_CHECK(!binary);
      auto back = eio::decode_text_packet(wire);
      SIO_FUZZ_CHECK(back && *back == *p);
    }
    break;
  case 1:
  case 2: {
    const int version = mode % 6 == 1 ? 3 : 4;
    if (auto p = eio::decode_binary_packet(body, version); p) {
      bool binary = false;
      const std::string wire = eio::encode_ws_packet(*p, version, &binary);
      if (binary) {
        auto back = eio::decode_binary_packet(wire, version);
        SIO_FUZZ_CHECK(back && *back == *p);
      }
    }
    break;
  }
  case 3:
    round_trip(eio::decode_payload_v4(body, limits), 0);
    break;
  case 4:
    round_trip(eio::decode_payload_v3_text(body, limits), 1);
    break;
  default:
    round_trip(eio::decode_payload_v3_binary(body, limits), 2);
    (void)eio::decode_payload(body, (mode & 0x80) ? 3 : 4, (mode & 0x40) != 0, limits);
    break;
  }
  return 0;
}
