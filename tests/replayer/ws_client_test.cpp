/// The replayer's lean WebSocket client against a scripted server on 127.0.0.1: the frames a
/// Node server does not send on its own (fragments, pings, 16- and 64-bit lengths, a frame in
/// the same segment as the 101, masked server frames) and the client's own masked frames.
/// Against real socket.io servers it runs in every replay integration test.

#include "../../replayer/src/detail/ws_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/websocket/error.hpp>

#include <gtest/gtest.h>

#include <optional>

namespace sio::replayer::detail {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

TEST(WsClient, AcceptKeyIsTheRfcExample) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/// An unmasked (server) frame, or a masked one with `key`.
std::string server_frame(unsigned first_byte, std::string_view payload,
                         std::optional<std::array<unsigned char, 4>> key = std::nullopt) {
  std::string f(1, static_cast<char>(first_byte));
  const std::size_t n = payload.size();
  const char mask_bit = key ? '\x80' : '\0';
  if (n < 126) {
    f += static_cast<char>(mask_bit | static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xFF);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((n >> (8 * i)) & 0xFF);
  }
  std::string body(payload);
  if (key) {
    f.append(reinterpret_cast<const char*>(key->data()), 4);
    for (std::size_t i = 0; i < body.size(); ++i)
      body[i] = static_cast<char>(body[i] ^ (*key)[i % 4]);
  }
  return f + body;
}

/// Reads one client frame: its first byte and unmasked payload; fails if it is not masked.
net::awaitable<std::pair<unsigned, std::string>> read_client_frame(tcp::socket& s) {
  unsigned char h[2];
  co_await net::async_read(s, net::buffer(h), net::use_awaitable);
  EXPECT_TRUE(h[1] & 0x80) << "client frames are masked";
  std::uint64_t n = h[1] & 0x7F;
  if (n == 126 || n == 127) {
    unsigned char ext[8];
    const std::size_t k = n == 126 ? 2 : 8;
    co_await net::async_read(s, net::buffer(ext, k), net::use_awaitable);
    n = 0;
    for (std::size_t i = 0; i < k; ++i) n = n << 8 | ext[i];
  }
  unsigned char key[4];
  co_await net::async_read(s, net::buffer(key), net::use_awaitable);
  std::string body(static_cast<std::size_t>(n), '\0');
  co_await net::async_read(s, net::buffer(body), net::use_awaitable);
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(body[i] ^ key[i % 4]);
  co_return std::pair<unsigned, std::string>{h[0], body};
}

using Client = WsClient<boost::beast::tcp_stream>;

/// The server side: accepts one connection and reads its upgrade request.
net::awaitable<std::pair<tcp::socket, http::request<http::empty_body>>>
accept_upgrade(tcp::acceptor& acceptor) {
  tcp::socket s = co_await acceptor.async_accept(net::use_awaitable);
  boost::beast::flat_buffer b;
  http::request<http::empty_body> req;
  co_await http::async_read(s, b, req, net::use_awaitable);
  co_return std::pair{std::move(s), std::move(req)};
}

/// A 101 answer with `accept` as its Sec-WebSocket-Accept, plus `extra` header lines (each
/// ending in CRLF).
std::string switching_protocols(const std::string& accept, std::string_view extra = {}) {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         accept + "\r\n" + std::string(extra) + "\r\n";
}

/// The client side: connects to 127.0.0.1:port.
net::awaitable<void> connect(Client& ws, unsigned short port) {
  co_await ws.lowest().async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                                     net::use_awaitable);
}

TEST(WsClient, FramesBothWays) {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  const std::string big(70'000, 'b'), medium(300, 'm');
  std::vector<std::pair<unsigned, std::string>> from_client;
  std::string request_cookie;

  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        auto [s, req] = co_await accept_upgrade(acceptor);
        request_cookie = std::string(req[http::field::cookie]);
        const std::string accept =
            websocket_accept(std::string(req[http::field::sec_websocket_key]));
        // The 101 and the first frame in one write: the client must keep the frame.
        std::string out = switching_protocols(accept, "Set-Cookie: route=r1\r\n");
        out += server_frame(0x81, "0{\"sid\":\"x\"}");
        out += server_frame(0x01, "hel");           // text, not FIN
        out += server_frame(0x89, "are you there"); // ping in between
        out += server_frame(0x80, "lo", std::array<unsigned char, 4>{1, 2, 3, 4}); // masked end
        out += server_frame(0x82, big);                                            // 64-bit length
        out += server_frame(0x81, medium);                                         // 16-bit length
        co_await net::async_write(s, net::buffer(out), net::use_awaitable);
        from_client.push_back(co_await read_client_frame(s)); // the pong
        from_client.push_back(co_await read_client_frame(s)); // "2probe"
        from_client.push_back(co_await read_client_frame(s)); // 70,000 bytes binary
        for (int i = 0; i < 3; ++i) // three frames queued with append_frame, one write
          from_client.push_back(co_await read_client_frame(s));
        co_await net::async_write(s, net::buffer(server_frame(0x88, "\x03\xE8")),
                                  net::use_awaitable);
        from_client.push_back(co_await read_client_frame(s)); // the client's close
      },
      net::detached);

  std::vector<std::pair<bool, std::string>> got;
  std::string closed_with;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        Client ws(ioc.get_executor());
        co_await connect(ws, port);
        std::mt19937_64 rng(7);
        http::response<http::string_body> res;
        co_await ws.handshake(
            "127.0.0.1", "/socket.io/?EIO=4&transport=websocket",
            [](http::request<http::empty_body>& r) { r.set(http::field::cookie, "a=b"); }, res,
            rng);
        EXPECT_EQ(res[http::field::set_cookie], "route=r1");
        for (int i = 0; i < 4; ++i) {
          const auto m = co_await ws.read();
          got.emplace_back(m.text, std::string(m.data));
        }
        co_await ws.write("2probe", false, rng);
        co_await ws.write(big, true, rng);
        std::string queued;
        Client::append_frame(false, "42[\"a\"]", rng(), queued);
        Client::append_frame(true, std::string_view("\x01\x02", 2), rng(), queued);
        Client::append_frame(false, medium, rng(), queued);
        EXPECT_FALSE(ws.writing());
        co_await ws.async_write_frames(queued, net::use_awaitable);
        ws.frames_written();
        EXPECT_TRUE(queued.empty()) << "the caller's buffer comes back empty, to be refilled";
        try {
          (void)co_await ws.read();
        } catch (const boost::system::system_error& e) {
          closed_with = e.code().message();
          EXPECT_EQ(e.code(), boost::beast::websocket::error::closed);
        }
        co_await ws.close();
      },
      net::detached);
  ioc.run_for(std::chrono::seconds(10));

  EXPECT_EQ(request_cookie, "a=b");
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], (std::pair<bool, std::string>{true, "0{\"sid\":\"x\"}"}));
  EXPECT_EQ(got[1], (std::pair<bool, std::string>{true, "hello"}));
  EXPECT_EQ(got[2].first, false);
  EXPECT_EQ(got[2].second, big);
  EXPECT_EQ(got[3], (std::pair<bool, std::string>{true, medium}));
  EXPECT_FALSE(closed_with.empty());
  ASSERT_EQ(from_client.size(), 7u);
  EXPECT_EQ(from_client[0], (std::pair<unsigned, std::string>{0x8A, "are you there"}));
  EXPECT_EQ(from_client[1], (std::pair<unsigned, std::string>{0x81, "2probe"}));
  EXPECT_EQ(from_client[2].first, 0x82u);
  EXPECT_EQ(from_client[2].second, big);
  EXPECT_EQ(from_client[3], (std::pair<unsigned, std::string>{0x81, "42[\"a\"]"}));
  EXPECT_EQ(from_client[4], (std::pair<unsigned, std::string>{0x82, std::string("\x01\x02", 2)}));
  EXPECT_EQ(from_client[5], (std::pair<unsigned, std::string>{0x81, medium}));
  EXPECT_EQ(from_client[6], (std::pair<unsigned, std::string>{0x88, std::string("\x03\xE8", 2)}));
}

TEST(WsClient, TryWriteFramesWritesWhatFitsAndLeavesTheRest) {
  // The replayer's plain-TCP fast path: frames go out at once when the socket takes them; what
  // a full send buffer leaves stays in the caller's buffer for async_write_frames.
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  const std::string huge(32u << 20, 'h'); // more than loopback's send + receive buffers
  std::vector<std::pair<unsigned, std::string>> from_client;
  bool small_all = false, huge_all = true;
  std::size_t huge_frames = 0, left = 0;

  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        auto [s, req] = co_await accept_upgrade(acceptor);
        const std::string out =
            switching_protocols(websocket_accept(std::string(req[http::field::sec_websocket_key])));
        co_await net::async_write(s, net::buffer(out), net::use_awaitable);
        for (int i = 0; i < 2; ++i) from_client.push_back(co_await read_client_frame(s));
      },
      net::detached);
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        Client ws(ioc.get_executor());
        co_await connect(ws, port);
        std::mt19937_64 rng(11);
        http::response<http::string_body> res;
        co_await ws.handshake(
            "127.0.0.1", "/socket.io/?EIO=4&transport=websocket",
            [](http::request<http::empty_body>&) {}, res, rng);
        boost::system::error_code ec;
        ws.set_non_blocking(ec);
        EXPECT_FALSE(ec);
        std::string frames;
        Client::append_frame(false, "42[\"small\"]", rng(), frames);
        small_all = ws.try_write_frames(frames, ec);
        EXPECT_FALSE(ec);
        EXPECT_TRUE(frames.empty());
        Client::append_frame(true, huge, rng(), frames);
        huge_frames = frames.size();
        huge_all = ws.try_write_frames(frames, ec); // the server is not reading yet
        EXPECT_FALSE(ec);
        left = frames.size();
        if (!frames.empty()) {
          co_await ws.async_write_frames(frames, net::use_awaitable);
          ws.frames_written();
        }
      },
      net::detached);
  ioc.run_for(std::chrono::seconds(20));

  EXPECT_TRUE(small_all);
  EXPECT_FALSE(huge_all) << "a 32 MiB frame fit the socket at once";
  EXPECT_GT(left, 0u);
  EXPECT_LT(left, huge_frames) << "nothing was written at once";
  ASSERT_EQ(from_client.size(), 2u);
  EXPECT_EQ(from_client[0], (std::pair<unsigned, std::string>{0x81, "42[\"small\"]"}));
  EXPECT_EQ(from_client[1].first, 0x82u);
  EXPECT_TRUE(from_client[1].second == huge) << "the frame arrived damaged";
}

TEST(WsClient, WrongAcceptKeyIsDeclined) {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        auto [s, req] = co_await accept_upgrade(acceptor);
        const std::string out = switching_protocols("wrong");
        co_await net::async_write(s, net::buffer(out), net::use_awaitable);
      },
      net::detached);
  std::optional<boost::system::error_code> error;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        Client ws(ioc.get_executor());
        co_await connect(ws, port);
        std::mt19937_64 rng(1);
        http::response<http::string_body> res;
        try {
          co_await ws.handshake(
              "127.0.0.1", "/", [](http::request<http::empty_body>&) {}, res, rng);
        } catch (const boost::system::system_error& e) {
          error = e.code();
        }
      },
      net::detached);
  ioc.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, boost::beast::websocket::error::upgrade_declined);
}

} // namespace
} // namespace sio::replayer::detail
