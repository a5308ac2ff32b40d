#include "seedvr/parallel/data_parallel.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/utils.h>

#include <algorithm>
#include <unordered_map>

namespace seedvr::parallel {

DataParallel::DataParallel(std::shared_ptr<ProcessGroups> groups, StrategyOptions options)
    : MultiProcess(std::move(groups)), options_(options) {}

DataParallel::DataParallel(DataParallel&&) noexcept = default;
DataParallel& DataParallel::operator=(DataParallel&&) noexcept = default;
DataParallel::~DataParallel() = default;

void DataParallel::Attach(Role role, std::vector<at::Tensor> params) {
  BroadcastFromRankZero(*groups_, params);
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

}  // namespace seedvr::parallel
