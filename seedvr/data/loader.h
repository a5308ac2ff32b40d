// Prefetching loader over a VideoPairDataset.
//
// Order: each epoch is a permutation of the dataset drawn from (seed, epoch)
// (identity when shuffle is off), padded by wrapping to a multiple of
// world_size; rank r takes positions r, r + world_size, ... so every rank sees
// ceil(N / world_size) samples per epoch and ranks never overlap within an
// epoch (except the wrap padding). Sample i of the stream is produced from
// its own seed (seed, epoch, position), so the stream is the same for any
// num_workers and after a restore.
//
// Workers decode (and degrade) ahead of the consumer, at most `prefetch`
// samples; Next() returns them in order. A sample whose file fails (corrupt
// midway, truncated, ...) marks the file bad (one warning, counted) and is
// replaced by the next dataset entry in the epoch order that works
// (deterministic: the replacement depends only on the order).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "seedvr/data/video_pair_dataset.h"

namespace seedvr::data {

struct LoaderOptions {
  int rank = 0;
  int world_size = 1;
  int num_workers = 2;  // 0: produce in the caller's thread
  int prefetch = 4;     // max samples decoded ahead of the consumer
  uint64_t seed = 0;
  bool shuffle = true;

  static LoaderOptions FromConfig(const DataConfig& c, int rank = 0, int world_size = 1) {
    LoaderOptions o;
    o.rank = rank;
    o.world_size = world_size;
    o.num_workers = c.num_workers;
    o.prefetch = c.prefetch;
    o.seed = c.seed;
    return o;
  }
};

// Where the stream stands: the next Next() returns sample `index` of `epoch`
// (index counts this rank's samples). Save it with a checkpoint.
struct LoaderPosition {
  int64_t epoch = 0;
  int64_t index = 0;
};

struct LoaderStats {
  int64_t clips_produced = 0;  // returned by Next()
  int64_t replaced = 0;        // samples that fell back to another file
  int64_t consumer_waits = 0;  // Next() calls that found the queue empty
  DatasetStats dataset;
};

class DataLoader {
 public:
  DataLoader(const VideoPairDataset* dataset, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Blocks until the next sample is ready; epochs roll over automatically.
  // Fails only when no file of the dataset can be decoded any more.
  absl::StatusOr<Sample> Next();

  LoaderPosition position() const;
  // Restarts the stream at `pos` (drops prefetched samples).
  void Restore(const LoaderPosition& pos);

  int64_t samples_per_epoch() const { return per_rank_; }
  LoaderStats stats() const;

 private:
  struct Result {
    absl::StatusOr<Sample> sample = absl::UnknownError("unset");
    bool replaced = false;
  };
  Result Produce(int64_t seq) const;  // seq = epoch * per_rank + index
  std::vector<size_t> EpochOrder(int64_t epoch) const;
  void Start(int64_t seq);
  void Stop();
  void WorkerLoop();

  const VideoPairDataset* dataset_;
  LoaderOptions options_;
  int64_t per_rank_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_work_, cv_ready_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
  int64_t next_seq_ = 0;     // next sample Next() returns
  int64_t claimed_seq_ = 0;  // next sample a worker will claim
  std::map<int64_t, Result> ready_;
  int64_t produced_ = 0, replaced_ = 0, waits_ = 0;
  mutable std::mutex order_mu_;
  mutable std::map<int64_t, std::vector<size_t>> order_cache_;
};

}  // namespace seedvr::data
