#include "sio/wire/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

/// The decrypter is checked against real TLS: libssl runs a client and a server in memory,
/// the client writes its key log like a browser would, and every byte each side put on the
/// "wire" is fed to TlsConnection, which must give back exactly what the peers sent.

namespace {

using sio::wire::KeyLog;
using sio::wire::Side;
using sio::wire::TlsConnection;
using State = TlsConnection::State;
using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// ---- OpenSSL in memory ------------------------------------------------------------------

template <class T, void (*F)(T*)> struct Deleter {
  void operator()(T* p) const noexcept { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using CtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;
using SessionPtr = std::unique_ptr<SSL_SESSION, Deleter<SSL_SESSION, SSL_SESSION_free>>;

std::size_t idx(Side s) {
  return static_cast<std::size_t>(s);
}

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    out += buf.data();
    out += "; ";
  }
  return out;
}

/// A throwaway self-signed certificate, built in code.
struct Identity {
  PkeyPtr key;
  X509Ptr cert;
};

Identity make_identity(bool rsa) {
  Identity id;
  id.key.reset(rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                   : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!id.key) return id;
  id.cert.reset(X509_new());
  X509* x = id.cert.get();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, id.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  static constexpr unsigned char cn[] = "chat.example.test";
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (X509_sign(x, id.key.get(), EVP_sha256()) <= 0) id.cert.reset();
  return id;
}

/// RSA key generation is slow under the sanitizers: one of each per test binary.
const Identity& identity(bool rsa) {
  static const Identity ec = make_identity(false);
  static const Identity rs = make_identity(true);
  return rsa ? rs : ec;
}

struct Options {
  int max_version = TLS1_3_VERSION;
  std::string ciphers = "TLS_AES_128_GCM_SHA256"; ///< 1.3 ciphersuites, or the 1.2 cipher list
  bool rsa = false;                               ///< certificate type
  bool hello_retry = false;                       ///< make the server ask for another key share
  bool key_update = true;                         ///< TLS 1.3: KeyUpdate both ways
  int extra_messages = 2;                         ///< small messages each way at the end
  std::string sni = "chat.example.test";
  int security_level = -1; ///< -1: the system default
  std::uint32_t max_early_data = 0;
};

/// Every byte each side wrote, in the order it was written, in the pieces it was written.
struct Transcript {
  std::vector<std::pair<Side, Bytes>> chunks;
  std::string keylog;
  std::array<std::string, 2> sent; ///< application data each side wrote
  std::string cipher;              ///< OpenSSL's standard name of the negotiated suite
  std::string version;             ///< OpenSSL's "TLSv1.3"
  std::string alpn;
  Bytes client_random;
  bool handshake_ok = false;
};

void keylog_line(const SSL* ssl, const char* line) {
  auto* sink = static_cast<std::string*>(SSL_get_ex_data(ssl, 0));
  if (sink) *sink += std::string(line) + "\n";
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  // The server prefers http/1.1, the client's second choice: we must report the server's.
  static const unsigned char mine[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, mine, sizeof mine, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

bool set_groups(SSL_CTX* ctx, const char* groups) {
  return SSL_CTX_ctrl(ctx, SSL_CTRL_SET_GROUPS_LIST, 0, const_cast<char*>(groups)) == 1;
}

/// A client and a server context configured for one test case.
class Lab {
public:
  explicit Lab(const Options& o) : options_(o) {
    server_.reset(SSL_CTX_new(TLS_server_method()));
    client_.reset(SSL_CTX_new(TLS_client_method()));
    const Identity& id = identity(o.rsa);
    ok_ = server_ && client_ && id.cert &&
          SSL_CTX_use_certificate(server_.get(), id.cert.get()) == 1 &&
          SSL_CTX_use_PrivateKey(server_.get(), id.key.get()) == 1;
    for (SSL_CTX* ctx : {server_.get(), client_.get()}) {
      if (!ctx) continue;
      if (o.security_level >= 0) SSL_CTX_set_security_level(ctx, o.security_level);
      ok_ = ok_ && SSL_CTX_set_max_proto_version(ctx, o.max_version) == 1;
      if (o.max_version < TLS1_2_VERSION)
        ok_ = ok_ && SSL_CTX_set_min_proto_version(ctx, o.max_version) == 1;
      if (o.max_version == TLS1_3_VERSION)
        ok_ = ok_ && SSL_CTX_set_ciphersuites(ctx, o.ciphers.c_str()) == 1;
      else
        ok_ = ok_ && SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str()) == 1;
    }
    if (!ok_) return;
    SSL_CTX_set_dh_auto(server_.get(), 1);
    SSL_CTX_set_alpn_select_cb(server_.get(), select_alpn, nullptr);
    SSL_CTX_set_keylog_callback(client_.get(), keylog_line);
    if (o.max_early_data > 0) SSL_CTX_set_max_early_data(server_.get(), o.max_early_data);
    if (o.hello_retry)
      ok_ = set_groups(client_.get(), "X25519:P-256") && set_groups(server_.get(), "P-256");
  }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] const Options& options() const { return options_; }
  SSL_CTX* client() { return client_.get(); }
  SSL_CTX* server() { return server_.get(); }

private:
  Options options_;
  CtxPtr server_, client_;
  bool ok_ = false;
};

/// One connection between the lab's client and server over memory BIOs; every byte moved
/// between them lands in the transcript.
class Conn {
public:
  Conn(Lab& lab, Transcript& t, SSL_SESSION* resume = nullptr) : t_(t) {
    c_.reset(SSL_new(lab.client()));
    s_.reset(SSL_new(lab.server()));
    if (!c_ || !s_) return;
    c_in_ = BIO_new(BIO_s_mem());
    c_out_ = BIO_new(BIO_s_mem());
    s_in_ = BIO_new(BIO_s_mem());
    s_out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(c_.get(), c_in_, c_out_);
    SSL_set_bio(s_.get(), s_in_, s_out_);
    SSL_set_connect_state(c_.get());
    SSL_set_accept_state(s_.get());
    SSL_set_ex_data(c_.get(), 0, &t_.keylog);
    const std::string& sni = lab.options().sni;
    if (!sni.empty())
      SSL_ctrl(c_.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(sni.c_str()));
    static const unsigned char offer[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_set_alpn_protos(c_.get(), offer, sizeof offer);
    if (resume) SSL_set_session(c_.get(), resume);
  }

  [[nodiscard]] const std::string& why() const { return why_; }
  SSL* client() { return c_.get(); }
  SSL* server() { return s_.get(); }
  SSL* ssl(Side s) { return s == Side::client ? c_.get() : s_.get(); }

  /// Moves what each side wrote to the other, client first.
  void shuttle() {
    move(c_out_, s_in_, Side::client);
    move(s_out_, c_in_, Side::server);
  }

  bool handshake() {
    if (!c_ || !s_) return false;
    for (int round = 0; round < 20; ++round) {
      const int a = SSL_do_handshake(c_.get());
      const int b = SSL_do_handshake(s_.get());
      // Before shuttling: moving bytes resets the BIOs' retry flags SSL_get_error looks at.
      const int ea = a == 1 ? SSL_ERROR_NONE : SSL_get_error(c_.get(), a);
      const int eb = b == 1 ? SSL_ERROR_NONE : SSL_get_error(s_.get(), b);
      shuttle();
      if (a == 1 && b == 1) {
        record_result();
        return true;
      }
      if ((ea != SSL_ERROR_NONE && ea != SSL_ERROR_WANT_READ) ||
          (eb != SSL_ERROR_NONE && eb != SSL_ERROR_WANT_READ)) {
        why_ = "client " + std::to_string(ea) + " (" + SSL_state_string_long(c_.get()) +
               "), server " + std::to_string(eb) + " (" + SSL_state_string_long(s_.get()) +
               "), round " + std::to_string(round) + ": " + openssl_errors();
        return false;
      }
    }
    why_ = "no progress";
    return false;
  }

  void record_result() {
    t_.handshake_ok = true;
    t_.cipher = SSL_CIPHER_standard_name(SSL_get_current_cipher(c_.get()));
    t_.version = SSL_get_version(c_.get());
    const unsigned char* p = nullptr;
    unsigned int n = 0;
    SSL_get0_alpn_selected(c_.get(), &p, &n);
    t_.alpn.assign(reinterpret_cast<const char*>(p), n);
    t_.client_random.resize(32);
    SSL_get_client_random(c_.get(), t_.client_random.data(), t_.client_random.size());
  }

  /// `from` writes `msg`; the other side reads all of it.
  void send(Side from, const std::string& msg) {
    std::size_t written = 0;
    ASSERT_EQ(SSL_write_ex(ssl(from), msg.data(), msg.size(), &written), 1) << openssl_errors();
    ASSERT_EQ(written, msg.size());
    t_.sent[idx(from)] += msg;
    shuttle();
    std::string got;
    std::vector<char> buf(1 << 16);
    for (int tries = 0; got.size() < msg.size() && tries < 100; ++tries) {
      std::size_t n = 0;
      if (SSL_read_ex(ssl(sio::wire::other(from)), buf.data(), buf.size(), &n) == 1)
        got.append(buf.data(), n);
      shuttle();
    }
    ASSERT_EQ(got, msg);
  }

  void shutdown() {
    SSL_shutdown(c_.get());
    shuttle();
    SSL_shutdown(s_.get());
    shuttle();
  }

private:
  void move(BIO* from, BIO* to, Side side) {
    const std::size_t n = BIO_ctrl_pending(from);
    if (n == 0) return;
    Bytes b(n);
    const int got = BIO_read(from, b.data(), static_cast<int>(n));
    ASSERT_EQ(got, static_cast<int>(n));
    ASSERT_EQ(BIO_write(to, b.data(), got), got);
    t_.chunks.emplace_back(side, std::move(b));
  }

  Transcript& t_;
  SslPtr c_, s_;
  BIO* c_in_ = nullptr; // owned by the SSL objects
  BIO* c_out_ = nullptr;
  BIO* s_in_ = nullptr;
  BIO* s_out_ = nullptr;
  std::string why_; ///< why the handshake failed
};

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 7 + seed * 13 + i / 251) & 0xFF);
  return s;
}

/// Messages both ways like a Socket.IO session over websocket: small ones, one over 16 KB
/// each way (several records), a KeyUpdate each way (TLS 1.3), then close_notify.
void converse(Conn& c, const Options& o) {
  c.send(Side::client, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                       "Host: chat.example.test\r\nUpgrade: websocket\r\n\r\n");
  c.send(Side::server, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
  c.send(Side::client, pattern(40000, 1));
  c.send(Side::server, pattern(20000, 2));
  if (o.key_update && o.max_version == TLS1_3_VERSION) {
    ASSERT_EQ(SSL_key_update(c.client(), SSL_KEY_UPDATE_REQUESTED), 1);
    c.send(Side::client, "after the client's KeyUpdate");
    c.send(Side::server, "after the server's KeyUpdate (requested by the client)");
    ASSERT_EQ(SSL_key_update(c.server(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    c.send(Side::server, pattern(17000, 3));
  }
  for (int i = 0; i < o.extra_messages; ++i) {
    c.send(Side::client, "42[\"ping\"," + std::to_string(i) + "]");
    c.send(Side::server, "43[\"pong\"," + std::to_string(i) + "]");
  }
  c.send(Side::server, "!");
  c.shutdown();
}

Transcript session(const Options& o) {
  Transcript t;
  Lab lab(o);
  EXPECT_TRUE(lab.ok()) << openssl_errors();
  if (!lab.ok()) return t;
  Conn c(lab, t);
  EXPECT_TRUE(c.handshake()) << c.why();
  if (!t.handshake_ok) return t;
  converse(c, o);
  return t;
}

// ---- feeding the decrypter ----------------------------------------------------------------

struct Collector : TlsConnection::Handler {
  std::array<std::string, 2> text;
  std::vector<std::string> errors;
  std::array<std::uint64_t, 2> last_packet{};

  void on_plaintext(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                    std::int64_t ts_ns, std::uint64_t packet) override {
    std::string& t = text[idx(side)];
    EXPECT_EQ(offset, t.size());
    EXPECT_FALSE(bytes.empty());
    EXPECT_GE(packet, last_packet[idx(side)]);
    EXPECT_EQ(ts_ns, static_cast<std::int64_t>(packet) * 1000);
    last_packet[idx(side)] = packet;
    t.append(bytes.begin(), bytes.end());
  }
  void on_error(Side side, std::string what) override {
    errors.push_back(std::string(sio::wire::to_string(side)) + " | " + what);
  }
  [[nodiscard]] std::string all_errors() const {
    std::string out;
    for (const auto& e : errors) out += e + "\n";
    return out;
  }
};

enum class Feed {
  flights,      ///< each write as one packet, in wire order
  odd_splits,   ///< each write cut at odd sizes
  byte_by_byte, ///< one byte per call
  client_first, ///< the whole client stream, then the whole server stream
  server_first, ///< the other way round
};

const char* feed_name(Feed f) {
  switch (f) {
  case Feed::flights:
    return "flights";
  case Feed::odd_splits:
    return "odd_splits";
  case Feed::byte_by_byte:
    return "byte_by_byte";
  case Feed::client_first:
    return "client_first";
  case Feed::server_first:
    return "server_first";
  }
  return "?";
}

/// Packet numbers count the calls; ts_ns = packet * 1000 so the handler can cross-check.
class Feeder {
public:
  Feeder(TlsConnection& c, Collector& h) : c_(c), h_(h) {}
  void put(Side s, ByteView b) {
    ++packet_;
    c_.feed(s, b, static_cast<std::int64_t>(packet_) * 1000, packet_, h_);
  }
  void chunk(Side s, ByteView b, Feed f) {
    static constexpr std::size_t sizes[] = {1,    2,  3,     5, 7,     11, 4,
                                            1460, 13, 16389, 6, 17000, 9,  517};
    if (f == Feed::byte_by_byte) {
      for (std::size_t i = 0; i < b.size(); ++i) put(s, b.subspan(i, 1));
    } else if (f == Feed::odd_splits) {
      for (std::size_t i = 0; i < b.size();) {
        const std::size_t n = std::min(sizes[cut_++ % std::size(sizes)], b.size() - i);
        put(s, b.subspan(i, n));
        i += n;
      }
    } else {
      put(s, b);
    }
  }
  void all(const Transcript& t, Feed f) {
    if (f == Feed::client_first || f == Feed::server_first) {
      const Side first = f == Feed::client_first ? Side::client : Side::server;
      for (Side s : {first, sio::wire::other(first)})
        for (const auto& [side, bytes] : t.chunks)
          if (side == s) put(side, bytes);
      return;
    }
    for (const auto& [side, bytes] : t.chunks) chunk(side, bytes, f);
  }

private:
  TlsConnection& c_;
  Collector& h_;
  std::uint64_t packet_ = 0;
  std::size_t cut_ = 0;
};

KeyLog parse_keys(const std::string& text) {
  auto k = KeyLog::parse(text, "test.keys");
  EXPECT_TRUE(k.ok()) << k.error().message();
  return k.ok() ? std::move(k).value() : KeyLog{};
}

/// The key log without the lines whose label contains `word`.
std::string without(const std::string& keylog, const std::string& word) {
  std::string out;
  std::size_t pos = 0;
  while (pos < keylog.size()) {
    const std::size_t end = keylog.find('\n', pos);
    const std::string line = keylog.substr(pos, end - pos);
    pos = end == std::string::npos ? keylog.size() : end + 1;
    if (line.substr(0, line.find(' ')).find(word) == std::string::npos) out += line + "\n";
  }
  return out;
}

/// The key log with the last hex digit of every secret changed.
std::string damaged(const std::string& keylog) {
  std::string out = keylog;
  for (std::size_t pos = out.find('\n'); pos != std::string::npos; pos = out.find('\n', pos + 1))
    out[pos - 1] = out[pos - 1] == '0' ? '1' : '0';
  return out;
}

/// Every secret of the key log as hex, to check that none is ever printed.
std::vector<std::string> secrets_of(const std::string& keylog) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < keylog.size()) {
    const std::size_t end = keylog.find('\n', pos);
    const std::string line = keylog.substr(pos, end - pos);
    pos = end == std::string::npos ? keylog.size() : end + 1;
    const std::size_t sp = line.rfind(' ');
    if (sp != std::string::npos) out.push_back(line.substr(sp + 1));
  }
  return out;
}

void expect_no_secret_in(const std::string& text, const std::string& keylog) {
  for (const std::string& s : secrets_of(keylog)) {
    EXPECT_EQ(text.find(s), std::string::npos) << "a secret leaked: " << text;
    EXPECT_EQ(text.find(s.substr(0, 16)), std::string::npos) << "a secret leaked: " << text;
  }
}

std::string hex(ByteView b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t v : b) {
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

std::string expected_version(const std::string& openssl) {
  if (openssl == "TLSv1.3") return "TLS 1.3";
  if (openssl == "TLSv1.2") return "TLS 1.2";
  return openssl;
}

/// Compares long binary strings without printing 40 KB on failure.
void expect_same(const std::string& got, const std::string& want, const char* what) {
  EXPECT_EQ(got.size(), want.size()) << what;
  if (got == want) return;
  const auto mismatch = std::mismatch(got.begin(), got.end(), want.begin(), want.end());
  ADD_FAILURE() << what << ": differs from byte " << (mismatch.first - got.begin());
}

void expect_decrypted(const Transcript& t, const TlsConnection& conn, const Collector& h,
                      bool with_alpn = true) {
  EXPECT_EQ(conn.state(), State::decrypting) << conn.detail();
  EXPECT_EQ(conn.detail(), "");
  EXPECT_TRUE(h.errors.empty()) << h.all_errors();
  expect_same(h.text[0], t.sent[0], "client plaintext");
  expect_same(h.text[1], t.sent[1], "server plaintext");
  EXPECT_EQ(conn.sni(), "chat.example.test");
  EXPECT_EQ(conn.version(), expected_version(t.version));
  EXPECT_EQ(conn.cipher(), t.cipher);
  if (with_alpn) {
    EXPECT_EQ(conn.alpn(), t.alpn);
  }
  EXPECT_EQ(t.alpn, "http/1.1");
}

// ---- supported suites ---------------------------------------------------------------------

struct SuiteCase {
  const char* name;
  int version;
  const char* ciphers;
  bool rsa;
  Feed feed;
};

class Decrypts : public testing::TestWithParam<SuiteCase> {};

TEST_P(Decrypts, AllApplicationDataOfBothSides) {
  const SuiteCase& p = GetParam();
  Options o;
  o.max_version = p.version;
  o.ciphers = p.ciphers;
  o.rsa = p.rsa;
  const Transcript t = session(o);
  ASSERT_TRUE(t.handshake_ok);
  ASSERT_GT(t.sent[0].size(), 40000U);
  KeyLog keys = parse_keys(t.keylog);
  TlsConnection conn(keys);
  Collector h;
  Feeder(conn, h).all(t, p.feed);
  expect_decrypted(t, conn, h);
}

const SuiteCase kSuiteCases[] = {
    {"Tls13Aes128Flights", TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", false, Feed::flights},
    {"Tls13Aes128OddSplits", TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", true, Feed::odd_splits},
    {"Tls13Aes128ClientFirst", TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", false, Feed::client_first},
    {"Tls13Aes256Flights", TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", true, Feed::flights},
    {"Tls13Aes256OddSplits", TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", false, Feed::odd_splits},
    {"Tls13Aes256ServerFirst", TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", false, Feed::server_first},
    {"Tls13Chacha20Flights", TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", false, Feed::flights},
    {"Tls13Chacha20ByteByByte", TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", false,
     Feed::byte_by_byte},
    {"Tls12EcdheEcdsaAes128", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", false,
     Feed::flights},
    {"Tls12EcdheRsaAes128", TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", true, Feed::odd_splits},
    {"Tls12EcdheEcdsaAes256", TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", false,
     Feed::odd_splits},
    {"Tls12EcdheRsaAes256", TLS1_2_VERSION, "ECDHE-RSA-AES256-GCM-SHA384", true, Feed::flights},
    {"Tls12EcdheRsaChacha20", TLS1_2_VERSION, "ECDHE-RSA-CHACHA20-POLY1305", true,
     Feed::byte_by_byte},
    {"Tls12EcdheEcdsaChacha20", TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", false,
     Feed::client_first},
    {"Tls12DheRsaAes128", TLS1_2_VERSION, "DHE-RSA-AES128-GCM-SHA256", true, Feed::server_first},
    {"Tls12DheRsaAes256", TLS1_2_VERSION, "DHE-RSA-AES256-GCM-SHA384", true, Feed::flights},
    {"Tls12DheRsaChacha20", TLS1_2_VERSION, "DHE-RSA-CHACHA20-POLY1305", true, Feed::odd_splits},
    {"Tls12RsaKeyExchangeAes128", TLS1_2_VERSION, "AES128-GCM-SHA256", true, Feed::odd_splits},
};

INSTANTIATE_TEST_SUITE_P(Suites, Decrypts, testing::ValuesIn(kSuiteCases),
                         [](const testing::TestParamInfo<SuiteCase>& i) { return i.param.name; });

TEST(TlsConnection, StartsInHandshakeWithNothingKnown) {
  KeyLog keys;
  TlsConnection conn(keys);
  EXPECT_EQ(conn.state(), State::handshake);
  EXPECT_EQ(conn.sni(), "");
  EXPECT_EQ(conn.alpn(), "");
  EXPECT_EQ(conn.version(), "");
  EXPECT_EQ(conn.cipher(), "");
  EXPECT_EQ(conn.detail(), "");
}

// ---- TLS 1.3 handshake variants -----------------------------------------------------------

bool contains(const Transcript& t, Side side, ByteView needle) {
  for (const auto& [s, bytes] : t.chunks)
    if (s == side &&
        std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end()) != bytes.end())
      return true;
  return false;
}

TEST(TlsConnection, FollowsHelloRetryRequest) {
  Options o;
  o.hello_retry = true;
  o.ciphers = "TLS_AES_256_GCM_SHA384";
  const Transcript t = session(o);
  ASSERT_TRUE(t.handshake_ok);
  // The server really sent a HelloRetryRequest (RFC 8446 §4.1.3 random).
  static constexpr std::uint8_t hrr[] = {0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11};
  ASSERT_TRUE(contains(t, Side::server, hrr));
  for (Feed f : {Feed::flights, Feed::odd_splits, Feed::client_first}) {
    SCOPED_TRACE(feed_name(f));
    KeyLog keys = parse_keys(t.keylog);
    TlsConnection conn(keys);
    Collector h;
    Feeder(conn, h).all(t, f);
    expect_decrypted(t, conn, h);
  }
}

TEST(TlsConnection, Tls13WithOnlyTheApplicationSecrets) {
  Options o;
  o.ciphers = "TLS_CHACHA20_POLY1305_SHA256";
  const Transcript t = session(o);
  ASSERT_TRUE(t.handshake_ok);
  const std::string keylog = without(t.keylog, "HANDSHAKE");
  ASSERT_EQ(keylog.find("HANDSHAKE"), std::string::npos);
  ASSERT_NE(keylog.find("CLIENT_TRAFFIC_SECRET_0"), std::string::npos);
  for (Feed f : {Feed::flights, Feed::odd_splits, Feed::server_first}) {
    SCOPED_TRACE(feed_name(f));
    KeyLog keys = parse_keys(keylog);
    TlsConnection conn(keys);
    Collector h;
    Feeder(conn, h).all(t, f);
    // EncryptedExtensions stays unread without the handshake secret: no ALPN then.
    expect_decrypted(t, conn, h, false);
    EXPECT_EQ(conn.alpn(), "");
  }
}

TEST(TlsConnection, Tls13WithoutSniOrAlpnOrKeyUpdate) {
  Options o;
  o.sni = "";
  o.key_update = false;
  const Transcript t = session(o);
  ASSERT_TRUE(t.handshake_ok);
  KeyLog keys = parse_keys(t.keylog);
  TlsConnection conn(keys);
  Collector h;
  Feeder(conn, h).all(t, Feed::flights);
  EXPECT_EQ(conn.state(), State::decrypting) << conn.detail();
  EXPECT_EQ(conn.sni(), "");
  expect_same(h.text[0], t.sent[0], "client");
  expect_same(h.text[1], t.sent[1], "server");
}

/// A first connection, then a resumed one with the first one's session; returns the second.
/// With `early_data` the client sends 0-RTT data, which the server takes unless `reject_early`.
Transcript resumed(const Options& o, bool early_data, bool* early_accepted = nullptr,
                   bool reject_early = false) {
  Transcript first, second;
  Lab lab(o);
  EXPECT_TRUE(lab.ok()) << openssl_errors();
  if (!lab.ok()) return second;
  SessionPtr saved;
  {
    Conn c(lab, first);
    EXPECT_TRUE(c.handshake()) << c.why();
    c.send(Side::client, "first connection");
    c.send(Side::server, "first answer"); // the client reads the session tickets here
    saved.reset(SSL_get1_session(c.client()));
    c.shutdown();
  }
  EXPECT_TRUE(saved);
  if (!saved) return second;
  Conn c(lab, second, saved.get());
  if (reject_early) SSL_set_max_early_data(c.server(), 0);
  if (early_data) {
    EXPECT_GT(SSL_SESSION_get_max_early_data(saved.get()), 0U);
    const std::string early = "0-RTT: 42[\"early\",1]";
    std::size_t written = 0;
    EXPECT_EQ(SSL_write_early_data(c.client(), early.data(), early.size(), &written), 1)
        << openssl_errors();
    second.sent[0] += early;
    c.shuttle();
    std::string got;
    std::vector<char> buf(4096);
    for (int round = 0; round < 10; ++round) {
      std::size_t n = 0;
      const int r = SSL_read_early_data(c.server(), buf.data(), buf.size(), &n);
      if (r == SSL_READ_EARLY_DATA_SUCCESS) got.append(buf.data(), n);
      if (r == SSL_READ_EARLY_DATA_FINISH) break;
      c.shuttle();
      SSL_do_handshake(c.client());
      c.shuttle();
    }
    const bool accepted = SSL_get_early_data_status(c.server()) == SSL_EARLY_DATA_ACCEPTED;
    if (early_accepted) *early_accepted = accepted;
    if (accepted) {
      EXPECT_EQ(got, early);
    } else {
      second.sent[0].clear(); // the server dropped it
    }
  }
  EXPECT_TRUE(c.handshake()) << c.why();
  if (!reject_early) {
    EXPECT_EQ(SSL_session_reused(c.client()), 1);
  }
  if (second.handshake_ok) converse(c, o);
  return second;
}

TEST(TlsConnection, Tls13ResumedSession) {
  Options o;
  const Transcript t = resumed(o, false);
  ASSERT_TRUE(t.handshake_ok);
  KeyLog keys = parse_keys(t.keylog);
  TlsConnection conn(keys);
  Collector h;
  Feeder(conn, h).all(t, Feed::odd_splits);
  expect_decrypted(t, conn, h);
}

TEST(TlsConnection, Tls12ResumedSessionAbbreviatedHandshake) {
  Options o;
  o.max_version = TLS1_2_VERSION;
  o.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";
  const Transcript t = resumed(o, false);
  ASSERT_TRUE(t.handshake_ok);
  for (Feed f : {Feed::flights, Feed::client_first}) {
    SCOPED_TRACE(feed_name(f));
    KeyLog keys = parse_keys(t.keylog);
    TlsConnection conn(keys);
    Collector h;
    Feeder(conn, h).all(t, f);
    expect_decrypted(t, conn, h);
  }
}

TEST(TlsConnection, Tls13EarlyDataWithTheEarlySecret) {
  Options o;
  o.max_early_data = 16384;
  bool accepted = false;
  const Transcript t = resumed(o, true, &accepted);
  ASSERT_TRUE(t.handshake_ok);
  ASSERT_TRUE(accepted);
  ASSERT_NE(t.keylog.find("CLIENT_EARLY_TRAFFIC_SECRET"), std::string::npos);
  ASSERT_TRUE(t.sent[0].starts_with("0-RTT"));
  for (Feed f : {Feed::flights, Feed::odd_splits, Feed::client_first}) {
    SCOPED_TRACE(feed_name(f));
    KeyLog keys = parse_keys(t.keylog);
    TlsConnection conn(keys);
    Collector h;
    Feeder(conn, h).all(t, f);
    expect_decrypted(t, conn, h);
  }
}

TEST(TlsConnection, Tls13RejectedEarlyDataIsSkipped) {
  Options o;
  o.max_early_data = 16384;
  bool accepted = true;
  const Transcript t = resumed(o, true, &accepted, true);
  ASSERT_TRUE(t.handshake_ok);
  ASSERT_FALSE(accepted);
  // The 0-RTT record is on the wire, under keys the server (and we) skip: the client's first
  // write holds the ClientHello, then a ChangeCipherSpec and an encrypted record.
  ASSERT_NE(t.keylog.find("CLIENT_EARLY_TRAFFIC_SECRET"), std::string::npos);
  ASSERT_EQ(t.chunks[0].first, Side::client);
  const Bytes& first = t.chunks[0].second;
  std::size_t encrypted = 0;
  for (std::size_t pos = 0; pos + 5 <= first.size();
       pos += 5 + (static_cast<std::size_t>(first[pos + 3]) << 8 | first[pos + 4]))
    if (first[pos] == 23) ++encrypted;
  ASSERT_GE(encrypted, 1U);
  for (Feed f : {Feed::flights, Feed::client_first}) {
    SCOPED_TRACE(feed_name(f));
    KeyLog keys = parse_keys(t.keylog);
    TlsConnection conn(keys);
    Collector h;
    Feeder(conn, h).all(t, f);
    expect_decrypted(t, conn, h);
  }
}

TEST(TlsConnection, Tls13EarlyDataWithoutTheEarlySecretFailsTheClientSideOnly) {
  Options o;
  o.max_early_data = 16384;
  bool accepted = false;
  const Transcript t = resumed(o, true, &accepted);
  ASSERT_TRUE(t.handshake_ok);
  ASSERT_TRUE(accepted);
  KeyLog keys = parse_keys(without(t.keylog, "EARLY"));
  TlsConnection conn(keys);
  Collector h;
  Feeder(conn, h).all(t, Feed::flights);
  EXPECT_EQ(conn.state(), State::failed);
  EXPECT_NE(conn.detail().find("CLIENT_EARLY_TRAFFIC_SECRET"), std::string::npos) << conn.detail();
  ASSERT_EQ(h.errors.size(), 1U) << h.all_errors();
  EXPECT_TRUE(h.errors[0].starts_with("c->s")) << h.errors[0];
  EXPECT_EQ(h.text[0], "");
  expect_same(h.text[1], t.sent[1], "server plaintext");
}

// ---- plaintext handshake records cut differently ------------------------------------------

/// Rewrites the plaintext handshake records of each chunk into fragments of at most `max`
/// bytes (allowed by RFC 8446 §5.1 / RFC 5246 §6.2.1), so that hellos span records.
Transcript refragment(const Transcript& t, std::size_t max) {
  Transcript out = t;
  out.chunks.clear();
  std::array<bool, 2> encrypted{};
  for (const auto& [side, bytes] : t.chunks) {
    Bytes rewritten;
    for (std::size_t pos = 0; pos + 5 <= bytes.size();) {
      const std::uint8_t type = bytes[pos];
      const std::size_t len = static_cast<std::size_t>(bytes[pos + 3]) << 8 | bytes[pos + 4];
      const auto body = ByteView(bytes).subspan(pos + 5, len);
      if (type == 20 || type == 23) encrypted[idx(side)] = true;
      if (type == 22 && !encrypted[idx(side)]) {
        for (std::size_t i = 0; i < body.size(); i += max) {
          const std::size_t n = std::min(max, body.size() - i);
          rewritten.insert(rewritten.end(),
                           {bytes[pos], bytes[pos + 1], bytes[pos + 2],
                            static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
          rewritten.insert(rewritten.end(), body.begin() + static_cast<std::ptrdiff_t>(i),
                           body.begin() + static_cast<std::ptrdiff_t>(i + n));
        }
      } else {
        rewritten.insert(rewritten.end(), bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                         bytes.begin() + static_cast<std::ptrdiff_t>(pos + 5 + len));
      }
      pos += 5 + len;
    }
    out.chunks.emplace_back(side, std::move(rewritten));
  }
  return out;
}

TEST(TlsConnection, HelloMessagesSpanningRecords) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version);
    Options o;
    o.max_version = version;
    o.rsa = true;
    if (version == TLS1_2_VERSION) o.ciphers = "ECDHE-RSA-AES128-GCM-SHA256";
    const Transcript t = refragment(session(o), 37);
    ASSERT_TRUE(t.handshake_ok);
    KeyLog keys = parse_keys(t.keylog);
    TlsConnection conn(keys);
    Collector h;
    Feeder(conn, h).all(t, Feed::odd_splits);
    expect_decrypted(t, conn, h);
  }
}

// ---- no keys, wrong keys, unsupported -----------------------------------------------------

TEST(TlsConnection, NoKeyLogEntryIsNoKeys) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version);
    Options o;
    o.max_version = version;
    if (version == TLS1_2_VERSION) o.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    const Transcript t = session(o);
    ASSERT_TRUE(t.handshake_ok);
    // An empty key log, and one that holds only another session.
    const Transcript other = session(o);
    for (const std::string& text : {std::string(), other.keylog}) {
      KeyLog keys = parse_keys(text);
      TlsConnection conn(keys);
      Collector h;
      Feeder(conn, h).all(t, Feed::flights);
      EXPECT_EQ(conn.state(), State::no_keys);
      EXPECT_NE(conn.detail().find(hex(ByteView(t.client_random).first(8))), std::string::npos)
          << conn.detail();
      EXPECT_EQ(conn.cipher(), t.cipher);
      EXPECT_EQ(conn.sni(), "chat.example.test");
      EXPECT_EQ(h.text[0] + h.text[1], "");
      EXPECT_TRUE(h.errors.empty()) << h.all_errors();
    }
  }
}

TEST(TlsConnection, MissingTrafficSecretIsNoKeys) {
  const Transcript t = session(Options{});
  ASSERT_TRUE(t.handshake_ok);
  KeyLog keys = parse_keys(without(t.keylog, "SERVER_TRAFFIC_SECRET_0"));
  TlsConnection conn(keys);
  Collector h;
  Feeder(conn, h).all(t, Feed::flights);
  EXPECT_EQ(conn.state(), State::no_keys);
  EXPECT_NE(conn.detail().find("SERVER_TRAFFIC_SECRET_0"), std::string::npos) << conn.detail();
}

TEST(TlsConnection, WrongKeysFail) {
  struct Case {
    int version;
    const char* ciphers;
    const char* drop; ///< labels to leave out of the key log
  };
  for (const Case& c : {Case{TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", "NONE"},
                        Case{TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", "HANDSHAKE"},
                        Case{TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", "NONE"},
                        Case{TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", "NONE"}}) {
    SCOPED_TRACE(std::string(c.ciphers) + " without " + c.drop);
    Options o;
    o.max_version = c.version;
    o.ciphers = c.ciphers;
    o.extra_messages = 12; // more records than the trial of application keys allows
    const Transcript t = session(o);
    ASSERT_TRUE(t.handshake_ok);
    const std::string keylog = damaged(without(t.keylog, c.drop));
    KeyLog keys = parse_keys(keylog);
    TlsConnection conn(keys);
    Collector h;
    Feeder(conn, h).all(t, Feed::flights);
    EXPECT_EQ(conn.state(), State::failed);
    EXPECT_NE(conn.detail().find(" record "), std::string::npos) << conn.detail();
    EXPECT_NE(conn.detail().find("decrypt"), std::string::npos) << conn.detail();
    EXPECT_EQ(h.errors.size(), 2U) << h.all_errors(); // each side stops on its own
    EXPECT_EQ(h.text[0] + h.text[1], "");
    expect_no_secret_in(conn.detail() + h.all_errors(), keylog);
    expect_no_secret_in(conn.detail() + h.all_errors(), t.keylog);
  }
}

TEST(TlsConnection, Tls13WrongKeysNameTheSideAndRecord) {
  const Transcript t = session(Options{});
  ASSERT_TRUE(t.handshake_ok);
  KeyLog keys = parse_keys(damaged(t.keylog));
  TlsConnection conn(keys);
  Collector h;
  Feeder(conn, h).all(t, Feed::flights);
  // The server's EncryptedExtensions is the first encrypted record: after ServerHello and the
  // compatibility ChangeCipherSpec, record 3 of s->c.
  EXPECT_TRUE(conn.detail().starts_with("s->c record 3: decryption failed with "
                                        "SERVER_HANDSHAKE_TRAFFIC_SECRET"))
      << conn.detail();
}

struct UnsupportedCase {
  const char* name;
  int version;
  const char* ciphers;
  int security_level;
  const char* detail;
};

class Unsupported : public testing::TestWithParam<UnsupportedCase> {};

TEST_P(Unsupported, IsReportedNeverDecoded) {
  const UnsupportedCase& p = GetParam();
  Options o;
  o.max_version = p.version;
  o.ciphers = p.ciphers;
  o.rsa = true;
  o.security_level = p.security_level;
  Transcript t;
  {
    Lab lab(o);
    if (!lab.ok()) GTEST_SKIP() << "this OpenSSL cannot offer " << p.ciphers;
    Conn c(lab, t);
    if (!c.handshake()) GTEST_SKIP() << "this OpenSSL refuses " << p.ciphers << ": " << c.why();
    converse(c, o);
  }
  KeyLog keys = parse_keys(t.keylog);
  TlsConnection conn(keys);
  Collector h;
  Feeder(conn, h).all(t, Feed::odd_splits);
  EXPECT_EQ(conn.state(), State::unsupported);
  EXPECT_EQ(conn.detail(), p.detail);
  EXPECT_EQ(conn.cipher(), t.cipher);
  EXPECT_EQ(h.text[0] + h.text[1], "");
  EXPECT_TRUE(h.errors.empty()) << h.all_errors();
}

const UnsupportedCase kUnsupportedCases[] = {
    {"Tls12Cbc", TLS1_2_VERSION, "ECDHE-RSA-AES128-SHA", -1,
     "cipher suite 0xC013 (TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA) is not supported"},
    {"Tls12RsaCbc", TLS1_2_VERSION, "AES128-SHA", -1,
     "cipher suite 0x002F (TLS_RSA_WITH_AES_128_CBC_SHA) is not supported"},
    {"Tls13Ccm", TLS1_3_VERSION, "TLS_AES_128_CCM_SHA256", -1,
     "cipher suite 0x1304 (TLS_AES_128_CCM_SHA256) is not supported"},
    {"Tls11", TLS1_1_VERSION, "ECDHE-RSA-AES128-SHA:@SECLEVEL=0", 0, "TLS 1.1 is not supported"},
};

INSTANTIATE_TEST_SUITE_P(Tls, Unsupported, testing::ValuesIn(kUnsupportedCases),
                         [](const testing::TestParamInfo<UnsupportedCase>& i) {
                           return i.param.name;
                         });

// ---- gaps and damaged streams -------------------------------------------------------------

TEST(TlsConnection, GapStopsThatSideOnly) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version);
    Options o;
    o.max_version = version;
    if (version == TLS1_2_VERSION) o.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    const Transcript t = session(o);
    ASSERT_TRUE(t.handshake_ok);
    KeyLog keys = parse_keys(t.keylog);
    TlsConnection conn(keys);
    Collector h;
    Feeder feeder(conn, h);
    const std::size_t half = t.chunks.size() / 2;
    for (std::size_t i = 0; i < t.chunks.size(); ++i) {
      if (i == half) conn.gap(Side::server, h);
      const auto& [side, bytes] = t.chunks[i];
      feeder.put(side, bytes);
    }
    EXPECT_EQ(conn.state(), State::failed);
    EXPECT_NE(conn.detail().find("gap"), std::string::npos) << conn.detail();
    ASSERT_EQ(h.errors.size(), 1U) << h.all_errors();
    EXPECT_TRUE(h.errors[0].starts_with("s->c | s->c")) << h.errors[0];
    expect_same(h.text[0], t.sent[0], "client plaintext");
    EXPECT_LT(h.text[1].size(), t.sent[1].size());
    EXPECT_TRUE(t.sent[1].starts_with(h.text[1]));
    conn.gap(Side::server, h); // already stopped: nothing new
    EXPECT_EQ(h.errors.size(), 1U);
  }
}

TEST(TlsConnection, GapBeforeTheClientHelloStopsBothSides) {
  const Transcript t = session(Options{});
  ASSERT_TRUE(t.handshake_ok);
  KeyLog keys = parse_keys(t.keylog);
  TlsConnection conn(keys);
  Collector h;
  conn.gap(Side::client, h);
  Feeder(conn, h).all(t, Feed::flights);
  EXPECT_EQ(conn.state(), State::failed);
  EXPECT_EQ(h.errors.size(), 2U) << h.all_errors();
  EXPECT_EQ(h.text[0] + h.text[1], "");
}

TEST(TlsConnection, NotTlsFails) {
  KeyLog keys;
  TlsConnection conn(keys);
  Collector h;
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  conn.feed(Side::client, ByteView(reinterpret_cast<const std::uint8_t*>(http.data()), http.size()),
            0, 1, h);
  EXPECT_EQ(conn.state(), State::failed);
  EXPECT_NE(conn.detail().find("c->s record 1"), std::string::npos) << conn.detail();
  EXPECT_EQ(h.errors.size(), 1U);
}

TEST(TlsConnection, OversizedRecordFails) {
  KeyLog keys;
  TlsConnection conn(keys);
  Collector h;
  const Bytes header = {0x16, 0x03, 0x01, 0xFF, 0xFF, 0x01};
  conn.feed(Side::client, header, 0, 1, h);
  EXPECT_EQ(conn.state(), State::failed);
  EXPECT_NE(conn.detail().find("65535 bytes"), std::string::npos) << conn.detail();
  // 2^14 + 2048 is the largest TLS 1.2 allows: accepted as a record (and then not a hello).
  TlsConnection ok(keys);
  Collector h2;
  Bytes big = {0x16, 0x03, 0x03, 0x48, 0x00};
  big.resize(5 + 0x4800, 0);
  ok.feed(Side::client, big, 0, 1, h2);
  EXPECT_EQ(ok.detail(), "c->s: the stream does not start with a valid ClientHello");
}

TEST(TlsConnection, ClientStreamMustStartWithAClientHello) {
  KeyLog keys;
  TlsConnection conn(keys);
  Collector h;
  const Bytes data = {0x17, 0x03, 0x03, 0x00, 0x02, 0xAA, 0xBB};
  conn.feed(Side::client, data, 0, 1, h);
  EXPECT_EQ(conn.state(), State::failed);
  EXPECT_EQ(conn.detail(), "c->s: the stream does not start with a TLS ClientHello");
}

/// Deterministic damage to real transcripts: whatever comes out must be a prefix of what was
/// sent (tags catch damaged records), and nothing may read out of bounds (ASan).
TEST(TlsConnection, DamagedStreamsNeverMisdecode) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    Options o;
    o.max_version = version;
    o.extra_messages = 0;
    if (version == TLS1_2_VERSION) o.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305";
    const Transcript t = session(o);
    ASSERT_TRUE(t.handshake_ok);
    KeyLog keys = parse_keys(t.keylog);
    std::uint64_t state = std::uint64_t{0x9E3779B97F4A7C15} + static_cast<std::uint64_t>(version);
    const auto next = [&] {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      return state;
    };
    for (int round = 0; round < 150; ++round) {
      Transcript m = t;
      const int changes = 1 + static_cast<int>(next() % 4);
      for (int k = 0; k < changes; ++k) {
        auto& bytes = m.chunks[next() % m.chunks.size()].second;
        if (bytes.empty()) continue;
        const std::size_t at = next() % bytes.size();
        switch (next() % 4) {
        case 0:
          bytes[at] = static_cast<std::uint8_t>(bytes[at] ^ (1U << (next() % 8)));
          break;
        case 1:
          bytes[at] = static_cast<std::uint8_t>(next());
          break;
        case 2:
          bytes.resize(at);
          break;
        default:
          bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at));
          break;
        }
      }
      TlsConnection conn(keys);
      Collector h;
      Feeder(conn, h).all(m, round % 3 == 0 ? Feed::odd_splits : Feed::flights);
      EXPECT_TRUE(t.sent[0].starts_with(h.text[0])) << "round " << round;
      EXPECT_TRUE(t.sent[1].starts_with(h.text[1])) << "round " << round;
      (void)conn.version();
      (void)conn.cipher();
    }
  }
}

// ---- looks_like_tls -----------------------------------------------------------------------

TEST(LooksLikeTls, RealClientHello) {
  const Transcript t = session(Options{});
  ASSERT_TRUE(t.handshake_ok);
  ASSERT_FALSE(t.chunks.empty());
  EXPECT_EQ(t.chunks[0].first, Side::client);
  EXPECT_TRUE(sio::wire::looks_like_tls(t.chunks[0].second));
  EXPECT_TRUE(sio::wire::looks_like_tls(ByteView(t.chunks[0].second).first(6)));
  EXPECT_FALSE(sio::wire::looks_like_tls(ByteView(t.chunks[0].second).first(5)));
}

TEST(LooksLikeTls, OtherBytes) {
  using sio::wire::looks_like_tls;
  const auto b = [](std::initializer_list<std::uint8_t> l) { return Bytes(l); };
  EXPECT_TRUE(looks_like_tls(b({0x16, 0x03, 0x00, 0x00, 0x10, 0x01})));
  EXPECT_TRUE(looks_like_tls(b({0x16, 0x03, 0x04, 0x00, 0x10, 0x01})));
  EXPECT_FALSE(looks_like_tls(b({0x16, 0x03, 0x05, 0x00, 0x10, 0x01})));
  EXPECT_FALSE(looks_like_tls(b({0x16, 0x02, 0x01, 0x00, 0x10, 0x01})));
  EXPECT_FALSE(looks_like_tls(b({0x17, 0x03, 0x01, 0x00, 0x10, 0x01})));
  EXPECT_FALSE(looks_like_tls(b({0x16, 0x03, 0x01, 0x00, 0x10, 0x02})));
  EXPECT_FALSE(looks_like_tls(b({'G', 'E', 'T', ' ', '/', ' '})));
  EXPECT_FALSE(looks_like_tls({}));
}

// ---- KeyLog -------------------------------------------------------------------------------

const std::string kRandomA(64, 'a');
const std::string kRandomB = "0123456789ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef";

Bytes random_bytes(const std::string& hex_text) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex_text.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(hex_text.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(KeyLog, ParsesNssLines) {
  const std::string text = "\xEF\xBB\xBF# SSL/TLS secrets log file, generated by NSS\r\n"
                           "\r\n"
                           "CLIENT_RANDOM " +
                           kRandomA + " " + std::string(96, '1') +
                           "\r\n"
                           "   \t\n"
                           "CLIENT_TRAFFIC_SECRET_0\t" +
                           kRandomB + "  " + std::string(64, 'c') +
                           "\n"
                           "SERVER_TRAFFIC_SECRET_0 " +
                           kRandomB + " " + std::string(64, 'D') +
                           "\n"
                           "SOME_FUTURE_LABEL " +
                           kRandomB +
                           " 00ff\n"
                           "RSA 0011223344556677 " +
                           std::string(96, '2') +
                           "\n"
                           "  # an indented comment\n"
                           "EXPORTER_SECRET " +
                           kRandomB + " " + std::string(64, 'e');
  auto k = KeyLog::parse(text, "keys.log");
  ASSERT_TRUE(k.ok()) << k.error().message();
  EXPECT_EQ(k->size(), 2U);
  EXPECT_FALSE(k->empty());
  const auto* a = k->find(random_bytes(kRandomA));
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->size(), 1U);
  EXPECT_EQ(a->at("CLIENT_RANDOM"), Bytes(48, 0x11));
  const auto* b = k->find(random_bytes(kRandomB));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->size(), 4U);
  EXPECT_EQ(b->at("CLIENT_TRAFFIC_SECRET_0"), Bytes(32, 0xCC));
  EXPECT_EQ(b->at("SERVER_TRAFFIC_SECRET_0"), Bytes(32, 0xDD));
  EXPECT_EQ(b->at("SOME_FUTURE_LABEL"), (Bytes{0x00, 0xFF}));
  EXPECT_EQ(b->at("EXPORTER_SECRET"), Bytes(32, 0xEE));
  EXPECT_EQ(k->find(Bytes(32, 0)), nullptr);
  EXPECT_EQ(k->find(ByteView(random_bytes(kRandomA)).first(31)), nullptr);
}

TEST(KeyLog, EmptyTextIsAnEmptyLog) {
  for (const char* text : {"", "\n\n", "# only a comment\n"}) {
    auto k = KeyLog::parse(text, "keys.log");
    ASSERT_TRUE(k.ok()) << k.error().message();
    EXPECT_TRUE(k->empty());
  }
}

struct BadLine {
  std::string text;
  std::string message;
};

class KeyLogErrors : public testing::TestWithParam<BadLine> {};

TEST_P(KeyLogErrors, NameTheSourceAndLine) {
  const std::string good = "CLIENT_RANDOM " + kRandomA + " " + std::string(96, '1') + "\n";
  const std::string text = "# comment\n" + good + "\n" + GetParam().text + "\n" + good;
  auto k = KeyLog::parse(text, "keys.log");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().context, "keys.log:4: " + GetParam().message);
  EXPECT_TRUE(k.error().is(sio::errc::bad_recording));
  EXPECT_EQ(k.error().message().find("5a5a5a"), std::string::npos); // the secret never shows
}

INSTANTIATE_TEST_SUITE_P(
    Lines, KeyLogErrors,
    testing::Values(BadLine{"CLIENT_RANDOM " + std::string(63, 'a') + " 5a5a5a5a",
                            "the client random must be 64 hex digits"},
                    BadLine{"CLIENT_RANDOM " + std::string(63, 'a') + "g 5a5a5a5a",
                            "the client random must be 64 hex digits"},
                    BadLine{"CLIENT_RANDOM " + std::string(64, 'a') + " 5a5a5a5",
                            "the secret must be an even number of hex digits"},
                    BadLine{"CLIENT_RANDOM " + std::string(64, 'a') + " 5a5a5a5x",
                            "the secret must be an even number of hex digits"},
                    BadLine{"CLIENT_RANDOM " + std::string(64, 'a'),
                            "expected LABEL CLIENT_RANDOM SECRET, found 2 fields"},
                    BadLine{"CLIENT_RANDOM " + std::string(64, 'a') + " 5a5a5a5a extra",
                            "expected LABEL CLIENT_RANDOM SECRET, found 4 fields"},
                    BadLine{"garbage", "expected LABEL CLIENT_RANDOM SECRET, found 1 field"},
                    BadLine{"CLIENT-RANDOM " + std::string(64, 'a') + " 5a5a5a5a",
                            "the label must be letters, digits and underscores"},
                    BadLine{"RSA 00112233 5a5a5a5a", "an RSA line's key must be 16 hex digits"}));

TEST(KeyLog, MergeLaterWins) {
  auto first = KeyLog::parse("CLIENT_RANDOM " + kRandomA + " " + std::string(96, '1') + "\n" +
                                 "CLIENT_TRAFFIC_SECRET_0 " + kRandomB + " " + std::string(64, '2'),
                             "a.log");
  auto second =
      KeyLog::parse("CLIENT_RANDOM " + kRandomA + " " + std::string(96, '3') + "\n" +
                        "SERVER_TRAFFIC_SECRET_0 " + kRandomB + " " + std::string(64, '4'),
                    "b.log");
  ASSERT_TRUE(first.ok() && second.ok());
  KeyLog log = *first;
  log.merge(*second);
  EXPECT_EQ(log.size(), 2U);
  EXPECT_EQ(log.find(random_bytes(kRandomA))->at("CLIENT_RANDOM"), Bytes(48, 0x33));
  const auto* b = log.find(random_bytes(kRandomB));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->at("CLIENT_TRAFFIC_SECRET_0"), Bytes(32, 0x22));
  EXPECT_EQ(b->at("SERVER_TRAFFIC_SECRET_0"), Bytes(32, 0x44));
  // Within one file the later line wins too.
  auto twice = KeyLog::parse(
      "CLIENT_RANDOM " + kRandomA + " 01\nCLIENT_RANDOM " + kRandomA + " 02\n", "c.log");
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->find(random_bytes(kRandomA))->at("CLIENT_RANDOM"), Bytes{0x02});
}

TEST(KeyLog, LibsslKeyLogDecryptsAfterMerging) {
  // Two sessions' logs merged into one still find each session.
  Options o;
  const Transcript t1 = session(o);
  o.max_version = TLS1_2_VERSION;
  o.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  const Transcript t2 = session(o);
  ASSERT_TRUE(t1.handshake_ok && t2.handshake_ok);
  KeyLog keys = parse_keys(t1.keylog);
  keys.merge(parse_keys(t2.keylog));
  EXPECT_EQ(keys.size(), 2U);
  for (const Transcript* t : {&t1, &t2}) {
    TlsConnection conn(keys);
    Collector h;
    Feeder(conn, h).all(*t, Feed::flights);
    expect_decrypted(*t, conn, h);
  }
}

} // namespace
