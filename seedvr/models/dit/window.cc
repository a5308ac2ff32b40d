// Adaptive 3-D window partition of the SeedVR2 DiT; see window.h.
#include "seedvr/models/dit/window.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seedvr::dit {

std::optional<WindowMethod> ParseWindowMethod(std::string_view name) {
  if (name == "720pwin_by_size_bysize") return WindowMethod::kRegular720p;
  if (name == "720pswin_by_size_bysize") return WindowMethod::kShifted720p;
  return std::nullopt;
}

const char* WindowMethodName(WindowMethod m) {
  return m == WindowMethod::kRegular720p ? "720pwin_by_size_bysize" : "720pswin_by_size_bysize";
}

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Python's round() (ties to even) is std::nearbyint under the default
// rounding mode.
Grid3 WindowSize720p(const Grid3& grid, const Grid3& counts) {
  const double scale = std::sqrt((45.0 * 80.0) / static_cast<double>(grid[1] * grid[2]));
  const auto rh = static_cast<int64_t>(std::nearbyint(static_cast<double>(grid[1]) * scale));
  const auto rw = static_cast<int64_t>(std::nearbyint(static_cast<double>(grid[2]) * scale));
  const int64_t t = grid[0] < 30 ? grid[0] : 30;
  return {CeilDiv(t, counts[0]), CeilDiv(rh, counts[1]), CeilDiv(rw, counts[2])};
}

AxisSlices RegularSlices(int64_t size, int64_t win) {
  AxisSlices out;
  for (int64_t i = 0; i * win < size; ++i) out.push_back({i * win, std::min((i + 1) * win, size)});
  return out;
}

// The boundaries int((i - 0.5) * win) truncate toward zero as Python's int().
AxisSlices ShiftedSlices(int64_t size, int64_t win) {
  const double shift = win < size ? 0.5 : 0.0;
  const int64_t n =
      shift > 0 ? static_cast<int64_t>(std::ceil((static_cast<double>(size) - shift) / win)) + 1 : 1;
  AxisSlices out;
  for (int64_t i = 0; i < n; ++i) {
    const auto lo = std::max<int64_t>(static_cast<int64_t>((i - shift) * win), 0);
    const auto hi = std::min<int64_t>(static_cast<int64_t>((i - shift + 1) * win), size);
    if (hi > lo) out.push_back({lo, hi});
  }
  return out;
}

std::vector<Window> MakeWindows(const Grid3& grid, const Grid3& counts, WindowMethod method,
                                const std::array<int64_t, 2>& reference) {
  const bool referenced = reference[0] > 0 && reference[1] > 0;
  const Grid3 win = WindowSize720p(referenced ? Grid3{grid[0], reference[0], reference[1]} : grid, counts);
  std::array<AxisSlices, 3> axes;
  for (int a = 0; a < 3; ++a) {
    axes[a] = method == WindowMethod::kRegular720p ? RegularSlices(grid[a], win[a])
                                                   : ShiftedSlices(grid[a], win[a]);
  }
  std::vector<Window> out;
  for (const auto& sw : axes[2]) {
    for (const auto& sh : axes[1]) {
      for (const auto& st : axes[0]) {
        out.push_back(Window{{st[0], sh[0], sw[0]}, {st[1], sh[1], sw[1]}});
      }
    }
  }
  return out;
}

std::string WindowToString(const Window& w) {
  std::string s = "[";
  for (int a = 0; a < 3; ++a) {
    if (a > 0) s += ",";
    s += std::to_string(w.begin[a]) + ":" + std::to_string(w.end[a]);
  }
  return s + "]";
}

}  // namespace seedvr::dit
