#include "sio/common/json_fast.hpp"

#include "sio/common/utf8.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>

namespace sio {
namespace {

/// One pass over the text; every method returns false at the first thing it is not sure of.
/// With Build false it only checks the text (nothing is allocated, `out` is left alone).
template <bool Build> class FastParser {
public:
  FastParser(std::string_view text, std::size_t max_depth)
      : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth) {}

  bool document(Json& out) {
    // A byte order mark is skipped by nlohmann: left to it.
    if (end_ - p_ >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) return false;
    skip_space();
    if (!value(out, 0)) return false;
    skip_space();
    return p_ == end_;
  }

private:
  void skip_space() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool literal(std::string_view word) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0)
      return false;
    p_ += word.size();
    return true;
  }

  bool value(Json& out, std::size_t depth) {
    if (p_ == end_) return false;
    switch (*p_) {
    case '{':
      return object(out, depth + 1);
    case '[':
      return array(out, depth + 1);
    case '"': {
      std::string s;
      if (!string(s)) return false;
      if constexpr (Build) out = std::move(s);
      return true;
    }
    case 't':
      if constexpr (Build) out = true;
      return literal("true");
    case 'f':
      if constexpr (Build) out = false;
      return literal("false");
    case 'n':
      if constexpr (Build) out = nullptr;
      return literal("null");
    default:
      return number(out);
    }
  }

  bool array(Json& out, std::size_t depth) {
    if (depth > max_depth_) return false;
    ++p_; // '['
    if constexpr (Build) out = Json::array();
    skip_space();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      Json element;
      skip_space();
      if (!value(element, depth)) return false;
      if constexpr (Build) out.push_back(std::move(element));
      skip_space();
      if (p_ == end_) return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_++ != ',') return false;
    }
  }

  bool object(Json& out, std::size_t depth) {
    if (depth > max_depth_) return false;
    ++p_; // '{'
    if constexpr (Build) out = Json::object();
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_space();
      if (p_ == end_ || *p_ != '"') return false;
      std::string key;
      if (!string(key)) return false;
      skip_space();
      if (p_ == end_ || *p_++ != ':') return false;
      skip_space();
      // operator[]: a repeated key keeps its first place and takes the last value, as
      // nlohmann's parser does.
      if constexpr (Build) {
        if (!value(out[key], depth)) return false;
      } else if (!value(out, depth)) {
        return false;
      }
      skip_space();
      if (p_ == end_) return false;
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_++ != ',') return false;
    }
  }

  static void put(std::string& out, char c) {
    if constexpr (Build) out += c;
  }

  static int hex(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool string(std::string& out) {
    ++p_; // opening quote
    for (;;) {
      // A run of plain bytes, copied at once.
      const char* run = p_;
      bool high = false;
      while (p_ != end_) {
        const auto c = static_cast<unsigned char>(*p_);
        if (c == '"' || c == '\\' || c < 0x20) break;
        high |= c >= 0x80;
        ++p_;
      }
      if (p_ == end_) return false;
      const std::string_view piece(run, static_cast<std::size_t>(p_ - run));
      // Multi-byte sequences never contain '"', '\\' or a control byte, so a run holds whole
      // characters unless the text is broken, which is_valid_utf8 then sees.
      if (high && !is_valid_utf8(piece)) return false;
      if constexpr (Build) out.append(piece);
      const char c = *p_++;
      if (c == '"') return true;
      if (c != '\\' || p_ == end_) return false; // a raw control character
      switch (*p_++) {
      case '"':
        put(out, '"');
        break;
      case '\\':
        put(out, '\\');
        break;
      case '/':
        put(out, '/');
        break;
      case 'b':
        put(out, '\b');
        break;
      case 'f':
        put(out, '\f');
        break;
      case 'n':
        put(out, '\n');
        break;
      case 'r':
        put(out, '\r');
        break;
      case 't':
        put(out, '\t');
        break;
      case 'u': {
        if (end_ - p_ < 4) return false;
        std::uint32_t cp = 0;
        for (int i = 0; i < 4; ++i) {
          const int h = hex(p_[i]);
          if (h < 0) return false;
          cp = cp << 4 | static_cast<std::uint32_t>(h);
        }
        p_ += 4;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false; // surrogates: nlohmann's rules
        if constexpr (Build) append_utf8(out, static_cast<char32_t>(cp));
        break;
      }
      default:
        return false;
      }
    }
  }

  static bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

  bool number(Json& out) {
    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_ || !digit(*p_)) return false;
    if (*p_ == '0')
      ++p_;
    else
      while (p_ != end_ && digit(*p_)) ++p_;
    bool integer = true;
    if (p_ != end_ && *p_ == '.') {
      integer = false;
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    if (integer) {
      if (negative) {
        std::int64_t v = 0;
        const auto r = std::from_chars(start, p_, v);
        if (r.ec == std::errc() && r.ptr == p_) {
          if constexpr (Build) out = v;
          return true;
        }
      } else {
        std::uint64_t v = 0;
        const auto r = std::from_chars(start, p_, v);
        if (r.ec == std::errc() && r.ptr == p_) {
          if constexpr (Build) out = v;
          return true;
        }
      }
      // Past 64 bits: nlohmann reads it as a double, as below.
    }
    double d = 0;
    const auto r = std::from_chars(start, p_, d);
    // Out of range (overflow to infinity, underflow to zero): left to nlohmann.
    if (r.ec != std::errc() || r.ptr != p_) return false;
    if constexpr (Build) out = d;
    return true;
  }

  const char* p_;
  const char* end_;
  std::size_t max_depth_;
};

} // namespace

bool parse_json_fast(std::string_view text, Json& out, std::size_t max_depth) {
  return FastParser<true>(text, max_depth).document(out);
}

bool json_surely_valid(std::string_view text, std::size_t max_depth) {
  Json unused;
  return FastParser<false>(text, max_depth).document(unused);
}

} // namespace sio
