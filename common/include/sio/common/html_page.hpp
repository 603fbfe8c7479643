#pragma once
/// Self-contained HTML pages (the replay report, the recording timeline): a template from the
/// source tree, embedded in the binary at build time, with the page's data put in as JSON in a
/// <script type="application/json"> element.

#include "sio/common/result.hpp"

#include <string>
#include <string_view>

namespace sio {

/// Where the data goes in a template: the text of its <script type="application/json">.
inline constexpr std::string_view html_data_placeholder = "{{SIO_DATA_JSON}}";
/// Where the shared head goes (common/html/page_head.html: meta tags, the title, the script that
/// records script errors in data-errors, and small DOM/SVG helpers).
inline constexpr std::string_view html_head_placeholder = "{{SIO_PAGE_HEAD}}";
/// Where the page's title goes (HTML-escaped text).
inline constexpr std::string_view html_title_placeholder = "{{SIO_TITLE}}";

/// JSON text made safe inside a <script> element: every `<`, `>` and `&` becomes its \u00XX
/// escape (they can only occur inside JSON strings, so the JSON means the same), and so do
/// U+2028/U+2029. The result never holds `</script`, `<!--` or `]]>`.
std::string json_for_script(std::string_view json);

/// Text escaped for HTML element content and attribute values (& < > " ').
std::string html_escape(std::string_view text);

/// The page: `html_template` with its head placeholder replaced by the shared head, its one
/// data placeholder by json_for_script(json) and every title placeholder by html_escape(title).
/// Errors: the template has no data placeholder, or more than one (a broken build, not bad input).
Result<std::string> fill_html_template(std::string_view html_template, std::string_view json,
                                       std::string_view title);

} // namespace sio
