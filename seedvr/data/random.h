// Seed derivation for reproducible data: every clip, frame and degradation
// step gets its own std::mt19937_64 seeded from a hash of (seed, counters), so
// results do not depend on thread scheduling or on global state.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <random>

namespace seedvr::data {

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Hash of an ordered list of counters (counter-based seeding).
inline uint64_t DeriveSeed(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x6A09E667F3BCC909ull;
  for (uint64_t p : parts) h = SplitMix64(h ^ SplitMix64(p));
  return h;
}

using Rng = std::mt19937_64;

inline double Uniform(Rng& rng, double lo, double hi) {
  return lo + (hi - lo) * std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}
inline bool Bernoulli(Rng& rng, double p) { return Uniform(rng, 0.0, 1.0) < p; }
inline int UniformInt(Rng& rng, int lo, int hi) {  // inclusive
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

}  // namespace seedvr::data
