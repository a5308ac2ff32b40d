#include "seedvr/train/monitor.h"

#include <cairo.h>
#include <librsvg/rsvg.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace seedvr::train {

Monitor::Monitor(MonitorOptions options)
    : options_(std::move(options)), log_path_(options_.save_dir + "/train_log.jsonl") {
  if (options_.quiet) return;
  tty_ = options_.progress_bar && ::isatty(STDOUT_FILENO);
  OpenLog();
}

void Monitor::OpenLog() {
  std::error_code ec;
  std::filesystem::create_directories(options_.save_dir, ec);
  if (options_.resume_step >= 0) {
    // Keep the lines up to the resumed step; the rewrite goes through a
    // temporary so a failure leaves the old log whole.
    std::ifstream in(log_path_);
    std::string kept, line;
    int64_t dropped = 0;
    while (std::getline(in, line)) {
      int64_t step = 0;
      const bool has_step = std::sscanf(line.c_str(), "{\"step\":%" SCNd64, &step) == 1;
      if (has_step && step > options_.resume_step) {
        ++dropped;
      } else {
        absl::StrAppend(&kept, line, "\n");
      }
    }
    if (dropped > 0) {
      const std::string tmp = log_path_ + ".tmp";
      std::ofstream out(tmp, std::ios::trunc);
      out << kept;
      out.close();
      if (!out || std::rename(tmp.c_str(), log_path_.c_str()) != 0) {
        std::remove(tmp.c_str());
        Print(absl::StrCat("warning: cannot cut ", log_path_, " back to step ", options_.resume_step,
                           "; it keeps the lines of later steps from the interrupted run"));
      } else {
        Print(absl::StrCat("removed ", dropped, " lines of steps after ", options_.resume_step, " from ", log_path_,
                           " (the interrupted run's)"));
      }
    }
  }
  jsonl_ = std::fopen(log_path_.c_str(), options_.resume_step >= 0 ? "a" : "w");
  if (jsonl_ == nullptr) {
    log_failing_ = true;
    Print(absl::StrCat("warning: cannot open ", log_path_, ": ", std::strerror(errno), "; steps are not logged"));
  }
}

void Monitor::WriteLog(int64_t step, const std::string& line) {
  if (jsonl_ == nullptr) return;
  // fflush every line: a crash loses no logged step, and a full disk shows
  // at the step it happens.
  const bool ok = std::fputs(line.c_str(), jsonl_) >= 0 && std::fflush(jsonl_) == 0;
  if (!ok && !log_failing_) {
    Print(absl::StrCat("warning: cannot write ", log_path_, " at step ", step, ": ", std::strerror(errno),
                       "; training goes on, the log misses steps until writing works again"));
  } else if (ok && log_failing_) {
    Print(absl::StrCat("writing ", log_path_, " works again from step ", step));
  }
  if (!ok) std::clearerr(jsonl_);
  log_failing_ = !ok;
}

Monitor::~Monitor() {
  if (tty_) std::printf("\n");
  if (jsonl_ != nullptr) std::fclose(jsonl_);
}

void Monitor::Print(const std::string& line) {
  if (options_.quiet) return;
  if (tty_) std::printf("\r\033[K");
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

absl::Status Monitor::Record(int64_t step, const Metrics& metrics) {
  std::string json = absl::StrCat("{\"step\":", step);
  std::string text;
  for (const auto& [name, value] : metrics) {
    if (!std::isfinite(value)) {
      return absl::DataLossError(absl::StrCat("step ", step, ": ", name, " is ", value,
                                              "; training stopped, the last checkpoint is kept"));
    }
    if (options_.quiet) continue;
    absl::StrAppend(&json, ",\"", name, "\":", absl::StrFormat("%.6g", value));
    absl::StrAppend(&text, " ", name, " ", absl::StrFormat("%.4g", value));
    history_[name].emplace_back(step, value);
  }
  if (options_.quiet) return absl::OkStatus();
  json += "}\n";
  WriteLog(step, json);
  if (step % options_.log_every == 0 || step == options_.max_steps) {
    if (tty_) {
      const int width = 30;
      const double frac = options_.max_steps > 0 ? static_cast<double>(step) / options_.max_steps : 0.0;
      const int filled = static_cast<int>(frac * width);
      std::printf("\r\033[K[%s%s] %lld/%lld%s", std::string(filled, '#').c_str(),
                  std::string(width - filled, '.').c_str(), static_cast<long long>(step),
                  static_cast<long long>(options_.max_steps), text.c_str());
      std::fflush(stdout);
    } else {
      Print(absl::StrCat("step ", step, "/", options_.max_steps, text));
    }
  }
  for (const auto& [name, value] : metrics) {
    if (name == "d_adv") CheckGuide(step, value);
  }
  return absl::OkStatus();
}

void Monitor::CheckGuide(int64_t step, double d_adv) {
  near_zero_ = d_adv < 0.05 ? near_zero_ + 1 : 0;
  out_of_range_ = (d_adv < 0.5 || d_adv > 1.5) ? out_of_range_ + 1 : 0;
  if (step - last_warning_step_ < options_.warn_window) return;
  if (near_zero_ >= 20) {
    Print(absl::StrCat("warning: d_adv is near 0 (", absl::StrFormat("%.3g", d_adv),
                       "): the discriminator is too strong. Lower optimizer.d_lr (e.g. 5e-5), raise "
                       "loss.lambda_r1 (e.g. 20) or use loss.loss_type: hinge."));
    last_warning_step_ = step;
  } else if (out_of_range_ >= options_.warn_window) {
    Print(absl::StrCat("warning: d_adv has stayed outside 0.5-1.5 for ", out_of_range_,
                       " steps (now ", absl::StrFormat("%.3g", d_adv),
                       "). If outputs collapse: raise loss.lambda_r1, lower optimizer.d_lr, try hinge; if they "
                       "are blurry: raise loss.lambda_adv, lower loss.lambda_fm, train longer."));
    last_warning_step_ = step;
  }
}

namespace {

// The chart as one SVG document, the single source of both the page and the
// picture: one 640 x 220 panel per metric with two or more steps, on white.
std::string LossCurvesSvg(const std::map<std::string, std::vector<std::pair<int64_t, double>>>& history) {
  const double w = 640, h = 200, title = 20;
  std::string panels;
  int n = 0;
  for (const auto& [name, points] : history) {
    if (points.size() < 2) continue;
    double lo = points[0].second, hi = lo;
    for (const auto& p : points) lo = std::min(lo, p.second), hi = std::max(hi, p.second);
    if (hi - lo < 1e-12) hi = lo + 1;
    const double x0 = points.front().first, x1 = std::max<double>(points.back().first, x0 + 1);
    std::string poly;
    for (const auto& [s, v] : points) {
      absl::StrAppend(&poly, absl::StrFormat("%.1f,%.1f ", 40 + (s - x0) / (x1 - x0) * (w - 50),
                                             10 + (hi - v) / (hi - lo) * (h - 30)));
    }
    absl::StrAppend(&panels, "<g transform=\"translate(0,", n * (h + title), ")\"><text x=\"4\" y=\"15\" ",
                    "font-size=\"13\" font-weight=\"bold\">", name, "</text><g transform=\"translate(0,", title,
                    ")\"><rect x=\"0.5\" y=\"0.5\" width=\"", w - 1, "\" height=\"", h - 1,
                    "\" fill=\"none\" stroke=\"#ccc\"/><polyline fill=\"none\" stroke=\"#1f77b4\" points=\"", poly,
                    "\"/><text x=\"2\" y=\"14\">", absl::StrFormat("%.4g", hi), "</text><text x=\"2\" y=\"", h - 18,
                    "\">", absl::StrFormat("%.4g", lo), "</text><text x=\"40\" y=\"", h - 4, "\">step ",
                    static_cast<int64_t>(x0), "</text><text x=\"", w - 90, "\" y=\"", h - 4, "\">step ",
                    static_cast<int64_t>(x1), "</text></g></g>\n");
    ++n;
  }
  if (n == 0) {
    n = 1;  // one panel saying so: a picture of no size cannot be written
    panels = "<text x=\"4\" y=\"15\">no curves yet: a metric needs two recorded steps</text>\n";
  }
  // xmlns: librsvg parses this as XML; the white rect: PNG viewers show
  // transparent pixels as black.
  return absl::StrCat("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", w, "\" height=\"", n * (h + title),
                      "\" font-family=\"sans-serif\" font-size=\"11\"><rect width=\"100%\" height=\"100%\" ",
                      "fill=\"#fff\"/>\n", panels, "</svg>\n");
}

// Draws `svg` at its own size into a PNG at `path`, through a temporary
// beside it as the page is.
absl::Status WritePng(const std::string& svg, const std::string& path) {
  const std::string tmp = path + ".tmp";
  const auto failed = [&](absl::string_view why) {
    std::remove(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", why));
  };
  const auto librsvg_failed = [&](GError* error) {
    const std::string message = absl::StrCat("librsvg: ", error->message);
    g_error_free(error);
    return failed(message);
  };
  GError* error = nullptr;
  std::unique_ptr<RsvgHandle, decltype(&g_object_unref)> handle(
      rsvg_handle_new_from_data(reinterpret_cast<const guint8*>(svg.data()), svg.size(), &error), g_object_unref);
  if (handle == nullptr) return librsvg_failed(error);
  double width = 0, height = 0;
  rsvg_handle_get_intrinsic_size_in_pixels(handle.get(), &width, &height);
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      cairo_image_surface_create(CAIRO_FORMAT_ARGB32, static_cast<int>(width), static_cast<int>(height)),
      cairo_surface_destroy);
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr(cairo_create(surface.get()), cairo_destroy);
  const RsvgRectangle viewport{0, 0, width, height};
  if (!rsvg_handle_render_document(handle.get(), cr.get(), &viewport, &error)) return librsvg_failed(error);
  if (const cairo_status_t s = cairo_surface_write_to_png(surface.get(), tmp.c_str()); s != CAIRO_STATUS_SUCCESS) {
    return failed(cairo_status_to_string(s));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return failed(std::strerror(errno));
  return absl::OkStatus();
}

}  // namespace

absl::Status Monitor::WritePlot() const {
  if (options_.quiet) return absl::OkStatus();
  const std::string svg = LossCurvesSvg(history_);
  const std::string html = absl::StrCat(
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>seedvr training</title></head>"
      "<body style=\"font-family:sans-serif\"><h2>seedvr training curves</h2>\n",
      svg, "</body></html>\n");
  const std::string path = options_.save_dir + "/loss_curves.html";
  std::ofstream out(path + ".tmp");
  out << html;
  out.close();
  if (!out || std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
    return absl::UnavailableError("cannot write " + path);
  }
  return WritePng(svg, options_.save_dir + "/loss_curves.png");
}

}  // namespace seedvr::train
