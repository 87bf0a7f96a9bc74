#include "cards/CardJsonReader.h"

#include <set>

#include "cards/CardKeys.h"

namespace troupe::cards {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

Error bad(std::string msg) { return Error{Errc::bad_request, std::move(msg)}; }

std::string quoted(std::string_view key) { return "\"" + std::string(key) + "\""; }

std::string at_byte(const JsonValue& v) { return " (at byte " + std::to_string(v.offset) + ")"; }

// Appends `"key":value` to a raw JSON object text under construction ("" until the first member).
void append_member(std::string& object, const JsonMember& m) {
  object.push_back(object.empty() ? '{' : ',');
  object.append(m.raw_key);
  object.push_back(':');
  object.append(m.value.text);
}

std::string close_object(std::string object) { return object.empty() ? "{}" : object + "}"; }

}  // namespace

Result<store::Character> CardJsonReader::read(std::string_view json, const CardLimits& limits) {
  if (json.substr(0, kBom.size()) == kBom) json.remove_prefix(kBom.size());
  return CardJsonReader(json, limits).run();
}

Result<store::Character> CardJsonReader::run() {
  auto root = scanner_.parse_document();
  if (!root.ok()) return root.error();
  if (root->kind != JsonKind::object) return bad("card JSON must be an object");
  auto top = scanner_.members(*root);
  if (!top.ok()) return top.error();

  const JsonMember* spec = nullptr;
  const JsonMember* data = nullptr;
  for (const JsonMember& m : *top) {
    const JsonMember** slot = m.key == keys::kSpec ? &spec : m.key == keys::kData ? &data : nullptr;
    if (!slot) continue;
    if (*slot) return bad("duplicate key " + quoted(m.key) + at_byte(m.value));
    *slot = &m;
  }

  store::Character c;
  if (!spec) {
    c.source_spec = "v1";
  } else {
    if (spec->value.kind != JsonKind::string)
      return bad("\"spec\" must be a string" + at_byte(spec->value));
    auto name = scanner_.decode_string(spec->value);
    if (!name.ok()) return name.error();
    if (*name == keys::kSpecV2) {
      c.source_spec = "v2";
    } else if (*name == keys::kSpecV3) {
      c.source_spec = "v3";
    } else {
      return bad("unsupported card spec " + quoted(name->substr(0, 64)));
    }
    if (!data) return bad("card spec " + quoted(*name) + " requires a \"data\" object");
    if (data->value.kind != JsonKind::object)
      return bad("\"data\" must be an object" + at_byte(data->value));
  }

  const bool v1 = c.source_spec == "v1";
  std::string top_extra;
  if (v1) {
    // V1 is flat: the typed fields are top-level keys. "data"/"spec_version" mean nothing there and
    // are dropped, because the writer emits those keys itself.
    std::string extra;
    TROUPE_TRY_STATUS(read_fields(*top, true, c, extra));
    for (const JsonMember& m : *top) {
      if (!keys::reserved_top_level(m.key)) append_member(top_extra, m);
      // V1-era editors kept the creator's notes in "creatorcomment"; it also stays a top-level
      // key so the card round-trips unchanged.
      if (m.key == keys::kV1CreatorComment && m.value.kind == JsonKind::string) {
        TROUPE_TRY_STATUS(read_string(m, c.creator_notes));
      }
    }
  } else {
    auto fields = scanner_.members(data->value);
    if (!fields.ok()) return fields.error();
    std::string extra;
    TROUPE_TRY_STATUS(read_fields(*fields, false, c, extra));
    c.extra_json = close_object(std::move(extra));
    // Top-level copies of the V1 fields are regenerated from `data` on export.
    for (const JsonMember& m : *top) {
      if (!keys::reserved_top_level(m.key)) append_member(top_extra, m);
    }
  }
  c.top_extra_json = close_object(std::move(top_extra));
  if (c.name.empty()) return bad("card has no name");
  return c;
}

Status CardJsonReader::read_fields(const std::vector<JsonMember>& fields, bool v1,
                                   store::Character& c, std::string& extra) const {
  std::set<std::string_view> seen;
  for (const JsonMember& m : fields) {
    const keys::StringField* field = nullptr;
    for (const auto& f : keys::kV1Fields) {
      if (m.key == f.key) field = &f;
    }
    if (!v1) {
      for (const auto& f : keys::kV2StringFields) {
        if (m.key == f.key) field = &f;
      }
    }
    const bool typed = field || (!v1 && keys::typed_data_key(m.key));
    if (!typed) {
      if (v1) continue;  // the caller keeps unknown top-level keys
      if (m.key == keys::kGroupOnlyGreetings) {
        auto empty = is_empty_array(m.value);
        if (!empty.ok()) return empty.error();
        if (*empty) continue;  // implied by V3; the V3 writer emits it
      }
      append_member(extra, m);
      continue;
    }
    if (!seen.insert(field ? field->key : std::string_view(m.key)).second) {
      return bad("duplicate key " + quoted(m.key) + at_byte(m.value));
    }
    if (m.value.kind == JsonKind::null) continue;  // same as absent
    if (field) {
      TROUPE_TRY_STATUS(read_string(m, c.*(field->member)));
    } else if (m.key == keys::kAlternateGreetings) {
      TROUPE_TRY_STATUS(read_string_list(m, c.alternate_greetings));
    } else if (m.key == keys::kTags) {
      TROUPE_TRY_STATUS(read_string_list(m, c.tags));
    } else if (m.key == keys::kExtensions) {
      TROUPE_TRY_STATUS(read_raw_object(m, c.extensions_json));
    } else if (m.key == keys::kCharacterBook) {
      TROUPE_TRY_STATUS(read_raw_object(m, c.character_book_json));
    }
  }
  return {};
}

Status CardJsonReader::read_string(const JsonMember& m, std::string& out) const {
  if (m.value.kind != JsonKind::string)
    return bad(quoted(m.key) + " must be a string" + at_byte(m.value));
  auto s = scanner_.decode_string(m.value);
  if (!s.ok()) return s.error();
  if (s->size() > limits_.max_field_bytes) {
    return Error{Errc::too_large, quoted(m.key) + " is " + std::to_string(s->size()) +
                                      " bytes, limit " + std::to_string(limits_.max_field_bytes)};
  }
  out = std::move(s).value();
  return {};
}

Status CardJsonReader::read_string_list(const JsonMember& m, std::vector<std::string>& out) const {
  if (m.value.kind != JsonKind::array) {
    return bad(quoted(m.key) + " must be an array of strings" + at_byte(m.value));
  }
  auto items = scanner_.elements(m.value);
  if (!items.ok()) return items.error();
  if (items->size() > limits_.max_list_items) {
    return Error{Errc::too_large, quoted(m.key) + " has " + std::to_string(items->size()) +
                                      " items, limit " + std::to_string(limits_.max_list_items)};
  }
  std::vector<std::string> list;
  list.reserve(items->size());
  for (const JsonValue& v : *items) {
    if (v.kind != JsonKind::string)
      return bad(quoted(m.key) + " must hold only strings" + at_byte(v));
    auto s = scanner_.decode_string(v);
    if (!s.ok()) return s.error();
    if (s->size() > limits_.max_field_bytes) {
      return Error{Errc::too_large, "an item of " + quoted(m.key) + " is " +
                                        std::to_string(s->size()) + " bytes, limit " +
                                        std::to_string(limits_.max_field_bytes)};
    }
    list.push_back(std::move(s).value());
  }
  out = std::move(list);
  return {};
}

Status CardJsonReader::read_raw_object(const JsonMember& m, std::string& out) const {
  if (m.value.kind != JsonKind::object)
    return bad(quoted(m.key) + " must be an object" + at_byte(m.value));
  out.assign(m.value.text);
  return {};
}

Result<bool> CardJsonReader::is_empty_array(const JsonValue& v) const {
  if (v.kind != JsonKind::array) return false;
  auto items = scanner_.elements(v);
  if (!items.ok()) return items.error();
  return items->empty();
}

}  // namespace troupe::cards
