#include "sio/converter/think_time.hpp"

#include <charconv>
#include <cmath>

namespace sio::converter {

std::int64_t ThinkPolicy::apply(std::int64_t gap_ms) const noexcept {
  if (gap_ms <= 0) return 0;
  switch (kind) {
  case Kind::keep:
    return gap_ms;
  case Kind::none:
    return 0;
  case Kind::max:
    return gap_ms < max_ms ? gap_ms : max_ms;
  case Kind::scale:
    return std::llround(static_cast<double>(gap_ms) * factor);
  }
  return gap_ms;
}

Result<std::int64_t> parse_duration_ms(std::string_view text) {
  const auto bad = [&] {
    return fail(errc::usage,
                "not a duration: \"" + std::string(text) + "\" (use e.g. 30, 30s, 250ms, 5m, 1h)");
  };
  if (text.empty()) return bad();
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || value < 0 || !std::isfinite(value)) return bad();
  const std::string_view unit = text.substr(static_cast<std::size_t>(ptr - text.data()));
  double ms = 0;
  if (unit.empty() || unit == "s")
    ms = value * 1000;
  else if (unit == "ms")
    ms = value;
  else if (unit == "m" || unit == "min")
    ms = value * 60000;
  else if (unit == "h")
    ms = value * 3600000;
  else
    return bad();
  if (ms > 1e12) return bad();
  return std::llround(ms);
}

Result<ThinkPolicy> parse_think_policy(std::string_view text) {
  ThinkPolicy p;
  if (text == "keep") return p;
  if (text == "none") {
    p.kind = ThinkPolicy::Kind::none;
    return p;
  }
  if (text.rfind("max=", 0) == 0) {
    auto ms = parse_duration_ms(text.substr(4));
    if (!ms) return fail(ms.error());
    p.kind = ThinkPolicy::Kind::max;
    p.max_ms = *ms;
    return p;
  }
  if (text.rfind("scale=", 0) == 0) {
    const std::string_view f = text.substr(6);
    double v = 0;
    const auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    if (ec != std::errc{} || ptr != f.data() + f.size() || v < 0 || !std::isfinite(v))
      return fail(errc::usage,
                  "--think scale=F needs a number >= 0, got \"" + std::string(f) + "\"");
    p.kind = ThinkPolicy::Kind::scale;
    p.factor = v;
    return p;
  }
  return fail(errc::usage, "--think: expected keep, none, max=DURATION or scale=FACTOR, got \"" +
                               std::string(text) + "\"");
}

ThinkValue format_think(std::int64_t ms) {
  if (ms % 1000 == 0) return {true, std::to_string(ms / 1000)};
  return {false, std::to_string(ms) + "ms"};
}

} // namespace sio::converter
