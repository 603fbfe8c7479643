#include "sio/replayer/cookie_jar.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>

namespace sio::replayer {

namespace {

constexpr std::int64_t max_time_s = std::numeric_limits<std::int64_t>::max() / 2;

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim_ws(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// The path part of a request target ("/a/b?x=1" -> "/a/b").
std::string_view path_only(std::string_view target) noexcept {
  const std::size_t q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

/// RFC 6265 5.1.4: the directory of the request path.
std::string default_path(std::string_view request_path) {
  const std::string_view p = path_only(request_path);
  if (p.empty() || p.front() != '/') return "/";
  const std::size_t slash = p.rfind('/');
  if (slash == 0) return "/";
  return std::string(p.substr(0, slash));
}

/// Whether a host is an IP address (v4 dotted quad, or v6 with or without brackets).
bool is_ip(std::string_view host) noexcept {
  if (host.find(':') != std::string_view::npos || (!host.empty() && host.front() == '['))
    return true;
  if (host.empty()) return false;
  int dots = 0;
  for (const char c : host) {
    if (c == '.') {
      ++dots;
    } else if (!is_digit(c)) {
      return false;
    }
  }
  return dots == 3;
}

/// RFC 6265 5.1.3. Both arguments are lower-case.
bool domain_match(std::string_view host, std::string_view domain) noexcept {
  if (host == domain) return true;
  if (domain.empty() || host.size() <= domain.size() || is_ip(host)) return false;
  return host.substr(host.size() - domain.size()) == domain &&
         host[host.size() - domain.size() - 1] == '.';
}

/// RFC 6265 5.1.4.
bool path_match(std::string_view request_path, std::string_view cookie_path) noexcept {
  if (request_path == cookie_path) return true;
  if (request_path.size() <= cookie_path.size() ||
      request_path.substr(0, cookie_path.size()) != cookie_path)
    return false;
  return cookie_path.back() == '/' || request_path[cookie_path.size()] == '/';
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_delimiter(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x09 || (u >= 0x20 && u <= 0x2F) || (u >= 0x3B && u <= 0x40) ||
         (u >= 0x5B && u <= 0x60) || (u >= 0x7B && u <= 0x7E);
}

/// Reads 1..max_digits digits at the start of `s`; the next character must not be a digit.
/// Returns the number of digits read (0 when not a match).
std::size_t read_digits(std::string_view s, std::size_t min_digits, std::size_t max_digits,
                        int& value) noexcept {
  std::size_t n = 0;
  value = 0;
  while (n < s.size() && is_digit(s[n])) {
    if (n == max_digits) return 0;
    value = value * 10 + (s[n] - '0');
    ++n;
  }
  return n >= min_digits ? n : 0;
}

/// RFC 6265 5.1.1 cookie-date parsing: accepts IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT"),
/// the '-' separated RFC 850 form ("Wednesday, 21-Oct-15 07:28:00 GMT") and asctime.
std::optional<std::int64_t> parse_cookie_date(std::string_view s) noexcept {
  static constexpr std::array<std::string_view, 12> months = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  bool found_time = false, found_day = false, found_month = false, found_year = false;
  int hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_delimiter(s[i])) ++i;
    std::size_t j = i;
    while (j < s.size() && !is_delimiter(s[j])) ++j;
    const std::string_view token = s.substr(i, j - i);
    i = j;
    if (token.empty()) continue;
    int v = 0;
    if (!found_time) {
      // hms-time = time-field ":" time-field ":" time-field, time-field = 1*2DIGIT
      int h = 0, mi = 0, se = 0;
      std::size_t p = read_digits(token, 1, 2, h);
      if (p != 0 && p < token.size() && token[p] == ':') {
        std::string_view rest = token.substr(p + 1);
        std::size_t q = read_digits(rest, 1, 2, mi);
        if (q != 0 && q < rest.size() && rest[q] == ':') {
          rest = rest.substr(q + 1);
          if (read_digits(rest, 1, 2, se) != 0) {
            found_time = true;
            hour = h;
            minute = mi;
            second = se;
            continue;
          }
        }
      }
    }
    if (!found_day && read_digits(token, 1, 2, v) != 0) {
      found_day = true;
      day = v;
      continue;
    }
    if (!found_month && token.size() >= 3) {
      const std::string m = to_lower(token.substr(0, 3));
      const auto it = std::find(months.begin(), months.end(), m);
      if (it != months.end()) {
        found_month = true;
        month = static_cast<int>(it - months.begin()) + 1;
        continue;
      }
    }
    if (!found_year && read_digits(token, 2, 4, v) != 0) {
      found_year = true;
      year = v;
      continue;
    }
  }
  if (!found_time || !found_day || !found_month || !found_year) return std::nullopt;
  if (year >= 70 && year <= 99) year += 1900;
  if (year >= 0 && year <= 69) year += 2000;
  if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59)
    return std::nullopt;
  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * 86400 + hour * 3600 + minute * 60 + second;
}

/// Max-Age's value: an optional '-' and digits; saturates. nullopt when malformed.
std::optional<std::int64_t> parse_max_age(std::string_view v) noexcept {
  if (v.empty()) return std::nullopt;
  const bool negative = v.front() == '-';
  if (negative) v.remove_prefix(1);
  if (v.empty()) return std::nullopt;
  std::int64_t n = 0;
  for (const char c : v) {
    if (!is_digit(c)) return std::nullopt;
    n = n <= (max_time_s - 9) / 10 ? n * 10 + (c - '0') : max_time_s;
  }
  return negative ? -std::min(n, max_time_s) : std::min(n, max_time_s);
}

} // namespace

std::int64_t now_epoch_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void CookieJar::set(std::string_view set_cookie, std::string_view host,
                    std::string_view request_path, std::int64_t now_s) {
  // Drop what has expired.
  std::erase_if(cookies_,
                [now_s](const Cookie& c) { return c.expires_s >= 0 && c.expires_s <= now_s; });

  // name=value up to the first ';'.
  const std::size_t semi = set_cookie.find(';');
  const std::string_view pair = set_cookie.substr(0, semi);
  const std::size_t eq = pair.find('=');
  if (eq == std::string_view::npos) return;
  const std::string_view name = trim_ws(pair.substr(0, eq));
  const std::string_view value = trim_ws(pair.substr(eq + 1));
  if (name.empty()) return;
  for (const char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return;

  Cookie cookie;
  cookie.name = std::string(name);
  cookie.value = std::string(value);
  std::optional<std::int64_t> max_age, expires;
  std::string domain_attr, path_attr;
  bool has_path = false;

  std::string_view attrs =
      semi == std::string_view::npos ? std::string_view{} : set_cookie.substr(semi + 1);
  while (!attrs.empty()) {
    const std::size_t next = attrs.find(';');
    const std::string_view av = attrs.substr(0, next);
    attrs = next == std::string_view::npos ? std::string_view{} : attrs.substr(next + 1);
    const std::size_t aeq = av.find('=');
    const std::string_view key = trim_ws(av.substr(0, aeq));
    const std::string_view val =
        aeq == std::string_view::npos ? std::string_view{} : trim_ws(av.substr(aeq + 1));
    if (iequals(key, "expires")) {
      if (auto t = parse_cookie_date(val)) expires = *t;
    } else if (iequals(key, "max-age")) {
      if (auto t = parse_max_age(val)) max_age = *t;
    } else if (iequals(key, "domain")) {
      std::string_view d = val;
      if (!d.empty() && d.front() == '.') d.remove_prefix(1);
      if (!d.empty()) domain_attr = to_lower(d);
    } else if (iequals(key, "path")) {
      if (!val.empty() && val.front() == '/') {
        path_attr = std::string(val);
        has_path = true;
      } else {
        has_path = false; // RFC 6265 5.2.4: falls back to the default path
      }
    } else if (iequals(key, "secure")) {
      cookie.secure = true;
    }
    // HttpOnly, SameSite and unknown attributes do not affect matching.
  }

  // Expiry: Max-Age wins over Expires.
  bool expired = false;
  if (max_age) {
    if (*max_age <= 0) {
      expired = true;
    } else {
      cookie.expires_s = now_s + std::min(*max_age, max_time_s - std::max<std::int64_t>(now_s, 0));
    }
  } else if (expires) {
    if (*expires <= now_s) {
      expired = true;
    } else {
      cookie.expires_s = *expires;
    }
  }

  // Domain.
  std::string h = to_lower(host);
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (domain_attr.empty()) {
    cookie.host_only = true;
    cookie.domain = h;
  } else {
    if (!domain_match(h, domain_attr)) return; // a cookie for another site: rejected
    cookie.host_only = false;
    cookie.domain = domain_attr;
  }
  cookie.path = has_path ? path_attr : default_path(request_path);

  const auto same = std::find_if(cookies_.begin(), cookies_.end(), [&](const Cookie& c) {
    return c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path;
  });
  if (expired) {
    if (same != cookies_.end()) cookies_.erase(same);
    return;
  }
  if (same != cookies_.end()) {
    *same = std::move(cookie); // keeps the old cookie's place, i.e. its creation time
  } else {
    cookies_.push_back(std::move(cookie));
  }
}

std::string CookieJar::header(std::string_view host, std::string_view path, bool secure,
                              std::int64_t now_s) const {
  std::string h = to_lower(host);
  if (!h.empty() && h.back() == '.') h.pop_back();
  std::string_view p = path_only(path);
  if (p.empty() || p.front() != '/') p = "/";
  std::vector<const Cookie*> matches;
  for (const Cookie& c : cookies_) {
    if (c.expires_s >= 0 && c.expires_s <= now_s) continue;
    if (c.secure && !secure) continue;
    if (c.host_only ? h != c.domain : !domain_match(h, c.domain)) continue;
    if (!path_match(p, c.path)) continue;
    matches.push_back(&c);
  }
  // Longer paths first; among equal lengths, earlier creation (vector order) first.
  std::stable_sort(matches.begin(), matches.end(), [](const Cookie* a, const Cookie* b) {
    return a->path.size() > b->path.size();
  });
  std::string out;
  for (const Cookie* c : matches) {
    if (!out.empty()) out += "; ";
    out += c->name;
    out += '=';
    out += c->value;
  }
  return out;
}

} // namespace sio::replayer
