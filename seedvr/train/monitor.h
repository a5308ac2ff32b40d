// What a user watches during training: per-step metrics on the terminal (a
// progress bar on a TTY, plain lines otherwise), a JSONL log and the loss
// curves in save_dir, and the user's guide's warnings about the
// discriminator. The curves are one SVG chart, written both as a page
// (loss_curves.html, the SVG inline) and as a picture (loss_curves.png, the
// same SVG rendered by librsvg): 640 pixels wide and 220 high per metric with
// two or more recorded steps (one panel saying so when none has), on white.
// A log write that fails (a full disk) is reported on the terminal once, and
// again when writing recovers. Non-finite losses are reported as an error so
// the trainer stops before saving anything bad. Under torchrun only rank 0's
// monitor writes; the others only check. No LibTorch here.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace seedvr::train {

using Metrics = std::vector<std::pair<std::string, double>>;

struct MonitorOptions {
  std::string save_dir;
  int64_t max_steps = 0;
  int64_t log_every = 1;
  bool progress_bar = true;       // only on a terminal
  int64_t warn_window = 200;      // steps d_adv must stay out of range before a warning
  // Resuming at this step: the existing log keeps its lines up to it and
  // drops those of later steps (the interrupted run's), so no step repeats.
  // -1: a new run, a new log.
  int64_t resume_step = -1;
  bool quiet = false;             // a rank other than 0: check the metrics, write and print nothing
};

class Monitor {
 public:
  explicit Monitor(MonitorOptions options);
  ~Monitor();

  // Logs one step's metrics (JSONL always; terminal every log_every steps).
  // Returns an error naming the metric when one is NaN or infinite.
  absl::Status Record(int64_t step, const Metrics& metrics);
  // Prints a line (not overwritten by the progress bar).
  void Print(const std::string& line);
  // Rewrites loss_curves.html and loss_curves.png from everything recorded in
  // this run. An error names the file that could not be written and why
  // (librsvg's message when rendering failed).
  absl::Status WritePlot() const;

 private:
  void CheckGuide(int64_t step, double d_adv);
  void OpenLog();
  void WriteLog(int64_t step, const std::string& line);

  MonitorOptions options_;
  std::string log_path_;
  std::FILE* jsonl_ = nullptr;
  bool log_failing_ = false;  // the last write failed (reported once)
  bool tty_ = false;
  std::map<std::string, std::vector<std::pair<int64_t, double>>> history_;
  int64_t out_of_range_ = 0;
  int64_t near_zero_ = 0;
  int64_t last_warning_step_ = -1000000;
};

}  // namespace seedvr::train
