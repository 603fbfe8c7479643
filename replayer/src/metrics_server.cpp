#include "sio/replayer/metrics_server.hpp"

#include "sio/replayer/report.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

namespace sio::replayer {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

/// A Prometheus metric name from one of ours: "socketio.ack_time" -> "socketio_ack_time".
std::string metric_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == ':';
    out += ok ? c : '_';
  }
  return out;
}

/// A label value or HELP text with \, " and newlines escaped as the format asks.
std::string escaped(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? 'n' : c;
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

} // namespace

std::string prometheus_text(const Period& last, const Period& total, double elapsed_s) {
  std::string out;
  std::set<std::string> used; // two of our names may map to one Prometheus name
  const auto family = [&](std::string name, const char* type, std::string_view help) {
    while (!used.insert(name).second) name += "_";
    out += "# HELP " + name + " " + escaped(help) + "\n# TYPE " + name + " " + type + "\n";
    return name;
  };
  const auto gauge = [&](const char* name, std::string_view help, double v) {
    out += family(name, "gauge", help) + " " + number(v) + "\n";
  };

  const std::uint64_t created = counter(total, "vusers.created");
  const std::uint64_t done = counter(total, "vusers.completed") + counter(total, "vusers.failed");
  gauge("sioreplay_elapsed_seconds", "Seconds since the run started", elapsed_s);
  gauge("sioreplay_vusers_active", "Users created and not yet completed or failed",
        static_cast<double>(created > done ? created - done : 0));
  gauge("sioreplay_emit_rate", "Emits per second in the last reporting period (10 s)",
        static_cast<double>(counter(last, "socketio.emit")) / rate_seconds(last));

  for (const auto& [name, value] : total.counters) {
    const std::string n =
        family("sioreplay_" + metric_name(name) + "_total", "counter", "sioreplay counter " + name);
    out += n + " " + std::to_string(value) + "\n";
  }
  for (const auto& [name, h] : total.histograms) {
    const std::string n = family("sioreplay_" + metric_name(name) + "_seconds", "summary",
                                 "sioreplay latency " + name + " (over the run)");
    for (const double q : {0.5, 0.95, 0.99})
      out += n + "{quantile=\"" + number(q) + "\"} " +
             number(h.count() ? static_cast<double>(h.percentile(q)) / 1e6 : 0) + "\n";
    out += n + "_sum " + number(h.sum() / 1e6) + "\n";
    out += n + "_count " + std::to_string(h.count()) + "\n";
  }
  return out;
}

struct MetricsServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;
  std::thread thread;
  std::mutex mu;
  std::string text = prometheus_text({}, {}, 0);

  void serve() {
    if (!thread.joinable()) thread = std::thread([this] { io.run(); });
  }

  std::string snapshot() {
    std::lock_guard lock(mu);
    return text;
  }

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(*this, std::move(socket))->read();
      accept();
    });
  }

  /// One scraper's connection: requests answered in turn while it keeps it alive.
  struct Session : std::enable_shared_from_this<Session> {
    Session(Impl& o, tcp::socket s) : owner(o), stream(std::move(s)) {}
    Impl& owner;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> resp;

    void read() {
      req = {};
      stream.expires_after(std::chrono::seconds(10));
      http::async_read(stream, buffer, req,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (!ec) self->answer();
                       });
    }

    void answer() {
      resp = {};
      resp.version(req.version());
      resp.keep_alive(req.keep_alive());
      const std::string_view target(req.target().data(), req.target().size());
      const bool metrics = target == "/metrics" || target.rfind("/metrics?", 0) == 0;
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        resp.result(http::status::method_not_allowed);
        resp.set(http::field::allow, "GET, HEAD");
      } else if (!metrics) {
        resp.result(http::status::not_found);
        resp.set(http::field::content_type, "text/plain; charset=utf-8");
        resp.body() = "sioreplay: the metrics are at /metrics\n";
      } else {
        resp.result(http::status::ok);
        resp.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        resp.body() = owner.snapshot();
      }
      resp.prepare_payload();
      if (req.method() == http::verb::head) resp.body().clear();
      http::async_write(stream, resp,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec) return;
                          if (self->resp.keep_alive()) {
                            self->read();
                          } else {
                            beast::error_code ignored;
                            self->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          }
                        });
    }
  };
};

Result<std::unique_ptr<MetricsServer>>
MetricsServer::start(const std::string& address, std::uint16_t port, bool defer_serving) {
  auto impl = std::make_unique<Impl>();
  const std::string where = "--metrics-port: " + address + ":" + std::to_string(port);
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) return fail(errc::usage, where + ": not an IP address");
  const tcp::endpoint ep(ip, port);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(errc::io_error, where + ": cannot listen: " + ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  impl->accept();
  if (!defer_serving) impl->serve();
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [i = impl_.get()] {
    beast::error_code ignored;
    i->acceptor.close(ignored);
    i->io.stop();
  });
  impl_->thread.join();
}

std::uint16_t MetricsServer::port() const noexcept {
  return impl_->port;
}

void MetricsServer::update(const Period& last, const Period& total, double elapsed_s) {
  std::string text = prometheus_text(last, total, elapsed_s);
  {
    std::lock_guard lock(impl_->mu);
    impl_->text.swap(text);
  }
  impl_->serve(); // update() runs on one thread at a time (the progress callback)
}

} // namespace sio::replayer
