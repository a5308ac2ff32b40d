#include "seedvr/models/discriminator/discriminator.h"

namespace seedvr::discriminator {

int64_t InputChannels(const config::TrainConfig& config) {
  return config.discriminator.input == "pixel" ? config.vae.out_channels : config.vae.latent_channels;
}

}  // namespace seedvr::discriminator
