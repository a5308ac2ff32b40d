// The LibTorch adapter: layouts, value mapping, zero-copy uint8 view.
#include "seedvr/data/clip_tensor.h"

#include <ATen/ATen.h>

#include "gtest/gtest.h"

namespace seedvr::data {
namespace {

Clip Ramp() {
  Clip c(2, 4, 3);
  for (size_t i = 0; i < c.rgb.size(); ++i) c.rgb[i] = static_cast<uint8_t>(i * 5 % 256);
  return c;
}

TEST(ClipTensorTest, LayoutsAndValues) {
  const Clip c = Ramp();
  const at::Tensor tchw = ClipToTensor(c, ClipLayout::kTCHW);
  const at::Tensor cthw = ClipToTensor(c, ClipLayout::kCTHW);
  EXPECT_EQ(tchw.sizes(), (at::IntArrayRef{2, 3, 3, 4}));
  EXPECT_EQ(cthw.sizes(), (at::IntArrayRef{3, 2, 3, 4}));
  EXPECT_EQ(tchw.scalar_type(), at::kFloat);
  // frame 1, pixel (x=2, y=1), channel 2
  const uint8_t v = c.frame(1)[(1 * 4 + 2) * 3 + 2];
  EXPECT_FLOAT_EQ(tchw[1][2][1][2].item<float>(), v / 127.5f - 1.f);
  EXPECT_FLOAT_EQ(cthw[2][1][1][2].item<float>(), v / 127.5f - 1.f);
  EXPECT_TRUE(at::equal(tchw.permute({1, 0, 2, 3}), cthw));
  EXPECT_LE(cthw.max().item<float>(), 1.f);
  EXPECT_GE(cthw.min().item<float>(), -1.f);
  const Clip back = TensorToClip(cthw, ClipLayout::kCTHW);
  EXPECT_EQ(back.rgb, c.rgb);
  const at::Tensor batch = ClipsToBatch({&c, &c}, ClipLayout::kTCHW);
  EXPECT_EQ(batch.sizes(), (at::IntArrayRef{2, 2, 3, 3, 4}));
  EXPECT_TRUE(at::equal(batch[1], tchw));
}

TEST(ClipTensorTest, Uint8ViewDoesNotCopy) {
  Clip c = Ramp();
  const uint8_t* data = c.rgb.data();
  const std::vector<uint8_t> copy = c.rgb;
  const at::Tensor t = ClipToUint8Tensor(std::move(c));
  EXPECT_EQ(t.data_ptr<uint8_t>(), data);
  EXPECT_EQ(t.sizes(), (at::IntArrayRef{2, 3, 4, 3}));
  EXPECT_EQ(t[1][2][3][1].item<uint8_t>(), copy[((1 * 3 + 2) * 4 + 3) * 3 + 1]);
  EXPECT_TRUE(c.rgb.empty());
}

}  // namespace
}  // namespace seedvr::data
