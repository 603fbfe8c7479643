#pragma once
/// Artillery's `capture` and `match` (engine_util.captureOrMatch), for Socket.IO ack / response
/// arguments and HTTP step responses.
///
/// A spec extracts one value from a response with a JSONPath (`json`), a header (`header`) or a
/// regular expression (`regexp`, optional `group` and `flags`). A capture stores it in the
/// user's variables under `as`; a match compares it with `value`.
///
/// Match comparison (Artillery compares with `extracted !== expected`):
///   - `json`: JSON equality, so types matter ("5" differs from 5) as in Artillery; numbers
///     compare by value (5 equals 5.0); objects and arrays compare deeply (Artillery's !== never
///     holds for them, which is rarely what a script means).
///   - `header` / `regexp`: the extracted value is always text; it is compared with the expected
///     value's text (a string as it is, a number or boolean as JavaScript's String() writes it,
///     null as "null"), so `value: 5` matches the text "5" (in Artillery it never would).
///   - `strict: false` on a match makes its failure harmless (Artillery's HTTP engine does so).
///
/// Nothing here throws, and no input makes it crash: paths, regexps and the work they do are
/// bounded (see the limits below), and values nested too deeply to copy safely are refused.

#include "sio/common/result.hpp"
#include "sio/common/socketio.hpp" // sio::Json

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sio::replayer {

/// Longest JSONPath accepted (characters).
inline constexpr std::size_t max_json_path_length = 4096;
/// Most nodes one JSONPath evaluation may visit ("$..*..*" on a big document stops here).
inline constexpr std::size_t max_json_path_visits = 1'000'000;
/// Longest regexp pattern accepted (characters); parentheses nest at most 32 deep.
inline constexpr std::size_t max_regexp_length = 1024;
/// A regexp runs on at most this many leading bytes of the text.
inline constexpr std::size_t max_regexp_text = 1u << 20;
/// Deepest extracted value handed out (deeper ones are refused rather than copied).
inline constexpr std::size_t max_extracted_depth = 512;

/// Evaluates a JSONPath subset on `root` and returns the first node it selects (document order),
/// or std::nullopt when it selects nothing. Accepted: "$" (optional at the start: "a.b" means
/// "$.a.b"), ".name", "['name']" / ["name"] (with \-escapes), "[N]" (negative counts from the
/// end), ".N" (on an array an index, on an object a member, so "$.0.token" works as in
/// Artillery), ".*" / "[*]", and recursive descent "..name", "..*", "..[N]". Filters, slices,
/// unions and scripts are refused (errc::unsupported); a malformed path is errc::bad_recording
/// ("json path \"$.a[\": expected ']' at column 5"); too much work is errc::limit_exceeded.
Result<std::optional<Json>> json_path(const Json& root, std::string_view path);

/// Opaque compiled regular expression (shared by copies of a spec).
struct CompiledRegexp;

/// One capture or match spec: `{json: "$.0.id", as: id}`, `{header: "x-replica", as: r}`,
/// `{regexp: "id=(\\d+)", group: 1, as: id}`, `{json: "$.0.ok", value: true}`. After
/// parse_extract() exactly one of `json`, `header`, `regexp` is non-empty. They may hold
/// {{ templates }} (rendered with the user's variables when the spec runs).
struct ExtractSpec {
  std::string json;          ///< JSONPath on the parsed body / the args array
  std::string header;        ///< response header name (case-insensitive)
  std::string regexp;        ///< ECMAScript regexp, run on the raw text
  std::string flags;         ///< regexp flags: "i" (ignore case), "m" (multiline); g/u/y ignored
  int group = 0;             ///< regexp group to take; 0 = the whole match
  std::string as;            ///< capture: the variable to set
  std::optional<Json> value; ///< match: the expected value (render templates before matching)
  bool strict = true;        ///< false: finding nothing / not matching is not an error
  /// The compiled `regexp` when it holds no template (set by parse_extract()).
  std::shared_ptr<const CompiledRegexp> compiled;
};

/// Parses `capture` or `match`: one map or a list of maps. `default_json` is the path used when
/// a spec has none of json/header/regexp (acks and responses: "$.0"); without it such a spec is
/// an error. `is_match`: specs need `value`; else (captures) they need `as`. Like Artillery, an
/// empty json/header/regexp counts as absent and, given several, json wins over regexp over
/// header. `xpath`, `selector` and `transform` are refused (errc::unsupported); other unknown
/// keys are ignored. Errors name the key: "capture[1].as: missing", "match.value: missing".
Result<std::vector<ExtractSpec>> parse_extract(const Json& spec, bool is_match,
                                               std::string_view default_json = {});

/// What a response offers to extract from.
struct ExtractSource {
  /// Parsed body, or the Socket.IO args array. When null, `text` is parsed as JSON if needed.
  const Json* json = nullptr;
  /// Raw body, for regexps. When empty, regexps run on `json` written as JSON.
  std::string_view text;
  /// Response headers (name, value); several with one name are joined with ", " (set-cookie:
  /// a JSON array), as Node does.
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;
};

/// Runs captures in order: sets vars[as] (literally, dots included) for each; `vars` becomes an
/// object if it is null. Templates in json/header/regexp are rendered with `vars`. A capture that
/// finds nothing is an error ("capture \"$.0.id\" found nothing") unless strict is false, in
/// which case vars[as] is removed (Artillery sets it to undefined). On error, captures before the
/// failing one stay applied. Artillery runs matches first and applies no capture when one fails:
/// call check_matches() before this.
Status apply_captures(const std::vector<ExtractSpec>& specs, const ExtractSource& src, Json& vars);

/// Runs matches: each spec's extracted value must equal its `value` (see the comparison rules at
/// the top; render `value` templates first). Templates in json/header/regexp are rendered with
/// `vars` when given. Returns an error naming the first failing strict spec:
/// "match $.0.ok: expected true, got false", "match header x-replica: expected \"a\", got
/// nothing".
Status check_matches(const std::vector<ExtractSpec>& specs, const ExtractSource& src,
                     const Json* vars = nullptr);

} // namespace sio::replayer
