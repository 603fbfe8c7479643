#include "sio/common/socketio.hpp"

#include "sio/common/base64.hpp"
#include "sio/common/json_fast.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace sio {

std::optional<std::size_t> find_json_too_deep(std::string_view text,
                                              std::size_t max_depth) noexcept {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i; // skip the escaped character (it cannot end the string)
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

Json parse_json_bounded(std::string_view text, std::size_t max_depth) {
  if (find_json_too_deep(text, max_depth)) return Json(Json::value_t::discarded);
  return Json::parse(text, nullptr, false);
}

} // namespace sio

namespace sio::sock {
namespace {

using json = sio::Json; ///< ordered: keys stay in wire order

constexpr int packet_type_count = 7;
constexpr std::size_t max_ack_id_digits = 19; ///< any 19-digit number fits in 64 bits

constexpr std::array<std::string_view, 6> reserved_events = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};

constexpr std::string_view binary_key = "_binary_b64";

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool is_binary_type(PacketType t) noexcept {
  return t == PacketType::binary_event || t == PacketType::binary_ack;
}

/// Parses JSON text starting at byte `base` of the packet; never throws.
Result<json> parse_json(std::string_view text, std::size_t base, const Limits& limits) {
  // The common case in one pass; anything else (errors included) goes through nlohmann.
  if (json fast; parse_json_fast(text, fast, limits.max_json_depth)) return fast;
  if (const auto at = find_json_too_deep(text, limits.max_json_depth))
    return fail(errc::limit_exceeded, "JSON nested deeper than max_json_depth", base + *at);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based: the position of the character that broke the parse.
    const std::size_t at = e.byte > 0 ? std::min<std::size_t>(e.byte - 1, text.size()) : 0;
    return fail(errc::sio_bad_packet, "expected valid JSON data", base + at);
  } catch (const json::exception&) {
    return fail(errc::sio_bad_packet, "expected valid JSON data", base);
  }
}

/// Checks a decoded payload against its packet type (socket.io-parser's isPayloadValid).
/// Returns what was expected when it does not fit, else nullptr.
const char* payload_problem(PacketType type, const std::optional<json>& data, int protocol) {
  switch (type) {
  case PacketType::connect:
    return !data || data->is_object() ? nullptr : "expected a JSON object (or nothing) for CONNECT";
  case PacketType::disconnect:
    return !data ? nullptr : "expected no payload for DISCONNECT";
  case PacketType::connect_error:
    if (protocol == 4) return nullptr; // v4 ERROR: any JSON, usually a string
    return data && data->is_object() ? nullptr : "expected a JSON object for CONNECT_ERROR";
  case PacketType::event:
  case PacketType::binary_event: {
    if (!data || !data->is_array() || data->empty())
      return "expected a non-empty JSON array [name, ...args] for EVENT";
    const json& name = data->front();
    if (name.is_number()) return nullptr;
    if (!name.is_string()) return "expected a string or number event name";
    const auto& s = name.get_ref<const std::string&>();
    if (std::find(reserved_events.begin(), reserved_events.end(), s) != reserved_events.end())
      return "expected an event name that is not reserved";
    return nullptr;
  }
  case PacketType::ack:
  case PacketType::binary_ack:
    return data && data->is_array() ? nullptr : "expected a JSON array for ACK";
  }
  return "expected a known packet type";
}

/// An object that stands for an attachment: {"_placeholder":true,...}.
bool is_placeholder(const json& v) {
  if (!v.is_object()) return false;
  const auto it = v.find("_placeholder");
  return it != v.end() && it->is_boolean() && it->get<bool>();
}

/// An object that holds decoded binary: exactly {"_binary_b64": ...}.
bool is_binary_value(const json& v) {
  return v.is_object() && v.size() == 1 && v.contains(binary_key);
}

/// Calls `visit(node)` on `root` and its descendants depth-first in document order (arrays in
/// order, objects in key order as written), with an explicit stack. When `visit` returns false the
/// node's children are skipped; when it sets `stop`, the walk ends.
template <class Visit> void walk(json& root, Visit&& visit) {
  std::vector<json*> stack{&root};
  bool stop = false;
  while (!stack.empty() && !stop) {
    json* node = stack.back();
    stack.pop_back();
    if (!visit(*node, stop) || stop) continue;
    if (node->is_array()) {
      for (auto it = node->rbegin(); it != node->rend(); ++it) stack.push_back(&*it);
    } else if (node->is_object()) {
      const std::size_t first = stack.size();
      for (auto& child : *node) stack.push_back(&child);
      std::reverse(stack.begin() + static_cast<std::ptrdiff_t>(first), stack.end());
    }
  }
}

} // namespace

std::string_view to_string(PacketType t, int protocol) noexcept {
  switch (t) {
  case PacketType::connect:
    return "CONNECT";
  case PacketType::disconnect:
    return "DISCONNECT";
  case PacketType::event:
    return "EVENT";
  case PacketType::ack:
    return "ACK";
  case PacketType::connect_error:
    return protocol == 4 ? "ERROR" : "CONNECT_ERROR";
  case PacketType::binary_event:
    return "BINARY_EVENT";
  case PacketType::binary_ack:
    return "BINARY_ACK";
  }
  return "UNKNOWN";
}

std::optional<PacketType> packet_type_from_string(std::string_view name) noexcept {
  if (name == "ERROR") return PacketType::connect_error;
  for (int i = 0; i < packet_type_count; ++i) {
    const auto t = static_cast<PacketType>(i);
    if (name == to_string(t, 5)) return t;
  }
  return std::nullopt;
}

Result<Packet> decode(std::string_view text, int protocol, const Limits& limits) {
  Packet p;
  if (text.empty()) return fail(errc::sio_bad_packet, "expected a packet type digit", 0);
  if (text[0] < '0' || text[0] >= '0' + packet_type_count)
    return fail(errc::sio_bad_packet, "expected a packet type digit 0-6", 0);
  p.type = static_cast<PacketType>(text[0] - '0');
  std::size_t i = 1;

  // Attachment count: digits then '-'.
  if (is_binary_type(p.type)) {
    const std::size_t start = i;
    std::size_t n = 0;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      const auto d = static_cast<std::size_t>(text[i] - '0');
      if (d > limits.max_attachments || n > (limits.max_attachments - d) / 10)
        return fail(errc::limit_exceeded, "attachment count over max_attachments", start);
      n = n * 10 + d;
    }
    if (i == start) return fail(errc::sio_bad_packet, "expected the attachment count", i);
    if (i >= text.size() || text[i] != '-')
      return fail(errc::sio_bad_packet, "expected '-' after the attachment count", i);
    ++i;
    p.attachments = n;
  }

  // Namespace: from '/' up to ',' (or to the end when there is no ',').
  if (i < text.size() && text[i] == '/') {
    const std::size_t comma = text.find(',', i);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    p.nsp.assign(text.substr(i, end - i));
    i = comma == std::string_view::npos ? end : end + 1;
  }

  // Ack id: consecutive digits.
  if (i < text.size() && is_digit(text[i])) {
    const std::size_t start = i;
    std::uint64_t id = 0;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      if (i - start >= max_ack_id_digits)
        return fail(errc::sio_bad_packet, "expected an ack id of at most 19 digits", start);
      id = id * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    p.ack_id = id;
  }

  // The rest is JSON, possibly empty.
  if (i < text.size()) {
    auto data = parse_json(text.substr(i), i, limits);
    if (!data) return fail(std::move(data).error());
    p.data = std::move(*data);
  }
  if (const char* problem = payload_problem(p.type, p.data, protocol))
    return fail(errc::sio_bad_packet, problem, i);
  return p;
}

std::string encode(const Packet& p) {
  std::string out(1, static_cast<char>('0' + static_cast<int>(p.type)));
  if (is_binary_type(p.type)) {
    out += std::to_string(p.attachments);
    out += '-';
  }
  if (!p.nsp.empty() && p.nsp != "/") {
    out += p.nsp;
    out += ',';
  }
  if (p.ack_id) out += std::to_string(*p.ack_id);
  if (p.data) {
    // Compact, raw UTF-8 like JSON.stringify; invalid UTF-8 becomes U+FFFD instead of throwing.
    out += p.data->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

Status reconstruct(json& value, const std::vector<std::string>& buffers) {
  json result = value; // work on a copy so that `value` is untouched on failure
  std::vector<bool> used(buffers.size(), false);
  std::optional<Error> error;
  walk(result, [&](json& node, bool& stop) {
    if (!is_placeholder(node)) return true;
    const auto num = node.find("num");
    if (num == node.end() || !(num->is_number_integer())) {
      error = Error{errc::sio_bad_packet, "expected an integer placeholder num"};
      stop = true;
      return false;
    }
    const bool in_range =
        num->is_number_unsigned()
            ? num->get<std::uint64_t>() < buffers.size()
            : num->get<std::int64_t>() >= 0 &&
                  static_cast<std::uint64_t>(num->get<std::int64_t>()) < buffers.size();
    if (!in_range) {
      error = Error{errc::sio_bad_packet,
                    "expected a placeholder num below " + std::to_string(buffers.size())};
      stop = true;
      return false;
    }
    const auto index = static_cast<std::size_t>(num->get<std::uint64_t>());
    used[index] = true;
    node = json::object({{binary_key, base64_encode(buffers[index])}});
    return false;
  });
  if (error) return fail(std::move(*error));
  if (const auto it = std::find(used.begin(), used.end(), false); it != used.end())
    return fail(errc::sio_bad_packet,
                "expected a placeholder for attachment " + std::to_string(it - used.begin()));
  value = std::move(result);
  return ok_status();
}

Result<std::vector<std::string>> deconstruct(json& value) {
  json result = value; // work on a copy so that `value` is untouched on failure
  std::vector<std::string> buffers;
  std::optional<Error> error;
  walk(result, [&](json& node, bool& stop) {
    if (!is_binary_value(node)) return true;
    const json& b64 = node.at(binary_key);
    if (!b64.is_string()) {
      error = Error{errc::bad_base64, "expected a base64 string in _binary_b64"};
      stop = true;
      return false;
    }
    auto bytes = base64_decode(b64.get_ref<const std::string&>());
    if (!bytes) {
      error = std::move(bytes).error().within("_binary_b64 #" + std::to_string(buffers.size()));
      error->offset = Error::npos; // the offset was inside the base64 text, not the packet
      stop = true;
      return false;
    }
    node = json{{"_placeholder", true}, {"num", buffers.size()}};
    buffers.push_back(std::move(*bytes));
    return false;
  });
  if (error) return fail(std::move(*error));
  value = std::move(result);
  return buffers;
}

Status AttachmentCollector::start(Packet p) {
  if (pending_)
    return fail(errc::sio_bad_packet, "expected the attachments of the pending binary packet");
  if (!is_binary_type(p.type) || p.attachments == 0)
    return fail(errc::sio_bad_packet, "expected a binary packet with attachments");
  buffers_.clear();
  buffers_.reserve(std::min<std::size_t>(p.attachments, 16));
  pending_ = std::move(p);
  return ok_status();
}

Result<std::optional<Packet>> AttachmentCollector::add(std::string bytes) {
  if (!pending_) return fail(errc::sio_bad_packet, "expected no attachment (no binary packet)");
  buffers_.push_back(std::move(bytes));
  if (buffers_.size() < pending_->attachments) return std::optional<Packet>{};
  Packet p = std::move(*pending_);
  pending_.reset();
  std::vector<std::string> buffers = std::move(buffers_);
  buffers_.clear();
  if (!p.data) return fail(errc::sio_bad_packet, "expected data with placeholders");
  if (auto st = reconstruct(*p.data, buffers); !st) return fail(std::move(st).error());
  return std::optional<Packet>{std::move(p)};
}

std::optional<Packet> AttachmentCollector::abandon() {
  std::optional<Packet> p = std::move(pending_);
  pending_.reset();
  buffers_.clear();
  return p;
}

} // namespace sio::sock
