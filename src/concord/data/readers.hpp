#pragma once
/// \file readers.hpp
/// Data files users bring, and Fashion-MNIST. Every reader checks its input fully and throws
/// `InputError` with the file name and the problem (missing file, missing dataset, wrong shape,
/// NaN/Inf, label out of range, malformed line with its line number, sizes declared in a header
/// that the file does not hold or the memory cannot) before returning; nothing is allocated
/// from a declared size before it is checked. The message is one line.
#include <cstdint>
#include <string>

#include "concord/data/sample_set.hpp"

namespace concord::data {

/// The most classes a data file may define (classification: c = max label + 1 for HDF5, the
/// number of distinct labels for LIBSVM). A larger label is refused as corrupt input.
inline constexpr int max_classes = 100000;

/// The memory a data set read from a file may take (its values as float64): half of what this
/// process may use (the physical memory, or the address-space or data limit of `ulimit -v`/`-d`
/// when lower), since the values are copied once more for the agents. Larger declared sizes
/// are refused before anything is allocated.
std::uint64_t data_memory_limit();

/// HDF5 file (read with the serial driver; every rank may call it). Layout (docs/algorithms.md):
///   /features  float64 (m x d)
///   /targets   (m) float64 for regression, integer class labels in [0, c) for classification
///   /owner     optional (m) integer, the agent of each row
/// For classification, c = max label + 1 <= max_classes. Every dataset must hold in the file the
/// values its shape declares (every chunk written; without compression all the bytes, with
/// deflate at least 1/1100 of them), with no virtual or external storage and no filters but
/// deflate, shuffle and fletcher32.
SampleSet read_hdf5(const std::string& path, Task task);

/// LIBSVM / SVMlight text: one sample per line, `label index:value ...`, 1-based increasing
/// indices, `#` comments. `features` = 0 takes the largest index seen. Classification labels:
/// {-1, +1} (or {0, 1}) become classes {0, 1}; other integer labels are mapped to 0..c-1 in
/// increasing order. Regression keeps the label value as target.
SampleSet read_libsvm(const std::string& path, Task task, int features = 0);

/// IDX files (the MNIST format), optionally gzip-compressed: images (m x rows x cols, uint8)
/// scaled to [0, 1], and labels (m, uint8). Each file must hold exactly the bytes its header
/// declares; a gzip file is inflated to its end, its CRC-32 and length trailers verified.
SampleSet read_idx(const std::string& images_path, const std::string& labels_path, int classes = 10);

/// Fashion-MNIST from Debian's dataset-fashion-mnist package, "train" (60,000) or "test"
/// (10,000). `directory` defaults to /usr/share/datasets/fashion-mnist.
SampleSet read_fashion_mnist(const std::string& split, const std::string& directory = "");

}  // namespace concord::data
