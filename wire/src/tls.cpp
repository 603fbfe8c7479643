#include "sio/wire/tls.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <utility>

namespace sio::wire {
namespace {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// ---- limits -------------------------------------------------------------------------------

/// RFC 5246 §6.2.3 lets a TLS 1.2 record body reach 2^14 + 2048 bytes (TLS 1.3: 2^14 + 256). One
/// bound for both: anything larger is not TLS, or we lost our place in the stream.
constexpr std::size_t kMaxRecordBody = (std::size_t{1} << 14) + 2048;
/// Bytes one side may hold back while it waits for the other side's hello. In a capture the
/// hellos come first, so only a damaged or odd stream ever gets near this.
constexpr std::size_t kMaxWaiting = std::size_t{4} << 20;
/// The handshake messages we read (hellos, EncryptedExtensions, Finished, KeyUpdate) are small:
/// a ClientHello is at most 2^16 + a few bytes. Others (certificates) are skipped unbuffered.
constexpr std::size_t kMaxKeptMessage = std::size_t{1} << 17;
/// With only the application secrets logged, records that fail before the first success are
/// taken for encrypted handshake records. A handshake flight is a handful of records; this many
/// failures mean the keys are wrong.
constexpr unsigned kMaxTrialFailures = 16;

constexpr std::uint8_t kChangeCipherSpec = 20;
constexpr std::uint8_t kAlert = 21;
constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kApplicationData = 23;

constexpr std::uint8_t kClientHello = 1;
constexpr std::uint8_t kServerHello = 2;
constexpr std::uint8_t kEndOfEarlyData = 5;
constexpr std::uint8_t kEncryptedExtensions = 8;
constexpr std::uint8_t kFinished = 20;
constexpr std::uint8_t kKeyUpdate = 24;

constexpr std::uint16_t kExtServerName = 0;
constexpr std::uint16_t kExtAlpn = 16;
constexpr std::uint16_t kExtEarlyData = 42;
constexpr std::uint16_t kExtSupportedVersions = 43;

constexpr std::uint16_t kTls12 = 0x0303;
constexpr std::uint16_t kTls13 = 0x0304;

/// RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest (SHA-256 of
/// "HelloRetryRequest"); the real ServerHello follows the client's second ClientHello.
constexpr std::array<std::uint8_t, 32> kHelloRetryRandom = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

// ---- small helpers ------------------------------------------------------------------------

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool all_hex(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return hex_value(c) >= 0; });
}

/// Decodes hex the caller has checked (all_hex, even length).
Bytes from_hex(std::string_view s) {
  Bytes out(s.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::uint8_t>(hex_value(s[2 * i]) << 4 | hex_value(s[2 * i + 1]));
  return out;
}

std::string to_hex(ByteView b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (std::uint8_t v : b) {
    out += digits[v >> 4];
    out += digits[v & 0x0F];
  }
  return out;
}

std::string hex4(std::uint16_t v) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) out += digits[(v >> shift) & 0x0F];
  return out;
}

/// Secrets must not outlive their use in memory we free.
void wipe(Bytes& b) noexcept {
  if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
  b.clear();
}

/// Bounds-checked reading of TLS structures (RFC 8446 §3): every read says whether the bytes
/// were there, so a hostile hello can never make us read past its end.
class Reader {
public:
  explicit Reader(ByteView d) noexcept : d_(d) {}
  bool u8(std::uint8_t& v) noexcept {
    if (left() < 1) return false;
    v = d_[pos_++];
    return true;
  }
  bool u16(std::uint16_t& v) noexcept {
    if (left() < 2) return false;
    v = static_cast<std::uint16_t>(d_[pos_] << 8 | d_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool bytes(std::size_t n, ByteView& out) noexcept {
    if (left() < n) return false;
    out = d_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool vec8(ByteView& out) noexcept {
    std::uint8_t n = 0;
    return u8(n) && bytes(n, out);
  }
  bool vec16(ByteView& out) noexcept {
    std::uint16_t n = 0;
    return u16(n) && bytes(n, out);
  }
  [[nodiscard]] std::size_t left() const noexcept { return d_.size() - pos_; }
  [[nodiscard]] bool empty() const noexcept { return left() == 0; }

private:
  ByteView d_;
  std::size_t pos_ = 0;
};

/// Calls f(type, body) for each extension of a block; false when the block is malformed or f
/// says so.
template <class F> bool for_each_extension(ByteView block, F&& f) {
  Reader r(block);
  while (!r.empty()) {
    std::uint16_t type = 0;
    ByteView body;
    if (!r.u16(type) || !r.vec16(body)) return false;
    if (!f(type, body)) return false;
  }
  return true;
}

std::string as_string(ByteView b) {
  return {b.begin(), b.end()};
}

/// A host name is printable ASCII; anything else in server_name is not worth reporting.
bool printable(ByteView b) noexcept {
  return !b.empty() &&
         std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c > 0x20 && c < 0x7F; });
}

// ---- cipher suites ------------------------------------------------------------------------

enum class Aead : std::uint8_t { aes128gcm, aes256gcm, chacha20 };

struct Suite {
  std::uint16_t id;
  const char* name;
  bool tls13;
  Aead aead;
  bool sha384; ///< the PRF/HKDF hash; SHA-256 otherwise
};

/// What we decrypt. TLS 1.2 needs only the master secret, whatever the key exchange, so the
/// RSA-key-exchange GCM suites work as well as (EC)DHE when the key log has CLIENT_RANDOM.
constexpr Suite kSuites[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256", true, Aead::aes128gcm, false},
    {0x1302, "TLS_AES_256_GCM_SHA384", true, Aead::aes256gcm, true},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", true, Aead::chacha20, false},
    {0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", false, Aead::aes128gcm, false},
    {0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", false, Aead::aes256gcm, true},
    {0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", false, Aead::aes128gcm, false},
    {0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", false, Aead::aes256gcm, true},
    {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", false, Aead::aes128gcm, false},
    {0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", false, Aead::aes256gcm, true},
    {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", false, Aead::aes128gcm, false},
    {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", false, Aead::aes256gcm, true},
    {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", false, Aead::chacha20, false},
    {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", false, Aead::chacha20, false},
    {0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", false, Aead::chacha20, false},
};

struct SuiteName {
  std::uint16_t id;
  const char* name;
};

/// Names of suites we do not decrypt, only so that the detail of an unsupported connection
/// reads well. Not exhaustive: others are named by number.
constexpr SuiteName kOtherSuites[] = {
    {0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
    {0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
    {0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
    {0x1304, "TLS_AES_128_CCM_SHA256"},
    {0x1305, "TLS_AES_128_CCM_8_SHA256"},
    {0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
    {0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
    {0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
    {0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
    {0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
};

const Suite* find_suite(std::uint16_t id) noexcept {
  for (const Suite& s : kSuites)
    if (s.id == id) return &s;
  return nullptr;
}

std::string suite_name(std::uint16_t id) {
  if (const Suite* s = find_suite(id)) return s->name;
  for (const SuiteName& s : kOtherSuites)
    if (s.id == id) return s.name;
  return hex4(id);
}

const EVP_CIPHER* evp_cipher(Aead a) noexcept {
  switch (a) {
  case Aead::aes128gcm:
    return EVP_aes_128_gcm();
  case Aead::aes256gcm:
    return EVP_aes_256_gcm();
  case Aead::chacha20:
    return EVP_chacha20_poly1305();
  }
  return nullptr;
}

std::size_t key_length(Aead a) noexcept {
  return a == Aead::aes128gcm ? 16 : 32;
}
const char* digest_name(const Suite& s) noexcept {
  return s.sha384 ? "SHA384" : "SHA256";
}
std::size_t hash_length(const Suite& s) noexcept {
  return s.sha384 ? 48 : 32;
}

std::string version_name(std::uint16_t v) {
  switch (v) {
  case 0:
    return "";
  case kTls13:
    return "TLS 1.3";
  case kTls12:
    return "TLS 1.2";
  case 0x0302:
    return "TLS 1.1";
  case 0x0301:
    return "TLS 1.0";
  case 0x0300:
    return "SSL 3.0";
  default:
    return "TLS version " + hex4(v);
  }
}

struct AlertName {
  std::uint8_t code;
  const char* name;
};

/// RFC 8446 §6 and RFC 5246 §7.2, for messages.
constexpr AlertName kAlerts[] = {
    {0, "close_notify"},
    {10, "unexpected_message"},
    {20, "bad_record_mac"},
    {22, "record_overflow"},
    {40, "handshake_failure"},
    {42, "bad_certificate"},
    {43, "unsupported_certificate"},
    {44, "certificate_revoked"},
    {45, "certificate_expired"},
    {46, "certificate_unknown"},
    {47, "illegal_parameter"},
    {48, "unknown_ca"},
    {49, "access_denied"},
    {50, "decode_error"},
    {51, "decrypt_error"},
    {70, "protocol_version"},
    {71, "insufficient_security"},
    {80, "internal_error"},
    {86, "inappropriate_fallback"},
    {90, "user_canceled"},
    {100, "no_renegotiation"},
    {109, "missing_extension"},
    {110, "unsupported_extension"},
    {112, "unrecognized_name"},
    {116, "certificate_required"},
    {120, "no_application_protocol"},
};

std::string alert_name(std::uint8_t d) {
  for (const AlertName& a : kAlerts)
    if (a.code == d) return a.name;
  return std::to_string(d);
}

// ---- OpenSSL ------------------------------------------------------------------------------

struct KdfFree {
  void operator()(EVP_KDF* k) const noexcept { EVP_KDF_free(k); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* c) const noexcept { EVP_KDF_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};

/// OSSL_PARAM takes non-const buffers even for inputs it only reads.
void* param_buffer(ByteView b) noexcept {
  return const_cast<std::uint8_t*>(b.data());
}
char* param_string(const char* s) noexcept {
  return const_cast<char*>(s);
}

bool kdf_derive(const char* name, const OSSL_PARAM* params, std::span<std::uint8_t> out) {
  const std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, name, nullptr));
  if (!kdf) return false;
  const std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  return ctx && EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) == 1;
}

/// RFC 8446 §7.1 HKDF-Expand-Label with an empty context: the info is the HkdfLabel structure
/// (u16 length, u8-prefixed "tls13 " + label, u8-prefixed context).
bool hkdf_expand_label(const Suite& suite, ByteView secret, std::string_view label,
                       std::span<std::uint8_t> out) {
  const std::string full = "tls13 " + std::string(label);
  // Sized up front (3 + label + 1 bytes): growing it byte by byte trips g++ 12's
  // -Wstringop-overflow false positive at -O3.
  Bytes info(3 + full.size() + 1, 0);
  info[0] = static_cast<std::uint8_t>(out.size() >> 8);
  info[1] = static_cast<std::uint8_t>(out.size() & 0xFF);
  info[2] = static_cast<std::uint8_t>(full.size());
  std::memcpy(info.data() + 3, full.data(), full.size()); // the context length stays 0
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  const std::array<OSSL_PARAM, 5> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, param_string(digest_name(suite)), 0),
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, param_buffer(secret), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  return kdf_derive("HKDF", params.data(), out);
}

/// RFC 5246 §5 PRF(secret, label, seed) = P_<hash>(secret, label + seed).
bool tls12_prf(const Suite& suite, ByteView secret, std::string_view label, ByteView seed,
               std::span<std::uint8_t> out) {
  Bytes full(label.begin(), label.end());
  full.insert(full.end(), seed.begin(), seed.end());
  const std::array<OSSL_PARAM, 4> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, param_string(digest_name(suite)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, param_buffer(secret), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, full.data(), full.size()),
      OSSL_PARAM_construct_end()};
  return kdf_derive("TLS1-PRF", params.data(), out);
}

/// The record protection of one direction: the AEAD context keyed once, the fixed IV (TLS 1.2
/// GCM: the 4-byte salt in the first bytes), the record sequence number.
struct RecordKeys {
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx;
  std::array<std::uint8_t, 12> iv{};
  std::uint64_t seq = 0;
  std::string label; ///< the key log label the keys come from, for messages

  bool set(Aead aead, ByteView key, ByteView fixed_iv) {
    if (!ctx) ctx.reset(EVP_CIPHER_CTX_new());
    if (!ctx || fixed_iv.size() > iv.size()) return false;
    EVP_CIPHER_CTX_reset(ctx.get());
    iv.fill(0);
    std::copy(fixed_iv.begin(), fixed_iv.end(), iv.begin());
    seq = 0;
    return EVP_DecryptInit_ex2(ctx.get(), evp_cipher(aead), key.data(), nullptr, nullptr) == 1;
  }

  /// The per-record nonce of TLS 1.3 and of ChaCha20-Poly1305 in TLS 1.2 (RFC 8446 §5.3,
  /// RFC 7905 §2): the IV with the sequence number XORed into its last 8 bytes.
  [[nodiscard]] std::array<std::uint8_t, 12> xor_nonce() const noexcept {
    std::array<std::uint8_t, 12> n = iv;
    for (std::size_t i = 0; i < 8; ++i)
      n[4 + i] = static_cast<std::uint8_t>(n[4 + i] ^ ((seq >> (56 - 8 * i)) & 0xFF));
    return n;
  }

  /// Authenticated decryption; false when the tag does not match (or OpenSSL fails).
  bool open(const std::array<std::uint8_t, 12>& nonce, ByteView aad, ByteView ciphertext,
            ByteView tag, Bytes& out) {
    EVP_CIPHER_CTX* c = ctx.get();
    if (!c || tag.size() != 16) return false;
    if (EVP_DecryptInit_ex2(c, nullptr, nullptr, nonce.data(), nullptr) != 1) return false;
    int n = 0;
    if (EVP_DecryptUpdate(c, nullptr, &n, aad.data(), static_cast<int>(aad.size())) != 1)
      return false;
    out.assign(ciphertext.size() + 16, 0);
    int len = 0;
    if (!ciphertext.empty() && EVP_DecryptUpdate(c, out.data(), &len, ciphertext.data(),
                                                 static_cast<int>(ciphertext.size())) != 1)
      return false;
    std::array<std::uint8_t, 16> t{};
    std::copy(tag.begin(), tag.end(), t.begin());
    const std::array<OSSL_PARAM, 2> params = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, t.data(), t.size()),
        OSSL_PARAM_construct_end()};
    if (EVP_CIPHER_CTX_set_params(c, params.data()) != 1) return false;
    int fin = 0;
    if (EVP_DecryptFinal_ex(c, out.data() + len, &fin) != 1) return false;
    out.resize(static_cast<std::size_t>(len) + static_cast<std::size_t>(fin));
    return true;
  }
};

/// One complete record, kept with the packet that completed it.
struct Record {
  std::uint8_t type = 0;
  std::uint16_t version = 0;
  Bytes body;
  std::int64_t ts_ns = 0;
  std::uint64_t packet = 0;
  std::uint64_t index = 0; ///< 1-based count of the side's records, for messages
};

/// Which keys protect a side's encrypted records (TLS 1.3; TLS 1.2 has one set after CCS).
enum class Mode : std::uint8_t { plain, early, handshake, application };

/// A key change asked for by a handshake message; it applies at the end of its record
/// (RFC 8446 §5.1: such messages end their record).
enum class Pending : std::uint8_t { none, to_handshake, to_application, key_update };

struct Direction {
  // Record framing.
  std::array<std::uint8_t, 5> head{};
  std::size_t head_len = 0;
  std::size_t need = 0;
  Bytes body;
  std::uint64_t records = 0;
  // Complete records waiting for the other side's hello (see must_wait).
  std::deque<Record> queue;
  std::size_t queued_bytes = 0;
  // Handshake message reassembly across records.
  std::array<std::uint8_t, 4> msg_head{};
  std::size_t msg_head_len = 0;
  std::uint32_t msg_left = 0;
  bool msg_keep = false;
  bool msg_encrypted = false;
  Bytes msg;
  // Decryption.
  Mode mode = Mode::plain;
  bool encrypted12 = false; ///< TLS 1.2: after this side's ChangeCipherSpec
  RecordKeys keys;
  Bytes secret;            ///< TLS 1.3: the current traffic secret (KeyUpdate derives from it)
  unsigned generation = 0; ///< TLS 1.3: KeyUpdates seen
  bool trial = false;      ///< records whose tag fails are skipped until one decrypts
  unsigned trial_failures = 0;
  Pending pending = Pending::none;
  bool stopped = false;
  std::uint64_t offset = 0; ///< plaintext bytes delivered

  [[nodiscard]] bool mid_message() const noexcept { return msg_head_len != 0; }
};

} // namespace

// ---- KeyLog -------------------------------------------------------------------------------

Result<KeyLog> KeyLog::parse(std::string_view text, const std::string& source) {
  KeyLog log;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3); // a BOM from a text editor
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const auto bad = [&](const std::string& what) {
      // Never the line itself: it may hold a secret.
      return fail(errc::bad_recording, source + ":" + std::to_string(line_no) + ": " + what);
    };
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;

    std::array<std::string_view, 3> fields;
    std::size_t count = 0;
    for (std::size_t i = 0; i < line.size();) {
      if (is_space(line[i])) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < line.size() && !is_space(line[j])) ++j;
      if (count < fields.size()) fields[count] = line.substr(i, j - i);
      ++count;
      i = j;
    }
    if (count != 3)
      return bad("expected LABEL CLIENT_RANDOM SECRET, found " + std::to_string(count) +
                 (count == 1 ? " field" : " fields"));
    const std::string_view label = fields[0], random = fields[1], secret = fields[2];
    if (!std::all_of(label.begin(), label.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_';
        }))
      return bad("the label must be letters, digits and underscores");
    if (!all_hex(secret) || secret.size() % 2 != 0)
      return bad("the secret must be an even number of hex digits");
    if (label == "RSA") {
      // Legacy lines keyed by the encrypted pre-master secret, not by a client random: valid,
      // but of no use to us (RSA key exchange needs the CLIENT_RANDOM line instead).
      if (random.size() != 16 || !all_hex(random))
        return bad("an RSA line's key must be 16 hex digits");
      continue;
    }
    if (random.size() != 64 || !all_hex(random))
      return bad("the client random must be 64 hex digits");
    std::array<std::uint8_t, 32> cr{};
    const Bytes raw = from_hex(random);
    std::copy(raw.begin(), raw.end(), cr.begin());
    log.sessions_[cr][std::string(label)] = from_hex(secret);
  }
  return log;
}

void KeyLog::merge(const KeyLog& other) {
  for (const auto& [random, secrets] : other.sessions_) {
    TlsSecrets& mine = sessions_[random];
    for (const auto& [label, secret] : secrets) mine[label] = secret;
  }
}

const TlsSecrets* KeyLog::find(std::span<const std::uint8_t> client_random) const {
  if (client_random.size() != 32) return nullptr;
  std::array<std::uint8_t, 32> key{};
  std::copy(client_random.begin(), client_random.end(), key.begin());
  const auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : &it->second;
}

bool looks_like_tls(std::span<const std::uint8_t> first_bytes) noexcept {
  return first_bytes.size() >= 6 && first_bytes[0] == kHandshake && first_bytes[1] == 0x03 &&
         first_bytes[2] <= 0x04 && first_bytes[5] == kClientHello;
}

// ---- TlsConnection ------------------------------------------------------------------------

struct TlsConnection::Impl {
  explicit Impl(const KeyLog& k) : keys(&k) {}
  ~Impl() {
    for (Bytes* b : {&app_secret[0], &app_secret[1], &hs_secret[0], &hs_secret[1], &early_secret,
                     &dirs[0].secret, &dirs[1].secret})
      wipe(*b);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  /// Looked up at the ServerHello: the key log must outlive the handshake.
  const KeyLog* keys;
  State state = State::handshake;
  std::string detail, sni, alpn;
  std::vector<std::string> offered_alpn; ///< the ClientHello's list; alpn() is the server's pick

  bool client_hello_seen = false;
  bool hello_retry = false;       ///< a HelloRetryRequest came; the real ServerHello follows
  bool server_hello_seen = false; ///< the real ServerHello (not a HelloRetryRequest)
  bool early_offered = false;     ///< the ClientHello offered 0-RTT early data
  bool ee_seen = false;           ///< TLS 1.3: EncryptedExtensions decrypted
  std::array<std::uint8_t, 32> client_random{};
  std::array<std::uint8_t, 32> server_random{};
  std::uint16_t version = 0;
  std::uint16_t suite_id = 0;
  const Suite* suite = nullptr;

  // Copies of the session's secrets, so that only the handshake needs the key log.
  std::array<Bytes, 2> app_secret, hs_secret;
  Bytes early_secret;

  std::array<Direction, 2> dirs;

  Direction& dir(Side s) noexcept { return dirs[static_cast<std::size_t>(s)]; }

  [[nodiscard]] std::string random_prefix() const {
    return to_hex(ByteView(client_random).first(8)) + "...";
  }
  [[nodiscard]] bool terminal() const noexcept {
    return state == State::no_keys || state == State::unsupported || state == State::failed;
  }
  static std::string where(Side s, const Record& r) {
    return std::string(to_string(s)) + " record " + std::to_string(r.index);
  }

  // -- stopping

  static void stop(Direction& d) {
    d.stopped = true;
    d.queue.clear();
    d.queued_bytes = 0;
    d.body = {};
    d.head_len = 0;
    d.msg = {};
    d.msg_head_len = 0;
  }

  /// One side cannot go on: it stops, the handler hears why, and the connection is failed
  /// (the first reason stays in detail()).
  void fail(Side s, const std::string& what, Handler& h) {
    Direction& d = dir(s);
    if (d.stopped) return;
    stop(d);
    if (!terminal()) {
      state = State::failed;
      detail = what;
    }
    h.on_error(s, what);
  }

  /// Both sides stop with `st`. The handler hears it when given one: failures and a
  /// renegotiation mid-stream. no_keys and unsupported found at the ServerHello stop nothing
  /// that had started, so they are only state() and detail().
  void stop_all(State st, const std::string& why, Handler* h) {
    if (!terminal()) {
      state = st;
      detail = why;
    }
    for (Side s : {Side::client, Side::server}) {
      Direction& d = dir(s);
      if (d.stopped) continue;
      stop(d);
      if (h) h->on_error(s, why);
    }
  }

  // -- framing

  void feed(Side s, ByteView in, std::int64_t ts, std::uint64_t packet, Handler& h) {
    Direction& d = dir(s);
    std::size_t pos = 0;
    while (pos < in.size() && !d.stopped) {
      if (d.head_len < d.head.size()) {
        const std::size_t take = std::min(d.head.size() - d.head_len, in.size() - pos);
        std::copy_n(in.data() + pos, take, d.head.data() + d.head_len);
        d.head_len += take;
        pos += take;
        if (d.head_len < d.head.size()) break;
        ++d.records;
        const std::uint8_t type = d.head[0];
        d.need = static_cast<std::size_t>(d.head[3]) << 8 | d.head[4];
        const std::string here = std::string(to_string(s)) + " record " + std::to_string(d.records);
        if (type < kChangeCipherSpec || type > kApplicationData) {
          // 24 (heartbeat) included: we have no use for it and it never carries our data.
          fail(s, here + ": record type " + std::to_string(type) + " is not TLS we follow", h);
          return;
        }
        if (d.head[1] != 0x03) {
          fail(s,
               here + ": record version " +
                   hex4(static_cast<std::uint16_t>(d.head[1] << 8 | d.head[2])) + " is not TLS",
               h);
          return;
        }
        if (d.need > kMaxRecordBody) {
          fail(s,
               here + ": record of " + std::to_string(d.need) + " bytes is longer than TLS allows",
               h);
          return;
        }
        d.body.clear();
        d.body.reserve(d.need);
      }
      const std::size_t take = std::min(d.need - d.body.size(), in.size() - pos);
      d.body.insert(d.body.end(), in.data() + pos, in.data() + pos + take);
      pos += take;
      if (d.body.size() < d.need) break;
      Record r;
      r.type = d.head[0];
      r.version = static_cast<std::uint16_t>(d.head[1] << 8 | d.head[2]);
      r.body = std::move(d.body);
      r.ts_ns = ts;
      r.packet = packet;
      r.index = d.records;
      d.body = {};
      d.head_len = 0;
      d.queued_bytes += r.body.size() + d.head.size();
      d.queue.push_back(std::move(r));
      pump(h);
      if (!d.stopped && d.queued_bytes > kMaxWaiting)
        fail(s,
             std::string(to_string(s)) + ": over " + std::to_string(kMaxWaiting) +
                 " bytes while waiting for the " + to_string(other(s)) + " hello",
             h);
    }
  }

  /// A side holds its records back while they need what only the other side's hello tells:
  /// the server everything until the ClientHello (the client random finds the keys); the
  /// client its encrypted records until the ServerHello (version, suite, keys), and with 0-RTT
  /// offered until EncryptedExtensions says whether the server took the early data.
  bool must_wait(Side s, const Record& r) {
    if (s == Side::server) return !client_hello_seen;
    if (!client_hello_seen) return false; // process() rejects a stream that starts otherwise
    if (!server_hello_seen)
      return r.type == kApplicationData || (r.type == kChangeCipherSpec && !hello_retry);
    if (version == kTls13 && r.type == kApplicationData && early_offered && !ee_seen) {
      const Direction& server = dir(Side::server);
      return server.mode == Mode::handshake && !server.stopped;
    }
    return false;
  }

  void pump(Handler& h) {
    for (bool progress = true; progress;) {
      progress = false;
      for (Side s : {Side::client, Side::server}) {
        Direction& d = dir(s);
        while (!d.stopped && !d.queue.empty() && !must_wait(s, d.queue.front())) {
          // Out of the queue first: processing may stop the side and clear it.
          Record r = std::move(d.queue.front());
          d.queue.pop_front();
          d.queued_bytes -= r.body.size() + d.head.size();
          process(s, r, h);
          progress = true;
        }
      }
    }
    for (Side s : {Side::client, Side::server}) {
      Direction& d = dir(s);
      if (!d.stopped && !d.queue.empty() && dir(other(s)).stopped)
        fail(s,
             std::string(to_string(s)) + ": the " + to_string(other(s)) +
                 " stream stopped before its hello",
             h);
    }
  }

  // -- records

  void process(Side s, const Record& r, Handler& h) {
    Direction& d = dir(s);
    if (!client_hello_seen && s == Side::client && r.type != kHandshake) {
      stop_all(State::failed, "c->s: the stream does not start with a TLS ClientHello", &h);
      return;
    }
    if (d.encrypted12) {
      decrypt12(s, r, h);
      return;
    }
    switch (r.type) {
    case kChangeCipherSpec:
      change_cipher_spec(s, r, h);
      return;
    case kAlert:
      alert(s, r.body, h);
      return;
    case kHandshake:
      handshake_bytes(s, r.body, false, h);
      return;
    case kApplicationData:
      if (version == kTls13 && d.mode != Mode::plain)
        decrypt13(s, r, h);
      else
        fail(s, where(s, r) + ": encrypted data before the handshake set up its keys", h);
      return;
    default:
      fail(s, where(s, r) + ": unknown record type " + std::to_string(r.type), h);
      return;
    }
  }

  void change_cipher_spec(Side s, const Record& r, Handler& h) {
    Direction& d = dir(s);
    if (r.body.size() != 1 || r.body[0] != 1) {
      fail(s, where(s, r) + ": malformed ChangeCipherSpec", h);
      return;
    }
    // RFC 8446 §5 / Appendix D.4: in TLS 1.3 it is only there for middleboxes.
    if (version == kTls13 || (hello_retry && !server_hello_seen)) return;
    if (version == kTls12 && server_hello_seen && state == State::decrypting) {
      if (d.mid_message()) {
        fail(s, where(s, r) + ": a handshake message continues across ChangeCipherSpec", h);
        return;
      }
      // RFC 5246 §6.1: the sequence number starts at 0 with the new keys.
      d.encrypted12 = true;
      d.keys.seq = 0;
      return;
    }
    fail(s, where(s, r) + ": ChangeCipherSpec before the ServerHello", h);
  }

  void alert(Side s, ByteView body, Handler& h) {
    if (body.size() < 2) {
      fail(s, std::string(to_string(s)) + ": malformed alert", h);
      return;
    }
    const std::uint8_t level = body[0], description = body[1];
    if (description == 0) {
      // close_notify: the side ends normally; what follows is not application data.
      stop(dir(s));
      return;
    }
    // TLS 1.2 warnings and user_canceled (followed by close_notify) do not end the stream.
    if (description == 90 || (level == 1 && version != kTls13)) return;
    const std::string what = std::string(to_string(s)) + ": fatal alert " + alert_name(description);
    stop(dir(s));
    if (state == State::handshake) {
      state = State::failed;
      detail = what;
    }
    h.on_error(s, what);
  }

  void deliver(Side s, ByteView content, const Record& r, Handler& h) {
    Direction& d = dir(s);
    if (content.empty()) return;
    h.on_plaintext(s, content, d.offset, r.ts_ns, r.packet);
    d.offset += content.size();
  }

  /// RFC 8446 §5.2: the AAD is the record header; the inner plaintext ends with its real
  /// content type after zero padding.
  void decrypt13(Side s, const Record& r, Handler& h) {
    Direction& d = dir(s);
    Bytes out;
    bool ok = false;
    if (r.body.size() >= 17) {
      const std::array<std::uint8_t, 5> aad = {r.type, static_cast<std::uint8_t>(r.version >> 8),
                                               static_cast<std::uint8_t>(r.version & 0xFF),
                                               static_cast<std::uint8_t>(r.body.size() >> 8),
                                               static_cast<std::uint8_t>(r.body.size() & 0xFF)};
      const ByteView body(r.body);
      ok = d.keys.open(d.keys.xor_nonce(), aad, body.first(body.size() - 16), body.last(16), out);
    }
    if (!ok) {
      if (d.trial && d.trial_failures < kMaxTrialFailures) {
        // Before the first success these are the records of keys we were not given (the
        // encrypted handshake, rejected early data); they do not count in our sequence.
        ++d.trial_failures;
        return;
      }
      fail(s,
           where(s, r) + (d.trial ? ": no record decrypts with " : ": decryption failed with ") +
               d.keys.label +
               " (bad record MAC): the key log does not match this connection, or the data is "
               "damaged",
           h);
      return;
    }
    ++d.keys.seq;
    d.trial = false;
    std::size_t n = out.size();
    while (n > 0 && out[n - 1] == 0) --n;
    if (n == 0) {
      fail(s, where(s, r) + ": decrypted record has no content type", h);
      return;
    }
    const std::uint8_t inner = out[n - 1];
    const ByteView content(out.data(), n - 1);
    switch (inner) {
    case kApplicationData:
      if (d.mode == Mode::handshake) {
        fail(s, where(s, r) + ": application data under handshake keys", h);
        return;
      }
      deliver(s, content, r, h);
      break;
    case kHandshake:
      handshake_bytes(s, content, true, h);
      break;
    case kAlert:
      alert(s, content, h);
      break;
    default:
      fail(s, where(s, r) + ": unknown inner content type " + std::to_string(inner), h);
      return;
    }
    if (!d.stopped) apply_pending(s, r, h);
  }

  /// RFC 5246 §6.2.3.3 (GCM, RFC 5288: 8-byte explicit nonce first) and RFC 7905 (ChaCha20:
  /// nonce from the IV and the sequence number); AAD = seq, type, version, plaintext length.
  void decrypt12(Side s, const Record& r, Handler& h) {
    Direction& d = dir(s);
    const bool gcm = suite->aead != Aead::chacha20;
    const std::size_t explicit_len = gcm ? 8 : 0;
    Bytes out;
    bool ok = false;
    if (r.body.size() >= explicit_len + 16) {
      const ByteView body(r.body);
      const ByteView ciphertext = body.subspan(explicit_len, body.size() - explicit_len - 16);
      std::array<std::uint8_t, 12> nonce = d.keys.xor_nonce();
      if (gcm) {
        nonce = d.keys.iv;
        std::copy_n(body.data(), 8, nonce.data() + 4);
      }
      std::array<std::uint8_t, 13> aad{};
      for (std::size_t i = 0; i < 8; ++i)
        aad[i] = static_cast<std::uint8_t>((d.keys.seq >> (56 - 8 * i)) & 0xFF);
      aad[8] = r.type;
      aad[9] = static_cast<std::uint8_t>(r.version >> 8);
      aad[10] = static_cast<std::uint8_t>(r.version & 0xFF);
      aad[11] = static_cast<std::uint8_t>(ciphertext.size() >> 8);
      aad[12] = static_cast<std::uint8_t>(ciphertext.size() & 0xFF);
      ok = d.keys.open(nonce, aad, ciphertext, body.last(16), out);
    }
    if (!ok) {
      fail(s,
           where(s, r) +
               ": decryption failed with CLIENT_RANDOM (bad record MAC): the key log does not "
               "match this connection, or the data is damaged",
           h);
      return;
    }
    ++d.keys.seq;
    switch (r.type) {
    case kApplicationData:
      deliver(s, out, r, h);
      return;
    case kHandshake:
      handshake_bytes(s, out, true, h);
      return;
    case kAlert:
      alert(s, out, h);
      return;
    default:
      fail(s,
           where(s, r) + ": unexpected record type " + std::to_string(r.type) +
               " after ChangeCipherSpec",
           h);
      return;
    }
  }

  // -- handshake messages

  static bool keep_message(std::uint8_t type) noexcept {
    return type == kClientHello || type == kServerHello || type == kEndOfEarlyData ||
           type == kEncryptedExtensions || type == kFinished || type == kKeyUpdate;
  }

  /// Handshake messages span records (certificates do); the ones we read are collected whole,
  /// the rest skipped as they pass.
  void handshake_bytes(Side s, ByteView data, bool encrypted, Handler& h) {
    Direction& d = dir(s);
    if (d.mid_message() && d.msg_encrypted != encrypted) {
      fail(s, std::string(to_string(s)) + ": a handshake message continues across a key change", h);
      return;
    }
    d.msg_encrypted = encrypted;
    std::size_t pos = 0;
    while (pos < data.size() && !d.stopped) {
      if (d.msg_head_len < d.msg_head.size()) {
        const std::size_t take = std::min(d.msg_head.size() - d.msg_head_len, data.size() - pos);
        std::copy_n(data.data() + pos, take, d.msg_head.data() + d.msg_head_len);
        d.msg_head_len += take;
        pos += take;
        if (d.msg_head_len < d.msg_head.size()) break;
        d.msg_left = static_cast<std::uint32_t>(d.msg_head[1]) << 16 |
                     static_cast<std::uint32_t>(d.msg_head[2]) << 8 | d.msg_head[3];
        d.msg_keep = keep_message(d.msg_head[0]);
        if (d.msg_keep && d.msg_left > kMaxKeptMessage) {
          fail(s,
               std::string(to_string(s)) + ": handshake message " + std::to_string(d.msg_head[0]) +
                   " of " + std::to_string(d.msg_left) + " bytes is too long",
               h);
          return;
        }
        d.msg.clear();
      }
      const std::size_t take = std::min<std::size_t>(d.msg_left, data.size() - pos);
      if (d.msg_keep) d.msg.insert(d.msg.end(), data.data() + pos, data.data() + pos + take);
      d.msg_left -= static_cast<std::uint32_t>(take);
      pos += take;
      if (d.msg_left > 0) break;
      d.msg_head_len = 0;
      const Bytes body = std::move(d.msg);
      d.msg = {};
      message(s, d.msg_head[0], body, encrypted, h);
    }
  }

  void set_pending(Side s, Pending p, Handler& h) {
    Direction& d = dir(s);
    if (d.pending != Pending::none) {
      fail(s, std::string(to_string(s)) + ": handshake data follows a key change in its record", h);
      return;
    }
    d.pending = p;
  }

  void message(Side s, std::uint8_t type, ByteView body, bool encrypted, Handler& h) {
    Direction& d = dir(s);
    if (d.pending != Pending::none) {
      fail(s, std::string(to_string(s)) + ": handshake data follows a key change in its record", h);
      return;
    }
    if (!encrypted) {
      if (s == Side::client) {
        if (!client_hello_seen) {
          if (type != kClientHello || !client_hello(body))
            stop_all(State::failed, "c->s: the stream does not start with a valid ClientHello", &h);
        }
        // After a HelloRetryRequest the second ClientHello keeps the random: nothing new.
        return;
      }
      if (!server_hello_seen) {
        if (type != kServerHello)
          stop_all(State::failed, "s->c: the stream does not start with a ServerHello", &h);
        else
          server_hello(body, h);
      }
      // TLS 1.2 Certificate, ServerKeyExchange, NewSessionTicket...: nothing for us.
      return;
    }
    if (version == kTls12) {
      if (type == kClientHello || type == kServerHello)
        stop_all(State::unsupported, "TLS 1.2 renegotiation is not supported", &h);
      return; // Finished, HelloRequest
    }
    switch (type) {
    case kEncryptedExtensions:
      if (s == Side::server) encrypted_extensions(body, h);
      return;
    case kFinished:
      // The side's handshake is over: its next record uses *_TRAFFIC_SECRET_0. A Finished under
      // application keys is post-handshake client authentication: no key change.
      if (d.mode == Mode::handshake) set_pending(s, Pending::to_application, h);
      return;
    case kKeyUpdate:
      if (d.mode != Mode::application)
        fail(s, std::string(to_string(s)) + ": KeyUpdate during the handshake", h);
      else
        set_pending(s, Pending::key_update, h);
      return;
    case kEndOfEarlyData:
      if (s == Side::client && d.mode == Mode::early)
        set_pending(s, Pending::to_handshake, h);
      else
        fail(s, std::string(to_string(s)) + ": unexpected EndOfEarlyData", h);
      return;
    case kClientHello:
    case kServerHello:
      fail(s, std::string(to_string(s)) + ": a hello under encryption", h);
      return;
    default:
      return; // Certificate, CertificateVerify, NewSessionTicket, CertificateRequest
    }
  }

  /// RFC 8446 §4.1.2 / RFC 5246 §7.4.1.2. False when malformed.
  bool client_hello(ByteView body) {
    Reader r(body);
    std::uint16_t legacy_version = 0;
    ByteView random, session_id, suites, compression, extensions;
    if (!r.u16(legacy_version) || !r.bytes(32, random) || !r.vec8(session_id) || !r.vec16(suites) ||
        !r.vec8(compression))
      return false;
    if (!r.empty() && (!r.vec16(extensions) || !r.empty())) return false;
    std::copy(random.begin(), random.end(), client_random.begin());
    const bool ok = for_each_extension(extensions, [&](std::uint16_t type, ByteView ext) {
      Reader e(ext);
      ByteView list;
      switch (type) {
      case kExtServerName: {
        if (!e.vec16(list)) return false;
        Reader names(list);
        while (!names.empty()) {
          std::uint8_t name_type = 0;
          ByteView name;
          if (!names.u8(name_type) || !names.vec16(name)) return false;
          if (name_type == 0 && sni.empty() && printable(name)) sni = as_string(name);
        }
        return true;
      }
      case kExtAlpn: {
        if (!e.vec16(list)) return false;
        Reader protocols(list);
        while (!protocols.empty()) {
          ByteView p;
          if (!protocols.vec8(p)) return false;
          offered_alpn.push_back(as_string(p));
        }
        return true;
      }
      case kExtEarlyData:
        early_offered = true;
        return true;
      default:
        return true; // supported_versions: the ServerHello tells what was chosen
      }
    });
    if (!ok) return false;
    client_hello_seen = true;
    return true;
  }

  void server_hello(ByteView body, Handler& h) {
    Reader r(body);
    std::uint16_t legacy_version = 0, suite_number = 0;
    std::uint8_t compression = 0;
    ByteView random, session_id, extensions;
    if (!r.u16(legacy_version) || !r.bytes(32, random) || !r.vec8(session_id) ||
        !r.u16(suite_number) || !r.u8(compression) ||
        (!r.empty() && (!r.vec16(extensions) || !r.empty()))) {
      stop_all(State::failed, "s->c: malformed ServerHello", &h);
      return;
    }
    std::uint16_t selected = 0;
    std::string chosen_alpn;
    const bool ok = for_each_extension(extensions, [&](std::uint16_t type, ByteView ext) {
      Reader e(ext);
      if (type == kExtSupportedVersions) return e.u16(selected) && e.empty();
      if (type == kExtAlpn) {
        ByteView list, p;
        if (!e.vec16(list)) return false;
        Reader protocols(list);
        if (!protocols.vec8(p)) return false;
        chosen_alpn = as_string(p);
      }
      return true;
    });
    if (!ok) {
      stop_all(State::failed, "s->c: malformed ServerHello extensions", &h);
      return;
    }
    if (std::equal(random.begin(), random.end(), kHelloRetryRandom.begin())) {
      hello_retry = true;
      return;
    }
    server_hello_seen = true;
    std::copy(random.begin(), random.end(), server_random.begin());
    version = selected != 0 ? selected : legacy_version;
    suite_id = suite_number;
    alpn = chosen_alpn;

    if (version != kTls12 && version != kTls13) {
      stop_all(State::unsupported, version_name(version) + " is not supported", nullptr);
      return;
    }
    const Suite* found = find_suite(suite_id);
    if (!found || found->tls13 != (version == kTls13)) {
      stop_all(State::unsupported,
               "cipher suite " + hex4(suite_id) + " (" + suite_name(suite_id) +
                   ") is not supported",
               nullptr);
      return;
    }
    if (compression != 0) {
      stop_all(State::unsupported,
               "TLS compression (method " + std::to_string(compression) + ") is not supported",
               nullptr);
      return;
    }
    suite = found;
    const TlsSecrets* secrets = keys->find(client_random);
    if (!secrets) {
      stop_all(State::no_keys, "no key log entry for client random " + random_prefix(), nullptr);
      return;
    }
    if (version == kTls12)
      setup12(*secrets, h);
    else
      setup13(*secrets, h);
  }

  /// RFC 5246 §6.3: key_block = PRF(master, "key expansion", server_random + client_random),
  /// sliced as client key, server key, client IV, server IV (AEAD suites have no MAC keys).
  void setup12(const TlsSecrets& secrets, Handler& h) {
    const auto it = secrets.find("CLIENT_RANDOM");
    if (it == secrets.end()) {
      stop_all(State::no_keys,
               "the key log has no CLIENT_RANDOM line for client random " + random_prefix(),
               nullptr);
      return;
    }
    if (it->second.size() != 48) {
      stop_all(State::failed,
               "the key log's CLIENT_RANDOM master secret for client random " + random_prefix() +
                   " has " + std::to_string(it->second.size()) + " bytes, not 48",
               &h);
      return;
    }
    const std::size_t key_len = key_length(suite->aead);
    const std::size_t iv_len = suite->aead == Aead::chacha20 ? 12 : 4;
    Bytes seed(server_random.begin(), server_random.end());
    seed.insert(seed.end(), client_random.begin(), client_random.end());
    Bytes block(2 * (key_len + iv_len));
    bool ok = tls12_prf(*suite, it->second, "key expansion", seed, block);
    const ByteView kb(block);
    ok = ok && dir(Side::client)
                   .keys.set(suite->aead, kb.subspan(0, key_len), kb.subspan(2 * key_len, iv_len));
    ok = ok && dir(Side::server)
                   .keys.set(suite->aead, kb.subspan(key_len, key_len),
                             kb.subspan(2 * key_len + iv_len, iv_len));
    wipe(block);
    if (!ok) {
      stop_all(State::failed, "OpenSSL could not derive the TLS 1.2 keys", &h);
      return;
    }
    dir(Side::client).keys.label = dir(Side::server).keys.label = "CLIENT_RANDOM";
    state = State::decrypting;
  }

  void setup13(const TlsSecrets& secrets, Handler& h) {
    // Every secret we take must be the suite's hash long.
    const auto take = [&](const char* label, Bytes& into) -> bool {
      const auto it = secrets.find(label);
      if (it == secrets.end()) return true;
      if (it->second.size() != hash_length(*suite)) {
        stop_all(State::failed,
                 std::string("the key log's ") + label + " for client random " + random_prefix() +
                     " has " + std::to_string(it->second.size()) + " bytes; " + suite->name +
                     " needs " + std::to_string(hash_length(*suite)),
                 &h);
        return false;
      }
      into = it->second;
      return true;
    };
    if (!take("CLIENT_TRAFFIC_SECRET_0", app_secret[0]) ||
        !take("SERVER_TRAFFIC_SECRET_0", app_secret[1]) ||
        !take("CLIENT_HANDSHAKE_TRAFFIC_SECRET", hs_secret[0]) ||
        !take("SERVER_HANDSHAKE_TRAFFIC_SECRET", hs_secret[1]) ||
        !take("CLIENT_EARLY_TRAFFIC_SECRET", early_secret))
      return;
    for (Side s : {Side::client, Side::server}) {
      if (app_secret[static_cast<std::size_t>(s)].empty()) {
        stop_all(State::no_keys,
                 std::string("the key log has no ") + (s == Side::client ? "CLIENT" : "SERVER") +
                     "_TRAFFIC_SECRET_0 for client random " + random_prefix(),
                 nullptr);
        return;
      }
    }
    state = State::decrypting;
    for (Side s : {Side::client, Side::server}) {
      // Without the handshake secret we cannot tell where the handshake ends: the application
      // keys are tried on every record until one decrypts.
      if (!enter_handshake(s, h)) return;
      // Early data the server turned down is still on the wire under keys we skip (§4.2.10).
      if (s == Side::client && early_offered) dir(s).trial = true;
    }
  }

  /// Installs a TLS 1.3 traffic secret for `s`: key and IV by HKDF-Expand-Label (§7.3).
  bool install(Side s, Bytes secret, std::string label, bool trial, Handler& h) {
    Direction& d = dir(s);
    wipe(d.secret);
    d.secret = std::move(secret);
    std::array<std::uint8_t, 32> key{};
    std::array<std::uint8_t, 12> iv{};
    const std::span<std::uint8_t> k(key.data(), key_length(suite->aead));
    const bool ok = hkdf_expand_label(*suite, d.secret, "key", k) &&
                    hkdf_expand_label(*suite, d.secret, "iv", iv) && d.keys.set(suite->aead, k, iv);
    OPENSSL_cleanse(key.data(), key.size());
    if (!ok) {
      fail(s, std::string(to_string(s)) + ": OpenSSL could not derive the TLS 1.3 keys", h);
      return false;
    }
    d.keys.label = std::move(label);
    d.trial = trial;
    d.trial_failures = 0;
    return true;
  }

  static std::string prefix(Side s) { return s == Side::client ? "CLIENT_" : "SERVER_"; }

  /// After the ServerHello (or the client's EndOfEarlyData): the handshake keys when logged,
  /// else the application keys on trial.
  bool enter_handshake(Side s, Handler& h) {
    const auto i = static_cast<std::size_t>(s);
    Direction& d = dir(s);
    if (!hs_secret[i].empty()) {
      d.mode = Mode::handshake;
      return install(s, hs_secret[i], prefix(s) + "HANDSHAKE_TRAFFIC_SECRET", false, h);
    }
    d.mode = Mode::application;
    return install(s, app_secret[i], prefix(s) + "TRAFFIC_SECRET_0", true, h);
  }

  void encrypted_extensions(ByteView body, Handler& h) {
    Reader r(body);
    ByteView extensions;
    bool early_accepted = false;
    const bool ok = r.vec16(extensions) && r.empty() &&
                    for_each_extension(extensions, [&](std::uint16_t type, ByteView ext) {
                      if (type == kExtEarlyData) early_accepted = true;
                      if (type != kExtAlpn) return true;
                      Reader e(ext);
                      ByteView list, p;
                      if (!e.vec16(list)) return false;
                      Reader protocols(list);
                      if (!protocols.vec8(p)) return false;
                      alpn = as_string(p);
                      return true;
                    });
    if (!ok) {
      fail(Side::server, "s->c: malformed EncryptedExtensions", h);
      return;
    }
    ee_seen = true;
    if (!early_accepted || !early_offered) return;
    // The client's records up to EndOfEarlyData are 0-RTT data under the early secret.
    if (early_secret.empty()) {
      fail(Side::client,
           "c->s: the server accepted 0-RTT early data, and the key log has no "
           "CLIENT_EARLY_TRAFFIC_SECRET for client random " +
               random_prefix(),
           h);
      return;
    }
    dir(Side::client).mode = Mode::early;
    install(Side::client, early_secret, "CLIENT_EARLY_TRAFFIC_SECRET", false, h);
  }

  void apply_pending(Side s, const Record& r, Handler& h) {
    Direction& d = dir(s);
    const Pending p = std::exchange(d.pending, Pending::none);
    if (p == Pending::none) return;
    if (d.mid_message()) {
      fail(s, where(s, r) + ": a handshake message continues across a key change", h);
      return;
    }
    const auto i = static_cast<std::size_t>(s);
    switch (p) {
    case Pending::to_handshake:
      enter_handshake(s, h);
      return;
    case Pending::to_application:
      d.mode = Mode::application;
      install(s, app_secret[i], prefix(s) + "TRAFFIC_SECRET_0", false, h);
      return;
    case Pending::key_update: {
      // RFC 8446 §7.2: application_traffic_secret_N+1 =
      //   HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length).
      Bytes next(hash_length(*suite));
      if (!hkdf_expand_label(*suite, d.secret, "traffic upd", next)) {
        fail(s, where(s, r) + ": OpenSSL could not derive the updated traffic secret", h);
        return;
      }
      ++d.generation;
      install(s, std::move(next), prefix(s) + "TRAFFIC_SECRET_" + std::to_string(d.generation),
              false, h);
      return;
    }
    case Pending::none:
      return;
    }
  }
};

TlsConnection::TlsConnection(const KeyLog& keys) : impl_(std::make_unique<Impl>(keys)) {}
TlsConnection::~TlsConnection() = default;

void TlsConnection::feed(Side side, std::span<const std::uint8_t> bytes, std::int64_t ts_ns,
                         std::uint64_t packet, Handler& handler) {
  if (impl_->dir(side).stopped || bytes.empty()) return;
  impl_->feed(side, bytes, ts_ns, packet, handler);
}

void TlsConnection::gap(Side side, Handler& handler) {
  // A lost segment breaks the record framing and the sequence numbers of the nonces: nothing
  // after it can be trusted on this side.
  impl_->fail(side, std::string(to_string(side)) + ": bytes missing from the stream (gap)",
              handler);
  impl_->pump(handler);
}

TlsConnection::State TlsConnection::state() const noexcept {
  return impl_->state;
}
const std::string& TlsConnection::sni() const noexcept {
  return impl_->sni;
}
const std::string& TlsConnection::alpn() const noexcept {
  return impl_->alpn;
}
std::string TlsConnection::version() const {
  return version_name(impl_->version);
}
std::string TlsConnection::cipher() const {
  return impl_->server_hello_seen ? suite_name(impl_->suite_id) : std::string();
}
const std::string& TlsConnection::detail() const noexcept {
  return impl_->detail;
}

} // namespace sio::wire
