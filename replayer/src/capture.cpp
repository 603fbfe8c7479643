// Artillery's capture / match (engine_util.captureOrMatch), re-implemented.
//
// Nothing here throws out of the public functions, and hostile input cannot exhaust the stack:
//   - JSONPath evaluation recurses once per path segment (at most max_json_path_segments) and
//     walks documents with an explicit stack; it stops after max_json_path_visits nodes.
//   - Values are measured (iteratively) before they are copied or written out, since
//     nlohmann's copy and dump recurse once per nesting level.
//   - std::regex (libstdc++) backtracks recursively, once per character of input, which
//     overflows an 8 MB stack on ~100 KB of text. Patterns are compiled in libstdc++'s
//     polynomial mode instead (a Thompson-style executor whose recursion is bounded by the
//     pattern, not the text; it refuses back-references), and their length and nesting are
//     bounded since the regexp compiler recurses per term and per group. The worst case is then
//     quadratic time in the text (e.g. "(.*)x" on text without an x), bounded by the 1 MB cap.

#include "sio/replayer/capture.hpp"

#include "sio/replayer/template.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
// g++ 12 with sanitizers and -O1 reports maybe-uninitialized std::function members inside
// libstdc++'s regex automaton (a false positive in the library's own code). clang has no such
// warning (and would report the unknown option).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace sio::replayer {

struct CompiledRegexp {
  std::regex re;
  std::size_t groups = 0; ///< number of capture groups
};

namespace {

constexpr std::size_t max_json_path_segments = 256;
constexpr std::size_t max_regexp_nesting = 32;
constexpr std::size_t max_message_value = 200; ///< characters of a value quoted in a message

// ---------------------------------------------------------------------------------------------
// Small helpers

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

/// True when `v` nests deeper than `limit` levels (a scalar is 1 deep). Iterative.
bool deeper_than(const Json& v, std::size_t limit) {
  std::vector<std::pair<const Json*, std::size_t>> stack{{&v, 1}};
  while (!stack.empty()) {
    const auto [node, depth] = stack.back();
    stack.pop_back();
    if (depth > limit) return true;
    if (node->is_structured())
      for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
  }
  return false;
}

/// Compact JSON text, safe for any value (too deep -> a placeholder; invalid UTF-8 replaced).
std::string safe_dump(const Json& v) {
  if (deeper_than(v, max_extracted_depth)) return "<value nested too deeply>";
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

/// A value for a message, cut to max_message_value characters.
std::string show_value(const Json& v) {
  std::string s = safe_dump(v);
  if (s.size() > max_message_value) {
    s.resize(max_message_value);
    s += "...";
  }
  return s;
}

/// JavaScript's String(v); objects and arrays as compact JSON (depth-limited).
std::string js_text(const Json& v) {
  return v.is_structured() ? safe_dump(v) : js_string(&v);
}

/// Renders {{ templates }} in an expression with `vars`; text without templates stays as it is.
std::string render_text(const std::string& text, const Json* vars) {
  if (!has_template(text)) return text;
  const Json r = render_string(text, TemplateContext{vars, nullptr});
  if (r.is_string()) return r.get<std::string>();
  if (r.is_null()) return "undefined";
  return js_text(r);
}

// ---------------------------------------------------------------------------------------------
// JSONPath

struct Segment {
  bool wildcard = false;
  bool descend = false;           ///< ".." before it
  std::string key;                ///< member name (for [N]: N as text)
  std::optional<std::int64_t> at; ///< array index, when the key is one (negative: from the end)
};

/// A canonical array index ("0", "12"; not "01", "-1", "1.0").
std::optional<std::int64_t> canonical_index(std::string_view s) {
  if (s.empty() || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

struct PathError {
  errc code = errc::bad_recording;
  std::string message; ///< "expected ']' at column 5"
};

/// Parses a JSONPath into segments; columns in messages are 1-based in `path` as given.
std::variant<std::vector<Segment>, PathError> parse_path(std::string_view path) {
  using Out = std::variant<std::vector<Segment>, PathError>;
  if (path.size() > max_json_path_length)
    return Out{PathError{errc::limit_exceeded,
                         "longer than " + std::to_string(max_json_path_length) + " characters"}};
  std::size_t begin = 0, end = path.size();
  while (begin < end && is_space(path[begin])) ++begin;
  while (end > begin && is_space(path[end - 1])) --end;
  if (begin == end) return Out{PathError{errc::bad_recording, "empty path"}};
  const auto col = [](std::size_t i) { return " at column " + std::to_string(i + 1); };
  const auto err = [&](errc code, std::string what, std::size_t i) {
    return Out{PathError{code, std::move(what) + col(i)}};
  };
  const auto unexpected = [&](std::size_t i) {
    if (i >= end) return err(errc::bad_recording, "unexpected end of path", i);
    return err(errc::bad_recording, "unexpected '" + printable_char(path[i]) + "'", i);
  };

  std::vector<Segment> segs;
  std::size_t i = begin;
  bool implicit_member = false; // "a.b" means "$.a.b"
  if (path[i] == '$') {
    ++i;
    if (i < end && path[i] != '.' && path[i] != '[') return unexpected(i);
  } else if (path[i] != '.' && path[i] != '[') {
    implicit_member = true;
  }

  // A member name after '.' (or at the start): up to '.' or '['.
  const auto read_name = [&](std::size_t& j, Segment& seg) -> std::optional<Out> {
    const std::size_t start = j;
    if (j < end && path[j] == '*') {
      seg.wildcard = true;
      ++j;
      if (j < end && path[j] != '.' && path[j] != '[') return unexpected(j);
      return std::nullopt;
    }
    while (j < end && path[j] != '.' && path[j] != '[') {
      const char c = path[j];
      if (c == ']' || c == '(' || c == ')' || c == '?' || c == ',' || c == '\'' || c == '"' ||
          c == '*' || is_space(c) || static_cast<unsigned char>(c) < 0x20)
        return unexpected(j);
      ++j;
    }
    if (j == start) return err(errc::bad_recording, "expected a member name", start);
    seg.key = std::string(path.substr(start, j - start));
    seg.at = canonical_index(seg.key);
    return std::nullopt;
  };

  // A bracket: "[*]", "[N]", "['name']", "[\"name\"]".
  const auto read_bracket = [&](std::size_t& j, Segment& seg) -> std::optional<Out> {
    ++j; // '['
    while (j < end && is_space(path[j])) ++j;
    if (j >= end) return err(errc::bad_recording, "expected ']'", j);
    const char c = path[j];
    if (c == '*') {
      seg.wildcard = true;
      ++j;
    } else if (c == '\'' || c == '"') {
      const char quote = c;
      ++j;
      std::string key;
      bool closed = false;
      while (j < end) {
        char d = path[j];
        if (d == quote) {
          closed = true;
          ++j;
          break;
        }
        if (d == '\\') {
          if (++j >= end) break;
          d = path[j];
          if (d == 'n')
            d = '\n';
          else if (d == 't')
            d = '\t';
          else if (d == 'r')
            d = '\r';
        }
        key += d;
        ++j;
      }
      if (!closed) return err(errc::bad_recording, "unterminated quoted name", j);
      seg.at = canonical_index(key);
      seg.key = std::move(key);
    } else if (is_digit(c) || c == '-') {
      const std::size_t start = j;
      if (c == '-') ++j;
      const std::size_t digits = j;
      while (j < end && is_digit(path[j])) ++j;
      if (j == digits || j - digits > 18) {
        if (j < end && path[j] == ':')
          return err(errc::unsupported, "slices are not supported", start);
        return err(errc::bad_recording, "expected an index", start);
      }
      std::int64_t v = 0;
      for (std::size_t k = digits; k < j; ++k) v = v * 10 + (path[k] - '0');
      if (c == '-') v = -v;
      seg.at = v;
      seg.key = std::to_string(v);
    } else if (c == '?') {
      return err(errc::unsupported, "filter expressions are not supported", j);
    } else if (c == '(') {
      return err(errc::unsupported, "script expressions are not supported", j);
    } else if (c == ':') {
      return err(errc::unsupported, "slices are not supported", j);
    } else {
      return unexpected(j);
    }
    while (j < end && is_space(path[j])) ++j;
    if (j < end && path[j] == ':') return err(errc::unsupported, "slices are not supported", j);
    if (j < end && path[j] == ',') return err(errc::unsupported, "unions are not supported", j);
    if (j >= end || path[j] != ']') return err(errc::bad_recording, "expected ']'", j);
    ++j;
    return std::nullopt;
  };

  while (i < end || implicit_member) {
    if (segs.size() >= max_json_path_segments)
      return err(errc::limit_exceeded,
                 "more than " + std::to_string(max_json_path_segments) + " segments", i);
    Segment seg;
    std::optional<Out> e;
    if (implicit_member) {
      implicit_member = false;
      e = read_name(i, seg);
    } else if (path[i] == '.') {
      if (i + 1 < end && path[i + 1] == '.') {
        seg.descend = true;
        i += 2;
        if (i < end && path[i] == '[')
          e = read_bracket(i, seg);
        else
          e = read_name(i, seg);
      } else {
        ++i;
        if (i < end && path[i] == '[') return err(errc::bad_recording, "expected a member name", i);
        e = read_name(i, seg);
      }
    } else if (path[i] == '[') {
      e = read_bracket(i, seg);
    } else {
      return unexpected(i);
    }
    if (e) return std::move(*e);
    segs.push_back(std::move(seg));
  }
  return Out{std::move(segs)};
}

/// Finds the first node (document order) a parsed path selects.
class PathEval {
public:
  explicit PathEval(const std::vector<Segment>& segs) : segs_(segs) {}
  const Json* run(const Json& node, std::size_t i) {
    if (over_) return nullptr;
    if (i == segs_.size()) return &node;
    const Segment& seg = segs_[i];
    if (!seg.descend) return select(node, seg, i);
    // Recursive descent: the node itself and every descendant, in document order.
    std::vector<const Json*> stack{&node};
    while (!stack.empty()) {
      const Json* cur = stack.back();
      stack.pop_back();
      if (!visit()) return nullptr;
      if (const Json* r = select(*cur, seg, i)) return r;
      if (over_) return nullptr;
      if (cur->is_structured())
        for (auto it = cur->crbegin(); it != cur->crend(); ++it) stack.push_back(&*it);
    }
    return nullptr;
  }
  bool over() const { return over_; }

private:
  bool visit() {
    if (++visits_ > max_json_path_visits) over_ = true;
    return !over_;
  }
  const Json* select(const Json& node, const Segment& seg, std::size_t i) {
    if (seg.wildcard) {
      if (!node.is_structured()) return nullptr;
      for (const auto& child : node) {
        if (!visit()) return nullptr;
        if (const Json* r = run(child, i + 1)) return r;
        if (over_) return nullptr;
      }
      return nullptr;
    }
    const Json* child = nullptr;
    if (node.is_array()) {
      if (!seg.at) return nullptr;
      const auto size = static_cast<std::int64_t>(node.size());
      const std::int64_t at = *seg.at < 0 ? size + *seg.at : *seg.at;
      if (at < 0 || at >= size) return nullptr;
      child = &node[static_cast<std::size_t>(at)];
    } else if (node.is_object()) {
      const auto it = node.find(seg.key);
      if (it == node.end()) return nullptr;
      child = &*it;
    } else {
      return nullptr;
    }
    if (!visit()) return nullptr;
    return run(*child, i + 1);
  }

  const std::vector<Segment>& segs_;
  std::size_t visits_ = 0;
  bool over_ = false;
};

/// json_path() without the outer try, with messages that do not repeat the path.
Result<std::optional<Json>> eval_path(const Json& root, std::string_view path,
                                      std::string_view prefix) {
  auto parsed = parse_path(path);
  if (auto* e = std::get_if<PathError>(&parsed))
    return fail(e->code, std::string(prefix) + e->message);
  const auto& segs = std::get<std::vector<Segment>>(parsed);
  PathEval ev(segs);
  const Json* r = ev.run(root, 0);
  if (ev.over())
    return fail(errc::limit_exceeded, std::string(prefix) + "visits more than " +
                                          std::to_string(max_json_path_visits) + " nodes");
  if (!r) return std::optional<Json>{};
  if (deeper_than(*r, max_extracted_depth))
    return fail(errc::limit_exceeded, std::string(prefix) + "the value is nested more than " +
                                          std::to_string(max_extracted_depth) + " levels deep");
  return std::optional<Json>{*r};
}

// ---------------------------------------------------------------------------------------------
// Regexps

struct Compiled {
  std::shared_ptr<const CompiledRegexp> re;
  errc code = errc::ok;
  std::string message;
};

/// Regexp flags as syntax options; nullopt + message when one is not known.
std::optional<std::regex::flag_type> regexp_flags(std::string_view flags, errc& code,
                                                  std::string& message) {
  auto syntax = std::regex::ECMAScript;
#if defined(__GLIBCXX__)
  syntax |= std::regex_constants::__polynomial;
#endif
  for (char f : flags) {
    if (f == 'i')
      syntax |= std::regex::icase;
    else if (f == 'm')
      syntax |= std::regex::multiline;
    else if (f == 'g' || f == 'u' || f == 'y')
      continue; // no effect on the first match
    else {
      code = f == 's' ? errc::unsupported : errc::bad_recording;
      message = f == 's' ? "flag 's' (dotAll) is not supported"
                         : "unknown flag '" + printable_char(f) + "'";
      return std::nullopt;
    }
  }
  return syntax;
}

Compiled compile_regexp(std::string_view pattern, std::string_view flags) {
  Compiled out;
  const auto bad = [&](errc code, std::string message) {
    out.code = code;
    out.message = std::move(message);
    return out;
  };
  const auto syntax = regexp_flags(flags, out.code, out.message);
  if (!syntax) return out;
  if (pattern.size() > max_regexp_length)
    return bad(errc::limit_exceeded,
               "longer than " + std::to_string(max_regexp_length) + " characters");
  // Group nesting (the regexp compiler recurses per level).
  std::size_t depth = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      if (++depth > max_regexp_nesting)
        return bad(errc::limit_exceeded,
                   "groups nest more than " + std::to_string(max_regexp_nesting) + " deep");
    } else if (c == ')' && depth > 0) {
      --depth;
    }
  }
  try {
    auto re = std::make_shared<CompiledRegexp>();
    re->re = std::regex(pattern.data(), pattern.size(), *syntax);
    re->groups = re->re.mark_count();
    out.re = std::move(re);
  } catch (const std::regex_error& e) {
    if (e.code() == std::regex_constants::error_complexity)
      return bad(errc::unsupported, "back-references are not supported");
    if (e.code() == std::regex_constants::error_space)
      return bad(errc::limit_exceeded, "too complex");
    return bad(errc::bad_recording, std::string("invalid: ") + e.what());
  } catch (const std::exception& e) {
    return bad(errc::bad_recording, std::string("invalid: ") + e.what());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running specs

enum class Kind { json, header, regexp };

Kind kind_of(const ExtractSpec& s) {
  if (!s.json.empty()) return Kind::json;
  if (!s.regexp.empty()) return Kind::regexp;
  return Kind::header;
}

/// "$.0.id", "header x-replica", "regexp id=(\d+)": a spec for messages.
std::string describe(const ExtractSpec& s, bool quoted) {
  const auto q = [&](const std::string& t) { return quoted ? "\"" + t + "\"" : t; };
  switch (kind_of(s)) {
  case Kind::json:
    return q(s.json);
  case Kind::regexp:
    return "regexp " + q(s.regexp);
  case Kind::header:
    break;
  }
  return "header " + q(s.header);
}

/// The response, with what is derived from it computed once.
class Source {
public:
  explicit Source(const ExtractSource& src) : src_(src) {}

  /// The JSON document, or nullptr when there is none (text that is not JSON).
  const Json* json() {
    if (src_.json) return src_.json;
    if (!parsed_) {
      parsed_ = parse_json_bounded(src_.text);
    }
    return parsed_->is_discarded() ? nullptr : &*parsed_;
  }
  /// The text regexps run on (at most max_regexp_text bytes).
  std::string_view text() {
    std::string_view t = src_.text;
    if (t.empty() && src_.json) {
      if (!dumped_) {
        dumped_ = deeper_than(*src_.json, max_extracted_depth)
                      ? std::string()
                      : src_.json->dump(-1, ' ', false, Json::error_handler_t::replace);
      }
      t = *dumped_;
    }
    return t.substr(0, max_regexp_text);
  }
  const std::vector<std::pair<std::string, std::string>>* headers() const { return src_.headers; }

private:
  const ExtractSource& src_;
  std::optional<Json> parsed_;
  std::optional<std::string> dumped_;
};

/// What one spec found: a value, or nothing (with why, when it is worth saying).
struct Found {
  std::optional<Json> value;
  std::string why;
};

Result<Found> extract(const ExtractSpec& s, Source& src, const Json* vars) {
  switch (kind_of(s)) {
  case Kind::json: {
    const std::string path = render_text(s.json, vars);
    const Json* doc = src.json();
    if (!doc) {
      // Still report a malformed path as such.
      auto r = eval_path(Json(), path, "json path \"" + path + "\": ");
      if (!r) return fail(std::move(r).error());
      return Found{std::nullopt, "the response is not JSON"};
    }
    auto r = eval_path(*doc, path, "json path \"" + path + "\": ");
    if (!r) return fail(std::move(r).error());
    return Found{std::move(*r), {}};
  }
  case Kind::header: {
    const std::string name = render_text(s.header, vars);
    const auto* hs = src.headers();
    if (!hs) return Found{std::nullopt, "no headers"};
    std::vector<const std::string*> values;
    for (const auto& [k, v] : *hs)
      if (iequals(k, name)) values.push_back(&v);
    if (values.empty()) return Found{};
    if (values.size() == 1) return Found{Json(*values.front()), {}};
    if (iequals(name, "set-cookie")) {
      Json a = Json::array();
      for (const auto* v : values) a.push_back(*v);
      return Found{std::move(a), {}};
    }
    std::string joined;
    for (const auto* v : values) joined += (joined.empty() ? "" : ", ") + *v;
    return Found{Json(std::move(joined)), {}};
  }
  case Kind::regexp:
    break;
  }
  std::shared_ptr<const CompiledRegexp> re = s.compiled;
  if (!re) {
    const std::string pattern = render_text(s.regexp, vars);
    auto c = compile_regexp(pattern, s.flags);
    if (!c.re) return fail(c.code, "regexp \"" + pattern + "\": " + c.message);
    re = std::move(c.re);
  }
  if (s.group < 0 || static_cast<std::size_t>(s.group) > re->groups)
    return fail(errc::bad_recording,
                "regexp \"" + s.regexp + "\" has no group " + std::to_string(s.group));
  const std::string_view text = src.text();
  std::cmatch m;
  try {
    if (!std::regex_search(text.data(), text.data() + text.size(), m, re->re)) return Found{};
  } catch (const std::exception& e) {
    return fail(errc::limit_exceeded, "regexp \"" + s.regexp + "\": " + e.what());
  }
  const auto g = static_cast<std::size_t>(s.group);
  // A group that took no part in the match finds nothing (Artillery falls back to the whole
  // match there, which is never what the script wanted).
  if (g >= m.size() || !m[g].matched) return Found{};
  return Found{Json(m[g].str()), {}};
}

/// The match rule (see capture.hpp).
bool equal_for_match(Kind kind, const Json& got, const Json& want) {
  if (kind == Kind::json) return got == want;
  if (want.is_structured() || !got.is_string()) return got == want;
  return got.get_ref<const std::string&>() == js_text(want);
}

} // namespace

// ---------------------------------------------------------------------------------------------

Result<std::optional<Json>> json_path(const Json& root, std::string_view path) {
  try {
    return eval_path(root, path, "json path \"" + std::string(path) + "\": ");
  } catch (const std::exception& e) {
    return fail(errc::limit_exceeded, std::string("json path: ") + e.what());
  }
}

Result<std::vector<ExtractSpec>> parse_extract(const Json& spec, bool is_match,
                                               std::string_view default_json) {
  try {
    const std::string what = is_match ? "match" : "capture";
    std::vector<ExtractSpec> out;
    if (spec.is_null()) return out;
    std::vector<std::pair<std::string, const Json*>> items;
    if (spec.is_object()) {
      items.emplace_back(what, &spec);
    } else if (spec.is_array()) {
      for (std::size_t i = 0; i < spec.size(); ++i)
        items.emplace_back(what + "[" + std::to_string(i) + "]", &spec[i]);
    } else {
      return fail(errc::bad_recording, what + ": expected a map or a list of maps");
    }
    for (const auto& entry : items) {
      // Plain names, not a structured binding: the lambda below captures them, which clang 14
      // does not allow for bindings (C++20 P1091).
      const std::string& where = entry.first;
      const Json* item = entry.second;
      if (!item->is_object()) return fail(errc::bad_recording, where + ": expected a map");
      ExtractSpec s;
      const auto text_key = [&](const char* key, std::string& dst) -> Status {
        const auto it = item->find(key);
        if (it == item->end() || it->is_null()) return ok_status();
        if (!it->is_string())
          return fail(errc::bad_recording, where + "." + key + ": expected a string");
        dst = it->get<std::string>();
        return ok_status();
      };
      for (const auto& [key, dst] : {std::pair<const char*, std::string*>{"json", &s.json},
                                     {"header", &s.header},
                                     {"regexp", &s.regexp},
                                     {"flags", &s.flags},
                                     {"as", &s.as}})
        if (auto st = text_key(key, *dst); !st) return fail(std::move(st).error());
      if (item->contains("transform"))
        return fail(errc::unsupported, where + ".transform: not supported");
      // Artillery's precedence: json, then regexp, then header.
      if (!s.json.empty()) {
        s.regexp.clear();
        s.header.clear();
      } else if (!s.regexp.empty()) {
        s.header.clear();
      } else if (s.header.empty()) {
        for (const char* key : {"xpath", "selector"})
          if (item->contains(key))
            return fail(errc::unsupported, where + "." + key + ": not supported");
        if (default_json.empty())
          return fail(errc::bad_recording, where + ": needs json, header or regexp");
        s.json = std::string(default_json);
      }
      if (const auto it = item->find("group"); it != item->end() && !it->is_null()) {
        std::optional<std::int64_t> g;
        if (it->is_number_unsigned()) {
          if (it->get<std::uint64_t>() <= 999)
            g = static_cast<std::int64_t>(it->get<std::uint64_t>());
        } else if (it->is_number_integer()) {
          g = it->get<std::int64_t>();
        } else if (it->is_number_float()) {
          const double d = it->get<double>();
          if (d == std::floor(d) && std::fabs(d) <= 999) g = static_cast<std::int64_t>(d);
        } else if (it->is_string()) {
          g = canonical_index(it->get_ref<const std::string&>());
          if (!g && !it->get_ref<const std::string&>().empty())
            return fail(errc::unsupported, where + ".group: named groups are not supported");
        }
        if (!g || *g < 0 || *g > 999)
          return fail(errc::bad_recording, where + ".group: expected a group number");
        s.group = static_cast<int>(*g);
      }
      if (const auto it = item->find("strict"); it != item->end() && !it->is_null()) {
        if (!it->is_boolean())
          return fail(errc::bad_recording, where + ".strict: expected true or false");
        s.strict = it->get<bool>();
      }
      if (is_match) {
        const auto it = item->find("value");
        if (it == item->end()) return fail(errc::bad_recording, where + ".value: missing");
        s.value = *it;
      } else if (s.as.empty()) {
        return fail(errc::bad_recording, where + ".as: missing");
      }
      // Check what can be checked now (expressions with templates are checked when they run).
      if (!s.json.empty() && !has_template(s.json)) {
        auto parsed = parse_path(s.json);
        if (auto* e = std::get_if<PathError>(&parsed))
          return fail(e->code, where + ".json: " + e->message);
      }
      if (!s.regexp.empty()) {
        errc code = errc::ok;
        std::string message;
        if (!regexp_flags(s.flags, code, message)) return fail(code, where + ".flags: " + message);
        if (!has_template(s.regexp)) {
          auto c = compile_regexp(s.regexp, s.flags);
          if (!c.re) return fail(c.code, where + ".regexp: " + c.message);
          if (static_cast<std::size_t>(s.group) > c.re->groups)
            return fail(errc::bad_recording, where + ".group: the regexp has " +
                                                 std::to_string(c.re->groups) + " group" +
                                                 (c.re->groups == 1 ? "" : "s"));
          s.compiled = std::move(c.re);
        }
      }
      out.push_back(std::move(s));
    }
    return out;
  } catch (const std::exception& e) {
    return fail(errc::bad_recording, std::string(is_match ? "match" : "capture") + ": " + e.what());
  }
}

Status apply_captures(const std::vector<ExtractSpec>& specs, const ExtractSource& src, Json& vars) {
  try {
    if (vars.is_null()) vars = Json::object();
    if (!vars.is_object())
      return fail(errc::bad_recording, "capture: the variables are not an object");
    Source source(src);
    for (const auto& s : specs) {
      if (s.as.empty()) continue;
      auto found = extract(s, source, &vars);
      if (!found) return fail(found.error().within("capture " + describe(s, true)));
      if (!found->value) {
        if (s.strict)
          return fail(errc::bad_recording, "capture " + describe(s, true) + " found nothing" +
                                               (found->why.empty() ? "" : " (" + found->why + ")"));
        vars.erase(s.as);
        continue;
      }
      vars[s.as] = std::move(*found->value);
    }
    return ok_status();
  } catch (const std::exception& e) {
    return fail(errc::limit_exceeded, std::string("capture: ") + e.what());
  }
}

Status check_matches(const std::vector<ExtractSpec>& specs, const ExtractSource& src,
                     const Json* vars) {
  try {
    Source source(src);
    for (const auto& s : specs) {
      if (!s.value) continue;
      auto found = extract(s, source, vars);
      if (!found) return fail(found.error().within("match " + describe(s, false)));
      const bool ok = found->value && equal_for_match(kind_of(s), *found->value, *s.value);
      if (ok || !s.strict) continue;
      std::string got = found->value ? show_value(*found->value) : "nothing";
      if (!found->value && !found->why.empty()) got += " (" + found->why + ")";
      return fail(errc::bad_recording, "match " + describe(s, false) + ": expected " +
                                           show_value(*s.value) + ", got " + got);
    }
    return ok_status();
  } catch (const std::exception& e) {
    return fail(errc::limit_exceeded, std::string("match: ") + e.what());
  }
}

} // namespace sio::replayer
