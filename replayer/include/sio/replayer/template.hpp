#pragma once
/// Artillery's templates: "{{ var }}", "{{ a.b[0] }}", "$randomNumber(1,10)", "$randomString(8)",
/// "$uuid", "$env.NAME", "$loopCount", "$loopElement", "target". A string that is exactly one
/// template keeps the value's type (an object stays an object); templates inside a longer string
/// are replaced by their text (objects as JSON). An unknown variable renders as "undefined"
/// inside a string, and as null for a whole-string template (as Artillery does).

#include "sio/common/socketio.hpp" // sio::Json

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace sio::replayer {

/// What templates can see.
struct TemplateContext {
  const Json* vars = nullptr;     ///< the user's variables (object)
  std::mt19937_64* rng = nullptr; ///< for $randomNumber / $randomString / $uuid
};

/// Renders every string inside `value` (keys stay as they are).
Json render(const Json& value, const TemplateContext& ctx);

/// Renders one string; `whole` is set when it was exactly one template (then the result is the
/// variable's value with its type, else a string).
Json render_string(std::string_view text, const TemplateContext& ctx);

/// True when `text` holds "{{".
bool has_template(std::string_view text) noexcept;

/// Looks a path like "a.b[0].c" up in `vars`; nullptr when absent.
const Json* lookup(const Json& vars, std::string_view path);

/// JavaScript's String(v) for a value inside a longer string: "undefined" for nullptr, strings as
/// they are, integral doubles without ".0", NaN/Infinity, anything else as compact JSON.
std::string js_string(const Json* v);

/// `c` for an error message: itself when printable ASCII, else "\xNN".
std::string printable_char(char c);

/// A random RFC 4122 version 4 UUID.
std::string uuid_v4(std::mt19937_64& rng);

} // namespace sio::replayer
