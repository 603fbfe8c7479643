#include "sio/common/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace std::string_literals;

TEST(Utf16Length, CountsLikeJavaScript) {
  EXPECT_EQ(sio::utf16_length(""), 0u);
  EXPECT_EQ(sio::utf16_length("4hello"), 6u);
  EXPECT_EQ(sio::utf16_length("4€"), 2u);        // protocols.md §1.4: 1 unit, 3 bytes
  EXPECT_EQ(sio::utf16_length("42[\"😀\"]"), 8u); // emoji = 2 units
  EXPECT_EQ(sio::utf16_length("é"), 1u);
  EXPECT_EQ(sio::utf16_length("\xef\xbf\xbf"), 1u);     // U+FFFF
  EXPECT_EQ(sio::utf16_length("\xf4\x8f\xbf\xbf"), 2u); // U+10FFFF
}

TEST(Utf16Length, InvalidBytesCountOneEach) {
  EXPECT_EQ(sio::utf16_length("\xff"), 1u);
  EXPECT_EQ(sio::utf16_length("\xe2\x82"), 2u);     // truncated €
  EXPECT_EQ(sio::utf16_length("\xc0\xaf"), 2u);     // overlong '/'
  EXPECT_EQ(sio::utf16_length("\xed\xa0\x80"), 3u); // a surrogate
  EXPECT_EQ(sio::utf16_length("a\x80"
                              "b"),
            3u);
}

TEST(Utf8Prefix, FindsTheByteLength) {
  EXPECT_EQ(sio::utf8_prefix_for_utf16_units("", 0), 0u);
  EXPECT_EQ(sio::utf8_prefix_for_utf16_units("abc", 0), 0u);
  EXPECT_EQ(sio::utf8_prefix_for_utf16_units("4€6:4hello", 2), 4u);
  EXPECT_EQ(sio::utf8_prefix_for_utf16_units("😀x", 2), 4u);
  EXPECT_EQ(sio::utf8_prefix_for_utf16_units("😀x", 3), 5u);
  EXPECT_EQ(sio::utf8_prefix_for_utf16_units("\xff\xfe", 2), 2u);
}

TEST(Utf8Prefix, FailsWhenShortOrInsideAPair) {
  EXPECT_EQ(sio::utf8_prefix_for_utf16_units("ab", 3), std::nullopt);
  EXPECT_EQ(sio::utf8_prefix_for_utf16_units("", 1), std::nullopt);
  EXPECT_EQ(sio::utf8_prefix_for_utf16_units("😀", 1), std::nullopt);
  EXPECT_EQ(sio::utf8_prefix_for_utf16_units("a😀", 2), std::nullopt);
}

TEST(IsValidUtf8, AcceptsWellFormed) {
  EXPECT_TRUE(sio::is_valid_utf8(""));
  EXPECT_TRUE(sio::is_valid_utf8("plain ASCII"));
  EXPECT_TRUE(sio::is_valid_utf8("é€😀"));
  EXPECT_TRUE(sio::is_valid_utf8("\x00"s));
  EXPECT_TRUE(sio::is_valid_utf8("\xf4\x8f\xbf\xbf")); // U+10FFFF
  EXPECT_TRUE(sio::is_valid_utf8("\xed\x9f\xbf"));     // U+D7FF
}

TEST(IsValidUtf8, RejectsMalformed) {
  EXPECT_FALSE(sio::is_valid_utf8("\x80"));             // lone continuation
  EXPECT_FALSE(sio::is_valid_utf8("\xc3"));             // truncated
  EXPECT_FALSE(sio::is_valid_utf8("\xc0\xaf"));         // overlong (2 bytes)
  EXPECT_FALSE(sio::is_valid_utf8("\xe0\x80\xaf"));     // overlong (3 bytes)
  EXPECT_FALSE(sio::is_valid_utf8("\xf0\x80\x80\xaf")); // overlong (4 bytes)
  EXPECT_FALSE(sio::is_valid_utf8("\xed\xa0\x80"));     // surrogate U+D800
  EXPECT_FALSE(sio::is_valid_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
  EXPECT_FALSE(sio::is_valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(sio::is_valid_utf8("\xff"));
  EXPECT_FALSE(sio::is_valid_utf8("ok\xe2\x82"));
}

TEST(AppendUtf8, WritesEachLength) {
  std::string s;
  sio::append_utf8(s, U'A');
  sio::append_utf8(s, U'\u00e9');
  sio::append_utf8(s, U'\u20ac');
  sio::append_utf8(s, U'\U0001F600');
  EXPECT_EQ(s, "Aé€😀");
  EXPECT_TRUE(sio::is_valid_utf8(s));
}

TEST(AppendUtf8, SurrogatesAreWrittenAsIs) {
  std::string s;
  sio::append_utf8(s, static_cast<char32_t>(0xD800));
  EXPECT_EQ(s, "\xed\xa0\x80");
}

TEST(AppendUtf8, OutOfRangeBecomesReplacementCharacter) {
  std::string s;
  sio::append_utf8(s, static_cast<char32_t>(0x110000));
  sio::append_utf8(s, static_cast<char32_t>(0xFFFFFFFF));
  EXPECT_EQ(s, "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(ValidUtf8Prefix, StopsAtTheFirstBadByte) {
  EXPECT_EQ(sio::valid_utf8_prefix(""), 0u);
  EXPECT_EQ(sio::valid_utf8_prefix("caf\xc3\xa9"), 5u);
  EXPECT_EQ(sio::valid_utf8_prefix("caf\xe9!"), 3u);   // Latin-1
  EXPECT_EQ(sio::valid_utf8_prefix("ab\xc0\xaf"), 2u); // overlong '/'
  EXPECT_EQ(sio::valid_utf8_prefix("ab\xe2\x82"), 2u); // cut inside a sequence
}

} // namespace
