#include "sio/recorder/html_timeline.hpp"

#include "sio/common/html_page.hpp"
#include "sio/common/session_json.hpp"
#include "sio/embedded/timeline_html.hpp"

namespace sio::recorder {

void TimelinePage::add(const Session& s) {
  if (kept_ >= max_sessions_ || messages_ + s.messages.size() > max_messages_) {
    ++omitted_;
    return;
  }
  // The page's other HTTP exchanges can carry 64 KiB request bodies each: the timeline shows
  // them as lines, without their bodies.
  Session lean = s;
  for (auto& h : lean.http) h.request_body.reset();
  if (kept_ != 0) sessions_json_ += ',';
  append_session_line(sessions_json_, lean);
  ++kept_;
  messages_ += s.messages.size();
}

Result<std::string> TimelinePage::html(const std::vector<std::string>& sources,
                                       const std::string& diagnostics) const {
  std::string data = "{\"tool\":\"sioreplay " SIO_VERSION "\",\"sources\":";
  append_json(data, Json(sources));
  data += ",\"omittedSessions\":" + std::to_string(omitted_);
  data += ",\"diagnostics\":" + (diagnostics.empty() ? std::string("null") : diagnostics);
  data += ",\"sessions\":[" + sessions_json_ + "]}";
  std::string title = "sioreplay timeline";
  if (!sources.empty()) {
    const auto slash = sources.front().rfind('/');
    title +=
        ": " + (slash == std::string::npos ? sources.front() : sources.front().substr(slash + 1));
    if (sources.size() > 1) title += " (+" + std::to_string(sources.size() - 1) + " more)";
  }
  return fill_html_template(embedded::timeline_html, data, title);
}

} // namespace sio::recorder
