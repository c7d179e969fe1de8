#include "core/image_folder.h"

#include <stb_image.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/memory_budget.h"
#include "core/progress.h"

namespace dgm {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kImageExtensions = {".png", ".jpg", ".jpeg", ".bmp", ".gif",
                                                   ".tga", ".ppm", ".pgm",  ".pnm", ".psd"};

/// The largest side dgm decodes: stb_image's own limit, and far more than a
/// photograph needs.
constexpr int kMaxSide = 1 << 16;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool hidden(const fs::path& path) { return path.filename().string().rfind('.', 0) == 0; }

/// The pictures under `dir` (recursively, without following links to
/// folders), sorted by path.
std::vector<std::string> pictures_under(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (hidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && is_image_file(it->path().string())) found.push_back(it->path().string());
  }
  if (ec) fail("cannot list the image folder {}: {}", dir.string(), ec.message());
  std::sort(found.begin(), found.end());
  return found;
}

/// Python's round() of d / 2 for a whole d: halves go to the even neighbour.
int64_t half_to_even(int64_t d) {
  const int64_t k = d / 2;
  return d % 2 == 0 || k % 2 == 0 ? k : k + 1;
}

/// What stb_image says of a picture's header: its size and channels.
struct Header {
  int width = 0, height = 0, channels = 0;
};

std::string stb_reason() {
  const char* reason = stbi_failure_reason();
  return reason ? reason : "unknown reason";
}

}  // namespace

bool is_image_file(const std::string& name) {
  const std::string extension = lower(fs::path(name).extension().string());
  return std::find(kImageExtensions.begin(), kImageExtensions.end(), extension) != kImageExtensions.end();
}

bool is_image_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (!hidden(it->path()) && it->is_regular_file(ec) && is_image_file(it->path().string())) return true;
  return false;
}

ImageFolderListing list_image_folder(const std::string& dir) {
  ImageFolderListing listing;
  std::error_code ec;
  std::vector<fs::path> class_dirs;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (hidden(entry.path())) continue;
    if (entry.is_directory(ec)) {
      class_dirs.push_back(entry.path());
    } else if (entry.is_regular_file(ec) && is_image_file(entry.path().string())) {
      listing.ignored.push_back(entry.path().string());
    }
  }
  if (ec) fail("cannot list the image folder {}: {}", dir, ec.message());
  std::sort(class_dirs.begin(), class_dirs.end());
  std::sort(listing.ignored.begin(), listing.ignored.end());
  for (const auto& class_dir : class_dirs) {
    const auto pictures = pictures_under(class_dir);
    if (pictures.empty()) continue;  // torchvision also drops empty class folders
    listing.classes.push_back(class_dir.filename().string());
    for (const auto& picture : pictures) {
      listing.files.push_back(picture);
      listing.labels.push_back(static_cast<int64_t>(listing.classes.size()) - 1);
    }
  }
  if (listing.classes.empty()) {  // pictures directly in the folder: no classes
    listing.files = std::move(listing.ignored);
    listing.ignored.clear();
    listing.labels.assign(listing.files.size(), -1);
  }
  if (listing.files.empty()) {
    std::string extensions;
    for (const auto& extension : kImageExtensions) extensions += (extensions.empty() ? "" : " ") + extension;
    fail("image folder {} has no pictures ({}), directly or in class subfolders", dir, extensions);
  }
  return listing;
}

torch::Tensor resize_and_centre_crop(const torch::Tensor& image, int64_t size) {
  TORCH_CHECK(image.dim() == 3 && size > 0, "resize_and_centre_crop takes [C, H, W] and a positive size");
  const int64_t height = image.size(1), width = image.size(2);
  const int64_t short_side = std::min(height, width), long_side = std::max(height, width);
  torch::Tensor resized = image;
  if (short_side != size) {
    const int64_t long_new = size * long_side / short_side;  // torchvision's int(size * long / short)
    const int64_t new_height = height <= width ? size : long_new, new_width = height <= width ? long_new : size;
    namespace F = torch::nn::functional;
    resized =
        F::interpolate(image.unsqueeze(0).to(torch::kFloat32), F::InterpolateFuncOptions()
                                                                   .size(std::vector<int64_t>{new_height, new_width})
                                                                   .mode(torch::kBilinear)
                                                                   .align_corners(false)
                                                                   .antialias(true))
            .squeeze(0)
            .round_()
            .clamp_(0, 255)
            .to(torch::kUInt8);
  }
  const int64_t top = half_to_even(resized.size(1) - size), left = half_to_even(resized.size(2) - size);
  return resized.narrow(1, top, size).narrow(2, left, size);
}

DataFile read_image_folder(const std::string& dir, const ImageFolderOptions& options) {
  if (options.channels != 0 && options.channels != 1 && options.channels != 3)
    fail("data.channels = {}: a picture is read as 1 (grey) or 3 (RGB) channels, or 0 to choose from the pictures",
         options.channels);
  ImageFolderListing listing = list_image_folder(dir);
  for (const auto& file : listing.ignored)
    fmt::print(stderr, "warning: {} lies beside the class folders of {}, so it has no class and is not read\n", file,
               dir);
  const int64_t count = static_cast<int64_t>(listing.files.size());

  // The headers first (a few bytes each): the channels and, without
  // image_size, the one size, known before the set is allocated.
  std::vector<std::string> problems(static_cast<std::size_t>(count));
  std::vector<Header> headers(static_cast<std::size_t>(count));
  bool any_colour = false;
  int64_t common_height = 0, common_width = 0;
  std::string first_sized;
  for (int64_t i = 0; i < count; ++i) {
    const auto& file = listing.files[static_cast<std::size_t>(i)];
    Header& header = headers[static_cast<std::size_t>(i)];
    if (!stbi_info(file.c_str(), &header.width, &header.height, &header.channels)) {
      problems[static_cast<std::size_t>(i)] = fmt::format("not a picture stb_image can read ({})", stb_reason());
    } else if (header.width > kMaxSide || header.height > kMaxSide) {
      problems[static_cast<std::size_t>(i)] =
          fmt::format("{} x {} pixels, more than the {} a side dgm decodes", header.width, header.height, kMaxSide);
    }
    if (!problems[static_cast<std::size_t>(i)].empty()) {
      if (options.strict) fail("{}: {} (data.strict is true)", file, problems[static_cast<std::size_t>(i)]);
      continue;
    }
    any_colour = any_colour || header.channels >= 3;
    if (options.image_size == 0) {
      if (first_sized.empty()) {
        first_sized = file;
        common_height = header.height;
        common_width = header.width;
      } else if (header.height != common_height || header.width != common_width) {
        fail(
            "{} is {} x {} pixels but {} is {} x {}: set data.image_size to resize and centre-crop every picture to "
            "one size",
            file, header.width, header.height, first_sized, common_width, common_height);
      }
    }
  }
  const int64_t channels = options.channels != 0 ? options.channels : (any_colour ? 3 : 1);
  const int64_t height = options.image_size != 0 ? options.image_size : common_height;
  const int64_t width = options.image_size != 0 ? options.image_size : common_width;
  const auto usable = std::count(problems.begin(), problems.end(), std::string());
  if (usable == 0)
    fail("image folder {}: none of its {} pictures can be read ({}: {})", dir, count, listing.files[0], problems[0]);
  // The pixels, and the float32 examples read_images makes of them.
  check_memory(saturating_product({static_cast<uint64_t>(usable), static_cast<uint64_t>(channels),
                                   static_cast<uint64_t>(height), static_cast<uint64_t>(width), 5}),
               fmt::format("image folder {} ({} pictures of {} x {} x {})", dir, usable, channels, height, width),
               "set a smaller data.image_size, or use data.limit on a folder of fewer pictures");

  auto pixels = torch::zeros({count, channels, height, width}, torch::kUInt8);
  std::atomic<int64_t> next{0}, done{0};
  std::mutex progress_mutex;
  Progress progress("decoding " + fs::path(dir).filename().string(), count, "img", count >= 256);
  auto decode = [&] {
    c10::InferenceMode inference;
    for (int64_t i = next++; i < count; i = next++) {
      auto& problem = problems[static_cast<std::size_t>(i)];
      if (problem.empty()) {
        try {
          int w = 0, h = 0, c = 0;
          stbi_uc* data =
              stbi_load(listing.files[static_cast<std::size_t>(i)].c_str(), &w, &h, &c, static_cast<int>(channels));
          if (data == nullptr) {
            problem = fmt::format("cannot be decoded ({})", stb_reason());
          } else if (options.image_size == 0 && (h != height || w != width)) {
            stbi_image_free(data);
            problem = fmt::format("decodes to {} x {} pixels, not the {} x {} its header says", w, h, width, height);
          } else {
            // stb_image gives rows of interleaved channels: [H, W, C] -> [C, H, W].
            auto image = torch::from_blob(
                             data, {h, w, channels}, [](void* p) { stbi_image_free(p); }, torch::kUInt8)
                             .permute({2, 0, 1});
            if (options.image_size != 0) image = resize_and_centre_crop(image, options.image_size);
            pixels[i].copy_(image);
          }
        } catch (const std::exception& error) {
          problem = first_line(error.what());
        }
      }
      const int64_t finished = ++done;
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress.update(finished, 1, std::nan(""));
    }
  };
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(std::thread::hardware_concurrency(), count));
  std::vector<std::thread> threads;
  for (int64_t worker = 1; worker < workers; ++worker) threads.emplace_back(decode);
  decode();
  for (auto& thread : threads) thread.join();
  progress.finish();

  std::vector<int64_t> kept;
  for (int64_t i = 0; i < count; ++i) {
    const auto& problem = problems[static_cast<std::size_t>(i)];
    if (problem.empty()) {
      kept.push_back(i);
      continue;
    }
    const auto& file = listing.files[static_cast<std::size_t>(i)];
    if (options.strict) fail("{}: {} (data.strict is true)", file, problem);
    fmt::print(stderr, "warning: {}: {}; skipped (data.strict: true makes this an error)\n", file, problem);
  }
  if (kept.empty()) fail("image folder {}: none of its {} pictures can be decoded", dir, count);
  DataFile file;
  const auto index = torch::tensor(kept, torch::kLong);
  file.x = static_cast<int64_t>(kept.size()) == count ? pixels : pixels.index_select(0, index);
  if (!listing.classes.empty()) file.labels = torch::tensor(listing.labels, torch::kLong).index_select(0, index);
  return file;
}

}  // namespace dgm
