// Feature matching, a generator loss (pix2pixHD; SeedVR2, arXiv 2506.05301):
// the mean over tapped discriminator layers of L1(features(x̂), features(x)),
// real features detached. Lists of equal length, tensors of matching
// shapes (DiscriminatorOutput::features); returns a 0-d tensor.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace seedvr::losses {

at::Tensor FeatureMatching(const std::vector<at::Tensor>& fake, const std::vector<at::Tensor>& real);

}  // namespace seedvr::losses
