// Fuzz target for the tensor-file readers (safetensors and .pth).
//   bazel build --config=fuzz //tests/fuzz:tensor_file_fuzzer
//   .bazel/bin/tests/fuzz/tensor_file_fuzzer -max_total_time=300 CORPUS_DIR
// Without --config=fuzz the same binary replays the files given on its
// command line, so the target always builds and its corpus can be rerun.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "seedvr/core/tensor_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The readers map files: give each input its own file in memory-backed /dev/shm.
  static const std::string path = "/dev/shm/seedvr_fuzz_" + std::to_string(::getpid());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto st = seedvr::core::ReadSafetensors(path);
  if (st.ok()) {
    for (const auto& t : *st) (void)t.tensor.sum();  // touch every byte a tensor views
  }
  auto pth = seedvr::core::ReadPth(path, seedvr::core::TensorMemory::kView);
  if (pth.ok()) (void)seedvr::core::ToTensorList(*pth, path);
  // The unwrapping every weights flag goes through.
  (void)seedvr::core::ReadStateDict(path);
  return 0;
}

#ifndef SEEDVR_LIBFUZZER
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string bytes = ss.str();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("replayed %d inputs\n", argc - 1);
  return 0;
}
#endif
