#include "sio/common/error.hpp"

namespace sio {
namespace {

class Category final : public std::error_category {
public:
  const char* name() const noexcept override { return "sioreplay"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
    case errc::ok:
      return "no error";
    case errc::io_error:
      return "I/O error";
    case errc::is_directory:
      return "is a directory";
    case errc::empty_input:
      return "empty input";
    case errc::truncated_input:
      return "input ends too early";
    case errc::bad_json:
      return "invalid JSON";
    case errc::bad_har:
      return "not a valid HAR";
    case errc::no_socketio_traffic:
      return "no Socket.IO traffic found";
    case errc::eio_bad_packet:
      return "bad Engine.IO packet";
    case errc::sio_bad_packet:
      return "bad Socket.IO packet";
    case errc::bad_base64:
      return "bad base64";
    case errc::limit_exceeded:
      return "limit exceeded";
    case errc::bad_recording:
      return "bad recording";
    case errc::unsupported:
      return "not supported";
    case errc::usage:
      return "usage error";
    }
    return "unknown error " + std::to_string(ev);
  }
};

} // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

std::string Error::message() const {
  std::string out = context;
  if (!out.empty()) out += ": ";
  out += code.message();
  if (offset != npos) out += " (byte " + std::to_string(offset) + ")";
  return out;
}

Error Error::within(const std::string& where) const {
  Error e = *this;
  e.context = context.empty() ? where : where + ": " + context;
  return e;
}

} // namespace sio
