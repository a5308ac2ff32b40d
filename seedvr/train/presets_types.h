// The trainer specializations as C++ types. Including this header pulls in
// the whole model stack: only the per-preset translation units do.
#pragma once

#include "seedvr/losses/adversarial.h"
#include "seedvr/models/discriminator/dit.h"
#include "seedvr/models/discriminator/patch.h"
#include "seedvr/models/discriminator/video.h"
#include "seedvr/parallel/parallelism.h"
#include "seedvr/train/generator.h"
#include "seedvr/train/trainer.h"

namespace seedvr::train {

template <class D, class L>
using SingleProcessTrainer = Trainer<SeedVR2Generator, D, L, parallel::SingleProcess>;

using PatchNonSaturating = SingleProcessTrainer<PatchDiscriminator, losses::NonSaturating>;
using PatchHinge = SingleProcessTrainer<PatchDiscriminator, losses::Hinge>;
using PatchRpGAN = SingleProcessTrainer<PatchDiscriminator, losses::RpGAN>;
using VideoNonSaturating = SingleProcessTrainer<VideoDiscriminator, losses::NonSaturating>;
using VideoHinge = SingleProcessTrainer<VideoDiscriminator, losses::Hinge>;
using VideoRpGAN = SingleProcessTrainer<VideoDiscriminator, losses::RpGAN>;
using DiTNonSaturating = SingleProcessTrainer<DiTDiscriminator, losses::NonSaturating>;
using DiTHinge = SingleProcessTrainer<DiTDiscriminator, losses::Hinge>;
using DiTRpGAN = SingleProcessTrainer<DiTDiscriminator, losses::RpGAN>;

}  // namespace seedvr::train
