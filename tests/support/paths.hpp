#pragma once
/// Where the tests find the source tree, the build and the CLI (set by tests/CMakeLists.txt).

#include <string>

namespace sio::test {

inline std::string source_dir() {
  return SIO_SOURCE_DIR;
}
inline std::string sample(const std::string& rel) {
  return source_dir() + "/samples/" + rel;
}
inline std::string cli_path() {
  return SIO_CLI_PATH;
}

} // namespace sio::test
