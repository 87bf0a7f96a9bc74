// Result<T>: either a value or an Error. Expected failures travel as values, never as exceptions.
// Thread-safety: a plain value type.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "core/Error.h"

namespace troupe {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT implicit
  Result(Error err) : v_(std::in_place_index<1>, std::move(err)) {}  // NOLINT implicit

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error err) : err_(std::move(err)), ok_(false) {}  // NOLINT implicit
  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const { assert(!ok_); return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Error make_error(Errc c, std::string msg) { return Error{c, std::move(msg)}; }

}  // namespace troupe

// Propagate an error from an expression returning Result<...>.
#define TROUPE_TRY_STATUS(expr)                         \
  do {                                                  \
    auto troupe_try_r_ = (expr);                        \
    if (!troupe_try_r_.ok()) return troupe_try_r_.error(); \
  } while (0)
