#pragma once
/// The data of an HTML page written by sioreplay (report, timeline): the JSON in its
/// <script type="application/json" id="sio-data"> element.

#include "sio/common/socketio.hpp" // sio::Json

#include <gtest/gtest.h>

#include <string>

namespace sio::test {

inline Json embedded_data(const std::string& page) {
  const std::string open_tag = "<script type=\"application/json\" id=\"sio-data\">";
  const auto open = page.find(open_tag);
  EXPECT_NE(open, std::string::npos) << page.substr(0, 200);
  if (open == std::string::npos) return {};
  const auto from = open + open_tag.size();
  return Json::parse(page.substr(from, page.find("</script>", from) - from));
}

} // namespace sio::test
