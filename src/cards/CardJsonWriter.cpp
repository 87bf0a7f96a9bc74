#include "cards/CardJsonWriter.h"

#include "cards/CardKeys.h"
#include "cards/JsonScanner.h"
#include "cards/Utf8.h"

namespace troupe::cards {

namespace {

// Depth budgets that keep the whole card within JsonScanner::kDefaultMaxDepth: top-level values sit
// at depth 2 and `data` values at depth 3, so a raw object spliced there may nest this deep itself.
constexpr std::size_t kTopValueDepth = JsonScanner::kDefaultMaxDepth - 1;
constexpr std::size_t kDataValueDepth = JsonScanner::kDefaultMaxDepth - 2;

void append_key(std::string& out, std::string_view key) {
  out.push_back(',');
  CardJsonWriter::append_string(out, key);
  out.push_back(':');
}

void append_string_member(std::string& out, std::string_view key, std::string_view value) {
  append_key(out, key);
  CardJsonWriter::append_string(out, value);
}

void append_list_member(std::string& out, std::string_view key,
                        const std::vector<std::string>& list) {
  append_key(out, key);
  out.push_back('[');
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i) out.push_back(',');
    CardJsonWriter::append_string(out, list[i]);
  }
  out.push_back(']');
}

// True if `raw` is exactly one JSON object (whitespace around it allowed) within `depth`.
bool is_object(std::string_view raw, std::size_t depth) {
  auto v = JsonScanner(raw, depth).parse_document();
  return v.ok() && v->kind == JsonKind::object;
}

// Appends the members of the raw object `raw` (wrapper depth `depth`) whose decoded key `skip`
// rejects. Returns the decoded keys it wrote through `wrote` when given. Malformed text adds
// nothing.
template <class Skip>
void splice_members(std::string& out, std::string_view raw, std::size_t depth, Skip skip,
                    bool* wrote_group_only = nullptr) {
  JsonScanner scanner(raw, depth);
  auto root = scanner.parse_document();
  if (!root.ok() || root->kind != JsonKind::object) return;
  auto members = scanner.members(*root);
  if (!members.ok()) return;
  for (const JsonMember& m : *members) {
    if (skip(m.key)) continue;
    if (wrote_group_only && m.key == keys::kGroupOnlyGreetings) *wrote_group_only = true;
    out.push_back(',');
    out.append(m.raw_key);
    out.push_back(':');
    out.append(m.value.text);
  }
}

}  // namespace

void CardJsonWriter::append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t len = utf8::sequence_length(s, i);
      if (len == 0) {
        out.append("\xEF\xBF\xBD");  // U+FFFD
        ++i;
      } else {
        out.append(s.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        if (c < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

std::string CardJsonWriter::write(const store::Character& c, Spec spec) {
  const bool v3 = spec == Spec::v3;
  std::string out = "{\"spec\":";
  append_string(out, v3 ? keys::kSpecV3 : keys::kSpecV2);
  append_string_member(out, keys::kSpecVersion, v3 ? "3.0" : "2.0");
  // Top-level copies of the V1 fields, for readers that only know V1.
  for (const auto& f : keys::kV1Fields) append_string_member(out, f.key, c.*(f.member));
  splice_members(out, c.top_extra_json, kTopValueDepth + 1,
                 [](const std::string& k) { return keys::reserved_top_level(k); });

  append_key(out, keys::kData);
  const std::size_t data_at = out.size();
  for (const auto& f : keys::kV1Fields) append_string_member(out, f.key, c.*(f.member));
  for (const auto& f : keys::kV2StringFields) {
    if (f.key == "creator") {
      append_list_member(out, keys::kAlternateGreetings, c.alternate_greetings);
      if (!c.character_book_json.empty() && is_object(c.character_book_json, kDataValueDepth)) {
        append_key(out, keys::kCharacterBook);
        out.append(c.character_book_json);
      }
      append_list_member(out, keys::kTags, c.tags);
    }
    append_string_member(out, f.key, c.*(f.member));
  }
  append_key(out, keys::kExtensions);
  out.append(is_object(c.extensions_json, kDataValueDepth) ? std::string_view(c.extensions_json)
                                                           : std::string_view("{}"));
  bool has_group_only = false;
  splice_members(
      out, c.extra_json, kDataValueDepth + 1,
      [](const std::string& k) { return keys::typed_data_key(k); }, &has_group_only);
  if (v3 && !has_group_only) {
    append_key(out, keys::kGroupOnlyGreetings);
    out.append("[]");
  }
  out[data_at] = '{';  // the first data member's leading ',' opens the object
  out.append("}}");
  return out;
}

}  // namespace troupe::cards
