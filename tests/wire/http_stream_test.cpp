#include "sio/wire/http_stream.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace sio::wire {
namespace {

using Kind = HttpConnection::ErrorKind;

const char* kind_name(Kind k) {
  switch (k) {
  case Kind::protocol:
    return "protocol";
  case Kind::gap:
    return "gap";
  case Kind::incomplete:
    return "incomplete";
  case Kind::limit:
    return "limit";
  case Kind::encoding:
    return "encoding";
  case Kind::http2:
    return "http2";
  }
  return "?";
}

struct Err {
  Side side;
  Kind kind;
  std::uint64_t offset;
  std::string what;
};

struct Exchange {
  bool has_req = false;
  HttpRequest req;
  HttpResponse resp;
};

/// Records everything a connection reports, plus a one-line-per-event log that tests compare
/// across different ways of cutting the same bytes into segments.
class Recorder : public HttpConnection::Handler {
public:
  std::vector<HttpRequest> requests;
  std::vector<Exchange> responses;
  std::vector<Exchange> upgrades;
  std::string raw[2];
  std::uint64_t raw_start[2] = {0, 0};
  std::uint64_t raw_next[2] = {0, 0};
  bool raw_contiguous = true;
  std::vector<std::uint64_t> raw_packets[2];
  std::vector<Err> errors;
  std::vector<std::string> log;

  void on_request(const HttpRequest& r) override {
    requests.push_back(r);
    log.push_back("REQ " + describe(r) + " " + r.method + " " + r.target);
  }
  void on_response(HttpRequest* req, HttpResponse& r) override {
    responses.push_back({req != nullptr, req ? *req : HttpRequest{}, r});
    log.push_back("RESP " + describe(r) + " " + std::to_string(r.status) + " " + r.reason + " to " +
                  (req ? req->method + " " + req->target : std::string("?")));
  }
  void on_upgrade(const HttpRequest* req, const HttpResponse& r) override {
    upgrades.push_back({req != nullptr, req ? *req : HttpRequest{}, r});
    log.push_back("UPGRADE " + describe(r) + " to " + (req ? req->target : std::string("?")));
  }
  void on_raw(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset, std::int64_t,
              std::uint64_t packet) override {
    const int i = side == Side::client ? 0 : 1;
    if (raw[i].empty())
      raw_start[i] = offset;
    else if (offset != raw_next[i])
      raw_contiguous = false;
    raw[i].append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    raw_next[i] = offset + bytes.size();
    raw_packets[i].push_back(packet);
  }
  void on_error(Side side, Kind kind, std::uint64_t offset, std::string what) override {
    log.push_back(std::string("ERR ") + to_string(side) + " " + kind_name(kind) + " " +
                  std::to_string(offset) + " " + what);
    errors.push_back({side, kind, offset, std::move(what)});
  }

  /// The log plus the raw bytes: what must not depend on how bytes were cut into segments.
  [[nodiscard]] std::vector<std::string> transcript() const {
    std::vector<std::string> t = log;
    for (int i = 0; i < 2; ++i)
      t.push_back("RAW" + std::to_string(i) + "@" + std::to_string(raw_start[i]) + " " + raw[i]);
    return t;
  }
  [[nodiscard]] std::size_t count(Kind k) const {
    std::size_t n = 0;
    for (const auto& e : errors) n += e.kind == k ? 1u : 0u;
    return n;
  }

private:
  static std::string describe(const HttpMessage& m) {
    // Appends, not one long operator+ chain: GCC 12 -O3 warns falsely (-Wrestrict) on those.
    std::string s = "@";
    s += std::to_string(m.offset);
    s += " ts ";
    s += std::to_string(m.ts_ns);
    s += "..";
    s += std::to_string(m.end_ns);
    s += " pk ";
    s += std::to_string(m.first_packet);
    s += "..";
    s += std::to_string(m.last_packet);
    s += " ";
    s += m.version;
    s += " body[";
    s += m.body;
    s += "]";
    if (m.body_decoded) s += " decoded";
    for (const auto& h : m.headers) {
      s += " {";
      s += h.name;
      s += ": ";
      s += h.value;
      s += "}";
    }
    return s;
  }
};

/// One captured segment of a side, or a gap of `gap` bytes.
struct Seg {
  Side side;
  std::string bytes;
  std::uint64_t gap = 0;
};
Seg C(std::string b) {
  return {Side::client, std::move(b), 0};
}
Seg S(std::string b) {
  return {Side::server, std::move(b), 0};
}
Seg Gap(Side side, std::uint64_t n) {
  return {side, {}, n};
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Feeds segments in order; segment i is packet i+1 at time (i+1) * 1000. `piece` > 0 cuts each
/// segment into feeds of at most that many bytes (same packet and time: how a TLS layer or a
/// reassembler may deliver one packet in parts). Returns the offsets reached per side.
void play(HttpConnection& conn, const std::vector<Seg>& segs, std::size_t piece = 0,
          bool close = true) {
  std::uint64_t off[2] = {0, 0};
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const Seg& s = segs[i];
    const int k = s.side == Side::client ? 0 : 1;
    const auto ts = static_cast<std::int64_t>(i + 1) * 1000;
    if (s.gap > 0) {
      conn.gap(s.side, off[k], s.gap, ts);
      off[k] += s.gap;
      continue;
    }
    const std::size_t step = piece == 0 ? s.bytes.size() : piece;
    for (std::size_t at = 0; at < s.bytes.size(); at += step) {
      const std::string part = s.bytes.substr(at, step);
      conn.feed(s.side, bytes_of(part), off[k] + at, ts, i + 1);
    }
    off[k] += s.bytes.size();
  }
  if (close) conn.close(static_cast<std::int64_t>(segs.size() + 1) * 1000);
}

std::vector<std::string> transcript_of(const std::vector<Seg>& segs, std::size_t piece = 0,
                                       HttpConnection::Limits limits = {}) {
  Recorder r;
  HttpConnection conn(r, limits);
  play(conn, segs, piece);
  return r.transcript();
}

std::string gzip(const std::string& plain, int window_bits = 16 + 15) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(plain.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}
std::string zlib_deflate(const std::string& plain) {
  return gzip(plain, 15);
}
std::string raw_deflate(const std::string& plain) {
  return gzip(plain, -15);
}

std::string response(const std::string& status, const std::string& headers,
                     const std::string& body) {
  return "HTTP/1.1 " + status + "\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// ---- basic framing ---------------------------------------------------------------------------

TEST(HttpStream, FindHeaderIgnoresCase) {
  std::vector<HttpHeader> h{{"Content-Type", "text/plain"}, {"X-A", "1"}, {"x-a", "2"}};
  ASSERT_NE(find_header(h, "content-TYPE"), nullptr);
  EXPECT_EQ(*find_header(h, "content-type"), "text/plain");
  EXPECT_EQ(*find_header(h, "X-a"), "1");
  EXPECT_EQ(find_header(h, "Content-Length"), nullptr);
  EXPECT_EQ(find_header(h, "X-"), nullptr);
}

TEST(HttpStream, ContentLengthRequestAndResponse) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("POST /submit?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Odd:   spaced value \t\r\n"
                "Content-Length: 11\r\n\r\nhello"),
              C(" world"), S("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")});
  ASSERT_EQ(r.requests.size(), 1u);
  const HttpRequest& q = r.requests[0];
  EXPECT_EQ(q.method, "POST");
  EXPECT_EQ(q.target, "/submit?x=1");
  EXPECT_EQ(q.version, "HTTP/1.1");
  EXPECT_EQ(q.body, "hello world");
  EXPECT_FALSE(q.body_decoded);
  ASSERT_EQ(q.headers.size(), 3u);
  EXPECT_EQ(q.headers[1].name, "X-Odd");
  EXPECT_EQ(q.headers[1].value, "spaced value");
  EXPECT_EQ(q.offset, 0u);
  EXPECT_EQ(q.ts_ns, 1000);
  EXPECT_EQ(q.end_ns, 2000);
  EXPECT_EQ(q.first_packet, 1u);
  EXPECT_EQ(q.last_packet, 2u);
  ASSERT_EQ(r.responses.size(), 1u);
  const Exchange& x = r.responses[0];
  ASSERT_TRUE(x.has_req);
  EXPECT_EQ(x.req.target, "/submit?x=1");
  EXPECT_EQ(x.resp.status, 201);
  EXPECT_EQ(x.resp.reason, "Created");
  EXPECT_EQ(x.resp.body, "ok");
  EXPECT_EQ(x.resp.ts_ns, 3000);
  EXPECT_EQ(x.resp.end_ns, 3000);
  EXPECT_EQ(x.resp.first_packet, 3u);
  EXPECT_TRUE(r.errors.empty()) << r.errors[0].what;
  EXPECT_FALSE(conn.upgraded());
}

TEST(HttpStream, ChunkedWithExtensionsAndTrailers) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("GET /c HTTP/1.1\r\nHost: h\r\n\r\n"),
              S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
                "Content-Type: text/plain\r\n\r\n"
                "5;name=value;flag\r\nhello\r\n"
                "1\r\n \r\n"
                "A ; ext=\"quoted;x\"\r\n0123456789\r\n"
                "0\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n")});
  ASSERT_EQ(r.responses.size(), 1u);
  const HttpResponse& p = r.responses[0].resp;
  // gzip listed in Transfer-Encoding is not a Content-Encoding: the body stays as it came.
  EXPECT_EQ(p.body, "hello 0123456789");
  ASSERT_NE(find_header(p.headers, "x-checksum"), nullptr);
  EXPECT_EQ(*find_header(p.headers, "x-checksum"), "abc");
  EXPECT_EQ(*find_header(p.headers, "x-more"), "1");
  EXPECT_TRUE(r.errors.empty());
}

TEST(HttpStream, ChunkedRequestWithBareLineFeeds) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("POST /p HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n"),
              S("HTTP/1.1 204 No Content\n\n")});
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].body, "abc");
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].resp.status, 204);
  EXPECT_TRUE(r.errors.empty());
}

TEST(HttpStream, GzipAndDeflateBodiesAreDecoded) {
  std::string plain;
  for (int i = 0; i < 200; ++i) plain += "42[\"tick\",{\"n\":" + std::to_string(i) + "}]\x1e";
  const std::string gz = gzip(plain), zl = zlib_deflate(plain), rd = raw_deflate(plain);
  ASSERT_LT(gz.size(), plain.size());
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n"
                "POST /d HTTP/1.1\r\nContent-Encoding: GZIP\r\nContent-Length: " +
                std::to_string(gz.size()) + "\r\n\r\n" + gz),
              S(response("200 OK", "Content-Encoding: gzip\r\n", gz) +
                response("200 OK", "Content-Encoding: deflate\r\n", zl) +
                response("200 OK", "Content-Encoding: deflate\r\n", rd) +
                response("200 OK", "Content-Encoding: identity\r\n", "as is"))});
  ASSERT_EQ(r.requests.size(), 4u);
  EXPECT_EQ(r.requests[3].body, plain);
  EXPECT_TRUE(r.requests[3].body_decoded);
  ASSERT_EQ(r.responses.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.responses[static_cast<std::size_t>(i)].resp.body, plain) << i;
    EXPECT_TRUE(r.responses[static_cast<std::size_t>(i)].resp.body_decoded) << i;
  }
  EXPECT_EQ(r.responses[3].resp.body, "as is");
  EXPECT_FALSE(r.responses[3].resp.body_decoded);
  EXPECT_TRUE(r.errors.empty());
}

TEST(HttpStream, GzipInsideChunkedAndMultipleMembers) {
  const std::string a = gzip("first half, "), b = gzip("second half");
  const std::string gz = a + b; // two gzip members in a row (RFC 1952)
  std::string chunked;
  for (std::size_t i = 0; i < gz.size(); i += 7) {
    const std::string part = gz.substr(i, 7);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", part.size());
    chunked += std::string(size) + "\r\n" + part + "\r\n";
  }
  chunked += "0\r\n\r\n";
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("GET / HTTP/1.1\r\n\r\n"),
              S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n" +
                chunked)});
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].resp.body, "first half, second half");
  EXPECT_TRUE(r.responses[0].resp.body_decoded);
}

TEST(HttpStream, BadEncodingKeepsBodyAsSent) {
  std::string gz = gzip(std::string(1000, 'x'));
  const std::string truncated = gz.substr(0, gz.size() / 2);
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n"),
              S(response("200 OK", "Content-Encoding: gzip\r\n", "not gzip at all") +
                response("200 OK", "Content-Encoding: gzip\r\n", truncated) +
                response("200 OK", "Content-Encoding: br\r\n", "brotli?"))});
  ASSERT_EQ(r.responses.size(), 3u);
  EXPECT_EQ(r.responses[0].resp.body, "not gzip at all");
  EXPECT_FALSE(r.responses[0].resp.body_decoded);
  EXPECT_EQ(r.responses[1].resp.body, truncated);
  EXPECT_EQ(r.responses[2].resp.body, "brotli?");
  EXPECT_EQ(r.count(Kind::encoding), 3u);
  EXPECT_EQ(r.errors.size(), 3u);
  // The error points at the response's first byte.
  EXPECT_EQ(r.errors[0].offset, 0u);
  EXPECT_EQ(r.errors[0].side, Side::server);
}

// ---- pipelining, keep-alive, bodiless responses ------------------------------------------------

std::vector<Seg> pipelined() {
  return {C("GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
            "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde"
            "HEAD /three HTTP/1.1\r\nHost: h\r\n\r\n"
            "PUT /four HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"),
          S("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n111"
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n222\r\n0\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" // HEAD: no body follows
            "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nread until close")};
}

TEST(HttpStream, PipelinedRequestsArePairedInOrder) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, pipelined());
  ASSERT_EQ(r.requests.size(), 4u);
  EXPECT_EQ(r.requests[1].body, "abcde");
  EXPECT_EQ(r.requests[3].body, "xy");
  ASSERT_EQ(r.responses.size(), 4u);
  const char* targets[] = {"/one", "/two", "/three", "/four"};
  const char* bodies[] = {"111", "222", "", "read until close"};
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(r.responses[i].has_req) << i;
    EXPECT_EQ(r.responses[i].req.target, targets[i]);
    EXPECT_EQ(r.responses[i].resp.body, bodies[i]);
  }
  EXPECT_EQ(r.responses[3].resp.version, "HTTP/1.0");
  EXPECT_TRUE(r.errors.empty());
}

TEST(HttpStream, SameResultsWhateverTheSegmentation) {
  const std::vector<Seg> segs = pipelined();
  const auto whole = transcript_of(segs);
  EXPECT_EQ(transcript_of(segs, 1), whole);
  EXPECT_EQ(transcript_of(segs, 2), whole);
  EXPECT_EQ(transcript_of(segs, 3), whole);
  // Every split point of each side's single segment into two packets: the messages are the same
  // (only packet numbers and times move, so compare bodies and pairing).
  for (int side = 0; side < 2; ++side) {
    const std::string& all = segs[static_cast<std::size_t>(side)].bytes;
    for (std::size_t cut = 1; cut < all.size(); ++cut) {
      std::vector<Seg> split = segs;
      split[static_cast<std::size_t>(side)].bytes = all.substr(0, cut);
      split.insert(split.begin() + side + 1,
                   {segs[static_cast<std::size_t>(side)].side, all.substr(cut), 0});
      Recorder r;
      HttpConnection conn(r);
      play(conn, split);
      ASSERT_EQ(r.requests.size(), 4u) << side << " " << cut;
      ASSERT_EQ(r.responses.size(), 4u) << side << " " << cut;
      EXPECT_EQ(r.responses[1].resp.body, "222");
      EXPECT_EQ(r.responses[2].req.method, "HEAD");
      EXPECT_EQ(r.responses[3].resp.body, "read until close");
      EXPECT_TRUE(r.errors.empty()) << side << " " << cut << ": " << r.errors[0].what;
    }
  }
}

TEST(HttpStream, KeepAliveSequenceKeepsTimesAndPackets) {
  std::vector<Seg> segs;
  for (int i = 0; i < 5; ++i) {
    segs.push_back(C("GET /poll/" + std::to_string(i) + " HTTP/1.1\r\n\r\n"));
    segs.push_back(S(response("200 OK", "", "body" + std::to_string(i))));
  }
  Recorder r;
  HttpConnection conn(r);
  play(conn, segs);
  ASSERT_EQ(r.responses.size(), 5u);
  std::uint64_t req_off = 0, resp_off = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    const Exchange& x = r.responses[i];
    EXPECT_EQ(x.req.target, "/poll/" + std::to_string(i));
    EXPECT_EQ(x.resp.body, "body" + std::to_string(i));
    EXPECT_EQ(x.req.first_packet, 2 * i + 1);
    EXPECT_EQ(x.resp.first_packet, 2 * i + 2);
    EXPECT_EQ(x.resp.ts_ns, static_cast<std::int64_t>(2 * i + 2) * 1000);
    EXPECT_EQ(x.req.offset, req_off);
    EXPECT_EQ(x.resp.offset, resp_off);
    req_off += segs[2 * i].bytes.size();
    resp_off += segs[2 * i + 1].bytes.size();
  }
}

TEST(HttpStream, HeadAnd204And304HaveNoBody) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("HEAD /h HTTP/1.1\r\n\r\nGET /nc HTTP/1.1\r\n\r\nGET /nm HTTP/1.1\r\n\r\n"
                "GET /last HTTP/1.1\r\n\r\n"),
              S("HTTP/1.1 200 OK\r\nContent-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n"
                "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n" +
                response("200 OK", "", "done"))});
  ASSERT_EQ(r.responses.size(), 4u);
  EXPECT_EQ(r.responses[0].resp.status, 200);
  EXPECT_EQ(r.responses[0].resp.body, "");
  EXPECT_EQ(r.responses[1].resp.status, 204);
  EXPECT_EQ(r.responses[2].resp.status, 304);
  EXPECT_EQ(r.responses[3].req.target, "/last");
  EXPECT_EQ(r.responses[3].resp.body, "done");
  EXPECT_TRUE(r.errors.empty());
}

TEST(HttpStream, InterimResponsesAreSkipped) {
  Recorder r;
  HttpConnection conn(r);
  const std::string interim1 = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string interim2 = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n";
  play(conn, {C("POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"),
              S(interim1), C("abc"), S(interim2 + response("200 OK", "", "k"))});
  ASSERT_EQ(r.responses.size(), 1u);
  ASSERT_TRUE(r.responses[0].has_req);
  EXPECT_EQ(r.responses[0].req.body, "abc");
  EXPECT_EQ(r.responses[0].resp.status, 200);
  EXPECT_EQ(r.responses[0].resp.offset, interim1.size() + interim2.size());
}

TEST(HttpStream, ReadUntilClose) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("GET /stream HTTP/1.0\r\n\r\n"), S("HTTP/1.0 200 OK\r\nServer: old\r\n\r\npart1 "),
              S("part2 "), S("part3")});
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].resp.body, "part1 part2 part3");
  EXPECT_EQ(r.responses[0].resp.ts_ns, 2000);
  EXPECT_EQ(r.responses[0].resp.end_ns, 4000);
  EXPECT_EQ(r.responses[0].resp.last_packet, 4u);
  EXPECT_TRUE(r.errors.empty());
}

TEST(HttpStream, RequestWithoutLengthHasNoBody) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("POST /x HTTP/1.1\r\n\r\nGET /y HTTP/1.1\r\n\r\n")});
  ASSERT_EQ(r.requests.size(), 2u);
  EXPECT_EQ(r.requests[0].body, "");
  EXPECT_EQ(r.requests[1].target, "/y");
}

// ---- Engine.IO -------------------------------------------------------------------------------

TEST(HttpStream, EngineIoPollingExchange) {
  const std::string open =
      R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,)"
      R"("pingTimeout":20000,"maxPayload":1000000})";
  Recorder r;
  HttpConnection conn(r);
  play(conn,
       {C("GET /socket.io/?EIO=4&transport=polling&t=OvzW4c1 HTTP/1.1\r\nHost: 127.0.0.1:4080\r\n"
          "Accept: */*\r\nConnection: keep-alive\r\n\r\n"),
        S("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: " +
          std::to_string(open.size()) +
          "\r\ncache-control: no-store\r\nSet-Cookie: route=a1; Path=/\r\n"
          "Date: Sat, 01 Jan 2022 00:00:00 GMT\r\nConnection: keep-alive\r\n\r\n" +
          open),
        C("POST /socket.io/?EIO=4&transport=polling&t=OvzW4dA&sid=lv_VI97HAXpY6yYWAAAC "
          "HTTP/1.1\r\nHost: 127.0.0.1:4080\r\nContent-Type: text/plain;charset=UTF-8\r\n"
          "Content-Length: 2\r\nCookie: route=a1\r\n\r\n40"),
        S("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok")});
  ASSERT_EQ(r.responses.size(), 2u);
  EXPECT_EQ(r.responses[0].req.target, "/socket.io/?EIO=4&transport=polling&t=OvzW4c1");
  EXPECT_EQ(r.responses[0].resp.body, open);
  EXPECT_EQ(*find_header(r.responses[0].resp.headers, "set-cookie"), "route=a1; Path=/");
  EXPECT_EQ(r.responses[1].req.body, "40");
  EXPECT_EQ(*find_header(r.responses[1].req.headers, "cookie"), "route=a1");
  EXPECT_EQ(r.responses[1].resp.body, "ok");
  EXPECT_TRUE(r.errors.empty());
}

// ---- upgrade ---------------------------------------------------------------------------------

const std::string ws_request =
    "GET /socket.io/?EIO=4&transport=websocket&sid=abc HTTP/1.1\r\nHost: h\r\n"
    "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
const std::string ws_response =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

TEST(HttpStream, UpgradeHandsOnEveryLaterByte) {
  const std::string client_frame = "\x81\x85\x01\x02\x03\x04qwert"; // masked "2probe"-like
  const std::string server_frame = "\x81\x06"
                                   "3probe";
  for (const std::size_t piece : {0u, 1u, 5u}) {
    SCOPED_TRACE(piece);
    Recorder r;
    HttpConnection conn(r);
    play(conn,
         {C(ws_request + client_frame), S(ws_response + server_frame),
          C(std::string("\x88\x80\0\0\0\0", 6)),
          S("\x81\x01"
            "6")},
         piece);
    EXPECT_TRUE(conn.upgraded());
    ASSERT_EQ(r.upgrades.size(), 1u);
    ASSERT_TRUE(r.upgrades[0].has_req);
    EXPECT_EQ(r.upgrades[0].req.target, "/socket.io/?EIO=4&transport=websocket&sid=abc");
    EXPECT_EQ(r.upgrades[0].resp.status, 101);
    EXPECT_EQ(r.requests.size(), 1u);
    EXPECT_TRUE(r.responses.empty());
    EXPECT_EQ(r.raw[0], client_frame + std::string("\x88\x80\0\0\0\0", 6));
    EXPECT_EQ(r.raw[1], server_frame + "\x81\x01"
                                       "6");
    EXPECT_EQ(r.raw_start[0], ws_request.size());
    EXPECT_EQ(r.raw_start[1], ws_response.size());
    EXPECT_TRUE(r.raw_contiguous);
    EXPECT_EQ(r.raw_packets[0].front(), 1u); // the client frame came with the request
    EXPECT_TRUE(r.errors.empty());
    // The upgrade comes before the raw bytes.
    EXPECT_EQ(r.log[1].rfind("UPGRADE", 0), 0u);
  }
}

TEST(HttpStream, GapAfterUpgradeIsPassedOn) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C(ws_request), S(ws_response),
              S("\x81\x01"
                "a"),
              Gap(Side::server, 10),
              S("\x81\x01"
                "b")});
  ASSERT_EQ(r.count(Kind::gap), 1u);
  EXPECT_EQ(r.errors[0].offset, ws_response.size() + 3);
  EXPECT_EQ(r.errors[0].side, Side::server);
  EXPECT_EQ(r.raw[1], "\x81\x01"
                      "a\x81\x01"
                      "b");
}

TEST(HttpStream, RefusedUpgradeReadsHeldBytesAsHttp) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C(ws_request + "GET /next HTTP/1.1\r\n\r\n"), C("GET /third HTTP/1.1\r\n\r\n"),
              S(response("400 Bad Request", "", "no") + response("200 OK", "", "n") +
                response("200 OK", "", "t"))});
  EXPECT_FALSE(conn.upgraded());
  ASSERT_EQ(r.requests.size(), 3u);
  ASSERT_EQ(r.responses.size(), 3u);
  EXPECT_EQ(r.responses[0].resp.status, 400);
  EXPECT_EQ(r.responses[1].req.target, "/next");
  EXPECT_EQ(r.responses[2].req.target, "/third");
  EXPECT_EQ(r.responses[2].req.first_packet, 2u);
  EXPECT_TRUE(r.raw[0].empty());
  EXPECT_TRUE(r.errors.empty());
}

TEST(HttpStream, UpgradeRequestWithoutResponseIsReadAtClose) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C(ws_request + "GET /after HTTP/1.1\r\n\r\n")});
  ASSERT_EQ(r.requests.size(), 2u);
  EXPECT_EQ(r.requests[1].target, "/after");
}

TEST(HttpStream, UnansweredUpgradeRequestsInARow) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C(ws_request + ws_request + "GET /x HTTP/1.1\r\n\r\n")});
  ASSERT_EQ(r.requests.size(), 3u);
  EXPECT_EQ(r.requests[2].target, "/x");
  EXPECT_TRUE(r.errors.empty()) << r.errors[0].what;
}

TEST(HttpStream, ConnectTunnelIsNotParsed) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
              S("HTTP/1.1 200 Connection Established\r\n\r\n"),
              C("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), S("\x16\x03\x03\x00\x5a")});
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].req.method, "CONNECT");
  EXPECT_EQ(r.responses[0].resp.body, "");
  EXPECT_TRUE(r.errors.empty());
}

TEST(HttpStream, H2cUpgradeIsHttp2) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("GET / HTTP/1.1\r\nUpgrade: h2c\r\nHTTP2-Settings: AAA\r\n\r\n"),
              S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\0\0\0\4"), C("x")});
  EXPECT_EQ(r.count(Kind::http2), 1u);
  EXPECT_FALSE(conn.upgraded());
  EXPECT_TRUE(r.raw[0].empty());
}

// ---- damaged streams -------------------------------------------------------------------------

TEST(HttpStream, MidStreamStartResynchronises) {
  Recorder r;
  HttpConnection conn(r);
  const std::string client_junk = "dy of a previous POST\r\nmore body\r\n";
  const std::string server_junk = "\"tail\":1}\r\nHTTP/1.1 nope\r\n";
  play(conn, {C(client_junk), C("GET /a HTTP/1.1\r\n\r\n"),
              S(server_junk + "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA")});
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].target, "/a");
  EXPECT_EQ(r.requests[0].offset, client_junk.size());
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].resp.body, "A");
  EXPECT_EQ(r.responses[0].req.target, "/a");
  // Once per side, with where the skipped bytes began.
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].kind, Kind::protocol);
  EXPECT_EQ(r.errors[0].side, Side::client);
  EXPECT_EQ(r.errors[0].offset, 0u);
  EXPECT_NE(r.errors[0].what.find(std::to_string(client_junk.size()) + " byte(s)"),
            std::string::npos)
      << r.errors[0].what;
  EXPECT_EQ(r.errors[1].side, Side::server);
  EXPECT_EQ(r.errors[1].offset, 0u);
  EXPECT_NE(r.errors[1].what.find(std::to_string(server_junk.size()) + " byte(s)"),
            std::string::npos)
      << r.errors[1].what;
}

TEST(HttpStream, MidStreamStartWithBinaryBytes) {
  std::string junk;
  for (int i = 0; i < 3000; ++i) junk += static_cast<char>((i * 7919) & 0xff);
  const std::string segs_bytes = junk + "\nPOST /b HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
  for (const std::size_t piece : {0u, 1u, 100u}) {
    Recorder r;
    HttpConnection conn(r);
    play(conn, {C(segs_bytes)}, piece);
    ASSERT_EQ(r.requests.size(), 1u) << piece;
    EXPECT_EQ(r.requests[0].method, "POST");
    EXPECT_EQ(r.count(Kind::protocol), 1u);
  }
}

TEST(HttpStream, GapInsideBodyLosesOnlyThatMessage) {
  const std::string first = response("200 OK", "", std::string(100, 'a'));
  const std::string second = response("200 OK", "", "second");
  Recorder r;
  HttpConnection conn(r);
  // 30 bytes of the first body never arrive; the second response starts exactly where expected.
  const std::size_t cut = first.size() - 60;
  play(conn, {C("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"), S(first.substr(0, cut)),
              Gap(Side::server, 30), S(first.substr(cut + 30) + second)});
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].req.target, "/2");
  EXPECT_EQ(r.responses[0].resp.body, "second");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].kind, Kind::gap);
  EXPECT_EQ(r.errors[0].offset, cut);
}

TEST(HttpStream, GapAcrossMessagesResynchronises) {
  const std::string a = response("200 OK", "", "aaaa"), b = response("200 OK", "", "bbbb");
  const std::string c = response("200 OK", "", "cccc");
  Recorder r;
  HttpConnection conn(r);
  // The end of a, and b's start, are missing: b is lost, c answers /3.
  play(conn, {C("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"),
              S(a.substr(0, 10)), Gap(Side::server, a.size() - 10 + 5), S(b.substr(5) + c)});
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].resp.body, "cccc");
  EXPECT_EQ(r.responses[0].req.target, "/3");
  EXPECT_EQ(r.count(Kind::gap), 1u);
  EXPECT_EQ(r.errors.size(), 1u); // the skipped tail of b is part of what the gap lost
}

TEST(HttpStream, WholeResponsesLostInAGapDoNotShiftThePairing) {
  // A browser does not pipeline: the request after a lost response was sent after it.
  Recorder r;
  HttpConnection conn(r);
  const std::string lost = response("200 OK", "", "lost");
  play(conn, {C("GET /1 HTTP/1.1\r\n\r\n"), S(response("200 OK", "", "one")),
              C("GET /2 HTTP/1.1\r\n\r\n"), Gap(Side::server, lost.size()),
              C("GET /3 HTTP/1.1\r\n\r\n"), S(response("200 OK", "", "three")),
              C("GET /4 HTTP/1.1\r\n\r\n"), S(response("200 OK", "", "four"))});
  ASSERT_EQ(r.responses.size(), 3u);
  EXPECT_EQ(r.responses[1].req.target, "/3");
  EXPECT_EQ(r.responses[1].resp.body, "three");
  EXPECT_EQ(r.responses[2].req.target, "/4");
}

TEST(HttpStream, GapInsideRequestHead) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("GET /lost HTTP/1.1\r\nHost: "), Gap(Side::client, 20),
              C("x\r\n\r\nGET /kept HTTP/1.1\r\n\r\n"), S(response("200 OK", "", "k"))});
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].target, "/kept");
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].req.target, "/kept");
  EXPECT_EQ(r.count(Kind::gap), 1u);
}

TEST(HttpStream, GapInReadUntilCloseBody) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("GET / HTTP/1.1\r\n\r\n"), S("HTTP/1.1 200 OK\r\n\r\nabc"), Gap(Side::server, 4),
              S("def")});
  EXPECT_TRUE(r.responses.empty());
  EXPECT_EQ(r.count(Kind::gap), 1u);
  EXPECT_EQ(r.errors.size(), 1u);
}

TEST(HttpStream, Http2PrefaceIgnoresTheConnection) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\x12\x04\0\0\0\0\0", 33)),
              S(std::string("\0\0\0\x04\0\0\0\0\0", 9)), C("GET / HTTP/1.1\r\n\r\n")});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].kind, Kind::http2);
  EXPECT_TRUE(r.requests.empty());
}

TEST(HttpStream, BadChunkSizeIsAProtocolError) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
              S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" +
                response("200 OK", "", "two"))});
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].resp.body, "two");
  // The lost response still answered /1.
  EXPECT_EQ(r.responses[0].req.target, "/2");
  EXPECT_EQ(r.count(Kind::protocol), 1u);
  EXPECT_EQ(r.errors.size(), 1u);
}

TEST(HttpStream, InvalidContentLengthIsAProtocolError) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("POST /a HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef"
                "POST /b HTTP/1.1\r\nContent-Length: 12x\r\n\r\n"
                "GET /c HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nok")});
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].target, "/c");
  EXPECT_EQ(r.requests[0].body, "ok");
  EXPECT_EQ(r.count(Kind::protocol), 2u);
}

TEST(HttpStream, CloseInsideAMessageIsIncomplete) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"),
              S("HTTP/1.1 200 OK\r\nContent-Le")});
  EXPECT_EQ(r.requests.size(), 1u);
  EXPECT_TRUE(r.responses.empty());
  ASSERT_EQ(r.count(Kind::incomplete), 2u);
  EXPECT_EQ(r.errors[0].offset, std::string("GET /1 HTTP/1.1\r\n\r\n").size());
  EXPECT_NE(r.errors[0].what.find("7 body byte(s) missing"), std::string::npos);
}

TEST(HttpStream, CloseInsideAStartLineIsIncomplete) {
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C("GET /1 HTTP/1.1\r\n\r\nGET /socket.io/?EIO=4")});
  EXPECT_EQ(r.requests.size(), 1u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].kind, Kind::incomplete);
}

// ---- limits ----------------------------------------------------------------------------------

TEST(HttpStream, HeadOverTheLimit) {
  HttpConnection::Limits limits;
  limits.max_head = 200;
  Recorder r;
  HttpConnection conn(r, limits);
  play(conn,
       {C("GET /big HTTP/1.1\r\nX-Big: " + std::string(300, 'x') +
          "\r\n\r\nGET /small HTTP/1.1\r\n\r\n")},
       1);
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].target, "/small");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].kind, Kind::limit);
  EXPECT_EQ(r.errors[0].offset, 0u);
}

TEST(HttpStream, BodyOverTheLimit) {
  HttpConnection::Limits limits;
  limits.max_body = 1000;
  const std::string bomb = gzip(std::string(100000, '0'));
  ASSERT_LT(bomb.size(), 1000u);
  Recorder r;
  HttpConnection conn(r, limits);
  play(conn,
       {C("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"
          "GET /4 HTTP/1.1\r\n\r\n"),
        S(response("200 OK", "", std::string(1001, 'b')) +
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n300\r\n" + std::string(768, 'c') +
          "\r\n300\r\n" + std::string(768, 'c') + "\r\n0\r\n\r\n" +
          response("200 OK", "Content-Encoding: gzip\r\n", bomb) +
          response("200 OK", "", std::string(1000, 'd')))},
       0);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].req.target, "/4");
  EXPECT_EQ(r.responses[0].resp.body.size(), 1000u);
  EXPECT_EQ(r.count(Kind::limit), 3u);
  EXPECT_EQ(r.errors.size(), 3u);
}

TEST(HttpStream, ManyMessagesCostLinearTime) {
  // 20000 polling exchanges fed a few bytes at a time: quadratic buffering would take minutes.
  std::string client, server;
  for (int i = 0; i < 20000; ++i) {
    client +=
        "POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nContent-Length: 2\r\n\r\n40";
    server += response("200 OK", "Content-Type: text/html\r\n", "ok");
  }
  Recorder r;
  HttpConnection conn(r);
  play(conn, {C(client), S(server)}, 7);
  EXPECT_EQ(r.responses.size(), 20000u);
  EXPECT_TRUE(r.errors.empty());
}

// ---- robustness ------------------------------------------------------------------------------

TEST(HttpStream, MutatedStreamsNeverCrash) {
  const std::string gz = gzip("hello hello hello");
  const std::string base_client = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "4;x=y\r\nabcd\r\n0\r\nT: 1\r\n\r\n" +
                                  ws_request + "\x81\x82\1\2\3\4ab";
  const std::string base_server = response("200 OK", "Content-Encoding: gzip\r\n", gz) +
                                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "3\r\nxyz\r\n0\r\n\r\n" +
                                  ws_response + "\x81\x01z";
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string c = base_client, s = base_server;
    for (std::string* t : {&c, &s}) {
      const int edits = static_cast<int>(rng() % 6);
      for (int e = 0; e < edits && !t->empty(); ++e) {
        const std::size_t at = rng() % t->size();
        switch (rng() % 3) {
        case 0:
          (*t)[at] = static_cast<char>(rng());
          break;
        case 1:
          t->erase(at, rng() % 8);
          break;
        default:
          t->insert(at, std::string(rng() % 4 + 1, "\r\n0:; "[rng() % 6]));
          break;
        }
      }
    }
    HttpConnection::Limits limits;
    limits.max_head = 1 + rng() % 200;
    limits.max_body = rng() % 100;
    Recorder r;
    HttpConnection conn(r, limits);
    std::vector<Seg> segs;
    std::size_t ci = 0, si = 0;
    while (ci < c.size() || si < s.size()) {
      const bool client_turn = si >= s.size() || (ci < c.size() && rng() % 2 == 0);
      const std::size_t n = 1 + rng() % 40;
      if (rng() % 25 == 0)
        segs.push_back(Gap(client_turn ? Side::client : Side::server, rng() % 9));
      if (client_turn) {
        segs.push_back(C(c.substr(ci, n)));
        ci += n;
      } else {
        segs.push_back(S(s.substr(si, n)));
        si += n;
      }
    }
    play(conn, segs, rng() % 3);
  }
}

} // namespace
} // namespace sio::wire
