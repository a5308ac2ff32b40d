// Parameter counts and the state-dict layout of the released configs,
// computed without allocating: compared with spec §1.2 and with the official
// key lists in shared/spec/dit{3b,7b}_state_dict_patterns.txt.
#include "seedvr/models/dit/dit_shapes.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "seedvr/models/dit/dit_config.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr::dit {
namespace {

TEST(DiTShapesTest, OfficialParameterCounts) {
  EXPECT_EQ(CountDiTParameters(OfficialDiT3B()), 3391475776LL);
  EXPECT_EQ(CountDiTParameters(OfficialDiT7B()), 8239607872LL);
}

TEST(DiTShapesTest, OfficialEntriesAndElements) {
  auto count = [](const DiTConfig& c, size_t* entries) {
    int64_t n = 0;
    auto shapes = DiTStateDictShapes(c);
    *entries = shapes.size();
    for (const auto& t : shapes) {
      int64_t e = 1;
      for (auto s : t.shape) e *= s;
      n += e;
    }
    return n;
  };
  size_t entries = 0;
  EXPECT_EQ(count(OfficialDiT3B(), &entries), 3391476448LL);
  EXPECT_EQ(entries, 635u);
  EXPECT_EQ(count(OfficialDiT7B(), &entries), 8239608232LL);
  EXPECT_EQ(entries, 1128u);
}

TEST(DiTShapesTest, DerivedSizes) {
  EXPECT_EQ(DiTMlpHidden(OfficialDiT3B()), 6912);
  EXPECT_EQ(DiTMlpHidden(OfficialDiT7B()), 12288);
  EXPECT_EQ(DiTRopeFreqCount(OfficialDiT3B()), 21);
  EXPECT_EQ(DiTRopeFreqCount(OfficialDiT7B()), 10);
  EXPECT_TRUE(ValidateDiTConfig(OfficialDiT3B()).ok());
  EXPECT_TRUE(ValidateDiTConfig(OfficialDiT7B()).ok());
}

// Expands "blocks.N.x  [a, b]  torch.float32 N=0..9" lines into key -> shape.
std::map<std::string, std::vector<int64_t>> ReadPatterns(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::map<std::string, std::vector<int64_t>> out;
  std::string line;
  const std::regex re(R"(^(\S+)\s+\[([0-9, ]*)\]\s+\S+\s*(?:N=(\d+)\.\.(\d+))?\s*$)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, re)) continue;
    std::vector<int64_t> shape;
    std::stringstream ss(m[2].str());
    std::string tok;
    while (std::getline(ss, tok, ',')) shape.push_back(std::stoll(tok));
    const std::string key = m[1].str();
    if (m[3].matched) {
      for (int n = std::stoi(m[3].str()); n <= std::stoi(m[4].str()); ++n) {
        std::string k = key;
        k.replace(k.find(".N."), 3, "." + std::to_string(n) + ".");
        out[k] = shape;
      }
    } else {
      out[key] = shape;
    }
  }
  return out;
}

void ExpectLayoutMatches(const DiTConfig& c, const std::string& patterns) {
  auto want = ReadPatterns(testing::SharedDir() + "/spec/" + patterns);
  ASSERT_FALSE(want.empty());
  std::map<std::string, std::vector<int64_t>> got;
  for (const auto& t : DiTStateDictShapes(c)) got[t.name] = t.shape;
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [k, s] : want) {
    auto it = got.find(k);
    if (it == got.end()) {
      ADD_FAILURE() << "missing " << k;
      continue;
    }
    EXPECT_EQ(it->second, s) << k;
  }
  for (const auto& [k, s] : got) EXPECT_TRUE(want.count(k)) << "unexpected " << k;
}

TEST(DiTShapesTest, Official3BLayoutMatchesSpec) { ExpectLayoutMatches(OfficialDiT3B(), "dit3b_state_dict_patterns.txt"); }
TEST(DiTShapesTest, Official7BLayoutMatchesSpec) { ExpectLayoutMatches(OfficialDiT7B(), "dit7b_state_dict_patterns.txt"); }

TEST(DiTShapesTest, ValidationNamesTheKey) {
  DiTConfig c = OfficialDiT3B();
  c.emb_dim = 100;
  auto s = ValidateDiTConfig(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("emb_dim"), std::string::npos) << s;

  c = OfficialDiT3B();
  c.window_method[3] = "bogus";
  s = ValidateDiTConfig(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("window_method[3]"), std::string::npos) << s;

  c = OfficialDiT7B();
  c.window.pop_back();
  s = ValidateDiTConfig(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("window"), std::string::npos) << s;

  c = OfficialDiT7B();
  c.mlp_type = "swiglu";
  EXPECT_FALSE(ValidateDiTConfig(c).ok());
}

}  // namespace
}  // namespace seedvr::dit
