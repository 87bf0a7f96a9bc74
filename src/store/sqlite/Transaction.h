// Transaction: BEGIN IMMEDIATE (write) or BEGIN (read snapshot) on begin(), COMMIT on commit(),
// ROLLBACK on scope exit otherwise. IMMEDIATE takes the write lock up front, so concurrent writers
// wait (busy timeout) instead of failing half-way. Thread-safety: same as its Connection.
#pragma once

#include "core/Result.h"

namespace troupe::store::sqlite {

class Connection;

class Transaction {
 public:
  explicit Transaction(Connection& c) noexcept : c_(c) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  enum class Mode { write, read };
  Status begin(Mode mode = Mode::write);
  Status commit();

 private:
  Connection& c_;
  bool active_ = false;
};

}  // namespace troupe::store::sqlite
