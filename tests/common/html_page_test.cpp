/// The HTML pages' data embedding: JSON in a <script type="application/json"> that no payload
/// can break out of, and the template's placeholders.

#include "sio/common/html_page.hpp"
#include "sio/common/session_json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sio {
namespace {

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(HtmlPage, JsonForScriptEscapesWhatEndsAScript) {
  const Json value = {{"event", "</script><script>alert(1)</script>"},
                      {"comment", "<!-- x --> ]]> a&b"},
                      {"lines", "a\xE2\x80\xA8"
                                "b\xE2\x80\xA9"
                                "c"},
                      {"unicode", "é → 日本"}};
  const std::string safe = json_for_script(dump_json(value));
  EXPECT_EQ(safe.find('<'), std::string::npos) << safe;
  EXPECT_EQ(safe.find('>'), std::string::npos) << safe;
  EXPECT_EQ(safe.find('&'), std::string::npos) << safe;
  EXPECT_EQ(safe.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_NE(safe.find("\\u003c/script\\u003e"), std::string::npos) << safe;
  EXPECT_NE(safe.find("\\u2028"), std::string::npos) << safe;
  // Still JSON, meaning the same value (other UTF-8 untouched).
  EXPECT_EQ(Json::parse(safe), value);
  EXPECT_NE(safe.find("é → 日本"), std::string::npos);
}

TEST(HtmlPage, HtmlEscape) {
  EXPECT_EQ(html_escape(R"(<a href="x">'b' & c</a>)"),
            "&lt;a href=&quot;x&quot;&gt;&#39;b&#39; &amp; c&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain"), "plain");
}

TEST(HtmlPage, FillsDataAndTitle) {
  const std::string tmpl = "<title>{{SIO_TITLE}}</title><h1>{{SIO_TITLE}}</h1>"
                           "<script type=\"application/json\" id=\"d\">{{SIO_DATA_JSON}}</script>";
  // The data itself holds the placeholders' text: they are not replaced there.
  const Json data = {{"x", "</script>{{SIO_TITLE}}"}, {"n", 1}};
  auto page = fill_html_template(tmpl, dump_json(data), "a <b> & \"c\"");
  ASSERT_TRUE(page) << page.error().message();
  EXPECT_EQ(occurrences(*page, "</script>"), 1u) << *page;
  EXPECT_EQ(occurrences(*page, "a &lt;b&gt; &amp; &quot;c&quot;"), 2u) << *page;
  const auto open = page->find("id=\"d\">") + 7;
  const auto close = page->find("</script>");
  EXPECT_EQ(Json::parse(page->substr(open, close - open)), data);
}

TEST(HtmlPage, TemplateNeedsExactlyOneDataPlaceholder) {
  EXPECT_FALSE(fill_html_template("<p>no data</p>", "{}", "t"));
  EXPECT_FALSE(fill_html_template("{{SIO_DATA_JSON}}{{SIO_DATA_JSON}}", "{}", "t"));
  auto ok = fill_html_template("[{{SIO_DATA_JSON}}]", "{\"a\":1}", "t");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "[{\"a\":1}]");
}

TEST(HtmlPage, SharedHeadGoesInWithTheTitle) {
  auto page = fill_html_template("<head>{{SIO_PAGE_HEAD}}</head>{{SIO_DATA_JSON}}", "{}", "a<b");
  ASSERT_TRUE(page);
  EXPECT_NE(page->find("<title>a&lt;b</title>"), std::string::npos) << *page;
  EXPECT_NE(page->find("window.onerror"), std::string::npos);
  EXPECT_EQ(page->find("{{SIO_"), std::string::npos) << "no placeholder left";
}

} // namespace
} // namespace sio
