// The pcap/pcapng reader on its own: libpcap through PacketSource (our header checks, the
// record loop, byte offsets, timestamps), decode_packet() on every record (link types, VLAN,
// IPv4/IPv6, TCP/UDP headers) and the walk over pcapng blocks for Decryption Secrets Blocks with
// the key log they hold. fuzz_pcap runs the same inputs through the whole recorder; this target
// is the reader alone, so it runs many times faster and reaches the deep corners of the formats.
#include "fuzz_support.hpp"

#include "sio/wire/packet.hpp"
#include "sio/wire/tls.hpp"

using namespace sio;
using namespace sio::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile file;
  const std::string& path = file.write({reinterpret_cast<const char*>(data), size});

  if (auto secrets = read_pcapng_tls_secrets(path); secrets && !secrets->empty())
    (void)KeyLog::parse(*secrets, path + " (Decryption Secrets Block)");

  auto src = PacketSource::open_file(path);
  if (!src) {
    SIO_FUZZ_CHECK(src.error().message().find(path) != std::string::npos);
    return 0;
  }
  PacketSource& s = **src;
  SIO_FUZZ_CHECK(link_type_supported(s.linktype()));
  RawPacket p;
  Error err;
  TcpSegment seg;
  std::uint64_t count = 0, last_offset = 0;
  for (;;) {
    const auto n = s.next(p, err);
    if (n == PacketSource::Next::end) break;
    if (n == PacketSource::Next::error) {
      SIO_FUZZ_CHECK(!err.message().empty());
      break;
    }
    SIO_FUZZ_CHECK(n == PacketSource::Next::packet); // files never time out
    SIO_FUZZ_CHECK(p.number == ++count);
    SIO_FUZZ_CHECK(p.data.size() == p.caplen);
    SIO_FUZZ_CHECK(p.ts_ns >= 0);
    SIO_FUZZ_CHECK(s.bytes_read() >= last_offset && s.bytes_read() <= size);
    last_offset = s.bytes_read();
    const auto st = decode_packet(s.linktype(), p.data, p.len, seg);
    if (st == DecodeStatus::tcp) {
      // The payload lies inside the captured bytes.
      const auto* begin = p.data.data();
      const auto* end = begin + p.data.size();
      SIO_FUZZ_CHECK(seg.payload.empty() || (seg.payload.data() >= begin &&
                                             seg.payload.data() + seg.payload.size() <= end));
    }
  }
  return 0;
}
