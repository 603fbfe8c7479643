#pragma once
/// The recording model: what the recorder produces and the converter and replayer consume.
/// Its JSON Lines form is documented in docs/recording.md (format "sioreplay-recording", v1).

#include "sio/common/socketio.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sio {

/// Version of the recording format written by this build.
inline constexpr int recording_version = 1;

/// Who sent a message.
enum class Direction : std::uint8_t { client_to_server, server_to_client };

/// "client->server" or "server->client".
std::string_view to_string(Direction d) noexcept;

/// Which Engine.IO transport carried a packet.
enum class Transport : std::uint8_t { polling, websocket };

/// "polling" or "websocket".
std::string_view to_string(Transport t) noexcept;

/// One Socket.IO packet of a session, with binary attachments already put back in place.
struct Message {
  std::int64_t t_us = 0; ///< time since the session's start, microseconds
  Direction dir = Direction::client_to_server;
  Transport transport = Transport::polling;
  sock::PacketType type = sock::PacketType::event;
  std::string nsp = "/";
  std::optional<Json> event;           ///< events: the name (a string, or a number)
  std::optional<Json> args;            ///< events: arguments after the name; acks: the payload
  std::optional<std::uint64_t> ack_id; ///< events wanting an ack, and acks
  std::optional<Json> data;            ///< CONNECT auth / {"sid"}, CONNECT_ERROR payload
  std::size_t attachments = 0;         ///< binary packets: how many attachments were joined
};

/// A cookie seen in a request (`Cookie`) or set by a response (`Set-Cookie`).
struct CookieRecord {
  enum class Kind : std::uint8_t { sent, set };
  Kind kind = Kind::sent;
  std::string name;
  std::string value;
  std::string attributes; ///< set: the Set-Cookie attributes as written ("Path=/; HttpOnly")
  std::string method;     ///< the first request it came with (sent) or answered (set)
  std::string url;        ///< that request's URL
  int status = 0;         ///< set: that response's status
  std::int64_t t_us = 0;  ///< time of that request, relative to the session's start (may be < 0)
  bool engineio = false;  ///< the request was an Engine.IO request of this session
  std::uint64_t count =
      1; ///< how many requests carried the same name=value (sent) / responses set it
};

/// A non-Engine.IO HTTP exchange of the page (document, scripts, API calls).
struct HttpExchange {
  std::string method;
  std::string url;
  int status = 0;
  std::int64_t t_us = 0;        ///< start, relative to the session's start (may be < 0)
  std::int64_t duration_us = 0; ///< total time, -1 when unknown
  std::string resource_type;    ///< Chrome's _resourceType when known
  std::string mime_type;        ///< response content type
  std::vector<std::pair<std::string, std::string>> request_headers; ///< those that matter
  std::optional<std::string> request_body; ///< POST/PUT text when small enough
};

/// Engine.IO packets that are counted, not replayed.
struct EngineCounts {
  std::uint64_t open = 0;
  std::uint64_t close = 0;
  std::uint64_t ping = 0;
  std::uint64_t pong = 0;
  std::uint64_t noop = 0;
  std::uint64_t upgrade = 0;
  std::uint64_t probe = 0; ///< "2probe" and "3probe"
};

/// One Engine.IO connection: its polling requests and the websocket it upgraded to.
struct Session {
  std::uint64_t id = 0; ///< 1-based position in the recording
  std::string sid;      ///< Engine.IO session id
  int eio = 4;          ///< Engine.IO protocol version, 3 or 4
  std::string url;      ///< scheme://host:port + path (http/https scheme)
  std::string path;     ///< e.g. "/socket.io/"
  std::vector<std::pair<std::string, std::string>> query; ///< params other than EIO/transport/t/sid
  std::vector<Transport> transports;                      ///< in the order first seen
  bool upgraded = false;                                  ///< polling then websocket
  std::int64_t started_us = 0;  ///< epoch microseconds of the first request
  std::int64_t duration_us = 0; ///< until the last packet
  std::string client;           ///< "ip:port" when known
  std::string server;           ///< "ip:port" when known
  std::string upstream;         ///< pcap through a proxy: "ip:port" of the replica that served it
  std::string leg; ///< pcap through a proxy: "client" or "upstream" leg; empty otherwise
  std::string user_agent;
  std::string origin;
  std::vector<std::pair<std::string, std::string>> headers; ///< other request headers that matter
  std::optional<Json> handshake;                            ///< the open packet's JSON
  std::vector<CookieRecord> cookies;
  std::vector<HttpExchange> http;
  std::vector<Message> messages;
  EngineCounts engine;
  std::string source; ///< input file the session came from
};

/// Something the recorder could not decode or had to guess, with where it happened.
struct Diagnostic {
  std::string kind;  ///< short stable code: "bad_eio_packet", "missing_ws_frames", ...
  std::string where; ///< "file.har: $.log.entries[12]._webSocketMessages[3]"
  std::string what;  ///< the problem, in words
  std::string sid;   ///< the session it concerns, when known
};

/// Everything one record run produced.
struct Recording {
  std::vector<std::string> sources; ///< input files
  std::vector<Session> sessions;
  std::vector<Diagnostic> diagnostics;
};

} // namespace sio
