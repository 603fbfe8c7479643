#pragma once
/// The command-line definition as data, read from the CLI11 App tree at run time: what
/// `sioreplay completion bash` and `sioreplay man` generate from, so neither keeps a list of
/// its own that could drift from the options the binary really parses.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace sio::cli {

/// One option or positional argument.
struct OptionDoc {
  std::vector<std::string> names; ///< "-o", "--output"; a positional: its name ("script")
  std::string value;              ///< placeholder of its value (CLI11's type name: TEXT, UINT,
                                  ///< FILE); empty for a flag
  std::string description;
  std::string default_value; ///< shown default ("1"), empty when none
  bool positional = false;
  bool required = false;
  bool repeatable = false; ///< takes any number of values
};

/// The root command or one subcommand.
struct CommandDoc {
  std::string name; ///< the subcommand's name; the program's name for the root
  std::string description;
  std::string footer;
  std::vector<OptionDoc> options;     ///< named options, in definition order (with -h,--help)
  std::vector<OptionDoc> positionals; ///< in definition order
};

/// The root command first, then each subcommand in definition order. sioreplay's subcommands
/// have no subcommands of their own; a nested one would not be listed.
std::vector<CommandDoc> describe_commands(const CLI::App& root);

/// Writes `text` to `path` atomically ("-": standard output); prints the error and returns
/// exit_failure when it cannot.
int write_generated(const std::string& command, const std::string& path, const std::string& text);

} // namespace sio::cli
