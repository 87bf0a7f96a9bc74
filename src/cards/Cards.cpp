#include "cards/Cards.h"

#include "cards/Base64.h"
#include "cards/CardJsonReader.h"
#include "cards/CardJsonWriter.h"
#include "cards/PngWriter.h"

namespace troupe::cards {

namespace {

constexpr std::string_view kChara = "chara";  // V2 card (V1 readers use it too)
constexpr std::string_view kCcv3 = "ccv3";    // V3 card

Error in_chunk(std::string_view keyword, const Error& e) {
  return Error{e.code, "PNG " + std::string(keyword) + " chunk: " + e.message};
}

Result<store::Character> import_png(std::string_view bytes, std::size_t max_bytes,
                                    const CardLimits& limits) {
  PngLimits png_limits = limits.png;
  png_limits.max_total_bytes = max_bytes;
  auto png = PngReader::parse(bytes, png_limits);
  if (!png.ok()) return png.error();
  for (std::string_view keyword : {kCcv3, kChara}) {
    auto text = png->find_text(keyword);
    if (!text.ok()) return text.error();
    if (!text->has_value()) continue;
    auto json = base64::decode(**text);
    if (!json.ok()) return in_chunk(keyword, json.error());
    auto card = CardJsonReader::read(*json, limits);
    if (!card.ok()) return in_chunk(keyword, card.error());
    card->avatar_png = PngWriter::rewrite(*png, {kChara, kCcv3}, {});
    return card;
  }
  return Error{Errc::bad_request, "PNG has no chara or ccv3 card chunk"};
}

}  // namespace

Result<store::Character> import_card(std::string_view bytes, std::size_t max_bytes) {
  return import_card(bytes, max_bytes, CardLimits{});
}

Result<store::Character> import_card(std::string_view bytes, std::size_t max_bytes,
                                     const CardLimits& limits) {
  if (bytes.size() > max_bytes) {
    return Error{Errc::too_large, "card is " + std::to_string(bytes.size()) + " bytes, limit " +
                                      std::to_string(max_bytes)};
  }
  if (PngReader::has_signature(bytes)) return import_png(bytes, max_bytes, limits);
  return CardJsonReader::read(bytes, limits);
}

std::string export_json(const store::Character& c, Spec spec) {
  return CardJsonWriter::write(c, spec);
}

std::string export_png(const store::Character& c) {
  const std::vector<PngTextEntry> chunks{
      {std::string(kChara), base64::encode(CardJsonWriter::write(c, Spec::v2))},
      {std::string(kCcv3), base64::encode(CardJsonWriter::write(c, Spec::v3))},
  };
  if (!c.avatar_png.empty()) {
    PngLimits avatar_limits;
    avatar_limits.max_total_bytes = c.avatar_png.size();
    avatar_limits.max_chunk_bytes = c.avatar_png.size();
    avatar_limits.max_chunks = c.avatar_png.size();
    auto avatar = PngReader::parse(c.avatar_png, avatar_limits);
    if (avatar.ok()) return PngWriter::rewrite(*avatar, {kChara, kCcv3}, chunks);
  }
  const std::string image = PngWriter::placeholder(c.name);
  auto placeholder = PngReader::parse(image);
  return PngWriter::rewrite(placeholder.value(), {}, chunks);
}

}  // namespace troupe::cards
