#include "sio/common/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace std::string_literals;
using sio::errc;

struct Vector {
  std::string bytes;
  std::string text;
};

class Base64Vector : public testing::TestWithParam<Vector> {};

TEST_P(Base64Vector, Encodes) {
  EXPECT_EQ(sio::base64_encode(GetParam().bytes), GetParam().text);
}

TEST_P(Base64Vector, Decodes) {
  auto d = sio::base64_decode(GetParam().text);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(*d, GetParam().bytes);
}

TEST_P(Base64Vector, DecodesWithoutPadding) {
  std::string t = GetParam().text;
  while (!t.empty() && t.back() == '=') t.pop_back();
  auto d = sio::base64_decode(t);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(*d, GetParam().bytes);
}

// RFC 4648 §10, plus the protocol doc's "AQIDBA==" and bytes that use '+' and '/'.
INSTANTIATE_TEST_SUITE_P(Rfc4648, Base64Vector,
                         testing::Values(Vector{"", ""}, Vector{"f", "Zg=="}, Vector{"fo", "Zm8="},
                                         Vector{"foo", "Zm9v"}, Vector{"foob", "Zm9vYg=="},
                                         Vector{"fooba", "Zm9vYmE="}, Vector{"foobar", "Zm9vYmFy"},
                                         Vector{"\x01\x02\x03\x04"s, "AQIDBA=="},
                                         Vector{"\xfb\xff\xbf"s, "+/+/"},
                                         Vector{"\x00\x00\x00"s, "AAAA"}));

TEST(Base64, AllByteValuesRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    const std::string part = all.substr(0, n);
    auto d = sio::base64_decode(sio::base64_encode(part));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, part);
  }
}

struct BadCase {
  std::string text;
  std::uint64_t offset;
};

class Base64Bad : public testing::TestWithParam<BadCase> {};

TEST_P(Base64Bad, Fails) {
  auto d = sio::base64_decode(GetParam().text);
  ASSERT_FALSE(d.ok()) << GetParam().text;
  EXPECT_TRUE(d.error().is(errc::bad_base64));
  EXPECT_EQ(d.error().offset, GetParam().offset) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(Errors, Base64Bad,
                         testing::Values(BadCase{"Zm9v!", 4},     // outside the alphabet
                                         BadCase{"Zm9v Zg==", 4}, // no whitespace
                                         BadCase{"Zm9v\n", 4},    //
                                         BadCase{"Z", 1},         // a lone 6-bit group
                                         BadCase{"Zm9vY", 5},     //
                                         BadCase{"Zg=", 2},       // padding, length not 4n
                                         BadCase{"Zg===", 2},     // too much padding
                                         BadCase{"Z===", 1},      //
                                         BadCase{"Zg=a", 2},      // '=' inside
                                         BadCase{"A-_B", 1},      // base64url is not accepted
                                         BadCase{"\xc3\xa9QQ"s, 0}));

} // namespace
