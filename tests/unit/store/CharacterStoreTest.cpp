#include "StoreTestUtil.h"

namespace troupe::store::sqlite::testing {

using CharacterStoreTest = StoreBackendTest;
TROUPE_STORE_BACKENDS(CharacterStoreTest);

namespace {

using namespace std::string_literals;

Character full_character(Id user_id) {
  Character c;
  c.user_id = user_id;
  c.name = "Aria";
  c.description = "desc with \"quotes\" and\nnewlines";
  c.personality = "curious";
  c.scenario = "a ship";
  c.first_mes = "Hello {{user}}";
  c.mes_example = "<START>\n{{char}}: hi";
  c.creator_notes = "notes";
  c.system_prompt = "sys";
  c.post_history_instructions = "phi";
  c.alternate_greetings = {"Hey!", "", "with\0nul"s, "quote\"\\"};
  c.tags = {"fantasy", "ünï", "a,b"};
  c.creator = "someone";
  c.character_version = "1.2";
  c.extensions_json = R"({ "z":1,  "a" : {"nested":[1,2,3]}, "dup":1, "dup":2 })";
  c.character_book_json = R"({"entries":[{"keys":["x"],"content":"y"}]})";
  c.extra_json = R"({"unknown_key":"kept"})";
  c.top_extra_json = R"({"spec_extra":true})";
  c.source_spec = "v2";
  c.avatar_png = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\xff"s;
  return c;
}

void expect_same_content(const Character& a, const Character& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.personality, b.personality);
  EXPECT_EQ(a.scenario, b.scenario);
  EXPECT_EQ(a.first_mes, b.first_mes);
  EXPECT_EQ(a.mes_example, b.mes_example);
  EXPECT_EQ(a.creator_notes, b.creator_notes);
  EXPECT_EQ(a.system_prompt, b.system_prompt);
  EXPECT_EQ(a.post_history_instructions, b.post_history_instructions);
  EXPECT_EQ(a.alternate_greetings, b.alternate_greetings);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.creator, b.creator);
  EXPECT_EQ(a.character_version, b.character_version);
  EXPECT_EQ(a.extensions_json, b.extensions_json);
  EXPECT_EQ(a.character_book_json, b.character_book_json);
  EXPECT_EQ(a.extra_json, b.extra_json);
  EXPECT_EQ(a.top_extra_json, b.top_extra_json);
  EXPECT_EQ(a.source_spec, b.source_spec);
  EXPECT_EQ(a.avatar_png, b.avatar_png);
}

}  // namespace

TEST_P(CharacterStoreTest, RoundTripPreservesEveryByte) {
  User u = make_user("alice");
  Character in = full_character(u.id);
  ASSERT_EQ(in.avatar_png.size(), 18u);
  auto created = characters().create_character(in);
  ASSERT_OK(created);
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(created->created_at, clock_.now_ms());
  reopen();  // read back from disk, not from any cache
  auto got = characters().get_character(u.id, created->id);
  ASSERT_OK(got);
  expect_same_content(in, *got);
  EXPECT_EQ(got->id, created->id);
  EXPECT_EQ(got->user_id, u.id);
  EXPECT_EQ(got->created_at, created->created_at);
  EXPECT_EQ(got->updated_at, created->updated_at);
}

TEST_P(CharacterStoreTest, EmptyFieldsRoundTrip) {
  User u = make_user("alice");
  Character in;
  in.user_id = u.id;
  in.extensions_json = "";
  in.extra_json = "";
  auto created = characters().create_character(in);
  ASSERT_OK(created);
  auto got = characters().get_character(u.id, created->id);
  ASSERT_OK(got);
  expect_same_content(in, *got);
  EXPECT_TRUE(got->avatar_png.empty());
  EXPECT_TRUE(got->alternate_greetings.empty());
}

TEST_P(CharacterStoreTest, UpdateKeepsCreatedAtAndIsScoped) {
  User a = make_user("alice");
  User b = make_user("bob");
  auto created = characters().create_character(full_character(a.id));
  ASSERT_OK(created);
  clock_.advance_ms(1000);
  Character change = *created;
  change.name = "Aria II";
  change.avatar_png.clear();
  change.tags = {};
  auto updated = characters().update_character(change);
  ASSERT_OK(updated);
  EXPECT_EQ(updated->created_at, created->created_at);
  EXPECT_EQ(updated->updated_at, created->created_at + 1000);
  expect_same_content(change, *updated);

  Character foreign = change;
  foreign.user_id = b.id;
  foreign.name = "stolen";
  EXPECT_ERRC(characters().update_character(foreign), Errc::not_found);
  EXPECT_ERRC(characters().get_character(b.id, created->id), Errc::not_found);
  EXPECT_ERRC(characters().delete_character(b.id, created->id), Errc::not_found);
  auto still = characters().get_character(a.id, created->id);
  ASSERT_OK(still);
  EXPECT_EQ(still->name, "Aria II");
  Character missing = change;
  missing.id = created->id + 50;
  EXPECT_ERRC(characters().update_character(missing), Errc::not_found);
}

TEST_P(CharacterStoreTest, ListCursorAndSearch) {
  User a = make_user("alice");
  User b = make_user("bob");
  std::vector<Id> ids;
  for (const char* n : {"Aria", "Bram", "maria", "Zed", "100%_real", "MARIAN"}) {
    ids.push_back(make_character(a.id, n).id);
  }
  make_character(b.id, "Aria of Bob");

  auto all = characters().list_characters(a.id, {});
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 6u);
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ((*all)[i].id, ids[i]);

  // Pages of two, by cursor.
  std::vector<Id> seen;
  Id after = 0;
  for (;;) {
    auto page = characters().list_characters(a.id, {after, 2, ""});
    ASSERT_OK(page);
    if (page->empty()) break;
    EXPECT_LE(page->size(), 2u);
    for (const auto& c : *page) seen.push_back(c.id);
    after = page->back().id;
  }
  EXPECT_EQ(seen, ids);

  auto aria = characters().list_characters(a.id, {0, 50, "ARI"});
  ASSERT_OK(aria);
  std::vector<std::string> names;
  for (const auto& c : *aria) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Aria", "maria", "MARIAN"}));

  // LIKE wildcards in the search text are literal.
  auto pct = characters().list_characters(a.id, {0, 50, "%_"});
  ASSERT_OK(pct);
  ASSERT_EQ(pct->size(), 1u);
  EXPECT_EQ((*pct)[0].name, "100%_real");
  auto none = characters().list_characters(a.id, {0, 50, "_"});
  ASSERT_OK(none);
  EXPECT_EQ(none->size(), 1u);

  // Limits are clamped.
  auto one = characters().list_characters(a.id, {0, 0, ""});
  ASSERT_OK(one);
  EXPECT_EQ(one->size(), 1u);
}

TEST_P(CharacterStoreTest, DeleteCharacterDeletesItsChats) {
  User a = make_user("alice");
  Character c1 = make_character(a.id, "One");
  Character c2 = make_character(a.id, "Two");
  Chat chat1 = make_chat(a.id, c1.id);
  Chat chat2 = make_chat(a.id, c2.id);
  Turn t = finished_turn(a.id, chat1.id, "hello");
  ASSERT_OK(characters().delete_character(a.id, c1.id));
  EXPECT_ERRC(characters().get_character(a.id, c1.id), Errc::not_found);
  EXPECT_ERRC(chats().get_chat(a.id, chat1.id), Errc::not_found);
  EXPECT_ERRC(chats().get_message(a.id, t.user_message.id), Errc::not_found);
  EXPECT_ERRC(chats().get_generation(a.id, t.generation.id), Errc::not_found);
  ASSERT_OK(chats().get_chat(a.id, chat2.id));
  EXPECT_ERRC(characters().delete_character(a.id, c1.id), Errc::not_found);
}

TEST_P(CharacterStoreTest, PersonasAndTheDefault) {
  User a = make_user("alice");
  User b = make_user("bob");
  EXPECT_ERRC(characters().default_persona(a.id), Errc::not_found);
  Persona p1{0, a.id, "Sam", "a traveller", true};
  auto r1 = characters().create_persona(p1);
  ASSERT_OK(r1);
  Persona p2{0, a.id, "Kim", "", false};
  auto r2 = characters().create_persona(p2);
  ASSERT_OK(r2);
  auto d = characters().default_persona(a.id);
  ASSERT_OK(d);
  EXPECT_EQ(d->id, r1->id);

  // A new default clears the old one.
  Persona p3{0, a.id, "Lee", "", true};
  auto r3 = characters().create_persona(p3);
  ASSERT_OK(r3);
  d = characters().default_persona(a.id);
  ASSERT_OK(d);
  EXPECT_EQ(d->id, r3->id);
  auto old = characters().get_persona(a.id, r1->id);
  ASSERT_OK(old);
  EXPECT_FALSE(old->is_default);

  // Update can move the default too.
  Persona upd = *r2;
  upd.is_default = true;
  upd.description = "now default";
  clock_.advance_ms(5);
  auto ru = characters().update_persona(upd);
  ASSERT_OK(ru);
  EXPECT_TRUE(ru->is_default);
  EXPECT_EQ(ru->description, "now default");
  EXPECT_EQ(ru->updated_at, ru->created_at + 5);
  auto list = characters().list_personas(a.id);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  int defaults = 0;
  for (const auto& p : *list) defaults += p.is_default ? 1 : 0;
  EXPECT_EQ(defaults, 1);

  // Isolation.
  EXPECT_ERRC(characters().get_persona(b.id, r1->id), Errc::not_found);
  Persona foreign = *r1;
  foreign.user_id = b.id;
  EXPECT_ERRC(characters().update_persona(foreign), Errc::not_found);
  EXPECT_ERRC(characters().delete_persona(b.id, r1->id), Errc::not_found);
  EXPECT_ERRC(characters().default_persona(b.id), Errc::not_found);
  auto blist = characters().list_personas(b.id);
  ASSERT_OK(blist);
  EXPECT_TRUE(blist->empty());
}

TEST_P(CharacterStoreTest, DeletingAPersonaResetsChatsToDefault) {
  User a = make_user("alice");
  Character c = make_character(a.id, "C");
  auto p = characters().create_persona(Persona{0, a.id, "Sam", "", false});
  ASSERT_OK(p);
  Chat in;
  in.user_id = a.id;
  in.character_id = c.id;
  in.persona_id = p->id;
  auto chat = chats().create_chat(in, {"hi"});
  ASSERT_OK(chat);
  EXPECT_EQ(chat->persona_id, p->id);
  ASSERT_OK(characters().delete_persona(a.id, p->id));
  EXPECT_EQ(this->chat(a.id, chat->id).persona_id, 0);
  EXPECT_ERRC(characters().get_persona(a.id, p->id), Errc::not_found);
}

}  // namespace troupe::store::sqlite::testing
