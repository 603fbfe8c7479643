// The recording reader (JSON Lines: header, sessions, diagnostics; docs/recording.md). A
// recording that reads must write back to text that reads to the same text again.
#include "fuzz_support.hpp"

#include "sio/common/session_json.hpp"

using namespace sio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rec = read_recording(text, "fuzz.jsonl");
  if (!rec) return 0;
  const std::string written = recording_text(*rec);
  auto again = read_recording(written, "written.jsonl");
  SIO_FUZZ_CHECK(again.ok());
  SIO_FUZZ_CHECK(recording_text(*again) == written);
  return 0;
}
