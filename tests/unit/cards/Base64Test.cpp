#include <gtest/gtest.h>

#include "cards/Base64.h"
#include "cards/Crc32.h"

namespace troupe::cards {
namespace {

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64::encode(""), "");
  EXPECT_EQ(base64::encode("f"), "Zg==");
  EXPECT_EQ(base64::encode("fo"), "Zm8=");
  EXPECT_EQ(base64::encode("foo"), "Zm9v");
  EXPECT_EQ(base64::encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64::encode("\xFF\xFE\xFD"), "//79");
}

TEST(Base64, DecodesWithWhitespaceAndOptionalPadding) {
  EXPECT_EQ(base64::decode("Zm9vYmFy").value(), "foobar");
  EXPECT_EQ(base64::decode("Zm9v\r\nYmE=").value(), "fooba");
  EXPECT_EQ(base64::decode(" Zm9vYg ").value(), "foob");
  EXPECT_EQ(base64::decode("Zm9vYg==\n").value(), "foob");
  EXPECT_EQ(base64::decode("Zg = =").value(), "f");
  EXPECT_EQ(base64::decode("").value(), "");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(base64::decode(base64::encode(all)).value(), all);
}

TEST(Base64, RefusesMalformedInputClearly) {
  const char* bad[] = {"Zm9v!", "Z", "Zm9vY", "=Zm9", "Zg===", "Zg==Zg==", "Zm=v", "Zm9-", "Zg="};
  for (const char* b : bad) {
    auto r = base64::decode(b);
    ASSERT_FALSE(r.ok()) << b;
    EXPECT_EQ(r.error().code, Errc::bad_request);
    EXPECT_EQ(r.error().message.rfind("invalid base64: ", 0), 0u) << r.error().message;
  }
  EXPECT_NE(base64::decode("Zm9v!").error().message.find("0x21 at offset 4"), std::string::npos);
}

TEST(Crc32, KnownVectors) {
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32("IEND"), 0xAE426082u);
  EXPECT_EQ(crc32_update(crc32("1234"), "56789"), 0xCBF43926u);
}

}  // namespace
}  // namespace troupe::cards
