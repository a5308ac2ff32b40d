#include "seedvr/parallel/process_groups.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace seedvr::parallel {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kBeatInterval{1000};
constexpr int kBeatsBeforeBlame = 3;
// The heartbeat connection's timeout: a diagnosis never waits longer on a
// store that stopped answering.
constexpr milliseconds kHealthTimeout{10000};

std::string Env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : fallback;
}

absl::StatusOr<int> IntEnv(const char* name, int fallback, int min) {
  const std::string v = Env(name);
  if (v.empty()) return fallback;
  int out = 0;
  if (!absl::SimpleAtoi(v, &out) || out < min) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable ", name, ": expected an integer >= ", min, ", got '", v, "'"));
  }
  return out;
}

std::string HeartbeatKey(int rank) { return absl::StrCat("seedvr/heartbeat/", rank); }
std::string FailedKey(int rank) { return absl::StrCat("seedvr/failed/", rank); }

// Gloo's transport: GLOO_SOCKET_IFNAME as PyTorch honours it, else the
// address this host's name resolves to (loopback when it resolves nowhere).
std::shared_ptr<::gloo::transport::Device> GlooDevice() {
  const std::string iface = Env("GLOO_SOCKET_IFNAME");
  return iface.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                       : c10d::ProcessGroupGloo::createDeviceForInterface(iface);
}

// One group: Gloo for CPU tensors and, on a GPU run, NCCL for CUDA tensors,
// each on its own prefix of `store`.
c10::intrusive_ptr<c10d::ProcessGroup> MakeGroup(const c10::intrusive_ptr<c10d::Store>& store, const std::string& name,
                                                 int rank, int size, const GroupOptions& options) {
  auto prefixed = [&](const char* backend) {
    return c10::make_intrusive<c10d::PrefixStore>(absl::StrCat("seedvr/", name, "/", backend), store);
  };
  auto group = c10::make_intrusive<c10d::ProcessGroup>(prefixed("group"), rank, size);
  auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
  gloo_options->devices.push_back(GlooDevice());
  gloo_options->threads = 2;
  auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed("gloo"), rank, size, gloo_options);
  group->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, gloo);
  group->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
#ifdef USE_C10D_NCCL
  if (options.device.is_cuda()) {
    auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
    nccl_options->timeout = options.timeout;
    auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed("nccl"), rank, size, nccl_options);
    group->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::NCCL, nccl);
    group->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
  }
#endif
  return group;
}

}  // namespace

absl::StatusOr<LaunchEnv> LaunchEnv::FromEnvironment() {
  LaunchEnv env;
  auto world = IntEnv("WORLD_SIZE", 1, 1);
  if (!world.ok()) return world.status();
  env.world_size = *world;
  auto rank = IntEnv("RANK", 0, 0);
  if (!rank.ok()) return rank.status();
  env.rank = *rank;
  if (env.rank >= env.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable RANK: ", env.rank, " is not below WORLD_SIZE ", env.world_size));
  }
  auto local = IntEnv("LOCAL_RANK", env.rank, 0);
  if (!local.ok()) return local.status();
  env.local_rank = *local;
  auto restarts = IntEnv("TORCHELASTIC_RESTART_COUNT", 0, 0);
  if (!restarts.ok()) return restarts.status();
  env.restart_count = *restarts;
  const std::string agent = absl::AsciiStrToLower(Env("TORCHELASTIC_USE_AGENT_STORE"));
  env.agent_store = agent == "true" || agent == "1";
  if (env.world_size == 1) return env;
  env.master_addr = Env("MASTER_ADDR");
  if (env.master_addr.empty()) {
    return absl::InvalidArgumentError(
        "environment variable MASTER_ADDR is not set (WORLD_SIZE > 1): launch with "
        "torchrun, or set MASTER_ADDR and MASTER_PORT");
  }
  auto port = IntEnv("MASTER_PORT", 0, 1);
  if (!port.ok()) return port.status();
  if (*port == 0 || *port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable MASTER_PORT: expected a port, got '", Env("MASTER_PORT"), "'"));
  }
  env.master_port = *port;
  return env;
}

absl::StatusOr<std::shared_ptr<ProcessGroups>> ProcessGroups::Create(const LaunchEnv& env,
                                                                     const GroupOptions& options) {
  if (options.sp_size < 1 || env.world_size % options.sp_size != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parallel.sp_size: ", options.sp_size, " does not divide the world size ", env.world_size, " (WORLD_SIZE)"));
  }
  std::shared_ptr<ProcessGroups> g(new ProcessGroups());
  g->rank_ = env.rank;
  g->world_size_ = env.world_size;
  g->sp_size_ = options.sp_size;
  g->timeout_ = options.timeout;
  g->store_address_ = absl::StrCat(env.master_addr, ":", env.master_port);
  const std::string prefix = absl::StrCat("/worker/attempt_", env.restart_count);
  int port = env.master_port;  // 0: rank 0 of a one-process world serves on any free port
  auto connect = [&](bool serve, milliseconds timeout) -> c10::intrusive_ptr<c10d::Store> {
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(port);
    o.isServer = serve;
    o.numWorkers = env.world_size;
    o.waitWorkers = false;
    o.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
    port = tcp->getPort();
    if (!env.agent_store) return tcp;
    return c10::make_intrusive<c10d::PrefixStore>(prefix, tcp);
  };
  try {
    g->store_ = connect(!env.agent_store && env.rank == 0, options.connect_timeout);
    g->health_store_ = connect(false, kHealthTimeout);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "rank ", env.rank, ": cannot reach the rendezvous store at ", g->store_address_, " (MASTER_ADDR, MASTER_PORT",
        env.agent_store ? ", served by torchrun" : ", served by rank 0", "): ", ErrorMessage(e)));
  }
  g->heartbeat_ = std::thread([raw = g.get()] { raw->Beat(); });
  try {
    g->world_ = MakeGroup(g->store_, "world", env.rank, env.world_size, options);
    const int sp = options.sp_size, dp = env.world_size / sp;
    g->data_parallel_ =
        sp == 1 ? g->world_ : MakeGroup(g->store_, absl::StrCat("dp", env.rank % sp), env.rank / sp, dp, options);
    if (sp > 1) {
      g->sequence_parallel_ = MakeGroup(g->store_, absl::StrCat("sp", env.rank / sp), env.rank % sp, sp, options);
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", env.rank, " of ", env.world_size,
                                               ": building the process groups failed: ", ErrorMessage(e)));
  }
  return g;
}

ProcessGroups::~ProcessGroups() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
}

void ProcessGroups::Beat() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();  // the destructor must not wait on the store
    try {
      health_store_->add(HeartbeatKey(rank_), 1);
    } catch (const std::exception&) {
      return;  // the store is gone: the launch is ending
    }
    lock.lock();
    stop_cv_.wait_for(lock, kBeatInterval, [this] { return stopping_; });
  }
}

std::string ProcessGroups::Diagnose(const std::string& reason) {
  try {
    health_store_->set(FailedKey(rank_), std::vector<uint8_t>(reason.begin(), reason.end()));
    auto beats = [&] {
      std::vector<int64_t> out(world_size_);
      for (int r = 0; r < world_size_; ++r) out[r] = r == rank_ ? 0 : health_store_->add(HeartbeatKey(r), 0);
      return out;
    };
    const std::vector<int64_t> before = beats();
    std::this_thread::sleep_for(kBeatInterval * kBeatsBeforeBlame);
    const std::vector<int64_t> after = beats();
    std::vector<std::string> found;
    for (int r = 0; r < world_size_; ++r) {
      if (r == rank_) continue;
      if (health_store_->check({FailedKey(r)})) {
        std::vector<uint8_t> why = health_store_->get(FailedKey(r));
        found.push_back(absl::StrCat("rank ", r, " failed too: ", std::string(why.begin(), why.end())));
      } else if (after[r] == before[r]) {
        found.push_back(absl::StrCat("rank ", r, " stopped responding (no heartbeat for ",
                                     (kBeatInterval * kBeatsBeforeBlame).count() / 1000, " s)"));
      }
    }
    if (found.empty()) return "every other rank is alive";
    return absl::StrJoin(found, "; ");
  } catch (const std::exception& e) {
    return absl::StrCat("the rendezvous store at ", store_address_, " no longer answers (",
                        "the process serving it has stopped): ", ErrorMessage(e));
  }
}

std::string ErrorMessage(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

absl::Status Wait(c10d::Work& work, std::chrono::milliseconds timeout, const std::string& what) {
  try {
    work.wait(timeout);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(what, " failed: ", ErrorMessage(e)));
  }
  return absl::OkStatus();
}

void BroadcastFromRankZero(const ProcessGroups& groups, const std::vector<at::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (const at::Tensor& t : tensors) {
    std::vector<at::Tensor> one = {t.detach()};
    works.push_back(groups.world()->broadcast(one, c10d::BroadcastOptions{}));
  }
  for (auto& w : works) {
    if (auto s = Wait(*w, groups.timeout(), "broadcasting rank 0's weights"); !s.ok()) {
      throw std::runtime_error(std::string(s.message()));
    }
  }
}

absl::Status AverageOverRanks(const ProcessGroups& groups, std::vector<double>& values) {
  at::Tensor t = at::tensor(values, at::kDouble);
  std::vector<at::Tensor> one = {t};
  auto work = groups.data_parallel()->allreduce(one, c10d::AllreduceOptions{});
  if (auto s = Wait(*work, groups.timeout(), "averaging the step's metrics over ranks"); !s.ok()) return s;
  t.div_(groups.dp_size());
  const double* mean = t.data_ptr<double>();
  values.assign(mean, mean + values.size());
  return absl::OkStatus();
}

namespace {

// The elementwise maximum of `values` over `group`.
absl::StatusOr<at::Tensor> MaxOver(const c10::intrusive_ptr<c10d::ProcessGroup>& group, std::vector<double> values,
                                   std::chrono::milliseconds timeout, const std::string& what) {
  at::Tensor t = at::tensor(values, at::kDouble);
  std::vector<at::Tensor> one = {t};
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::MAX;
  o.timeout = timeout;
  auto work = group->allreduce(one, o);
  if (auto s = Wait(*work, timeout, absl::StrCat("waiting for every rank at ", what)); !s.ok()) return s;
  return t;
}

}  // namespace

absl::StatusOr<double> MaxOverRanks(const c10::intrusive_ptr<c10d::ProcessGroup>& group, double value,
                                    std::chrono::milliseconds timeout, const std::string& what) {
  auto t = MaxOver(group, {value}, timeout, what);
  if (!t.ok()) return t.status();
  return (*t)[0].item<double>();
}

absl::Status CheckAgreement(const ProcessGroups& groups, double value, std::chrono::milliseconds timeout,
                            const std::string& what) {
  auto t = MaxOver(groups.world(), {value, -value}, timeout, what);
  if (!t.ok()) return t.status();
  const double hi = (*t)[0].item<double>(), lo = -(*t)[1].item<double>();
  if (hi != value || lo != value) {
    return absl::InternalError(absl::StrFormat(
        "%s: the ranks' weights differ (checksums from %.17g to %.17g, this rank %.17g): data-parallel replicas "
        "diverged",
        what, lo, hi, value));
  }
  return absl::OkStatus();
}

}  // namespace seedvr::parallel
