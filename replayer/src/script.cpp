// Loading an Artillery v2 YAML script (`engine: socketio`) into the replayer's model.
//
// yaml-cpp builds a node tree; it is first copied into a small tree of our own (YNode) that keeps
// the line of every node and key, resolves YAML scalar types the way js-yaml (Artillery's
// parser) does, rejects duplicated keys and bounds alias expansion. `-e ENV` is a lodash-style
// deep merge on that tree; the schema walk then fills the Script and collects warnings.

#include "sio/replayer/script.hpp"

#include "sio/common/file_io.hpp"
#include "sio/common/session_json.hpp"
#include "sio/common/utf8.hpp"
#include "sio/replayer/template.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>

namespace sio::replayer {

void SocketIoOptions::merge_from(const SocketIoOptions& other) {
  if (other.path) path = other.path;
  if (other.transports) transports = other.transports;
  if (other.query) query = other.query;
  if (other.extra_headers) extra_headers = other.extra_headers;
  if (other.auth) auth = other.auth;
  if (other.eio) eio = other.eio;
}

namespace {

constexpr int max_yaml_depth = 200;
constexpr std::size_t max_yaml_nodes = 2'000'000;
constexpr std::int64_t max_loop_count = 10'000'000;

bool ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), ascii_digit);
}
char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` (YAML 1.2 core float, also ints).
bool looks_like_float(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && ascii_digit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && ascii_digit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && ascii_digit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

/// A number written in YAML (or in a string): the typed Json number, or nullopt.
std::optional<Json> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  std::string_view body = s;
  if (body.front() == '+' || body.front() == '-') {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  // 0x / 0o integers (YAML 1.2 core schema).
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'o')) {
    const int base = body[1] == 'x' ? 16 : 8;
    std::uint64_t v = 0;
    const auto* first = body.data() + 2;
    const auto* last = body.data() + body.size();
    const auto r = std::from_chars(first, last, v, base);
    if (r.ec != std::errc{} || r.ptr != last) return std::nullopt;
    if (!negative) return Json(v);
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return Json(-static_cast<std::int64_t>(v));
    return Json(-static_cast<double>(v));
  }
  if (!looks_like_float(s)) {
    // .inf / .nan
    std::string lower;
    for (char c : body) lower += ascii_lower(c);
    if (lower == ".inf")
      return Json(negative ? -std::numeric_limits<double>::infinity()
                           : std::numeric_limits<double>::infinity());
    if (lower == ".nan" && s.front() != '-' && s.front() != '+')
      return Json(std::numeric_limits<double>::quiet_NaN());
    return std::nullopt;
  }
  // Normalise to JSON number syntax, then let nlohmann pick int / unsigned / float exactly as it
  // does for JSON input (so values written by our converter come back identical).
  std::string json;
  if (negative) json += '-';
  std::size_t i = 0;
  while (i + 1 < body.size() && body[i] == '0' && ascii_digit(body[i + 1])) ++i; // leading zeros
  std::string_view rest = body.substr(i);
  if (!rest.empty() && rest.front() == '.') json += '0';
  for (std::size_t k = 0; k < rest.size(); ++k) {
    json += rest[k];
    if (rest[k] == '.' && (k + 1 == rest.size() || !ascii_digit(rest[k + 1]))) json += '0';
  }
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_number()) return std::nullopt;
  return j;
}

/// Our copy of the YAML tree.
struct YNode {
  enum class Type : std::uint8_t { null, scalar, seq, map };
  Type type = Type::null;
  std::string text;              ///< scalar text
  bool quoted = false;           ///< quoted (or tagged !!str): always a string
  int line = 0;                  ///< 1-based
  std::vector<YNode> items;      ///< sequence items, or map values
  std::vector<std::string> keys; ///< map keys (parallel to items)
  std::vector<int> key_lines;    ///< map key lines

  [[nodiscard]] bool is_map() const { return type == Type::map; }
  [[nodiscard]] bool is_seq() const { return type == Type::seq; }
  [[nodiscard]] bool is_scalar() const { return type == Type::scalar; }
  [[nodiscard]] bool is_null() const { return type == Type::null; }
  [[nodiscard]] const YNode* get(std::string_view key) const {
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return &items[i];
    return nullptr;
  }
};

/// Thrown inside the loader, turned into a Result by load_script.
struct LoadError {
  errc code;
  std::string message;
};

[[noreturn]] void throw_error(errc code, std::string message) {
  throw LoadError{code, std::move(message)};
}

class TreeBuilder {
public:
  explicit TreeBuilder(std::string file) : file_(std::move(file)) {}

  void build(const YAML::Node& n, YNode& out, int depth, int fallback_line) {
    if (++nodes_ > max_yaml_nodes)
      throw_error(errc::limit_exceeded, file_ + ": more than " + std::to_string(max_yaml_nodes) +
                                            " YAML nodes (aliases expanding without end?)");
    const int mark_line = n.Mark().line;
    out.line = mark_line >= 0 ? mark_line + 1 : fallback_line;
    if (depth > max_yaml_depth)
      throw_error(errc::limit_exceeded,
                  file_ + ":" + std::to_string(out.line) + ": YAML nested deeper than " +
                      std::to_string(max_yaml_depth) + " levels (a recursive alias?)");
    switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.type = YNode::Type::null;
      return;
    case YAML::NodeType::Scalar: {
      out.type = YNode::Type::scalar;
      out.text = n.Scalar();
      const std::string& tag = n.Tag();
      out.quoted = tag == "!" || tag == "tag:yaml.org,2002:str";
      return;
    }
    case YAML::NodeType::Sequence:
      out.type = YNode::Type::seq;
      for (const auto& child : n) {
        out.items.emplace_back();
        build(child, out.items.back(), depth + 1, out.line);
      }
      return;
    case YAML::NodeType::Map: {
      out.type = YNode::Type::map;
      std::vector<YNode> merges;
      for (const auto& kv : n) {
        // Copies: the pair is a proxy, references into it would dangle.
        const YAML::Node key = kv.first;
        const YAML::Node value = kv.second;
        const int kl = key.Mark().line >= 0 ? key.Mark().line + 1 : out.line;
        if (!key.IsScalar() && !key.IsNull())
          throw_error(errc::bad_recording,
                      file_ + ":" + std::to_string(kl) + ": a map key must be a plain value");
        const std::string name = key.IsNull() ? std::string() : key.Scalar();
        if (name == "<<" && key.Tag() == "?") { // merge key
          merges.emplace_back();
          build(value, merges.back(), depth + 1, kl);
          continue;
        }
        if (out.get(name))
          throw_error(errc::bad_recording,
                      file_ + ":" + std::to_string(kl) + ": duplicated key `" + name + "`");
        out.keys.push_back(name);
        out.key_lines.push_back(kl);
        out.items.emplace_back();
        build(value, out.items.back(), depth + 1, kl);
        // A value on the key's line (or empty) reports the key's line.
        if (out.items.back().is_null()) out.items.back().line = kl;
      }
      for (const auto& m : merges) {
        std::vector<const YNode*> sources;
        if (m.is_map())
          sources.push_back(&m);
        else if (m.is_seq())
          for (const auto& s : m.items) sources.push_back(&s);
        for (const YNode* src : sources) {
          if (!src->is_map())
            throw_error(errc::bad_recording,
                        file_ + ":" + std::to_string(src->line) + ": `<<` merges maps only");
          for (std::size_t i = 0; i < src->keys.size(); ++i) {
            if (out.get(src->keys[i])) continue;
            out.keys.push_back(src->keys[i]);
            out.key_lines.push_back(src->key_lines[i]);
            out.items.push_back(src->items[i]);
          }
        }
      }
      return;
    }
    }
  }

private:
  std::string file_;
  std::size_t nodes_ = 0;
};

/// A plain scalar typed as js-yaml's default schema does.
Json plain_scalar(const std::string& t) {
  if (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL") return nullptr;
  if (t == "true" || t == "True" || t == "TRUE") return true;
  if (t == "false" || t == "False" || t == "FALSE") return false;
  if (auto n = parse_number(t)) return *n;
  return t;
}

Json to_json(const YNode& n) {
  switch (n.type) {
  case YNode::Type::null:
    return nullptr;
  case YNode::Type::scalar:
    return n.quoted ? Json(n.text) : plain_scalar(n.text);
  case YNode::Type::seq: {
    Json a = Json::array();
    for (const auto& c : n.items) a.push_back(to_json(c));
    return a;
  }
  case YNode::Type::map: {
    Json o = Json::object();
    for (std::size_t i = 0; i < n.keys.size(); ++i) o[n.keys[i]] = to_json(n.items[i]);
    return o;
  }
  }
  return nullptr;
}

/// lodash `_.merge(dest, src)`: maps merge key by key, sequences index by index, anything else
/// replaces (a null in src replaces too).
void deep_merge(YNode& dest, const YNode& src) {
  if (dest.is_map() && src.is_map()) {
    for (std::size_t i = 0; i < src.keys.size(); ++i) {
      bool found = false;
      for (std::size_t j = 0; j < dest.keys.size(); ++j) {
        if (dest.keys[j] == src.keys[i]) {
          deep_merge(dest.items[j], src.items[i]);
          dest.key_lines[j] = src.key_lines[i];
          found = true;
          break;
        }
      }
      if (!found) {
        dest.keys.push_back(src.keys[i]);
        dest.key_lines.push_back(src.key_lines[i]);
        dest.items.push_back(src.items[i]);
      }
    }
    return;
  }
  if (dest.is_seq() && src.is_seq()) {
    for (std::size_t i = 0; i < src.items.size(); ++i) {
      if (i < dest.items.size())
        deep_merge(dest.items[i], src.items[i]);
      else
        dest.items.push_back(src.items[i]);
    }
    return;
  }
  dest = src;
}

/// "ms"-style units, in seconds.
std::optional<double> unit_seconds(std::string_view unit) {
  std::string u;
  for (char c : unit) u += ascii_lower(c);
  if (u.empty() || u == "s" || u == "sec" || u == "secs" || u == "second" || u == "seconds")
    return 1.0;
  if (u == "ms" || u == "msec" || u == "msecs" || u == "millisecond" || u == "milliseconds")
    return 0.001;
  if (u == "m" || u == "min" || u == "mins" || u == "minute" || u == "minutes") return 60.0;
  if (u == "h" || u == "hr" || u == "hrs" || u == "hour" || u == "hours") return 3600.0;
  if (u == "d" || u == "day" || u == "days") return 86400.0;
  if (u == "w" || u == "week" || u == "weeks") return 604800.0;
  if (u == "y" || u == "yr" || u == "yrs" || u == "year" || u == "years") return 31557600.0;
  return std::nullopt;
}

std::string quote(std::string_view s) {
  return "`" + std::string(s) + "`";
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

/// Reads a CSV (RFC 4180 quoting; LF, CRLF or CR line ends). Each row keeps its first line.
struct CsvRow {
  int line = 0;
  std::vector<std::string> fields;
};

std::vector<CsvRow> parse_csv(std::string_view data, char delim, const std::string& name) {
  if (data.substr(0, 3) == "\xEF\xBB\xBF") data.remove_prefix(3);
  std::vector<CsvRow> rows;
  std::size_t i = 0;
  int line = 1;
  while (i < data.size()) {
    CsvRow row;
    row.line = line;
    std::string field;
    bool any = false; // the record has a delimiter or a quoted field (so it is not blank)
    while (true) {
      if (i < data.size() && data[i] == '"') {
        any = true;
        const int start_line = line;
        ++i;
        bool closed = false;
        while (i < data.size()) {
          const char c = data[i];
          if (c == '"') {
            if (i + 1 < data.size() && data[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n' || (c == '\r' && (i + 1 >= data.size() || data[i + 1] != '\n'))) ++line;
          field += c;
          ++i;
        }
        if (!closed)
          throw_error(errc::bad_recording,
                      name + ":" + std::to_string(start_line) + ": unterminated quoted field");
        if (i < data.size() && data[i] != delim && data[i] != '\n' && data[i] != '\r')
          throw_error(errc::bad_recording, name + ":" + std::to_string(line) +
                                               ": unexpected character after a closing quote");
      } else {
        while (i < data.size() && data[i] != delim && data[i] != '\n' && data[i] != '\r')
          field += data[i++];
      }
      row.fields.push_back(std::move(field));
      field.clear();
      if (i < data.size() && data[i] == delim) {
        any = true;
        ++i;
        continue;
      }
      break; // end of line or of data
    }
    if (i < data.size()) { // line end
      if (data[i] == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
      ++i;
      ++line;
    }
    const bool blank = !any && row.fields.size() == 1 && row.fields[0].empty();
    if (!blank) rows.push_back(std::move(row));
  }
  return rows;
}

class Loader {
public:
  Loader(std::string file, const LoadOptions& options) : file_(std::move(file)), options_(options) {
    script_.file = file_;
  }

  Script run() {
    auto in = InputFile::open(file_);
    if (!in) {
      Error e = in.error();
      if (e.is(errc::empty_input)) throw_error(errc::empty_input, file_ + ": the script is empty");
      throw LoadError{e.is(errc::is_directory) ? errc::is_directory : errc::io_error, e.context};
    }
    const std::string_view text = in->data();
    // YAML is Unicode text (YAML 1.2 section 5.2); yaml-cpp passes bad bytes through.
    if (const std::size_t bad = valid_utf8_prefix(text); bad != text.size()) {
      const std::string_view before = text.substr(0, bad);
      const auto line = 1 + std::count(before.begin(), before.end(), '\n');
      const auto nl = before.rfind('\n');
      const std::size_t column = nl == std::string_view::npos ? bad + 1 : bad - nl;
      throw_error(errc::bad_json, file_ + ":" + std::to_string(line) + ":" +
                                      std::to_string(column) + ": invalid UTF-8 (byte " +
                                      std::to_string(bad) + ")");
    }
    YAML::Node doc;
    try {
      doc = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
      // yaml-cpp's depth guard (YAML::DeepRecursion, whose type the library does not export)
      // says "bad file": a string has no other reason to.
      throw_error(errc::bad_json, file_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                                      std::to_string(e.mark.column + 1) + ": " +
                                      (e.msg == YAML::ErrorMsg::BAD_FILE
                                           ? std::string("nested too deeply for the YAML parser")
                                           : e.msg));
    }
    YNode root;
    TreeBuilder(file_).build(doc, root, 0, 1);
    if (root.is_null()) throw_error(errc::empty_input, file_ + ": the script is empty");
    if (!root.is_map())
      fail_at(root, "", "expected a map with `config` and `scenarios` at the top level");

    for (std::size_t i = 0; i < root.keys.size(); ++i) {
      const std::string& k = root.keys[i];
      if (k == "config" || k == "scenarios") continue;
      if (k == "before" || k == "after")
        warn(root.key_lines[i], quote(k) + " flows are ignored by sioreplay");
      else
        unknown_key(root.key_lines[i], k);
    }

    const YNode* config = root.get("config");
    YNode merged;
    if (config) {
      if (!config->is_map()) fail_at(*config, "config", "expected a map");
      merged = *config;
      apply_environment(merged);
      load_config(merged);
    } else if (!options_.environment.empty()) {
      throw_error(errc::bad_recording, file_ + ": -e " + options_.environment +
                                           ": the script has no config.environments");
    }
    if (!options_.target.empty()) script_.target = options_.target;
    if (script_.target.empty())
      throw_error(errc::bad_recording,
                  where(config ? config->line : 1) +
                      "config.target: missing (set it in the script, in the environment chosen "
                      "with -e, or with --target)");

    const YNode* scenarios = root.get("scenarios");
    if (!scenarios) throw_error(errc::bad_recording, file_ + ": scenarios: missing");
    if (!scenarios->is_seq()) fail_at(*scenarios, "scenarios", "expected a list of scenarios");
    for (std::size_t i = 0; i < scenarios->items.size(); ++i) load_scenario(scenarios->items[i], i);
    if (script_.scenarios.empty())
      throw_error(errc::unsupported,
                  where(scenarios->line) + "scenarios: no socketio scenario to run");
    return std::move(script_);
  }

private:
  // ---- messages ---------------------------------------------------------------------------
  [[nodiscard]] std::string where(int line) const {
    return file_ + ":" + std::to_string(line) + ": ";
  }

  [[noreturn]] void fail_at(const YNode& n, const std::string& path, const std::string& what,
                            errc code = errc::bad_recording) const {
    throw_error(code, where(n.line) + (path.empty() ? "" : path + ": ") + what);
  }
  void warn(int line, const std::string& what) { script_.warnings.push_back(where(line) + what); }
  void unknown_key(int line, const std::string& path) {
    warn(line, "unknown key " + quote(path) + " (ignored)");
  }

  // ---- typed values -----------------------------------------------------------------------
  std::string text(const YNode& n, const std::string& path) const {
    if (!n.is_scalar()) fail_at(n, path, "expected a string");
    return n.text;
  }
  double number(const YNode& n, const std::string& path) const {
    if (n.is_scalar())
      if (auto v = parse_number(trim(n.text)); v && std::isfinite(v->get<double>()))
        return v->get<double>();
    fail_at(n, path, "expected a number");
  }
  double non_negative(const YNode& n, const std::string& path) const {
    const double v = number(n, path);
    if (v < 0) fail_at(n, path, "must not be negative");
    return v;
  }
  std::int64_t count(const YNode& n, const std::string& path) const {
    const double v = non_negative(n, path);
    if (v != std::floor(v)) fail_at(n, path, "expected a whole number");
    if (v > 9e15) fail_at(n, path, "too large");
    return static_cast<std::int64_t>(v);
  }
  bool boolean(const YNode& n, const std::string& path) const {
    if (n.is_scalar()) {
      const Json j = n.quoted ? Json(n.text) : plain_scalar(n.text);
      if (j.is_boolean()) return j.get<bool>();
      if (j == "true") return true;
      if (j == "false") return false;
    }
    fail_at(n, path, "expected true or false");
  }
  double duration(const YNode& n, const std::string& path) const {
    auto r = parse_duration_s(to_json(n));
    if (!r)
      fail_at(n, path,
              r.error().context.ends_with("negative")
                  ? "must not be negative"
                  : "expected a number or a duration string (like 30, \"30s\", \"5m\")");
    return *r;
  }
  /// A map of header names to values (socketio.extraHeaders, an HTTP step's headers). A line
  /// break in a name or a value would end the header there and start another one (header
  /// injection): refused here; values made by templates are checked again when rendered.
  Json header_map(const YNode& x, const std::string& path) const {
    if (!x.is_map()) fail_at(x, path, "expected a map of header names to values");
    for (std::size_t i = 0; i < x.keys.size(); ++i) {
      if (const auto fault = header_fault(x.keys[i], true))
        throw_error(errc::bad_recording,
                    where(x.key_lines[i]) + path + ": a header name " + *fault);
      const YNode& v = x.items[i];
      if (v.is_scalar())
        if (const auto fault = header_fault(v.text, false))
          fail_at(v, path + "." + x.keys[i], "the value " + *fault);
    }
    return to_json(x);
  }

  // ---- config ------------------------------------------------------------------------------
  void apply_environment(YNode& config) {
    const YNode* envs = config.get("environments");
    if (envs && !envs->is_map()) fail_at(*envs, "config.environments", "expected a map");
    if (options_.environment.empty()) return;
    if (!envs)
      throw_error(errc::bad_recording, where(config.line) + "-e " + options_.environment +
                                           ": the script has no config.environments");
    const YNode* env = envs->get(options_.environment);
    if (!env)
      throw_error(errc::bad_recording,
                  where(envs->line) + "-e " + options_.environment +
                      ": no such environment (known: " + join(envs->keys, ", ") + ")");
    if (env->is_null()) return;
    if (!env->is_map())
      fail_at(*env, "config.environments." + options_.environment, "expected a map");
    const YNode copy = *env; // `config` is about to change under `env`
    deep_merge(config, copy);
  }

  void load_config(const YNode& c) {
    for (std::size_t i = 0; i < c.keys.size(); ++i) {
      const std::string& k = c.keys[i];
      const YNode& v = c.items[i];
      const std::string path = "config." + k;
      const int line = c.key_lines[i];
      if (k == "target") {
        if (!v.is_null()) script_.target = text(v, path);
      } else if (k == "phases") {
        load_phases(v);
      } else if (k == "variables") {
        if (v.is_null()) continue;
        if (!v.is_map()) fail_at(v, path, "expected a map of variables");
        script_.variables = to_json(v);
      } else if (k == "payload") {
        if (v.is_seq()) {
          for (std::size_t j = 0; j < v.items.size(); ++j)
            load_payload(v.items[j], path + "[" + std::to_string(j) + "]");
        } else if (v.is_map()) {
          load_payload(v, path);
        } else if (!v.is_null()) {
          fail_at(v, path, "expected a map or a list of maps");
        }
      } else if (k == "environments") {
        // applied before
      } else if (k == "timeout") {
        script_.timeout_s = non_negative(v, path);
      } else if (k == "tls") {
        if (v.is_null()) continue;
        if (!v.is_map()) fail_at(v, path, "expected a map");
        for (std::size_t j = 0; j < v.keys.size(); ++j) {
          if (v.keys[j] == "rejectUnauthorized")
            script_.tls_reject_unauthorized = boolean(v.items[j], path + ".rejectUnauthorized");
          else
            unknown_key(v.key_lines[j], path + "." + v.keys[j]);
        }
      } else if (k == "socketio") {
        script_.socketio = load_socketio(v, path, true);
      } else if (k == "ensure") {
        load_ensure(v, path);
      } else if (k == "plugins" && v.is_map() && v.get("ensure") != nullptr) {
        for (std::size_t j = 0; j < v.keys.size(); ++j) {
          if (v.keys[j] == "ensure")
            load_ensure(v.items[j], path + ".ensure");
          else
            warn(v.key_lines[j], quote(path + "." + v.keys[j]) + " is ignored by sioreplay");
        }
      } else if (k == "plugins" || k == "processor" || k == "http" || k == "engines" ||
                 k == "defaults" || k == "includeFiles") {
        warn(line, quote(path) + " is ignored by sioreplay");
      } else {
        unknown_key(line, path);
      }
    }
  }

  void load_ensure(const YNode& v, const std::string& path) {
    if (v.is_null()) return;
    auto e = parse_ensure(to_json(v), path);
    if (!e) throw_error(errc::bad_recording, where(v.line) + e.error().context);
    for (auto& c : e->checks) script_.ensure.checks.push_back(std::move(c));
  }

  void load_phases(const YNode& v) {
    if (v.is_null()) return;
    if (!v.is_seq()) fail_at(v, "config.phases", "expected a list of phases");
    for (std::size_t i = 0; i < v.items.size(); ++i) {
      const YNode& p = v.items[i];
      const std::string path = "config.phases[" + std::to_string(i) + "]";
      if (!p.is_map()) fail_at(p, path, "expected a map");
      Phase ph;
      bool has_duration = false;
      for (std::size_t j = 0; j < p.keys.size(); ++j) {
        const std::string& k = p.keys[j];
        const YNode& x = p.items[j];
        const std::string kp = path + "." + k;
        if (k == "name") {
          ph.name = x.is_null() ? std::string() : text(x, kp);
        } else if (k == "duration") {
          ph.duration_s = duration(x, kp);
          has_duration = true;
        } else if (k == "pause") {
          ph.duration_s = duration(x, kp);
          ph.pause = true;
          has_duration = true;
        } else if (k == "arrivalRate") {
          ph.arrival_rate = non_negative(x, kp);
        } else if (k == "rampTo") {
          ph.ramp_to = non_negative(x, kp);
        } else if (k == "arrivalCount") {
          ph.arrival_count = count(x, kp);
        } else if (k == "maxVusers") {
          ph.max_vusers = count(x, kp);
        } else if (k == "mode") {
          if (!(x.is_scalar() && x.text == "uniform"))
            warn(p.key_lines[j], quote(kp) + ": only uniform arrivals are supported (ignored)");
        } else {
          unknown_key(p.key_lines[j], kp);
        }
      }
      if (!has_duration) fail_at(p, path, "expected `duration` (or `pause`)");
      script_.phases.push_back(std::move(ph));
    }
  }

  void load_payload(const YNode& v, const std::string& path) {
    if (!v.is_map()) fail_at(v, path, "expected a map");
    Payload pl;
    const YNode* path_node = nullptr;
    for (std::size_t j = 0; j < v.keys.size(); ++j) {
      const std::string& k = v.keys[j];
      const YNode& x = v.items[j];
      const std::string kp = path + "." + k;
      if (k == "path") {
        pl.path = text(x, kp);
        path_node = &x;
      } else if (k == "fields") {
        if (x.is_null()) continue;
        if (!x.is_seq()) fail_at(x, kp, "expected a list of names");
        for (std::size_t f = 0; f < x.items.size(); ++f)
          pl.fields.push_back(text(x.items[f], kp + "[" + std::to_string(f) + "]"));
      } else if (k == "order") {
        const std::string o = text(x, kp);
        if (o == "sequence")
          pl.sequence = true;
        else if (o == "random")
          pl.sequence = false;
        else
          fail_at(x, kp, "expected `random` or `sequence`");
      } else if (k == "skipHeader") {
        pl.skip_header = boolean(x, kp);
      } else if (k == "delimiter") {
        const std::string d = text(x, kp);
        if (d.size() != 1 || d == "\"" || d == "\n" || d == "\r")
          fail_at(x, kp, "expected one character");
        pl.delimiter = d[0];
      } else if (k == "cast") {
        pl.cast = boolean(x, kp);
      } else if (k == "loadAll") {
        pl.load_all = boolean(x, kp);
      } else if (k == "name") {
        pl.name = text(x, kp);
      } else if (k == "skipEmptyLines") {
        (void)boolean(x, kp); // blank lines are always skipped
      } else {
        unknown_key(v.key_lines[j], kp);
      }
    }
    if (!path_node) fail_at(v, path + ".path", "missing");
    if (pl.load_all && pl.name.empty())
      fail_at(v, path + ".name", "missing (`loadAll` needs a variable name)");
    std::filesystem::path p(pl.path);
    if (p.is_relative()) p = std::filesystem::path(file_).parent_path() / p;
    pl.path = p.string();

    auto in = InputFile::open(pl.path);
    std::string_view data;
    if (in)
      data = in->data();
    else if (!in.error().is(errc::empty_input))
      fail_at(*path_node, path + ".path", "cannot read the CSV: " + in.error().message());
    auto rows = parse_csv(data, pl.delimiter, pl.path);
    if (pl.skip_header && !rows.empty()) rows.erase(rows.begin());
    for (auto& r : rows) {
      if (r.fields.size() < pl.fields.size())
        throw_error(errc::bad_recording, pl.path + ":" + std::to_string(r.line) + ": " +
                                             std::to_string(r.fields.size()) + " column(s), but " +
                                             path + ".fields names " +
                                             std::to_string(pl.fields.size()) + " (" +
                                             join(pl.fields, ", ") + ")");
      pl.rows.push_back(std::move(r.fields));
    }
    if (pl.rows.empty() && !pl.load_all)
      fail_at(*path_node, path + ".path", "no data rows in " + pl.path);
    script_.payloads.push_back(std::move(pl));
  }

  SocketIoOptions load_socketio(const YNode& v, const std::string& path, bool config_level) {
    SocketIoOptions o;
    if (v.is_null()) return o;
    if (!v.is_map()) fail_at(v, path, "expected a map");
    for (std::size_t j = 0; j < v.keys.size(); ++j) {
      const std::string& k = v.keys[j];
      const YNode& x = v.items[j];
      const std::string kp = path + "." + k;
      if (k == "path") {
        o.path = text(x, kp);
      } else if (k == "transports") {
        if (!x.is_seq()) fail_at(x, kp, "expected a list like [\"websocket\"]");
        std::vector<std::string> t;
        for (std::size_t i = 0; i < x.items.size(); ++i) {
          const std::string ip = kp + "[" + std::to_string(i) + "]";
          std::string name = text(x.items[i], ip);
          if (name != "polling" && name != "websocket")
            fail_at(x.items[i], ip, "expected `polling` or `websocket`");
          t.push_back(std::move(name));
        }
        if (t.empty()) fail_at(x, kp, "expected at least one transport");
        o.transports = std::move(t);
      } else if (k == "query") {
        if (!x.is_map() && !x.is_scalar()) fail_at(x, kp, "expected a map or a query string");
        o.query = x.is_scalar() ? Json(x.text) : to_json(x);
      } else if (k == "extraHeaders") {
        o.extra_headers = header_map(x, kp);
      } else if (k == "auth") {
        if (!x.is_map()) fail_at(x, kp, "expected a map");
        o.auth = to_json(x);
      } else if (k == "eio") {
        const std::int64_t n = count(x, kp);
        if (n != 3 && n != 4) fail_at(x, kp, "expected 3 (Socket.IO 2.x) or 4 (Socket.IO 3/4)");
        o.eio = static_cast<int>(n);
      } else if (k == "rejectUnauthorized" && config_level) {
        script_.tls_reject_unauthorized = boolean(x, kp);
      } else if (k == "withCredentials") {
        warn(v.key_lines[j],
             quote(kp) + " is ignored by sioreplay (it always keeps a per-user cookie jar)");
      } else {
        warn(v.key_lines[j], quote(kp) + " is ignored by sioreplay");
      }
    }
    return o;
  }

  // ---- scenarios ----------------------------------------------------------------------------
  void load_scenario(const YNode& v, std::size_t index) {
    const std::string path = "scenarios[" + std::to_string(index) + "]";
    if (!v.is_map()) fail_at(v, path, "expected a map");
    if (const YNode* e = v.get("engine"); e && !e->is_null()) {
      const std::string engine = text(*e, path + ".engine");
      if (engine != "socketio") {
        warn(e->line, path + ": engine " + quote(engine) +
                          " is not supported by sioreplay replay; scenario skipped");
        return;
      }
    }
    Scenario sc;
    sc.name = "scenario-" + std::to_string(index);
    bool has_flow = false;
    for (std::size_t j = 0; j < v.keys.size(); ++j) {
      const std::string& k = v.keys[j];
      const YNode& x = v.items[j];
      const std::string kp = path + "." + k;
      if (k == "name") {
        if (!x.is_null()) sc.name = text(x, kp);
      } else if (k == "weight") {
        sc.weight = non_negative(x, kp);
      } else if (k == "engine") {
        // checked above
      } else if (k == "socketio") {
        sc.socketio = load_socketio(x, kp, false);
      } else if (k == "flow") {
        has_flow = true;
        if (x.is_null()) continue;
        if (!x.is_seq()) fail_at(x, kp, "expected a list of steps");
        current_waits_ = false;
        sc.flow = load_steps(x, kp);
        sc.waits_for_pushes = current_waits_;
      } else if (k == "beforeScenario" || k == "afterScenario" || k == "beforeRequest" ||
                 k == "afterResponse") {
        warn(v.key_lines[j], quote(kp) + " is ignored by sioreplay (and by Artillery's socketio "
                                         "engine)");
      } else {
        unknown_key(v.key_lines[j], kp);
      }
    }
    if (!has_flow) fail_at(v, path + ".flow", "missing");
    script_.scenarios.push_back(std::move(sc));
  }

  std::vector<Step> load_steps(const YNode& list, const std::string& path) {
    std::vector<Step> steps;
    for (std::size_t i = 0; i < list.items.size(); ++i)
      steps.push_back(load_step(list.items[i], path + "[" + std::to_string(i) + "]"));
    return steps;
  }

  Step load_step(const YNode& v, const std::string& path) {
    if (!v.is_map() || v.keys.empty())
      fail_at(v, path, "expected a step (a map like `emit: ...` or `think: 1`)");
    Step s;
    s.line = v.line;
    std::vector<std::string> used;
    auto unknown_rest = [&] {
      for (std::size_t j = 0; j < v.keys.size(); ++j)
        if (std::find(used.begin(), used.end(), v.keys[j]) == used.end())
          unknown_key(v.key_lines[j], path + "." + v.keys[j]);
    };
    if (const YNode* loop = v.get("loop")) {
      s.kind = Step::Kind::loop;
      used = {"loop", "count", "over"};
      load_loop(s, v, *loop, path);
      for (const char* k : {"whileTrue", "loopValue", "loopElement"}) {
        if (const YNode* x = v.get(k)) {
          used.emplace_back(k);
          warn(x->line, quote(path + "." + k) + " is not supported by sioreplay (ignored)");
        }
      }
    } else if (const YNode* think = v.get("think")) {
      s.kind = Step::Kind::think;
      used = {"think", "jitter"};
      load_think(s, *think, path + ".think");
      if (const YNode* j = v.get("jitter")) s.jitter_pct = jitter(*j, path + ".jitter");
    } else if (const YNode* log = v.get("log")) {
      s.kind = Step::Kind::log;
      used = {"log"};
      s.message = log->is_null() ? std::string() : text(*log, path + ".log");
    } else if (const YNode* emit = v.get("emit")) {
      s.kind = Step::Kind::emit;
      used = {"emit", "namespace", "acknowledge", "response", "timeout"};
      load_emit(s, v, *emit, path);
      load_step_timeout(s, v, path);
    } else if (const YNode* wf = v.get("waitFor")) {
      s.kind = Step::Kind::wait_for;
      used = {"waitFor", "namespace", "timeout"};
      s.response = load_expect(*wf, path + ".waitFor", true);
      if (!s.response) fail_at(*wf, path + ".waitFor", "expected {channel, data, capture, match}");
      if (const YNode* nsp = v.get("namespace"); nsp && !nsp->is_null())
        s.nsp = text(*nsp, path + ".namespace");
      load_step_timeout(s, v, path);
      current_waits_ = true;
    } else if (const char* method = http_method(v)) {
      s.kind = Step::Kind::http;
      used = {v.keys.front()};
      load_http(s, *v.get(v.keys.front()), method, path + "." + v.keys.front());
    } else {
      s.kind = Step::Kind::unsupported;
      s.unsupported_key = v.keys.front();
      warn(v.line,
           "step " + quote(s.unsupported_key) + " is not supported by sioreplay replay; skipped");
      return s; // its other keys belong to it
    }
    unknown_rest();
    return s;
  }

  void load_step_timeout(Step& s, const YNode& step, const std::string& path) {
    if (const YNode* t = step.get("timeout"); t && !t->is_null()) {
      s.timeout_s = duration(*t, path + ".timeout");
      if (*s.timeout_s <= 0) fail_at(*t, path + ".timeout", "expected a duration above 0");
    }
  }

  /// "GET" for a step whose first key is `get`, ..., or null.
  static const char* http_method(const YNode& step) {
    static constexpr std::pair<const char*, const char*> methods[] = {
        {"get", "GET"},       {"post", "POST"}, {"put", "PUT"},        {"patch", "PATCH"},
        {"delete", "DELETE"}, {"head", "HEAD"}, {"options", "OPTIONS"}};
    if (step.keys.empty()) return nullptr;
    for (const auto& [key, method] : methods)
      if (step.keys.front() == key) return method;
    return nullptr;
  }

  void load_http(Step& s, const YNode& v, const char* method, const std::string& path) {
    HttpStep h;
    h.method = method;
    if (!v.is_map()) fail_at(v, path, "expected a map with `url`");
    bool has_url = false;
    std::string qs;
    for (std::size_t j = 0; j < v.keys.size(); ++j) {
      const std::string& k = v.keys[j];
      const YNode& x = v.items[j];
      const std::string kp = path + "." + k;
      if (k == "url") {
        h.url = text(x, kp);
        has_url = true;
      } else if (k == "headers") {
        h.headers = header_map(x, kp);
      } else if (k == "json") {
        h.json = to_json(x);
      } else if (k == "body") {
        h.body = to_json(x);
      } else if (k == "capture" || k == "match") {
        auto specs = parse_extract(to_json(x), k == "match");
        if (!specs) fail_at(x, kp, specs.error().message());
        (k == "match" ? h.matches : h.captures) = std::move(*specs);
      } else if (k == "timeout") {
        s.timeout_s = duration(x, kp);
        if (*s.timeout_s <= 0) fail_at(x, kp, "expected a duration above 0");
      } else if (k == "qs" && x.is_map()) {
        // Query parameters: appended to the URL (templates rendered per user).
        std::string q;
        for (std::size_t i = 0; i < x.keys.size(); ++i)
          q += (q.empty() ? "" : "&") + x.keys[i] + "=" + text(x.items[i], kp + "." + x.keys[i]);
        qs = q;
      } else {
        warn(v.key_lines[j], quote(kp) + " is ignored by sioreplay");
      }
    }
    if (!has_url) fail_at(v, path + ".url", "missing");
    if (!qs.empty()) h.url += (h.url.find('?') == std::string::npos ? "?" : "&") + qs;
    s.http = std::move(h);
  }

  /// Writes `v` as JSON into the pieces, starting a new piece after each templated string.
  static void cut_at_templates(const Json& v, std::vector<Step::Piece>& pieces) {
    if (v.is_string() && has_template(v.get_ref<const std::string&>())) {
      pieces.back().hole = v.get<std::string>();
      pieces.emplace_back();
    } else if (v.is_array()) {
      pieces.back().literal += '[';
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i > 0) pieces.back().literal += ',';
        cut_at_templates(v[i], pieces);
      }
      pieces.back().literal += ']';
    } else if (v.is_object()) {
      pieces.back().literal += '{';
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        if (!first) pieces.back().literal += ',';
        first = false;
        append_json_string(pieces.back().literal, k);
        pieces.back().literal += ':';
        cut_at_templates(e, pieces);
      }
      pieces.back().literal += '}';
    } else {
      append_json(pieces.back().literal, v);
    }
  }

  void load_emit(Step& s, const YNode& step, const YNode& emit, const std::string& path) {
    const std::string ep = path + ".emit";
    if (emit.is_seq()) {
      if (emit.items.empty()) fail_at(emit, ep, "expected [channel, args...]");
      s.channel = text(emit.items[0], ep + "[0]");
      for (std::size_t i = 1; i < emit.items.size(); ++i) s.args.push_back(to_json(emit.items[i]));
    } else if (emit.is_map()) {
      const YNode* channel = emit.get("channel");
      if (!channel) fail_at(emit, ep + ".channel", "missing");
      s.channel = text(*channel, ep + ".channel");
      if (const YNode* data = emit.get("data")) s.args.push_back(to_json(*data));
      for (std::size_t j = 0; j < emit.keys.size(); ++j) {
        const std::string& k = emit.keys[j];
        if (k == "channel" || k == "data") continue;
        if (k == "namespace" || k == "response" || k == "acknowledge")
          warn(emit.key_lines[j], quote(ep + "." + k) +
                                      " inside `emit` is ignored (as Artillery does); put it "
                                      "beside `emit`");
        else
          unknown_key(emit.key_lines[j], ep + "." + k);
      }
    } else if (emit.is_scalar()) {
      s.channel = emit.text; // `emit: "event"`: an event without arguments
    } else {
      fail_at(emit, ep, "expected {channel, data} or [channel, args...]");
    }
    if (const YNode* nsp = step.get("namespace"); nsp && !nsp->is_null())
      s.nsp = text(*nsp, path + ".namespace");
    {
      Json all = Json::array();
      all.push_back(s.channel);
      for (const auto& a : s.args) all.push_back(a);
      const std::string text = dump_json(all);
      // The same text sock::encode would write; "{{" also catches templates in keys (which are
      // not rendered: a harmless miss of the fast paths).
      if (text.find("\"_binary_b64\"") == std::string::npos) {
        if (text.find("{{") == std::string::npos) {
          s.constant_args = text;
        } else {
          s.arg_pieces.emplace_back();
          cut_at_templates(all, s.arg_pieces);
        }
      }
    }
    if (const YNode* ack = step.get("acknowledge"))
      s.acknowledge = load_expect(*ack, path + ".acknowledge", false);
    if (const YNode* res = step.get("response"))
      s.response = load_expect(*res, path + ".response", true);
  }

  std::optional<Expect> load_expect(const YNode& v, const std::string& path, bool response) {
    Expect e;
    if (v.is_null()) {
      warn(v.line, quote(path) + " is empty: Artillery treats it as absent (ignored)");
      return std::nullopt;
    }
    if (!response && v.is_scalar()) {
      const Json j = v.quoted ? Json(v.text) : plain_scalar(v.text);
      if (j == true) return e;
      if (j == false) return std::nullopt;
    }
    if (!v.is_map()) fail_at(v, path, "expected a map");
    for (std::size_t j = 0; j < v.keys.size(); ++j) {
      const std::string& k = v.keys[j];
      const YNode& x = v.items[j];
      const std::string kp = path + "." + k;
      if (response && (k == "channel" || k == "on")) {
        if (e.channel) fail_at(x, kp, "give either `channel` or `on`, not both");
        e.channel = text(x, kp);
      } else if (k == "data" || k == "args") {
        if (e.data) fail_at(x, kp, "give either `data` or `args`, not both");
        e.data = to_json(x);
      } else if (k == "capture" || k == "match") {
        // Paths apply to the array of arguments; without one, "$.0" (the first argument).
        auto specs = parse_extract(to_json(x), k == "match", "$.0");
        if (!specs) fail_at(x, kp, specs.error().message());
        (k == "match" ? e.matches : e.captures) = std::move(*specs);
      } else {
        unknown_key(v.key_lines[j], kp);
      }
    }
    if (response && !e.channel) fail_at(v, path + ".channel", "missing (the event to wait for)");
    return e;
  }

  void load_think(Step& s, const YNode& v, const std::string& path) {
    const double sec = duration(v, path);
    if (!v.quoted && v.is_scalar()) {
      const Json j = plain_scalar(v.text);
      if (j.is_number_float() && sec != std::floor(sec))
        warn(v.line, quote(path) + ": " + v.text +
                         " s: Artillery waits about 0 ms for a non-integer number; sioreplay "
                         "waits " +
                         std::to_string(std::llround(sec * 1000)) + " ms (write \"" +
                         std::to_string(std::llround(sec * 1000)) + "ms\" for both)");
    }
    if (sec * 1000 > 9e15) fail_at(v, path, "too large");
    s.think_ms = std::llround(sec * 1000);
  }

  double jitter(const YNode& v, const std::string& path) const {
    if (v.is_scalar()) {
      std::string_view t = trim(v.text);
      if (!t.empty() && t.back() == '%') t.remove_suffix(1);
      if (auto n = parse_number(trim(t)); n && n->get<double>() >= 0 && n->get<double>() <= 100)
        return n->get<double>();
    }
    fail_at(v, path, "expected a percentage from 0 to 100 (like 20 or \"20%\")");
  }

  void load_loop(Step& s, const YNode& step, const YNode& loop, const std::string& path) {
    if (!loop.is_seq()) fail_at(loop, path + ".loop", "expected a list of steps");
    s.steps = load_steps(loop, path + ".loop");
    const YNode* over = step.get("over");
    const YNode* cnt = step.get("count");
    if (over && !over->is_null()) {
      if (over->is_seq())
        s.over = to_json(*over);
      else if (over->is_scalar())
        s.over = Json(over->text);
      else
        fail_at(*over, path + ".over", "expected a list or a variable name");
    }
    if (cnt && !cnt->is_null()) {
      const std::string cp = path + ".count";
      if (!cnt->is_scalar()) fail_at(*cnt, cp, "expected a number");
      const std::string_view t = trim(cnt->text);
      const auto dash = t.find('-', 1);
      if (dash != std::string_view::npos && all_digits(trim(t.substr(0, dash))) &&
          all_digits(trim(t.substr(dash + 1)))) {
        YNode hi = *cnt;
        hi.text = std::string(trim(t.substr(dash + 1)));
        s.count = count(hi, cp);
        warn(cnt->line, quote(cp) + ": the range \"" + std::string(t) +
                            "\" runs the upper bound, " + std::to_string(s.count) +
                            " times, every time");
      } else if (t.find("{{") != std::string_view::npos) {
        fail_at(*cnt, cp, "templated loop counts are not supported by sioreplay",
                errc::unsupported);
      } else {
        s.count = count(*cnt, cp);
      }
      if (s.count > max_loop_count)
        fail_at(*cnt, cp,
                std::to_string(s.count) + " is over the limit of " +
                    std::to_string(max_loop_count) + " (a typo?)");
    } else if (!s.over) {
      fail_at(step, path, "a loop needs `count` or `over` (Artillery would repeat it forever)");
    }
  }

  std::string file_;
  LoadOptions options_;
  Script script_;
  bool current_waits_ = false; ///< the scenario being read has a `waitFor` step
};

} // namespace

std::optional<std::string> header_fault(std::string_view text, bool name) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::string at = " at byte " + std::to_string(i);
    if (c == '\r' || c == '\n')
      return "contains a line break (\\r or \\n)" + at + ": refused (it would inject a header)";
    if (c == 0) return "contains a NUL byte" + at + ": refused";
    if (name && (c == ':' || c == ' ' || c < 0x20 || c == 0x7f))
      return "contains a colon, space or control character" + at;
  }
  if (name && text.empty()) return std::string("is empty");
  return std::nullopt;
}

Result<double> parse_duration_s(const Json& value) {
  if (value.is_number()) {
    const double v = value.get<double>();
    if (!std::isfinite(v)) return fail(errc::bad_recording, "duration: not a finite number");
    if (v < 0) return fail(errc::bad_recording, "duration: negative");
    return v;
  }
  if (!value.is_string())
    return fail(errc::bad_recording, "duration: expected a number or a string like \"30s\"");
  const std::string& s = value.get_ref<const std::string&>();
  std::string_view t = trim(s);
  std::size_t i = 0;
  while (i < t.size() && (ascii_digit(t[i]) || t[i] == '.' || t[i] == '-' || t[i] == '+')) ++i;
  const std::string_view num = t.substr(0, i);
  std::string_view unit = t.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  const auto n = parse_number(num);
  const auto mult = unit_seconds(unit);
  if (!n || !mult || num.find_first_of("eE") != std::string_view::npos)
    return fail(errc::bad_recording, "duration: \"" + s + "\" is not a duration like \"30s\"");
  const double v = n->get<double>() * *mult;
  if (!std::isfinite(v)) return fail(errc::bad_recording, "duration: \"" + s + "\" is too large");
  if (v < 0) return fail(errc::bad_recording, "duration: \"" + s + "\" is negative");
  return v;
}

Result<Script> load_script(const std::string& path, const LoadOptions& options) {
  try {
    return Loader(path, options).run();
  } catch (const LoadError& e) {
    return fail(e.code, e.message);
  } catch (const YAML::Exception& e) {
    return fail(errc::bad_json, path + ": " + e.what());
  } catch (const std::exception& e) {
    return fail(errc::io_error, path + ": " + e.what());
  }
}

} // namespace sio::replayer
