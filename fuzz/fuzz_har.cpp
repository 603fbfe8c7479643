// The HAR reader (DevTools, Playwright, Firefox, chrome-har) through the recorder's façade:
// the HAR streamed by the JSON pull tokenizer, its Engine.IO traffic decoded by the session
// builder into Socket.IO sessions, and the recording written as text.
#include "fuzz_support.hpp"

#include "sio/common/session_json.hpp"
#include "sio/recorder/recorder.hpp"

using namespace sio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile file;
  // The façade tells a HAR from its first bytes; anything else is a capture (fuzz_pcap).
  if (recorder::sniff_format({reinterpret_cast<const char*>(data), size}) !=
      recorder::InputFormat::har)
    return -1; // not added to the corpus
  recorder::RecordOptions options;
  options.inputs = {file.write({reinterpret_cast<const char*>(data), size})};
  std::vector<recorder::InputStats> stats;
  auto rec = recorder::record(options, stats);
  if (!rec) {
    SIO_FUZZ_CHECK(!rec.error().message().empty());
    return 0;
  }
  SIO_FUZZ_CHECK(!rec->sessions.empty());
  (void)recording_text(*rec);
  (void)recorder::summary(*rec, stats);
  return 0;
}
