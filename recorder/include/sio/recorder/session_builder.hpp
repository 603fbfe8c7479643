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
  std::string pageref;                ///< HAR page the session belongs to, when known
  std::string leg;                    ///< see SessionBuilder::session
  std::string key;                    ///< its key in the builder's index (sid, or sid and leg)
  std::vector<std::uint32_t> origins; ///< places its packets came from (see add_origin)
  int refs = 0;        ///< open connections that still deliver to it (pcap websockets)
  bool closed = false; ///< an Engine.IO close packet or a websocket close was seen
  std::map<std::tuple<int, std::string, std::string>, std::size_t> cookie_index; ///< dedupe
};

/// A non-Engine.IO HTTP exchange waiting to be attached to the session of its page.
struct PageExchange {
  HttpExchange exchange; ///< t_us is absolute (epoch µs) until attached
  std::string pageref;
  std::vector<CookieRecord> set_cookies; ///< t_us absolute until attached
  bool attached = false;                 ///< moved into a session already (streaming)
};

class SessionBuilder {
public:
  /// The draft for Engine.IO session `sid`, created on first use. `leg` (a pcap's server
  /// endpoint, "127.0.0.1:4080") keeps the same sid seen on two legs of a proxy apart until
  /// resolve_legs().
  SessionDraft& session(const std::string& sid, const std::string& leg = {});
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

  /// Which leg to keep when one sid was seen on several legs of a proxy.
  enum class LegChoice { client, upstream, both };
  /// Groups drafts by sid: the leg that started first is the client-facing one (a proxy forwards
  /// after it receives). `client` keeps it (and names the other legs' server as `upstream`),
  /// `upstream` keeps the others, `both` keeps all (marked with `leg`). Returns the number of
  /// sessions seen on more than one leg.
  std::size_t resolve_legs(LegChoice choice);

  /// Decodes every session into Socket.IO messages and returns the recording.
  Recording finish(std::vector<std::string> sources);

  /// Streaming (pcap, live): receives sessions as they end.
  class Sink {
  public:
    virtual ~Sink() = default;
    /// A finished session (id 0: positions are given when the recording is written).
    virtual void on_session(Session&& s) = 0;
  };
  /// Sessions that have ended by capture time `now_us` go to `sink` and are forgotten: those
  /// with no open connection left that either closed (Engine.IO close, websocket close) more than
  /// `grace_us` ago or have been silent for `idle_us`. All legs of one sid end together (legs
  /// resolved as resolve_legs() does). Returns the number of sessions seen on several legs.
  std::size_t flush_ended(std::int64_t now_us, std::int64_t grace_us, std::int64_t idle_us,
                          LegChoice choice, Sink& sink);
  /// End of input in streaming mode: every remaining session (legs resolved) goes to `sink`,
  /// in start order. Returns the number of sessions seen on several legs.
  std::size_t finish_into(LegChoice choice, Sink& sink);
  /// The diagnostics collected so far (moved out).
  std::vector<Diagnostic> take_diagnostics() { return std::move(diagnostics_); }
  /// Sessions (and proxy legs of sessions) seen so far, ended or not.
  [[nodiscard]] std::uint64_t sessions_seen() const noexcept { return sessions_seen_; }

private:
  void decode_session(SessionDraft& d, Session& out);
  /// Marks the legs of one sid (sorted by start); returns the drafts to drop.
  static void mark_legs(std::vector<SessionDraft*>& legs, LegChoice choice,
                        std::vector<SessionDraft*>& drop);
  /// The drafts in start order (then sid, so that output never depends on hash order).
  std::vector<SessionDraft*> in_start_order();
  static void sort_by_start(std::vector<SessionDraft*>& drafts);
  /// Page exchanges attached to sessions `order` (sorted by start); only those before `before_us`.
  std::vector<std::vector<PageExchange*>> attach_pages(const std::vector<SessionDraft*>& order,
                                                       std::int64_t before_us);
  /// Draft to session (messages decoded), without its position.
  Session make_session(SessionDraft& d, const std::vector<PageExchange*>& pages);
  /// Drops the given drafts (and the page exchanges already attached).
  void forget(const std::vector<SessionDraft*>& gone);

  std::vector<std::unique_ptr<SessionDraft>> drafts_;
  std::unordered_map<std::string, SessionDraft*> by_sid_;
  /// Places by id; those of a session are dropped when it is forgotten (streaming), so that a
  /// long capture does not keep a string per HTTP exchange it ever read.
  std::unordered_map<std::uint32_t, std::pair<std::string, bool>> origins_;
  std::uint32_t next_origin_ = 0;
  std::uint64_t sessions_seen_ = 0;
  std::vector<PageExchange> page_exchanges_;
  std::vector<Diagnostic> diagnostics_;
  std::uint64_t next_seq_ = 0;
};

} // namespace sio::recorder
