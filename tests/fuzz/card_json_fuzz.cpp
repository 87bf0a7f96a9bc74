// libFuzzer target: card JSON through import_card, plus a differential check of JsonScanner
// against Boost.JSON; accepted cards must export and re-import unchanged.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cards/Cards.h"
#include "cards/JsonScanner.h"

// Properties asserted on every accepted input: each export is valid JSON for Boost.JSON (default
// options) and re-imports to the same card. A violation aborts so libFuzzer records the input.
namespace troupe::cards::fuzz {

[[noreturn]] inline void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "property violated: %s\n%s\n", what, detail.c_str());
  std::abort();
}

inline void check_same(const store::Character& a, const store::Character& b, const char* path) {
  const bool same =
      a.name == b.name && a.description == b.description && a.personality == b.personality &&
      a.scenario == b.scenario && a.first_mes == b.first_mes && a.mes_example == b.mes_example &&
      a.creator_notes == b.creator_notes && a.system_prompt == b.system_prompt &&
      a.post_history_instructions == b.post_history_instructions &&
      a.alternate_greetings == b.alternate_greetings && a.tags == b.tags &&
      a.creator == b.creator && a.character_version == b.character_version &&
      a.extensions_json == b.extensions_json && a.character_book_json == b.character_book_json &&
      a.extra_json == b.extra_json && a.top_extra_json == b.top_extra_json;
  if (!same) violated(path, "extra: " + a.extra_json + "\nvs:    " + b.extra_json);
}

inline void check_round_trips(const store::Character& c) {
  constexpr std::size_t kMax = std::size_t{64} << 20;
  for (Spec spec : {Spec::v2, Spec::v3}) {
    const std::string json = export_json(c, spec);
    boost::system::error_code ec;
    boost::json::parse(json, ec);
    if (ec) violated("export_json is not valid JSON for Boost.JSON", ec.message() + "\n" + json);
    auto again = import_card(json, kMax);
    if (!again.ok())
      violated("export_json does not re-import", again.error().message + "\n" + json);
    check_same(c, *again, "export_json round trip changed the card");
  }
  auto png = import_card(export_png(c), kMax);
  if (!png.ok()) violated("export_png does not re-import", png.error().message);
  check_same(c, *png, "export_png round trip changed the card");
  if (!c.avatar_png.empty() && png->avatar_png != c.avatar_png) {
    violated("export_png changed the avatar", "");
  }
}

}  // namespace troupe::cards::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace troupe::cards;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // The scanner must never accept what Boost.JSON refuses; it may refuse more only for huge
  // exponents (a documented, deliberate difference).
  const bool scanner_ok = JsonScanner(text).parse_document().ok();
  boost::system::error_code ec;
  boost::json::parse(text, ec);
  if (scanner_ok && ec)
    fuzz::violated("JsonScanner accepted what Boost.JSON refuses", ec.message());
  if (!scanner_ok && !ec && text.find_first_of("eE") == std::string_view::npos) {
    fuzz::violated("JsonScanner refused what Boost.JSON accepts", "");
  }

  auto card = import_card(text, 1 << 20);
  if (!card.ok()) {
    if (card.error().message.empty()) fuzz::violated("error without a reason", "");
    return 0;
  }
  fuzz::check_round_trips(*card);
  return 0;
}
