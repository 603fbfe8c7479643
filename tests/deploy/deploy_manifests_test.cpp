/// deploy/: the Kubernetes manifests and the Dockerfile, checked without a cluster or docker.
/// The manifests parse (yaml-cpp), the fields a distributed run depends on are set and agree
/// with each other (N shards, the scenario's mount, the shared reports volume, the image, the
/// non-root user), the sioreplay flags they use exist, and the ConfigMap's scenario loads with
/// the replayer's own loader.

#include "../support/cli.hpp"

#include "sio/replayer/engine.hpp"
#include "sio/replayer/script.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <regex>
#include <set>

namespace sio::test {
namespace {

const fs::path k8s_dir = fs::path(SIO_SOURCE_DIR) / "deploy" / "k8s";

/// Every document of every deploy/k8s/*.yaml, with the file it came from.
struct Manifest {
  std::string file;
  YAML::Node doc;
};

std::vector<Manifest> load_manifests() {
  std::vector<Manifest> all;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(k8s_dir))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files)
    for (const auto& doc : YAML::LoadAllFromFile(f.string()))
      if (doc && !doc.IsNull()) all.push_back({f.filename().string(), doc});
  return all;
}

/// The app.kubernetes.io/component label ("" when absent).
std::string component_of(const YAML::Node& doc) {
  const YAML::Node labels = doc["metadata"]["labels"];
  return labels ? labels["app.kubernetes.io/component"].as<std::string>("") : "";
}

/// The pod spec of a Job (its template's) or a Pod; an empty node for other kinds.
YAML::Node pod_spec(const YAML::Node& doc) {
  const auto kind = doc["kind"].as<std::string>("");
  if (kind == "Job") return doc["spec"]["template"]["spec"];
  if (kind == "Pod") return doc["spec"];
  return YAML::Node(YAML::NodeType::Undefined); // false in a condition (a Null node is true)
}

/// The one manifest of this kind (and component label, when given); fails the test when
/// there is not exactly one.
YAML::Node find(const std::vector<Manifest>& all, const std::string& kind,
                const std::string& component) {
  std::vector<YAML::Node> found;
  for (const auto& m : all)
    if (m.doc["kind"].as<std::string>("") == kind &&
        (component.empty() || component_of(m.doc) == component))
      found.push_back(m.doc);
  EXPECT_EQ(found.size(), 1u) << kind << " " << component;
  return found.empty() ? YAML::Node(YAML::NodeType::Undefined) : found.front();
}

std::vector<std::string> strings(const YAML::Node& list) {
  std::vector<std::string> out;
  for (const auto& n : list) out.push_back(n.as<std::string>());
  return out;
}

/// The value after `flag` in a command line ("" when absent).
std::string flag_value(const std::vector<std::string>& command, const std::string& flag) {
  for (std::size_t i = 0; i + 1 < command.size(); ++i)
    if (command[i] == flag) return command[i + 1];
  return "";
}

/// The volume (from the pod spec) mounted at the longest mountPath that holds `path`.
struct Mounted {
  std::string mount_path;
  YAML::Node volume{YAML::NodeType::Undefined}; ///< undefined when no mount holds the path
};
Mounted volume_for(const YAML::Node& pod_spec, const YAML::Node& container,
                   const std::string& path) {
  Mounted best;
  for (const auto& m : container["volumeMounts"]) {
    const auto mp = m["mountPath"].as<std::string>();
    if (path.rfind(mp + "/", 0) != 0 || mp.size() <= best.mount_path.size()) continue;
    for (const auto& v : pod_spec["volumes"])
      if (v["name"].as<std::string>() == m["name"].as<std::string>()) best = {mp, v};
  }
  return best;
}

std::string env_value(const YAML::Node& container, const std::string& name) {
  for (const auto& e : container["env"])
    if (e["name"].as<std::string>() == name) return e["value"].as<std::string>("");
  return "";
}

class DeployManifests : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_NO_THROW(all_ = load_manifests());
    config_map_ = find(all_, "ConfigMap", "");
    pvc_ = find(all_, "PersistentVolumeClaim", "");
    replay_ = find(all_, "Job", "replay");
    merge_ = find(all_, "Job", "merge");
    ASSERT_TRUE(config_map_ && pvc_ && replay_ && merge_);
    replay_pod_ = replay_["spec"]["template"]["spec"];
    merge_pod_ = merge_["spec"]["template"]["spec"];
    ASSERT_EQ(replay_pod_["containers"].size(), 1u);
    ASSERT_EQ(merge_pod_["containers"].size(), 1u);
    replay_command_ = strings(replay_pod_["containers"][0]["command"]);
  }

  /// N: the shard count of the replay Job's --shard argument.
  unsigned shard_count() const {
    std::smatch m;
    const std::string shard = flag_value(replay_command_, "--shard");
    EXPECT_TRUE(std::regex_match(shard, m, std::regex(R"(\$\(JOB_COMPLETION_INDEX\)/(\d+))")))
        << shard;
    return m.empty() ? 0 : static_cast<unsigned>(std::stoul(m[1]));
  }

  std::vector<Manifest> all_;
  YAML::Node config_map_, pvc_, replay_, merge_, replay_pod_, merge_pod_;
  std::vector<std::string> replay_command_;
};

TEST_F(DeployManifests, KindsAndApiVersions) {
  const std::map<std::string, std::string> api_of{
      {"ConfigMap", "v1"}, {"PersistentVolumeClaim", "v1"}, {"Pod", "v1"}, {"Job", "batch/v1"}};
  std::set<std::string> names;
  for (const auto& m : all_) {
    const auto kind = m.doc["kind"].as<std::string>("");
    ASSERT_TRUE(api_of.count(kind)) << m.file << ": unexpected kind " << kind;
    EXPECT_EQ(m.doc["apiVersion"].as<std::string>(""), api_of.at(kind)) << m.file;
    const auto name = m.doc["metadata"]["name"].as<std::string>("");
    EXPECT_TRUE(std::regex_match(name, std::regex("[a-z0-9]([-a-z0-9]*[a-z0-9])?")))
        << m.file << ": metadata.name " << name;
    EXPECT_TRUE(names.insert(kind + "/" + name).second)
        << m.file << ": two " << kind << " " << name;
  }
}

TEST_F(DeployManifests, ReplayIsAnIndexedJobOfNShards) {
  const YAML::Node spec = replay_["spec"];
  EXPECT_EQ(spec["completionMode"].as<std::string>(""), "Indexed");
  const unsigned n = shard_count();
  ASSERT_GE(n, 2u);
  EXPECT_EQ(spec["completions"].as<unsigned>(0), n);
  EXPECT_EQ(spec["parallelism"].as<unsigned>(0), n);
  EXPECT_EQ(replay_pod_["restartPolicy"].as<std::string>(""), "Never");
  ASSERT_GE(replay_command_.size(), 3u);
  EXPECT_EQ(replay_command_[0], "sioreplay");
  EXPECT_EQ(replay_command_[1], "replay");
  // Each index the Job controller hands out makes a shard sioreplay accepts: I/N.
  const std::string shard = flag_value(replay_command_, "--shard");
  for (unsigned i = 0; i < n; ++i) {
    auto parsed = replayer::parse_shard(
        std::regex_replace(shard, std::regex(R"(\$\(JOB_COMPLETION_INDEX\))"), std::to_string(i)));
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->first, i);
    EXPECT_EQ(parsed->second, n);
  }
  // The merge step expects the same N.
  EXPECT_EQ(env_value(merge_pod_["containers"][0], "SHARDS"), std::to_string(n));
}

TEST_F(DeployManifests, FlagsExistInTheCli) {
  // The flags the manifests pass are options of the real binary (its --help lists them).
  const std::string cmd = "'" + cli_path() + "' replay --help";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string help;
  char buf[4096];
  for (std::size_t got; (got = std::fread(buf, 1, sizeof buf, p)) > 0;) help.append(buf, got);
  ASSERT_EQ(::pclose(p), 0);
  for (std::size_t i = 2; i < replay_command_.size(); ++i) {
    const std::string& word = replay_command_[i];
    if (word.rfind("-", 0) != 0) continue;
    EXPECT_TRUE(std::regex_search(help, std::regex("(^|[ ,])" + word + "[ ,]")))
        << word << " is not an option of sioreplay replay";
  }
}

TEST_F(DeployManifests, ScenarioIsTheMountedConfigMap) {
  const std::string script = replay_command_.at(2);
  const Mounted m = volume_for(replay_pod_, replay_pod_["containers"][0], script);
  ASSERT_TRUE(m.volume) << script << " is on no mounted volume";
  EXPECT_EQ(m.volume["configMap"]["name"].as<std::string>(""),
            config_map_["metadata"]["name"].as<std::string>());
  const std::string key = script.substr(m.mount_path.size() + 1);
  EXPECT_TRUE(config_map_["data"][key]) << "the ConfigMap has no key " << key;
}

TEST_F(DeployManifests, ConfigMapScenarioLoadsWithTheReplayerLoader) {
  // The ConfigMap's keys as the pod sees them: files in one folder.
  char tmpl[] = "/tmp/sio_deploy_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  for (const auto& kv : config_map_["data"]) {
    std::ofstream(dir / kv.first.as<std::string>(), std::ios::binary)
        << kv.second.as<std::string>();
  }
  const std::string script = replay_command_.at(2);
  replayer::LoadOptions lo;
  lo.target = env_value(replay_pod_["containers"][0], "TARGET");
  EXPECT_EQ(flag_value(replay_command_, "--target"), "$(TARGET)");
  auto loaded = replayer::load_script((dir / fs::path(script).filename()).string(), lo);
  fs::remove_all(dir);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_FALSE(loaded->scenarios.empty());
  EXPECT_EQ(loaded->target, lo.target);
  for (const auto& w : loaded->warnings) ADD_FAILURE() << "loader warning: " << w;
  // A payload CSV is read from the same folder: it is a key of the ConfigMap too, with rows.
  for (const auto& payload : loaded->payloads) EXPECT_FALSE(payload.rows.empty()) << payload.path;
  // Enough arrivals that each of the N shards gets users.
  double arrivals = 0;
  for (const auto& phase : loaded->phases)
    arrivals += phase.arrival_count ? static_cast<double>(*phase.arrival_count)
                                    : phase.arrival_rate * phase.duration_s;
  EXPECT_GE(arrivals, shard_count()) << "fewer arrivals than shards";
}

TEST_F(DeployManifests, ReportsGoToTheSharedVolumeAndAreMerged) {
  EXPECT_EQ(strings(pvc_["spec"]["accessModes"]), std::vector<std::string>{"ReadWriteMany"});
  const std::string claim = pvc_["metadata"]["name"].as<std::string>();
  const std::string report = flag_value(replay_command_, "-o");
  EXPECT_EQ(fs::path(report).filename().string(), "shard-$(JOB_COMPLETION_INDEX).json");
  const Mounted out = volume_for(replay_pod_, replay_pod_["containers"][0], report);
  ASSERT_TRUE(out.volume) << report << " is on no mounted volume";
  EXPECT_EQ(out.volume["persistentVolumeClaim"]["claimName"].as<std::string>(""), claim);
  // The merge Job reads the same claim at the same path, every shard's file, exactly once.
  const YAML::Node merge_container = merge_pod_["containers"][0];
  const auto command = strings(merge_container["command"]);
  ASSERT_FALSE(command.empty());
  const std::string script = command.back();
  const std::string glob = out.mount_path + "/shard-*.json";
  const std::string merged = out.mount_path + "/merged.json";
  EXPECT_NE(script.find("exec sioreplay report --merge " + glob + " -o " + merged),
            std::string::npos)
      << script;
  const Mounted in = volume_for(merge_pod_, merge_container, merged);
  ASSERT_TRUE(in.volume);
  EXPECT_EQ(in.mount_path, out.mount_path);
  EXPECT_EQ(in.volume["persistentVolumeClaim"]["claimName"].as<std::string>(""), claim);
  EXPECT_EQ(merge_pod_["restartPolicy"].as<std::string>(""), "Never");
}

TEST_F(DeployManifests, PodsRunAsNonRootWithResourceRequests) {
  int pods = 0;
  for (const auto& m : all_) {
    const YAML::Node pod = pod_spec(m.doc);
    if (!pod) continue;
    ++pods;
    EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>(false)) << m.file;
    EXPECT_GT(pod["securityContext"]["runAsUser"].as<long>(0), 0) << m.file;
    for (const auto& c : pod["containers"]) {
      EXPECT_TRUE(c["resources"]["requests"]["cpu"]) << m.file;
      EXPECT_TRUE(c["resources"]["requests"]["memory"]) << m.file;
      EXPECT_FALSE(c["securityContext"]["allowPrivilegeEscalation"].as<bool>(true)) << m.file;
    }
  }
  EXPECT_GE(pods, 2);
}

/// The Dockerfile's instructions, one per logical line (continuations joined).
std::vector<std::pair<std::string, std::string>> dockerfile() {
  std::ifstream in(fs::path(SIO_SOURCE_DIR) / "deploy" / "Dockerfile");
  std::vector<std::pair<std::string, std::string>> out;
  std::string line, logical;
  while (std::getline(in, line)) {
    if (logical.empty() && (line.empty() || line[0] == '#')) continue;
    const bool continued = !line.empty() && line.back() == '\\';
    logical += continued ? line.substr(0, line.size() - 1) : line;
    if (continued) continue;
    const auto space = logical.find(' ');
    out.emplace_back(logical.substr(0, space),
                     space == std::string::npos ? "" : logical.substr(space + 1));
    logical.clear();
  }
  return out;
}

TEST_F(DeployManifests, ImageIsTheDockerfilesNonRootMultiStageBuild) {
  const auto instructions = dockerfile();
  std::vector<std::string> stages;
  std::string user, entrypoint;
  bool copies_from_build = false;
  for (const auto& [op, arg] : instructions) {
    if (op == "FROM") {
      stages.push_back(arg);
      user.clear(); // USER is per stage: the last stage's counts
      EXPECT_EQ(arg.rfind("debian:12", 0), 0u) << "not a Debian 12 base: " << arg;
    }
    if (op == "USER") user = arg;
    if (op == "ENTRYPOINT") entrypoint = arg;
    if (op == "COPY" && arg.rfind("--from=build ", 0) == 0 && stages.size() > 1)
      copies_from_build = true;
  }
  ASSERT_GE(stages.size(), 2u) << "not a multi-stage build";
  EXPECT_NE(stages.front().find(" AS build"), std::string::npos) << stages.front();
  EXPECT_TRUE(copies_from_build);
  // A numeric non-root user, the one the pods' securityContext names.
  ASSERT_FALSE(user.empty()) << "the runtime stage runs as root";
  const std::string uid = user.substr(0, user.find(':'));
  EXPECT_NE(uid, "0");
  EXPECT_NE(uid, "root");
  EXPECT_EQ(uid, std::to_string(replay_pod_["securityContext"]["runAsUser"].as<long>()));
  EXPECT_EQ(entrypoint, R"(["sioreplay"])");
  // Every pod runs the same image, tagged with the version being built.
  std::set<std::string> images;
  for (const auto& m : all_)
    if (const YAML::Node pod = pod_spec(m.doc))
      for (const auto& c : pod["containers"]) images.insert(c["image"].as<std::string>());
  ASSERT_EQ(images.size(), 1u);
  EXPECT_EQ(*images.begin(), std::string("sioreplay:") + SIO_VERSION_FOR_TESTS);
  // The build context leaves build trees out (they would be copied into the image).
  const std::string ignore = slurp(fs::path(SIO_SOURCE_DIR) / ".dockerignore");
  EXPECT_TRUE(std::regex_search(ignore, std::regex("(^|\\n)/?build/?(\\n|$)"))) << ignore;
}

} // namespace
} // namespace sio::test
