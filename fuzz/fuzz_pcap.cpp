// pcap/pcapng files through the recorder's façade: libpcap reads the file, link/IP/TCP
// decoding, TCP reassembly, TLS decryption (with the key log of samples/pcap/b9, so that its
// sessions decrypt), HTTP/1.1, WebSocket with permessage-deflate, Engine.IO and Socket.IO into a
// recording; pcapng Decryption Secrets Blocks are read too.
#include "fuzz_support.hpp"

#include "sio/common/session_json.hpp"
#include "sio/recorder/recorder.hpp"

using namespace sio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile file;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto format = recorder::sniff_format(bytes);
  if (format != recorder::InputFormat::pcap && format != recorder::InputFormat::pcapng)
    return -1; // not a capture: the HAR path is fuzz_har's
  recorder::RecordOptions options;
  options.inputs = {file.write(bytes)};
  options.keylogs = {SIO_SOURCE_DIR "/samples/pcap/b9/keys.log"};
  std::vector<recorder::InputStats> stats;
  auto rec = recorder::record(options, stats);
  if (!rec) {
    SIO_FUZZ_CHECK(!rec.error().message().empty());
    return 0;
  }
  (void)recording_text(*rec);
  (void)recorder::summary(*rec, stats);
  return 0;
}
