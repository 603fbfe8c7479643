/// Engine options that need no network: --source-addresses and --allow-host parsing, the
/// open-files limit.

#include "sio/replayer/engine.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

namespace sio::replayer {
namespace {

TEST(EngineOptions, SourceAddressesListsAndRanges) {
  const auto one = parse_source_addresses("127.0.0.2");
  ASSERT_TRUE(one) << one.error().message();
  EXPECT_EQ(*one, std::vector<std::string>{"127.0.0.2"});

  const auto mixed = parse_source_addresses("127.0.0.1-127.0.0.3, ::1,10.0.0.255-10.0.1.0");
  ASSERT_TRUE(mixed) << mixed.error().message();
  EXPECT_EQ(*mixed, (std::vector<std::string>{"127.0.0.1", "127.0.0.2", "127.0.0.3", "::1",
                                              "10.0.0.255", "10.0.1.0"}));

  const auto big = parse_source_addresses("127.0.0.0-127.0.255.255");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->size(), 65536u);
  EXPECT_EQ(big->back(), "127.0.255.255");
}

TEST(EngineOptions, BadSourceAddressesNameTheItem) {
  struct Case {
    const char* text;
    const char* expect;
  };
  for (const Case& c :
       {Case{"127.0.0.300", "\"127.0.0.300\": not an IP address"},
        Case{"127.0.0.5-127.0.0.1", "ends before it starts"}, Case{"::1-::2", "two IPv4 addresses"},
        Case{"127.0.0.0-127.1.0.0", "more than 65,536"}, Case{" , ", "no address given"},
        Case{"", "no address given"}}) {
    const auto r = parse_source_addresses(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_TRUE(r.error().is(errc::usage)) << c.text;
    EXPECT_NE(r.error().message().find(c.expect), std::string::npos)
        << c.text << ": " << r.error().message();
  }
}

TEST(EngineOptions, AllowHostsAreHostsOrHostPorts) {
  EXPECT_TRUE(check_allow_hosts(
      {"127.0.0.2", "api.example.com:8443", "[::1]", "[::1]:443", "::1", "Example.COM:1"}));
  for (const char* bad : {"127.0.0.2:http", "host:0", "host:65536", "host:", "[::1", "[::1]x",
                          "http://host/path", ""}) {
    const Status st = check_allow_hosts({bad});
    ASSERT_FALSE(st) << bad;
    EXPECT_TRUE(st.error().is(errc::usage)) << bad;
    EXPECT_NE(st.error().message().find(std::string("--allow-host ") + bad), std::string::npos)
        << st.error().message();
  }
}

TEST(EngineOptions, OpenFilesLimitIsRaisedToTheHardLimit) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_max > 64) {
    rlimit lowered = before;
    lowered.rlim_cur = 64;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  }
  const std::uint64_t now = raise_open_files_limit();
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_max);
  EXPECT_EQ(now, static_cast<std::uint64_t>(after.rlim_cur));
}

} // namespace
} // namespace sio::replayer
