#pragma once
/// SessionBuilder: collects Engine.IO packets per Engine.IO session from any source (HAR
/// entries today, reassembled TCP streams later), then decodes them into Socket.IO messages.
///
///   source ──(sid, time, dir, transport, eio::Packet)──> SessionBuilder ──finish()──> Recording
///
/// Packets are kept per session and sorted by (time, arrival order) at the end, because a HAR
/// nests all websocket frames in one entry while polling bodies are separate entries.

#include "sio/common/engineio.hpp"
#include "sio/common/session.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace sio::recorder {

/// One Engine.IO packet as seen on a transport.
struct WirePacket {
  std::int64_t t_us = 0; ///< epoch microseconds
  std::uint64_t seq = 0; ///< arrival order, breaks ties in time
  Direction dir = Direction::client_to_server;
  Transport transport = Transport::polling;
  std::uint32_t origin = 0; ///< index of the place it came from (SessionBuilder::add_origin)
  std::uint32_t item = 0;   ///< index within that place (frame or packet number)
  eio::Packet packet;
};

/// A session being collected.
struct SessionDraft {
  Session meta;                    ///< everything but messages, filled by the source
  std::vector<WirePacket> packets; ///< unsorted
  std::int64_t first_us = std::numeric_limits<std::int64_t>::max(); ///< earliest request/packet
  std::int64_t last_us = std::numeric_limits<std::int64_t>::min();  ///< latest packet/response
  std::string pageref; ///< HAR page the session belongs to, when known
  std::map<std::tuple<int, std::string, std::string>, std::size_t> cookie_index; ///< dedupe
};

/// A non-Engine.IO HTTP exchange waiting to be attached to the session of its page.
struct PageExchange {
  HttpExchange exchange; ///< t_us is absolute (epoch µs) until attached
  std::string pageref;
  std::vector<CookieRecord> set_cookies; ///< t_us absolute until attached
};

class SessionBuilder {
public:
  /// The draft for Engine.IO session `sid`, created on first use.
  SessionDraft& session(const std::string& sid);
  /// The draft if it exists.
  SessionDraft* find(const std::string& sid);

  /// Registers a place packets come from ("a.har: $.log.entries[4]._webSocketMessages");
  /// `indexed`: items print as "[i]", else as " packet i".
  std::uint32_t add_origin(std::string where, bool indexed);
  /// "where" text of an origin and item.
  [[nodiscard]] std::string where(std::uint32_t origin, std::uint32_t item) const;
  /// "where" text of an origin alone.
  [[nodiscard]] const std::string& origin_text(std::uint32_t origin) const;

  /// Adds a packet to a session (seq is assigned here).
  void add(SessionDraft& s, WirePacket p);
  /// Widens the session's time span.
  static void touch(SessionDraft& s, std::int64_t t_us);
  /// Records that a transport carried this session's traffic.
  static void saw_transport(SessionDraft& s, Transport t);

  /// Records a cookie (deduplicated by kind, name and value; the first occurrence is kept
  /// with a count). Times are absolute until finish().
  static void add_cookie(SessionDraft& s, CookieRecord c);

  /// Queues a page exchange to be attached to a session of the same page at finish().
  void add_page_exchange(PageExchange x);

  /// Reports a problem (kept in order, listed in the recording's diagnostics).
  void diagnose(std::string kind, std::string where, std::string what, std::string sid = {});

  /// Decodes every session into Socket.IO messages and returns the recording.
  Recording finish(std::vector<std::string> sources);

private:
  void decode_session(SessionDraft& d, Session& out);

  std::vector<std::unique_ptr<SessionDraft>> drafts_;
  std::unordered_map<std::string, SessionDraft*> by_sid_;
  std::vector<std::pair<std::string, bool>> origins_;
  std::vector<PageExchange> page_exchanges_;
  std::vector<Diagnostic> diagnostics_;
  std::uint64_t next_seq_ = 0;
};

} // namespace sio::recorder
