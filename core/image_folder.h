#pragma once
// Folders of pictures (PNG, JPEG, BMP, GIF, TGA, PNM, PSD: what stb_image
// decodes) as a data set, in torchvision's ImageFolder convention: one
// subfolder per class, named as the class (sorted names give the labels 0, 1,
// ...), searched recursively; or pictures directly in the folder, without
// labels. Each picture is resized so that its shorter side is image_size and
// its centre cropped to image_size x image_size, as torchvision's
// Resize(image_size) + CenterCrop(image_size) do.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/data_sources.h"

namespace dgm {

struct ImageFolderOptions {
  /// The side of the square pictures made; 0: keep the pictures' own size
  /// (every one must have the same).
  int64_t image_size = 0;
  /// 1 (grey) or 3 (RGB); 0: 3 when any picture has colour, else 1.
  int64_t channels = 0;
  /// An unreadable picture is an error (true) or skipped with a warning.
  bool strict = false;
};

/// What a folder holds, before anything is decoded.
struct ImageFolderListing {
  /// The pictures, in the order they are read: class by class (sorted), and
  /// within a class by path.
  std::vector<std::string> files;
  /// Each file's class (index into classes), or -1 without class folders.
  std::vector<int64_t> labels;
  /// The class folders' names, sorted; empty when the pictures lie directly
  /// in the folder.
  std::vector<std::string> classes;
  /// Pictures beside class folders, which the ImageFolder convention ignores.
  std::vector<std::string> ignored;
};

/// Whether `name` ends with an extension stb_image decodes (any case).
bool is_image_file(const std::string& name);

/// Whether `dir` holds pictures, directly or in subfolders.
bool is_image_folder(const std::string& dir);

/// The pictures of `dir` and their classes; a folder without pictures is a
/// dgm::Error naming it and the extensions looked for.
ImageFolderListing list_image_folder(const std::string& dir);

/// Decodes every picture of `dir` in parallel into x uint8 [N, C, S, S] and
/// labels int64 [N] (undefined without class folders). A picture that cannot
/// be decoded is named in a warning on stderr and skipped, or is a dgm::Error
/// under `strict`. The whole set's size is checked against the memory limit
/// before it is allocated.
DataFile read_image_folder(const std::string& dir, const ImageFolderOptions& options);

/// uint8 [C, H, W] resized (bilinear, antialiased when shrinking, as
/// torchvision's and PIL's BILINEAR are) so that its shorter side is `size`,
/// the longer one size * long / short rounded down, then its centre cropped
/// to size x size (the top-left corner at round((H - size) / 2),
/// round((W - size) / 2), halves to even, as torchvision's CenterCrop).
torch::Tensor resize_and_centre_crop(const torch::Tensor& image, int64_t size);

}  // namespace dgm
