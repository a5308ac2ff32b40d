#include "seedvr/losses/feature_matching.h"

#include <ATen/ATen.h>

namespace seedvr::losses {

at::Tensor FeatureMatching(const std::vector<at::Tensor>& fake, const std::vector<at::Tensor>& real) {
  TORCH_CHECK(!fake.empty() && fake.size() == real.size(), "feature matching needs matching feature lists, got ",
              fake.size(), " and ", real.size());
  // Reduced in fp32 whatever the features' dtype (bf16 under autocast).
  at::Tensor total = at::zeros({}, fake[0].options().dtype(at::kFloat));
  for (size_t i = 0; i < fake.size(); ++i) {
    total = total + (fake[i].to(at::kFloat) - real[i].detach().to(at::kFloat)).abs().mean();
  }
  return total / static_cast<double>(fake.size());
}

}  // namespace seedvr::losses
