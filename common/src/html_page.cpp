#include "sio/common/html_page.hpp"

#include "sio/embedded/page_head_html.hpp"

namespace sio {

std::string json_for_script(std::string_view json) {
  std::string out;
  out.reserve(json.size() + json.size() / 16);
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    switch (c) {
    case '<':
      out += "\\u003c";
      break;
    case '>':
      out += "\\u003e";
      break;
    case '&':
      out += "\\u0026";
      break;
    default:
      // U+2028 / U+2029 (E2 80 A8 / E2 80 A9): line terminators to older JavaScript parsers.
      if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
          (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
        out += json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
        i += 2;
      } else {
        out += c;
      }
    }
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

Result<std::string> fill_html_template(std::string_view page_template, std::string_view json,
                                       std::string_view title) {
  // The shared head first: it holds the title placeholder.
  std::string with_head(page_template);
  if (const auto h = with_head.find(html_head_placeholder); h != std::string::npos)
    with_head.replace(h, html_head_placeholder.size(), embedded::page_head_html);
  const std::string_view html_template = with_head;
  const auto at = html_template.find(html_data_placeholder);
  if (at == std::string_view::npos ||
      html_template.find(html_data_placeholder, at + 1) != std::string_view::npos)
    return fail(errc::unsupported,
                "HTML template: expected exactly one " + std::string(html_data_placeholder));
  const std::string safe_title = html_escape(title);
  std::string page;
  page.reserve(html_template.size() + json.size() + json.size() / 16);
  // The title placeholders are replaced in the template's text only, never in the data.
  const auto append_with_title = [&](std::string_view part) {
    std::size_t from = 0;
    for (auto t = part.find(html_title_placeholder); t != std::string_view::npos;
         t = part.find(html_title_placeholder, from)) {
      page.append(part.substr(from, t - from));
      page += safe_title;
      from = t + html_title_placeholder.size();
    }
    page.append(part.substr(from));
  };
  append_with_title(html_template.substr(0, at));
  page += json_for_script(json);
  append_with_title(html_template.substr(at + html_data_placeholder.size()));
  return page;
}

} // namespace sio
