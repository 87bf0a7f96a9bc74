// libFuzzer target: card JSON through import_card, plus a differential check of JsonScanner
// against Boost.JSON; accepted cards must export and re-import unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "FuzzCardCheck.h"
#include "cards/JsonScanner.h"

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
