#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "api/JsonCodec.h"
#include "api/JsonEventFormatter.h"

namespace troupe::api {
namespace {

namespace json = boost::json;

std::set<std::string> keys(const json::object& o) {
  std::set<std::string> out;
  for (auto& kv : o) out.emplace(kv.key());
  return out;
}

BodyError body_error(std::string_view body) {
  auto r = parse_object(body);
  auto* e = std::get_if<BodyError>(&r);
  EXPECT_TRUE(e) << "accepted: " << body;
  return e ? *e : BodyError{};
}

TEST(ParseObject, AcceptsObjects) {
  auto r = parse_object(R"(  {"a":1,"b":[true,null],"c":{"d":"é"}}  )");
  auto* o = std::get_if<json::object>(&r);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->at("a").as_int64(), 1);
  EXPECT_EQ(o->at("c").at("d").as_string(), "é");
  EXPECT_TRUE(std::holds_alternative<json::object>(parse_object("{}")));
}

TEST(ParseObject, EmptyBody) {
  auto e = body_error("");
  EXPECT_EQ(e.error.code, Errc::bad_request);
  EXPECT_FALSE(e.position.has_value());
}

TEST(ParseObject, InvalidJsonReportsTheBytePosition) {
  struct Case {
    const char* body;
    std::size_t pos;
  } cases[] = {
      {"{", 1},           // ends too early
      {R"({"a":})", 5},   // value missing at the '}'
      {R"({"a":1,})", 7}, // trailing comma
      {"{} x", 3},        // data after the object
      {"{}{}", 2},
      {"nul", 3},
      {"{\"a\":\"\xff\"}", 6},  // invalid UTF-8 in a string
      {"x", 0},
  };
  for (auto& c : cases) {
    auto e = body_error(c.body);
    EXPECT_EQ(e.error.code, Errc::bad_request) << c.body;
    ASSERT_TRUE(e.position.has_value()) << c.body;
    EXPECT_EQ(*e.position, c.pos) << c.body;
    EXPECT_NE(e.error.message.find("invalid JSON at byte " + std::to_string(c.pos)),
              std::string::npos)
        << e.error.message;
  }
}

TEST(ParseObject, NonObjectsAreRefusedWithoutPosition) {
  for (const char* body : {"[1,2]", "42", "\"text\"", "null", "true"}) {
    auto e = body_error(body);
    EXPECT_EQ(e.error.code, Errc::bad_request) << body;
    EXPECT_FALSE(e.position.has_value()) << body;
    EXPECT_EQ(e.error.message, "request body must be a JSON object");
  }
}

TEST(ParseObject, DepthLimit) {
  // The object and 63 nested arrays: depth 64 is accepted, 65 is not.
  std::string ok = R"({"a":)" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_TRUE(std::holds_alternative<json::object>(parse_object(ok)));
  std::string deep = R"({"a":)" + std::string(64, '[') + std::string(64, ']') + "}";
  auto e = body_error(deep);
  ASSERT_TRUE(e.position.has_value());
  EXPECT_EQ(*e.position, 5u + 63u);
  // A hostile nesting fails fast instead of recursing.
  auto h = body_error(R"({"a":)" + std::string(100000, '['));
  ASSERT_TRUE(h.position.has_value());
  EXPECT_EQ(*h.position, 5u + 63u);
}

store::Character sample_character() {
  store::Character c;
  c.id = 3;
  c.user_id = 9;
  c.name = "Aria";
  c.description = "desc";
  c.personality = "pers";
  c.scenario = "scen";
  c.first_mes = "hi";
  c.mes_example = "<START>ex";
  c.creator_notes = "notes";
  c.system_prompt = "sys";
  c.post_history_instructions = "post";
  c.alternate_greetings = {"alt1", "alt2"};
  c.tags = {"t"};
  c.creator = "me";
  c.character_version = "1.0";
  c.extensions_json = R"({"z":1,"a":{"deep":[1,2]}})";
  c.character_book_json = "";
  c.source_spec = "v2";
  c.avatar_png = "\x89PNG";
  c.created_at = 1000;
  c.updated_at = 2000;
  return c;
}

TEST(JsonCodec, CharacterFields) {
  auto o = to_json(sample_character());
  EXPECT_EQ(keys(o), (std::set<std::string>{
                         "id", "name", "description", "personality", "scenario", "first_mes",
                         "mes_example", "creator_notes", "system_prompt",
                         "post_history_instructions", "alternate_greetings", "tags", "creator",
                         "character_version", "extensions", "character_book", "source_spec",
                         "has_avatar", "created_at", "updated_at"}));
  EXPECT_EQ(o.at("id").as_int64(), 3);
  EXPECT_EQ(o.at("name").as_string(), "Aria");
  EXPECT_EQ(o.at("post_history_instructions").as_string(), "post");
  EXPECT_EQ(o.at("alternate_greetings").as_array().size(), 2u);
  EXPECT_EQ(o.at("tags").at(0).as_string(), "t");
  EXPECT_EQ(o.at("extensions").at("a").at("deep").at(1).as_int64(), 2);
  EXPECT_TRUE(o.at("character_book").is_null());
  EXPECT_EQ(o.at("source_spec").as_string(), "v2");
  EXPECT_TRUE(o.at("has_avatar").as_bool());
  EXPECT_EQ(o.at("created_at").as_int64(), 1000);
  EXPECT_EQ(o.at("updated_at").as_int64(), 2000);
  EXPECT_EQ(o.find("user_id"), o.end());  // the owner is never shown
}

TEST(JsonCodec, CharacterRawJsonFields) {
  auto c = sample_character();
  c.avatar_png.clear();
  c.character_book_json = R"({"entries":[{"keys":["k"]}]})";
  auto o = to_json(c);
  EXPECT_FALSE(o.at("has_avatar").as_bool());
  EXPECT_EQ(o.at("character_book").at("entries").at(0).at("keys").at(0).as_string(), "k");
  // Broken stored text degrades to the empty value instead of failing the response.
  c.extensions_json = "{broken";
  c.character_book_json = "[oops";
  o = to_json(c);
  EXPECT_TRUE(o.at("extensions").is_object());
  EXPECT_TRUE(o.at("extensions").as_object().empty());
  EXPECT_TRUE(o.at("character_book").is_null());
  c.extensions_json = "";
  EXPECT_TRUE(to_json(c).at("extensions").as_object().empty());
}

TEST(JsonCodec, PersonaFields) {
  store::Persona p;
  p.id = 4;
  p.user_id = 1;
  p.name = "Sam";
  p.description = "sailor";
  p.is_default = true;
  p.created_at = 5;
  p.updated_at = 6;
  auto o = to_json(p);
  EXPECT_EQ(keys(o), (std::set<std::string>{"id", "name", "description", "is_default",
                                            "created_at", "updated_at"}));
  EXPECT_EQ(o.at("name").as_string(), "Sam");
  EXPECT_TRUE(o.at("is_default").as_bool());
}

TEST(JsonCodec, ChatFields) {
  store::Chat c;
  c.id = 1;
  c.user_id = 2;
  c.character_id = 3;
  c.persona_id = 0;
  c.title = "t";
  c.leaf_id = 5;
  c.seq_reserved = 1 << 20;
  c.created_at = 7;
  c.updated_at = 8;
  auto o = to_json(c, 12);
  EXPECT_EQ(keys(o), (std::set<std::string>{"id", "character_id", "persona_id", "title", "leaf_id",
                                            "last_seq", "created_at", "updated_at"}));
  EXPECT_EQ(o.at("last_seq").as_int64(), 12);
  EXPECT_EQ(o.at("persona_id").as_int64(), 0);
  EXPECT_EQ(o.at("leaf_id").as_int64(), 5);

  chat::ChatView v;
  v.chat = c;
  v.last_seq = 30;
  auto idle = to_json(v);
  EXPECT_EQ(idle.at("last_seq").as_int64(), 30);
  ASSERT_TRUE(idle.contains("generation"));
  EXPECT_TRUE(idle.at("generation").is_null());
  store::Generation g;
  g.id = 77;
  g.chat_id = 1;
  v.running = g;
  auto busy = to_json(v);
  EXPECT_EQ(busy.at("generation").at("id").as_int64(), 77);
  EXPECT_EQ(busy.at("generation").at("status").as_string(), "running");
}

TEST(JsonCodec, MessageFields) {
  store::Message m;
  m.id = 5;
  m.chat_id = 1;
  m.parent_id = 4;
  m.active_child_id = 6;
  m.role = "assistant";
  m.content = "hi \"there\"\n";
  m.status = "completed";
  m.generation_id = 3;
  m.swipe_index = 1;
  m.swipe_count = 2;
  m.created_at = 10;
  m.updated_at = 11;
  auto o = to_json(m);
  EXPECT_EQ(keys(o), (std::set<std::string>{"id", "chat_id", "parent_id", "role", "content",
                                            "status", "generation_id", "swipe_index",
                                            "swipe_count", "created_at", "updated_at"}));
  EXPECT_EQ(o.at("parent_id").as_int64(), 4);
  EXPECT_EQ(o.at("generation_id").as_int64(), 3);
  EXPECT_EQ(o.at("content").as_string(), "hi \"there\"\n");
  EXPECT_EQ(o.at("swipe_index").as_int64(), 1);
  EXPECT_EQ(o.at("swipe_count").as_int64(), 2);
  // Absent links are null, not 0.
  m.parent_id = 0;
  m.generation_id = 0;
  o = to_json(m);
  EXPECT_TRUE(o.at("parent_id").is_null());
  EXPECT_TRUE(o.at("generation_id").is_null());
}

TEST(JsonCodec, GenerationFields) {
  store::Generation g;
  g.id = 3;
  g.chat_id = 1;
  g.user_id = 2;
  g.message_id = 5;
  g.kind = "reply";
  g.status = "failed";
  g.error = "boom";
  g.backend = "sim";
  g.started_at = 100;
  g.finished_at = 0;
  auto o = to_json(g);
  EXPECT_EQ(keys(o), (std::set<std::string>{"id", "chat_id", "message_id", "kind", "status",
                                            "error", "backend", "started_at", "finished_at"}));
  EXPECT_EQ(o.at("error").as_string(), "boom");
  EXPECT_EQ(o.at("backend").as_string(), "sim");
  EXPECT_TRUE(o.at("finished_at").is_null());
  g.finished_at = 200;
  EXPECT_EQ(to_json(g).at("finished_at").as_int64(), 200);
}

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

TEST(ApplyCharacterFields, AppliesKnownFieldsOnly) {
  store::Character c = sample_character();
  auto s = apply_character_fields(
      obj(R"({"name":"Bo","description":"d2","tags":["x","y"],"alternate_greetings":[],
             "extensions":{"keep":{"me":[1]}},"character_book":{"entries":[]},
             "creator":"c2","character_version":"2"})"),
      c);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(c.name, "Bo");
  EXPECT_EQ(c.description, "d2");
  EXPECT_EQ(c.tags, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(c.alternate_greetings.empty());
  EXPECT_EQ(c.extensions_json, R"({"keep":{"me":[1]}})");
  EXPECT_EQ(c.character_book_json, R"({"entries":[]})");
  EXPECT_EQ(c.creator, "c2");
  // Untouched fields stay.
  EXPECT_EQ(c.personality, "pers");
  EXPECT_EQ(c.system_prompt, "sys");
}

TEST(ApplyCharacterFields, EveryStringFieldIsSettable) {
  store::Character c;
  for (const char* k : {"name", "description", "personality", "scenario", "first_mes",
                        "mes_example", "creator_notes", "system_prompt",
                        "post_history_instructions", "creator", "character_version"}) {
    json::object o{{k, std::string("v-") + k}};
    auto s = apply_character_fields(o, c);
    ASSERT_TRUE(s.ok()) << k << ": " << s.error().message;
    json::object bad{{k, 5}};
    auto b = apply_character_fields(bad, c);
    ASSERT_FALSE(b.ok()) << k;
    EXPECT_EQ(b.error().code, Errc::bad_request);
    EXPECT_NE(b.error().message.find(k), std::string::npos);
  }
  EXPECT_EQ(c.scenario, "v-scenario");
  EXPECT_EQ(c.post_history_instructions, "v-post_history_instructions");
}

TEST(ApplyCharacterFields, UnknownFieldIsRefused) {
  store::Character c;
  auto s = apply_character_fields(obj(R"({"name":"A","nmae":"typo"})"), c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::bad_request);
  EXPECT_EQ(s.error().message, "unknown field 'nmae'");
  EXPECT_FALSE(apply_character_fields(obj(R"({"user_id":2})"), c).ok());
  EXPECT_FALSE(apply_character_fields(obj(R"({"avatar_png":"x"})"), c).ok());
}

TEST(ApplyCharacterFields, ReadOnlyFieldsAreIgnored) {
  store::Character c;
  c.id = 3;
  c.source_spec = "v3";
  auto s = apply_character_fields(
      obj(R"({"id":99,"created_at":1,"updated_at":2,"source_spec":"v1","has_avatar":true})"), c);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(c.id, 3);
  EXPECT_EQ(c.source_spec, "v3");
}

TEST(ApplyCharacterFields, WrongTypesAreRefused) {
  for (const char* body : {
           R"({"name":null})",
           R"({"name":["A"]})",
           R"({"tags":"one"})",
           R"({"tags":[1]})",
           R"({"tags":[null]})",
           R"({"alternate_greetings":{"a":"b"}})",
           R"({"extensions":[]})",
           R"({"extensions":"{}"})",
           R"({"extensions":null})",
           R"({"character_book":"book"})",
           R"({"character_book":[]})",
       }) {
    store::Character c;
    auto s = apply_character_fields(obj(body), c);
    EXPECT_FALSE(s.ok()) << body;
    if (!s.ok()) {
      EXPECT_EQ(s.error().code, Errc::bad_request) << body;
    }
  }
  store::Character c;
  auto s = apply_character_fields(obj(R"({"extensions":5})"), c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "field 'extensions' must be an object");
}

TEST(ApplyCharacterFields, NullCharacterBookClearsIt) {
  store::Character c;
  c.character_book_json = R"({"entries":[]})";
  ASSERT_TRUE(apply_character_fields(obj(R"({"character_book":null})"), c).ok());
  EXPECT_TRUE(c.character_book_json.empty());
}

TEST(ApplyPersonaFields, FieldsAndErrors) {
  store::Persona p;
  ASSERT_TRUE(apply_persona_fields(obj(R"({"name":"Sam","description":"d","is_default":true,
                                           "id":5,"created_at":1})"),
                                   p)
                  .ok());
  EXPECT_EQ(p.name, "Sam");
  EXPECT_EQ(p.description, "d");
  EXPECT_TRUE(p.is_default);
  EXPECT_EQ(p.id, 0);
  EXPECT_FALSE(apply_persona_fields(obj(R"({"is_default":1})"), p).ok());
  EXPECT_FALSE(apply_persona_fields(obj(R"({"name":1})"), p).ok());
  auto s = apply_persona_fields(obj(R"({"avatar":"x"})"), p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "unknown field 'avatar'");
}

TEST(TypedGetters, GetString) {
  auto o = obj(R"({"s":"v","n":1,"z":null})");
  EXPECT_EQ(*get_string(o, "s", true), "v");
  EXPECT_EQ(*get_string(o, "missing", false), "");
  EXPECT_EQ(*get_string(o, "z", false), "");
  auto req = get_string(o, "missing", true);
  ASSERT_FALSE(req.ok());
  EXPECT_EQ(req.error().message, "field 'missing' is required");
  EXPECT_FALSE(get_string(o, "z", true).ok());
  auto wrong = get_string(o, "n", false);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message, "field 'n' must be a string");
}

TEST(TypedGetters, GetInt) {
  auto o = obj(R"({"i":42,"neg":-3,"big":18446744073709551615,"u":4611686018427387903,
                   "f":1.5,"s":"1","b":true,"z":null})");
  EXPECT_EQ(*get_int(o, "i", true), 42);
  EXPECT_EQ(*get_int(o, "neg", true), -3);
  EXPECT_EQ(*get_int(o, "missing", false), 0);
  EXPECT_EQ(*get_int(o, "z", false), 0);
  EXPECT_EQ(*get_int(o, "u", true), 4611686018427387903);
  for (const char* k : {"big", "f", "s", "b"}) {
    auto r = get_int(o, k, true);
    ASSERT_FALSE(r.ok()) << k;
    EXPECT_EQ(r.error().message, "field '" + std::string(k) + "' must be an integer");
  }
  EXPECT_FALSE(get_int(o, "missing", true).ok());
}

TEST(JsonEventFormatter, MembersComposeIntoValidEvents) {
  JsonEventFormatter f;
  store::Message m;
  m.id = 5;
  m.chat_id = 1;
  m.role = "assistant";
  m.content = "line\n\"quoted\" \\ é 🙂";
  store::Generation g;
  g.id = 3;
  g.chat_id = 1;
  g.message_id = 5;
  g.kind = "reply";
  g.status = "completed";
  store::Chat c;
  c.id = 1;
  c.title = "t";
  c.leaf_id = 5;
  c.seq_reserved = 1000;

  auto wrap = [](const std::string& members) { return json::parse("{" + members + "}").as_object(); };
  auto tok = wrap(f.token(3, 5, "Hi \"x\"\n\t\x01"));
  EXPECT_EQ(tok.at("generation_id").as_int64(), 3);
  EXPECT_EQ(tok.at("message_id").as_int64(), 5);
  EXPECT_EQ(tok.at("text").as_string(), "Hi \"x\"\n\t\x01");
  EXPECT_EQ(f.token(3, 5, "a").find('\n'), std::string::npos);

  auto msg = wrap(f.message(m));
  EXPECT_EQ(msg.at("message").at("content").as_string(), m.content);
  EXPECT_EQ(msg.at("message").at("id").as_int64(), 5);

  auto gen = wrap(f.generation(g));
  EXPECT_EQ(gen.at("generation").at("status").as_string(), "completed");

  auto fin = wrap(f.finished(g, m));
  EXPECT_EQ(fin.at("generation").at("id").as_int64(), 3);
  EXPECT_EQ(fin.at("message").at("id").as_int64(), 5);

  auto ch = wrap(f.chat(c, 17));
  EXPECT_EQ(ch.at("chat").at("leaf_id").as_int64(), 5);
  EXPECT_EQ(ch.at("chat").at("title").as_string(), "t");
  EXPECT_EQ(ch.at("chat").at("last_seq").as_int64(), 17);  // the given cursor, not seq_reserved

  auto del = wrap(f.message_deleted(9));
  EXPECT_EQ(del.at("message_id").as_int64(), 9);
}

TEST(JsonEventFormatter, EventJsonHasNoRawNewlines) {
  // SSE frames put the event on one "data:" line.
  JsonEventFormatter f;
  store::Message m;
  m.content = "a\nb\r\nc\u2028";
  EXPECT_EQ(f.message(m).find('\n'), std::string::npos);
  EXPECT_EQ(f.message(m).find('\r'), std::string::npos);
  EXPECT_EQ(f.token(1, 2, "x\ny").find('\n'), std::string::npos);
}

}  // namespace
}  // namespace troupe::api
