#include "truth.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sio::test {

std::vector<TruthEvent> load_truth(const std::string& truth_path, std::size_t client_index) {
  std::ifstream in(truth_path);
  if (!in) throw std::runtime_error("cannot open " + truth_path);
  const nlohmann::json t = nlohmann::json::parse(in);
  std::vector<TruthEvent> out;
  for (const auto& e : t.at("clients").at(client_index).at("events")) {
    TruthEvent te;
    te.dir = e.at("dir").get<std::string>();
    te.t_ms = e.at("t").get<double>();
    te.i = e.value("i", -1LL);
    nlohmann::json k = nlohmann::json::object();
    k["type"] = e.at("type");
    k["nsp"] = e.value("nsp", "/");
    for (const char* f : {"event", "args", "ackId", "data"})
      if (e.contains(f)) k[f] = e.at(f);
    // The wire holds what the receiver decodes: a user object that looks like an attachment
    // placeholder is one (truth.json records both).
    if (e.contains("receiver_decoded_args")) k["args"] = e.at("receiver_decoded_args");
    te.key = std::move(k);
    out.push_back(std::move(te));
  }
  return out;
}

nlohmann::json message_key(const Message& m, int eio) {
  nlohmann::json k = nlohmann::json::object();
  k["type"] = sock::to_string(m.type, sock::protocol_for_eio(eio));
  k["nsp"] = m.nsp;
  // Ordered JSON -> plain JSON (sorted keys), so key order does not matter in comparisons.
  if (m.event) k["event"] = nlohmann::json::parse(m.event->dump());
  if (m.args) k["args"] = nlohmann::json::parse(m.args->dump());
  if (m.ack_id) k["ackId"] = *m.ack_id;
  if (m.data) k["data"] = nlohmann::json::parse(m.data->dump());
  return k;
}

DirectionDiff compare_direction(const std::vector<TruthEvent>& truth, const Session& s,
                                const std::string& dir) {
  std::vector<const TruthEvent*> want;
  for (const auto& e : truth)
    if (e.dir == dir) want.push_back(&e);
  std::vector<nlohmann::json> got;
  for (const auto& m : s.messages)
    if (to_string(m.dir) == dir) got.push_back(message_key(m, s.eio));
  DirectionDiff d;
  d.truth_count = want.size();
  d.recorded_count = got.size();
  const std::size_t n = std::max(want.size(), got.size());
  for (std::size_t i = 0; i < n; ++i) {
    const bool same = i < want.size() && i < got.size() && want[i]->key == got[i];
    if (same) continue;
    d.mismatched.push_back(i);
    if (d.first_difference.empty()) {
      std::ostringstream o;
      o << dir << " #" << i << ": truth "
        << (i < want.size() ? want[i]->key.dump().substr(0, 300) : std::string("(none)"))
        << " vs recorded "
        << (i < got.size() ? got[i].dump().substr(0, 300) : std::string("(none)"));
      d.first_difference = o.str();
    }
  }
  return d;
}

} // namespace sio::test
