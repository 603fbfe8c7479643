// Artillery's templates (engine_util.template / renderVariables), re-implemented.
//
// Two passes, as Artillery does: built-in function calls `{{ $fn(args) }}` are replaced by their
// text first; then variables `{{ path }}` (the characters `[\s$\w.\[\]'"-]`, optionally with a
// third brace on each side). A string that is exactly one variable template yields the value
// with its type. Nothing here throws: text that is not a valid template stays as it is.

#include "sio/replayer/template.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace sio::replayer {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_var_char(char c) {
  return is_space(c) || is_word(c) || c == '$' || c == '.' || c == '[' || c == ']' || c == '\'' ||
         c == '"' || c == '-';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// A random generator for when the context has none.
std::mt19937_64& fallback_rng() {
  thread_local std::mt19937_64 rng(
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return rng;
}

} // namespace

std::string js_string(const Json* v) {
  if (!v) return "undefined";
  if (v->is_string()) return v->get_ref<const std::string&>();
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    if (d == std::floor(d) && std::fabs(d) < 1e21) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.0f", d);
      return std::string(buf) == "-0" ? "0" : buf;
    }
  }
  return v->dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string printable_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string(1, c);
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(u));
  return buf;
}

namespace {

/// One match of `{{{?[\s$\w.\[\]'"-]+}}}?` starting at `pos`; returns its end, or npos.
std::size_t match_var(std::string_view s, std::size_t pos, std::string_view& name) {
  if (s.compare(pos, 2, "{{") != 0) return std::string_view::npos;
  // Try with and without a third opening brace (the regex backtracks over `{?`).
  for (std::size_t open : {std::size_t{3}, std::size_t{2}}) {
    std::size_t i = pos + open;
    if (open == 3 && (i > s.size() || s[pos + 2] != '{')) continue;
    const std::size_t start = i;
    while (i < s.size() && is_var_char(s[i])) ++i;
    if (i == start) continue;
    if (s.compare(i, 2, "}}") != 0) continue;
    name = s.substr(start, i - start);
    i += 2;
    if (i < s.size() && s[i] == '}') ++i;
    return i;
  }
  return std::string_view::npos;
}

/// One match of `{{\s*(\$[A-Za-z0-9_]+\s*\(\s*[A-Za-z0-9_,\s]*\s*\))\s*}}` at `pos`.
struct Call {
  std::string_view name;
  std::vector<std::string_view> args;
  std::size_t end = 0;
};
std::optional<Call> match_call(std::string_view s, std::size_t pos) {
  if (s.compare(pos, 2, "{{") != 0) return std::nullopt;
  std::size_t i = pos + 2;
  while (i < s.size() && is_space(s[i])) ++i;
  if (i >= s.size() || s[i] != '$') return std::nullopt;
  const std::size_t name_start = i++;
  while (i < s.size() && is_word(s[i])) ++i;
  if (i == name_start + 1) return std::nullopt;
  Call c;
  c.name = s.substr(name_start, i - name_start);
  while (i < s.size() && is_space(s[i])) ++i;
  if (i >= s.size() || s[i] != '(') return std::nullopt;
  const std::size_t args_start = ++i;
  while (i < s.size() && (is_word(s[i]) || s[i] == ',' || is_space(s[i]))) ++i;
  if (i >= s.size() || s[i] != ')') return std::nullopt;
  const std::string_view args = s.substr(args_start, i - args_start);
  ++i;
  while (i < s.size() && is_space(s[i])) ++i;
  if (s.compare(i, 2, "}}") != 0) return std::nullopt;
  c.end = i + 2;
  if (!trim(args).empty()) {
    std::size_t from = 0;
    while (true) {
      const std::size_t comma = args.find(',', from);
      c.args.push_back(trim(args.substr(from, comma - from)));
      if (comma == std::string_view::npos) break;
      from = comma + 1;
    }
  }
  return c;
}

std::optional<std::int64_t> to_int(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string random_string(std::mt19937_64& rng, std::int64_t n) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out;
  for (std::int64_t i = 0; i < n; ++i) out += alphabet[pick(rng)];
  return out;
}

/// Runs a built-in function; nullopt when the name or the arguments are not known.
std::optional<std::string> call(const Call& c, std::mt19937_64& rng) {
  std::vector<std::int64_t> args;
  for (auto a : c.args) {
    auto v = to_int(a);
    if (!v) return std::nullopt;
    args.push_back(*v);
  }
  if (c.name == "$randomNumber") {
    // lodash _.random(lower = 0, upper = 1), bounds swapped when reversed.
    std::int64_t lo = 0, hi = 1;
    if (args.size() == 1)
      hi = args[0];
    else if (args.size() >= 2)
      lo = args[0], hi = args[1];
    if (lo > hi) std::swap(lo, hi);
    std::uniform_int_distribution<std::int64_t> d(lo, hi);
    return std::to_string(d(rng));
  }
  if (c.name == "$randomString") {
    std::int64_t n = args.empty() ? 10 : args[0];
    if (n > 1'000'000) n = 1'000'000;
    return random_string(rng, n);
  }
  return std::nullopt;
}

/// lodash-style path segments: a.b[0]["c d"]['e']; nullopt when malformed.
std::optional<std::vector<std::string>> split_path(std::string_view p) {
  std::vector<std::string> out;
  std::size_t i = 0;
  std::string cur;
  bool after_bracket = false;
  while (i < p.size()) {
    const char c = p[i];
    if (c == '.') {
      if (!after_bracket) out.push_back(cur);
      cur.clear();
      after_bracket = false;
      ++i;
    } else if (c == '[') {
      if (!after_bracket && (!cur.empty() || i == 0)) {
        if (!cur.empty()) out.push_back(cur);
      }
      cur.clear();
      ++i;
      if (i < p.size() && (p[i] == '"' || p[i] == '\'')) {
        const char q = p[i++];
        const std::size_t close = p.find(q, i);
        if (close == std::string_view::npos || close + 1 >= p.size() || p[close + 1] != ']')
          return std::nullopt;
        out.emplace_back(p.substr(i, close - i));
        i = close + 2;
      } else {
        const std::size_t close = p.find(']', i);
        if (close == std::string_view::npos) return std::nullopt;
        out.emplace_back(trim(p.substr(i, close - i)));
        i = close + 1;
      }
      after_bracket = true;
    } else {
      if (after_bracket) return std::nullopt; // "a[0]b"
      cur += c;
      ++i;
    }
  }
  if (!after_bracket) out.push_back(cur);
  return out;
}

/// Looks a name up in the variables, then the process environment and $uuid.
struct Found {
  const Json* ptr = nullptr;
  Json owned; ///< for values made here (environment, generated uuid)
  bool has_owned = false;
  [[nodiscard]] const Json* get() const { return has_owned ? &owned : ptr; }
};

Found resolve(std::string_view name, const TemplateContext& ctx) {
  Found f;
  if (ctx.vars) f.ptr = lookup(*ctx.vars, name);
  if (f.ptr) return f;
  for (std::string_view prefix :
       {std::string_view("$env."), std::string_view("$processEnvironment.")}) {
    if (name.substr(0, prefix.size()) == prefix && name.size() > prefix.size()) {
      const std::string var(name.substr(prefix.size()));
      if (var.find('\0') != std::string::npos) return f;
      if (const char* v = std::getenv(var.c_str())) {
        f.owned = std::string(v);
        f.has_owned = true;
      }
      return f;
    }
  }
  if (name == "$uuid") {
    f.owned = uuid_v4(ctx.rng ? *ctx.rng : fallback_rng());
    f.has_owned = true;
  }
  return f;
}

Json render_vars(std::string_view s, const TemplateContext& ctx) {
  // The whole text one {{ name }} (the common case): its value, without collecting matches (no
  // allocation for a number or a short string).
  if (std::string_view name; match_var(s, 0, name) == s.size()) {
    const Found f = resolve(trim(name), ctx);
    const Json* v = f.get();
    return v ? *v : Json(nullptr);
  }
  struct Match {
    std::size_t begin, end;
    std::string_view name;
  };
  std::vector<Match> matches;
  for (std::size_t pos = s.find("{{"); pos != std::string_view::npos; pos = s.find("{{", pos)) {
    std::string_view name;
    const std::size_t end = match_var(s, pos, name);
    if (end == std::string_view::npos) {
      ++pos;
      continue;
    }
    matches.push_back({pos, end, name});
    pos = end;
  }
  if (matches.empty()) return std::string(s);
  if (matches.size() == 1 && matches[0].begin == 0 && matches[0].end == s.size()) {
    const Found f = resolve(trim(matches[0].name), ctx);
    const Json* v = f.get();
    return v ? *v : Json(nullptr);
  }
  std::string out;
  std::size_t at = 0;
  for (const auto& m : matches) {
    out.append(s.substr(at, m.begin - at));
    const Found f = resolve(trim(m.name), ctx);
    out += js_string(f.get());
    at = m.end;
  }
  out.append(s.substr(at));
  return out;
}

Json render_impl(std::string_view text, const TemplateContext& ctx) {
  if (!has_template(text)) return std::string(text);
  // Pass 1: built-in function calls, replaced by their text.
  std::string replaced;
  bool any_call = false;
  std::size_t at = 0;
  for (std::size_t pos = text.find("{{"); pos != std::string_view::npos;
       pos = text.find("{{", pos)) {
    auto c = match_call(text, pos);
    std::optional<std::string> value;
    if (c) value = call(*c, ctx.rng ? *ctx.rng : fallback_rng());
    if (!value) {
      ++pos;
      continue;
    }
    replaced.append(text.substr(at, pos - at));
    replaced += *value;
    at = pos = c->end;
    any_call = true;
  }
  if (!any_call) return render_vars(text, ctx);
  replaced.append(text.substr(at));
  // Pass 2 on the new text (as Artillery re-templates it).
  return render_vars(replaced, ctx);
}

Json render_value(const Json& value, const TemplateContext& ctx, int depth) {
  if (value.is_string()) return render_string(value.get_ref<const std::string&>(), ctx);
  if (depth > 1000) return value;
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& v : value) out.push_back(render_value(v, ctx, depth + 1));
    return out;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [k, v] : value.items()) out[k] = render_value(v, ctx, depth + 1);
    return out;
  }
  return value;
}

} // namespace

bool has_template(std::string_view text) noexcept {
  return text.find("{{") != std::string_view::npos;
}

Json render_string(std::string_view text, const TemplateContext& ctx) {
  try {
    return render_impl(text, ctx);
  } catch (...) {
    try {
      return std::string(text);
    } catch (...) {
      return nullptr;
    }
  }
}

Json render(const Json& value, const TemplateContext& ctx) {
  try {
    return render_value(value, ctx, 0);
  } catch (...) {
    return value;
  }
}

const Json* lookup(const Json& vars, std::string_view path) {
  try {
    if (vars.is_object()) { // lodash: a key that exists as written wins ("a.b" as one key)
      const auto it = vars.find(std::string(path));
      if (it != vars.end()) return &*it;
    }
    const auto segments = split_path(path);
    if (!segments || segments->empty()) return nullptr;
    const Json* cur = &vars;
    for (const auto& seg : *segments) {
      if (cur->is_object()) {
        const auto it = cur->find(seg);
        if (it == cur->end()) return nullptr;
        cur = &*it;
      } else if (cur->is_array()) {
        const auto idx = to_int(seg);
        if (!idx || static_cast<std::size_t>(*idx) >= cur->size()) return nullptr;
        cur = &(*cur)[static_cast<std::size_t>(*idx)];
      } else {
        return nullptr;
      }
    }
    return cur;
  } catch (...) {
    return nullptr;
  }
}

std::string uuid_v4(std::mt19937_64& rng) {
  const std::uint64_t hi = rng(), lo = rng();
  unsigned char b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 0x0F];
  }
  return out;
}

} // namespace sio::replayer
