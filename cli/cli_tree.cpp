/// The command-line definition as data (see cli_tree.hpp).

#include "cli_tree.hpp"

#include "commands.hpp"

#include "sio/common/file_io.hpp"

#include <cstdio>

namespace sio::cli {
namespace {

OptionDoc describe_option(const CLI::Option& opt) {
  OptionDoc d;
  d.positional = !opt.nonpositional();
  if (d.positional) {
    d.names.push_back(opt.get_name());
  } else {
    for (const auto& s : opt.get_snames()) d.names.push_back("-" + s);
    for (const auto& l : opt.get_lnames()) d.names.push_back("--" + l);
  }
  if (opt.get_type_size() != 0) d.value = opt.get_type_name();
  d.description = opt.get_description();
  d.default_value = opt.get_default_str();
  d.required = opt.get_required();
  d.repeatable = opt.get_items_expected_max() >= CLI::detail::expected_max_vector_size;
  return d;
}

CommandDoc describe_command(const CLI::App& app) {
  CommandDoc c;
  c.name = app.get_name();
  c.description = app.get_description();
  c.footer = app.get_footer();
  for (const CLI::Option* opt : app.get_options()) {
    OptionDoc d = describe_option(*opt);
    (d.positional ? c.positionals : c.options).push_back(std::move(d));
  }
  return c;
}

} // namespace

std::vector<CommandDoc> describe_commands(const CLI::App& root) {
  std::vector<CommandDoc> commands{describe_command(root)};
  for (const CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; }))
    commands.push_back(describe_command(*sub));
  return commands;
}

int write_generated(const std::string& command, const std::string& path, const std::string& text) {
  if (auto st = write_file_atomically(path, text); !st) {
    std::fprintf(stderr, "sioreplay %s: error: %s\n", command.c_str(),
                 st.error().message().c_str());
    return exit_failure;
  }
  return exit_ok;
}

} // namespace sio::cli
