// A SQLite store in a fresh temp dir with one user ("ann"), one character ("Mira") and one chat,
// for memory service tests: the memory scope of that chat is returned in `scope`.
// Thread-safety: test-only; call from the test's thread.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <string>

#include "core/Clock.h"
#include "core/Crypto.h"
#include "memory/Memory.h"
#include "store/sqlite/SqliteStore.h"

namespace troupe::memory::testing {

// Use as ASSERT_NO_FATAL_FAILURE(seeded_store(prefix, clock, dir, store, scope)).
inline void seeded_store(const std::string& prefix, const Clock& clock, std::string& dir,
                         std::unique_ptr<store::sqlite::SqliteStore>& store, MemoryScope& scope) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  dir = tmpl;
  auto s = store::sqlite::SqliteStore::open(dir + "/t.db", clock);
  ASSERT_TRUE(s.ok()) << s.error().message;
  store = std::move(*s);
  auto u = store->users().create_user("ann", false, sha256_hex("t"));
  ASSERT_TRUE(u.ok());
  store::Character ch;
  ch.user_id = u->id;
  ch.name = "Mira";
  auto c = store->characters().create_character(ch);
  ASSERT_TRUE(c.ok());
  store::Chat chat;
  chat.user_id = u->id;
  chat.character_id = c->id;
  chat.title = "t";
  auto made = store->chats().create_chat(chat, {"Hello."});
  ASSERT_TRUE(made.ok());
  scope = {u->id, c->id, made->id};
}

}  // namespace troupe::memory::testing
