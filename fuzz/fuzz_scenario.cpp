// The scenario loader (Artillery v2 YAML as the replayer reads it: config, phases, payloads,
// socketio options, flows, ensure), then the templates of every emit step rendered once as a
// virtual user would.
#include "fuzz_support.hpp"

#include "sio/replayer/script.hpp"
#include "sio/replayer/template.hpp"

using namespace sio;

namespace {

void render_steps(const std::vector<replayer::Step>& steps, const replayer::TemplateContext& ctx,
                  int depth) {
  if (depth > 64) return;
  for (const auto& s : steps) {
    if (s.kind == replayer::Step::Kind::emit) {
      (void)replayer::render(s.channel, ctx);
      (void)replayer::render(s.args, ctx);
    }
    render_steps(s.steps, ctx, depth + 1);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile file;
  const std::string& path = file.write({reinterpret_cast<const char*>(data), size});
  auto script = replayer::load_script(path, {.environment = {}, .target = {}});
  if (!script) {
    SIO_FUZZ_CHECK(!script.error().message().empty());
    return 0;
  }
  std::mt19937_64 rng(7);
  const replayer::TemplateContext ctx{&script->variables, &rng};
  for (const auto& sc : script->scenarios) render_steps(sc.flow, ctx, 0);
  return 0;
}
