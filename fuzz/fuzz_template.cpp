// The replayer's template engine (Artillery's {{ }} templates, $randomNumber/$randomString/
// $uuid, lodash paths). Input: a JSON object of variables on the first line, then the template
// text; the text is rendered, looked up as a path, and the variables are rendered against
// themselves.
#include "fuzz_support.hpp"

#include "sio/replayer/template.hpp"

using namespace sio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::string_view vars_text = in.until("\n");
  const std::string_view text = fuzz::Input::text(in.rest());
  Json vars = Json::parse(vars_text, nullptr, /*allow_exceptions=*/false);
  if (vars.is_discarded() || !vars.is_object()) vars = Json::object();
  std::mt19937_64 rng(42);
  const replayer::TemplateContext ctx{&vars, &rng};

  const Json out = replayer::render_string(text, ctx);
  if (!replayer::has_template(text))
    SIO_FUZZ_CHECK(out.is_string() && out.get<std::string>() == text);
  (void)replayer::lookup(vars, text);
  (void)replayer::js_string(&out);
  (void)replayer::render(vars, ctx);
  (void)replayer::render(Json::array({std::string(text), vars}), ctx);
  return 0;
}
