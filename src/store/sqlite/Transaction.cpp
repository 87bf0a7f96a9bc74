#include "store/sqlite/Transaction.h"

#include "store/sqlite/Connection.h"

namespace troupe::store::sqlite {

Transaction::~Transaction() {
  if (active_ && c_.in_transaction()) {
    auto st = c_.prepare("ROLLBACK");
    if (st.ok()) (void)st->run();
  }
}

Status Transaction::begin(Mode mode) {
  auto st = c_.prepare(mode == Mode::write ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!st.ok()) return st.error();
  TROUPE_TRY_STATUS(st->run());
  active_ = true;
  return {};
}

Status Transaction::commit() {
  auto st = c_.prepare("COMMIT");
  if (!st.ok()) return st.error();
  TROUPE_TRY_STATUS(st->run());
  active_ = false;
  return {};
}

}  // namespace troupe::store::sqlite
