#include "seedvr/data/loader.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "seedvr/data/random.h"

namespace seedvr::data {

DataLoader::DataLoader(const VideoPairDataset* dataset, LoaderOptions options)
    : dataset_(dataset), options_(options) {
  options_.world_size = std::max(1, options_.world_size);
  options_.rank = std::clamp(options_.rank, 0, options_.world_size - 1);
  options_.prefetch = std::max(1, options_.prefetch);
  options_.num_workers = std::max(0, options_.num_workers);
  const int64_t n = static_cast<int64_t>(dataset_->size());
  per_rank_ = std::max<int64_t>(1, (n + options_.world_size - 1) / options_.world_size);
  Start(0);
}

DataLoader::~DataLoader() { Stop(); }

std::vector<size_t> DataLoader::EpochOrder(int64_t epoch) const {
  std::lock_guard<std::mutex> lock(order_mu_);
  auto it = order_cache_.find(epoch);
  if (it != order_cache_.end()) return it->second;
  const size_t n = dataset_->size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (options_.shuffle) {
    Rng rng(DeriveSeed({options_.seed, 0x65706f6368ull, static_cast<uint64_t>(epoch)}));  // "epoch"
    for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[std::uniform_int_distribution<size_t>(0, i - 1)(rng)]);
  }
  // Pad by wrapping so every rank gets per_rank_ samples.
  const size_t total = static_cast<size_t>(per_rank_) * options_.world_size;
  for (size_t i = n; i < total; ++i) order.push_back(order[i % n]);
  while (order_cache_.size() > 2) order_cache_.erase(order_cache_.begin());
  order_cache_[epoch] = order;
  return order;
}

DataLoader::Result DataLoader::Produce(int64_t seq) const {
  const int64_t epoch = seq / per_rank_, index = seq % per_rank_;
  const std::vector<size_t> order = EpochOrder(epoch);
  const size_t pos = static_cast<size_t>(index) * options_.world_size + options_.rank;
  Result r;
  const size_t n = order.size();
  for (size_t k = 0; k < n; ++k) {
    const size_t entry = order[(pos + k) % n];
    if (dataset_->IsBad(entry)) continue;
    const uint64_t sample_seed = DeriveSeed({options_.seed, static_cast<uint64_t>(epoch), pos, k});
    absl::StatusOr<Sample> s = dataset_->Get(entry, sample_seed);
    if (s.ok()) {
      r.sample = std::move(s);
      r.replaced = k > 0;
      return r;
    }
    dataset_->MarkBad(entry, dataset_->entries()[entry].hq_path, std::string(s.status().message()));
  }
  r.sample = absl::FailedPreconditionError(
      absl::StrCat("no file of the dataset (", dataset_->size(), " entries) can be decoded any more"));
  return r;
}

void DataLoader::Start(int64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  next_seq_ = claimed_seq_ = seq;
  ready_.clear();
  stopping_ = false;
  for (int i = 0; i < options_.num_workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void DataLoader::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_work_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void DataLoader::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_work_.wait(lock, [&] { return stopping_ || claimed_seq_ < next_seq_ + options_.prefetch; });
    if (stopping_) return;
    const int64_t seq = claimed_seq_++;
    lock.unlock();
    Result r = Produce(seq);
    lock.lock();
    if (stopping_) return;
    ready_.emplace(seq, std::move(r));
    cv_ready_.notify_all();
  }
}

absl::StatusOr<Sample> DataLoader::Next() {
  Result r;
  if (options_.num_workers == 0) {
    int64_t seq;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seq = next_seq_++;
    }
    r = Produce(seq);
  } else {
    std::unique_lock<std::mutex> lock(mu_);
    if (ready_.find(next_seq_) == ready_.end()) ++waits_;
    cv_ready_.wait(lock, [&] { return ready_.count(next_seq_) > 0; });
    auto it = ready_.find(next_seq_);
    r = std::move(it->second);
    ready_.erase(it);
    ++next_seq_;
    cv_work_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (r.sample.ok()) ++produced_;
  if (r.replaced) ++replaced_;
  return std::move(r.sample);
}

LoaderPosition DataLoader::position() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {next_seq_ / per_rank_, next_seq_ % per_rank_};
}

void DataLoader::Restore(const LoaderPosition& pos) {
  Stop();
  Start(std::max<int64_t>(0, pos.epoch) * per_rank_ + std::clamp<int64_t>(pos.index, 0, per_rank_ - 1));
}

LoaderStats DataLoader::stats() const {
  LoaderStats s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.clips_produced = produced_;
    s.replaced = replaced_;
    s.consumer_waits = waits_;
  }
  s.dataset = dataset_->stats();
  return s;
}

}  // namespace seedvr::data
