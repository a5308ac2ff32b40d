#include "seedvr/parallel/data_parallel.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/utils.h>

#include <algorithm>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace seedvr::parallel {

DataParallel::DataParallel(std::shared_ptr<ProcessGroups> groups, StrategyOptions options)
    : groups_(std::move(groups)), options_(options) {
  TORCH_CHECK(groups_ != nullptr, "data-parallel training needs process groups (launch with torchrun)");
  sequence_parallel_ = MakeSequenceParallel(*groups_);
}

DataParallel::DataParallel(DataParallel&&) noexcept = default;
DataParallel& DataParallel::operator=(DataParallel&&) noexcept = default;
DataParallel::~DataParallel() = default;

void DataParallel::Attach(Role role, std::vector<at::Tensor> params) {
  {
    torch::NoGradGuard no_grad;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (at::Tensor& p : params) {
      std::vector<at::Tensor> one = {p.detach()};
      works.push_back(groups_->world()->broadcast(one, c10d::BroadcastOptions{}));
    }
    for (auto& w : works) {
      if (auto s = Wait(*w, groups_->timeout(), "broadcasting rank 0's weights"); !s.ok()) {
        throw std::runtime_error(std::string(s.message()));
      }
    }
  }
  const std::vector<size_t> limits = {static_cast<size_t>(options_.first_bucket_bytes),
                                      static_cast<size_t>(options_.bucket_bytes)};
  const std::vector<bool> sparse(params.size(), false);
  auto [buckets, bucket_limits] = c10d::compute_bucket_assignment_by_size(params, limits, sparse);
  std::reverse(buckets.begin(), buckets.end());
  std::reverse(bucket_limits.begin(), bucket_limits.end());
  reducers_[static_cast<int>(role)] = std::make_unique<c10d::Reducer>(
      std::move(params), std::move(buckets), groups_->world(), sparse, options_.bucket_bytes,
      /*find_unused_parameters=*/true, /*gradient_as_bucket_view=*/false, std::unordered_map<size_t, std::string>{},
      options_.first_bucket_bytes, /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false,
      std::vector<int64_t>(bucket_limits.begin(), bucket_limits.end()));
}

void DataParallel::PrepareBackward(Role role, const at::Tensor& loss) {
  c10d::Reducer& reducer = *reducers_[static_cast<int>(role)];
  reducer.prepare_for_forward();
  reducer.prepare_for_backward({loss});
}

absl::Status DataParallel::Average(std::vector<double>& values) {
  at::Tensor t = at::tensor(values, at::kDouble);
  std::vector<at::Tensor> one = {t};
  auto work = groups_->data_parallel()->allreduce(one, c10d::AllreduceOptions{});
  if (auto s = Wait(*work, groups_->timeout(), "averaging the step's metrics over ranks"); !s.ok()) return s;
  t.div_(dp_size());
  const double* mean = t.data_ptr<double>();
  values.assign(mean, mean + values.size());
  return absl::OkStatus();
}

absl::Status DataParallel::Agree(double value, std::chrono::milliseconds timeout, const std::string& what) {
  at::Tensor t = at::tensor({value, -value}, at::kDouble);
  std::vector<at::Tensor> one = {t};
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::MAX;
  o.timeout = timeout;
  auto work = groups_->world()->allreduce(one, o);
  if (auto s = Wait(*work, timeout, absl::StrCat("waiting for every rank at ", what)); !s.ok()) return s;
  const double hi = t[0].item<double>(), lo = -t[1].item<double>();
  if (hi != value || lo != value) {
    return absl::InternalError(absl::StrFormat(
        "%s: the ranks' weights differ (checksums from %.17g to %.17g, this rank %.17g): data-parallel replicas "
        "diverged",
        what, lo, hi, value));
  }
  return absl::OkStatus();
}

}  // namespace seedvr::parallel
