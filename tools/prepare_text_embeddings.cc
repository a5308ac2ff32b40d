// bazel run //tools:prepare_text_embeddings -- --config CONFIG --out FILE
//     [--pos pos_emb.pt [--neg neg_emb.pt] | --embeddings FILE]
//
// Writes the text-embedding file the trainer and infer read
// (training.text_embeddings). SeedVR2's text encoder is not public, so there
// is no prompt to encode: import the released pos_emb.pt / neg_emb.pt (5120
// wide, for the 3B and 7B), check a file of your own, or, for small configs
// with no released embeddings, write deterministic stand-ins of the model's
// width.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "seedvr/config/config.h"
#include "seedvr/core/cli.h"
#include "seedvr/text/text_embeddings.h"

ABSL_FLAG(std::string, config, "", "training config (its model.txt_in_dim is the width to check)");
ABSL_FLAG(std::string, out, "", "output file (.safetensors), e.g. the config's training.text_embeddings");
ABSL_FLAG(std::string, pos, "", "released pos_emb.pt (or any file holding the positive embedding)");
ABSL_FLAG(std::string, neg, "", "released neg_emb.pt (optional; only classifier-free guidance uses it)");
ABSL_FLAG(std::string, embeddings, "", "your own embeddings file (safetensors with 'pos' [and 'neg'], or a .pt tensor)");

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "prepare_text_embeddings: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  seedvr::core::ExitOnUncaughtException("prepare_text_embeddings");
  absl::SetProgramUsageMessage(
      "writes the text-embedding file for training and inference.\n"
      "  --config CONFIG --out FILE --pos pos_emb.pt [--neg neg_emb.pt]   import the released embeddings\n"
      "  --config CONFIG --out FILE --embeddings FILE                       check and copy your own\n"
      "  --config CONFIG --out FILE                                         deterministic stand-ins (small configs)");
  seedvr::core::ParseToolCommandLine(argc, argv);
  seedvr::core::EnterUserWorkingDirectory();
  const std::string out = absl::GetFlag(FLAGS_out);
  if (absl::GetFlag(FLAGS_config).empty() || out.empty()) return Fail("--config and --out are required (see --help)");
  auto config = seedvr::config::LoadTrainConfig(absl::GetFlag(FLAGS_config));
  if (!config.ok()) return Fail(std::string(config.status().message()));
  const int64_t width = config->model.txt_in_dim;

  seedvr::text::TextEmbeddings e;
  std::string source;
  if (!absl::GetFlag(FLAGS_pos).empty() || !absl::GetFlag(FLAGS_embeddings).empty()) {
    if (!absl::GetFlag(FLAGS_pos).empty() && !absl::GetFlag(FLAGS_embeddings).empty()) {
      return Fail("give either --pos or --embeddings, not both");
    }
    source = absl::GetFlag(FLAGS_pos).empty() ? absl::GetFlag(FLAGS_embeddings) : absl::GetFlag(FLAGS_pos);
    auto pos = seedvr::text::LoadTextEmbeddings(source, width);
    if (!pos.ok()) return Fail(std::string(pos.status().message()));
    e = *pos;
    if (!absl::GetFlag(FLAGS_neg).empty()) {
      auto neg = seedvr::text::LoadTextEmbeddings(absl::GetFlag(FLAGS_neg), width);
      if (!neg.ok()) return Fail(std::string(neg.status().message()));
      e.neg = neg->pos;
    }
  } else {
    if (width == 5120) {
      return Fail("this model takes the released 5120-wide embeddings: pass --pos pos_emb.pt [--neg neg_emb.pt]");
    }
    e = seedvr::text::MakeDeterministicEmbeddings(width);
    source = "deterministic stand-in (no released embeddings for width " + std::to_string(width) + ")";
  }
  if (auto s = seedvr::text::WriteTextEmbeddings(out, e, source); !s.ok()) return Fail(std::string(s.message()));
  std::printf("wrote %s: pos [%lld, %lld]%s from %s\n", out.c_str(), static_cast<long long>(e.pos.size(0)),
              static_cast<long long>(e.pos.size(1)), e.neg.defined() ? " and neg" : "", source.c_str());
  return 0;
}
