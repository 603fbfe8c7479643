#pragma once
/// Result<T>: a value or an sio::Error. A small stand-in for std::expected (C++23), which the
/// compilers we build with (g++ 12) do not have yet.

#include "sio/common/error.hpp"

#include <cassert>
#include <utility>
#include <variant>

namespace sio {

/// Wraps an Error so that `return fail(...)` converts into any Result<T>.
struct Failure {
  Error error;
};

/// Shorthand: `return fail(errc::bad_json, "file.har: byte 12");`
inline Failure fail(errc e, std::string context, std::uint64_t offset = Error::npos) {
  return Failure{Error{e, std::move(context), offset}};
}
inline Failure fail(Error e) {
  return Failure{std::move(e)};
}

template <class T> class [[nodiscard]] Result {
public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Failure f) : v_(std::in_place_index<1>, std::move(f.error)) {}

  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

private:
  std::variant<T, Error> v_;
};

/// A result without a value.
using Status = Result<std::monostate>;
inline Status ok_status() {
  return Status{std::monostate{}};
}

} // namespace sio
