#pragma once
/// Think times: how recorded gaps between a client's messages become Artillery `think` steps.

#include "sio/common/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sio::converter {

/// --think keep | max=DUR | scale=F | none
struct ThinkPolicy {
  enum class Kind : std::uint8_t { keep, max, scale, none };
  Kind kind = Kind::keep;
  std::int64_t max_ms = 0; ///< for `max`
  double factor = 1.0;     ///< for `scale`

  /// The think time for a recorded gap (ms); 0 means "no think step".
  [[nodiscard]] std::int64_t apply(std::int64_t gap_ms) const noexcept;
};

/// Parses "keep", "none", "max=5s", "max=250ms", "scale=0.5".
Result<ThinkPolicy> parse_think_policy(std::string_view text);

/// Parses a duration: "5" (seconds), "5s", "250ms", "2m", "1h", "1.5s". Returns milliseconds.
Result<std::int64_t> parse_duration_ms(std::string_view text);

/// How Artillery should see a think of `ms` milliseconds: whole seconds as an integer ("2"),
/// anything else as a string with a unit ("250ms", "1500ms"); Artillery turns a non-integer
/// number into 0 ms.
struct ThinkValue {
  bool is_integer = false; ///< write as a plain integer (seconds)
  std::string text;        ///< the integer, or the string with its unit
};
ThinkValue format_think(std::int64_t ms);

} // namespace sio::converter
