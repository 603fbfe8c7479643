#pragma once
/// Compares recorded messages with a sample's truth.json (written by the app that made the
/// traffic, see samples/har/*/README.md): per direction, in order, on type, nsp, event, args
/// (binary as {"_binary_b64": ...}), ackId and data.

#include "sio/common/session.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace sio::test {

/// One truth event, reduced to the fields that are compared.
struct TruthEvent {
  std::string dir;
  nlohmann::json key; ///< {type, nsp, event?, args?, ackId?, data?} with sorted keys
  double t_ms = 0;    ///< the app's Date.now() when it sent or received the packet
  long long i = -1;   ///< the event's own index ("i") when the truth has one
};

/// The events of client `client_index` in `truth_path`.
std::vector<TruthEvent> load_truth(const std::string& truth_path, std::size_t client_index = 0);

/// The same reduction of a recorded message.
nlohmann::json message_key(const Message& m, int eio);

/// Where one direction of a recording and the truth differ.
struct DirectionDiff {
  std::size_t truth_count = 0;
  std::size_t recorded_count = 0;
  std::vector<std::size_t> mismatched; ///< positions (in this direction) that differ
  std::string first_difference;        ///< readable description of the first one
};

/// Compares one direction ("client->server" or "server->client").
DirectionDiff compare_direction(const std::vector<TruthEvent>& truth, const Session& s,
                                const std::string& dir);

} // namespace sio::test
