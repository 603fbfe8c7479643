// Cookie parsing: Cookie request headers, Set-Cookie headers (common/cookie.hpp) and the
// replayer's per-user cookie jar (RFC 6265 dates, Max-Age, Domain, Path, Secure). Input: lines;
// the first is the request host, the second the request path, each next one a Set-Cookie that
// the jar takes and the parsers read.
#include "fuzz_support.hpp"

#include "sio/common/cookie.hpp"
#include "sio/replayer/cookie_jar.hpp"

using namespace sio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::int64_t now_s = 1'700'000'000 + static_cast<std::int64_t>(in.u16()) * 86'400;
  const std::string_view host = in.until("\n");
  const std::string_view path = in.until("\n");
  replayer::CookieJar jar;
  SetCookie parsed;
  while (!in.empty()) {
    const std::string_view line = in.until("\n");
    jar.set(line, host, path, now_s);
    (void)parse_cookie_header(line);
    if (parse_set_cookie(line, parsed)) SIO_FUZZ_CHECK(!parsed.name.empty());
  }
  for (const bool secure : {false, true}) {
    const std::string header = jar.header(host, path, secure, now_s);
    // What the jar sends parses back into one pair per cookie, none without a name.
    for (const auto& [name, value] : parse_cookie_header(header)) SIO_FUZZ_CHECK(!name.empty());
    (void)jar.header(host, "/", secure, now_s + 31'536'000);
  }
  return 0;
}
