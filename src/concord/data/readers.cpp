#include "concord/data/readers.hpp"

#include <fmt/format.h>
#include <hdf5.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string_view>
#include <system_error>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/core/format.hpp"

namespace concord::data {
namespace {

namespace fs = std::filesystem;

std::string describe_missing(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return "no such file";
  if (fs::is_directory(path, ec)) return "is a directory, not a file";
  return "cannot be opened (check the permissions)";
}

// ------------------------------------------------------------------------------------------------
// HDF5
// ------------------------------------------------------------------------------------------------

/// RAII for HDF5 ids.
class H5Id {
 public:
  H5Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  H5Id(H5Id&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  H5Id& operator=(H5Id&&) = delete;
  ~H5Id() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

std::string shape_text(const std::vector<hsize_t>& dims) {
  if (dims.empty()) return "a scalar";
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

/// One open dataset of an HDF5 data file, with its shape and type class.
struct Dataset {
  std::string path;  // the file
  std::string name;  // "/features"
  hid_t id = -1;
  H5T_class_t type_class = H5T_NO_CLASS;
  std::vector<hsize_t> dims;

  std::string where() const { return fmt::format("data file '{}': dataset {}", path, name); }
  hsize_t count() const {
    hsize_t c = 1;
    for (auto d : dims) c *= d;
    return c;
  }
};

/// Opens `name` in `file`; the id is kept alive by `holder`.
Dataset open_dataset(hid_t file, const std::string& path, const std::string& name, std::vector<H5Id>& holder) {
  Dataset ds;
  ds.path = path;
  ds.name = name;
  holder.emplace_back(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!holder.back().ok()) throw InputError(fmt::format("data file '{}': dataset {} cannot be opened", path, name));
  ds.id = holder.back().get();
  H5Id type(H5Dget_type(ds.id), H5Tclose);
  ds.type_class = type.ok() ? H5Tget_class(type.get()) : H5T_NO_CLASS;
  H5Id space(H5Dget_space(ds.id), H5Sclose);
  const int rank = space.ok() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (rank < 0) throw InputError(ds.where() + " has no simple dataspace; expected a numeric array");
  ds.dims.assign(static_cast<std::size_t>(rank), 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), ds.dims.data(), nullptr);
  return ds;
}

bool has_link(hid_t file, const char* name) { return H5Lexists(file, name, H5P_DEFAULT) > 0; }

const char* class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "variable-length";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_REFERENCE: return "reference";
    default: return "unknown";
  }
}

void require_numeric(const Dataset& ds, const char* allowed) {
  if (ds.type_class != H5T_INTEGER && ds.type_class != H5T_FLOAT)
    throw InputError(fmt::format("{} has {} type; allowed: {}", ds.where(), class_name(ds.type_class), allowed));
}

/// A one-column dataset (shape m or m x 1) with `rows` entries.
void require_column(const Dataset& ds, hsize_t rows, const std::vector<hsize_t>& feature_dims, const char* expected) {
  const bool column = ds.dims.size() == 1 || (ds.dims.size() == 2 && ds.dims[1] == 1);
  if (!column)
    throw InputError(fmt::format("{} has shape {}; expected a 1-D array with one {} per row of /features", ds.where(),
                                 shape_text(ds.dims), expected));
  if (ds.dims[0] != rows)
    throw InputError(fmt::format("data file '{}': dataset /features has shape {} but {} has {} rows (expected one {} per row)",
                                 ds.path, shape_text(feature_dims), ds.name, ds.dims[0], expected));
}

std::vector<double> read_doubles(const Dataset& ds) {
  std::vector<double> v(static_cast<std::size_t>(ds.count()));
  if (!v.empty() && H5Dread(ds.id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
    throw InputError(ds.where() + " cannot be read as float64 numbers");
  return v;
}

/// Integer values (class labels, owners) from an integer dataset, or a float dataset holding
/// integral values. Rejects non-integral, negative and values above INT_MAX - 1.
std::vector<int> read_nonnegative_ints(const Dataset& ds, const char* what) {
  const std::size_t n = static_cast<std::size_t>(ds.count());
  std::vector<int> out(n);
  if (n == 0) return out;
  auto check = [&](std::size_t i, long double value, const std::string& text) {
    if (value < 0)
      throw InputError(fmt::format("{}: entry {} is {}; {} must be integers >= 0", ds.where(), i, text, what));
    if (value > INT_MAX - 1)
      throw InputError(fmt::format("{}: entry {} is {}; {} must be integers in [0, {}]", ds.where(), i, text, what, INT_MAX - 1));
    out[i] = static_cast<int>(value);
  };
  if (ds.type_class == H5T_INTEGER) {
    std::vector<long long> v(n);
    if (H5Dread(ds.id, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
      throw InputError(ds.where() + " cannot be read as integers");
    for (std::size_t i = 0; i < n; ++i) check(i, static_cast<long double>(v[i]), std::to_string(v[i]));
  } else {
    const auto v = read_doubles(ds);
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(v[i]) || v[i] != std::floor(v[i]))
        throw InputError(fmt::format("{}: entry {} is {}, not an integer; {} must be integers >= 0", ds.where(), i,
                                     shortest(v[i]), what));
      check(i, static_cast<long double>(v[i]), shortest(v[i]));
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Text parsing helpers
// ------------------------------------------------------------------------------------------------

bool parse_double(std::string_view s, double& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_int64(std::string_view s, long long& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// ------------------------------------------------------------------------------------------------
// IDX
// ------------------------------------------------------------------------------------------------

/// A gzip (or plain) file read with zlib.
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
      throw InputError(fmt::format("IDX file '{}': {}", path, describe_missing(path)));
    f_ = gzopen(path.c_str(), "rb");
    if (!f_) throw InputError(fmt::format("IDX file '{}': cannot be opened", path));
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  ~GzFile() {
    if (f_) gzclose(f_);
  }

  /// Reads exactly `n` bytes; `what` names them in the error.
  void read(unsigned char* dst, std::size_t n, const std::string& what) {
    std::size_t done = 0;
    while (done < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 24));
      const int got = gzread(f_, dst + done, chunk);
      if (got < 0) {
        int errnum = 0;
        const char* msg = gzerror(f_, &errnum);
        throw InputError(fmt::format("IDX file '{}': cannot be decompressed while reading the {} ({})", path_, what,
                                     msg ? msg : "zlib error"));
      }
      if (got == 0)
        throw InputError(fmt::format("IDX file '{}': the file ends after {} of the {} bytes of the {} (truncated file?)",
                                     path_, done, n, what));
      done += static_cast<std::size_t>(got);
    }
  }

  std::uint32_t read_u32(const std::string& what) {
    unsigned char b[4];
    read(b, 4, what);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

constexpr std::uint32_t idx_images_magic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t idx_labels_magic = 0x00000801;  // unsigned bytes, 1 dimension

}  // namespace

// ------------------------------------------------------------------------------------------------

SampleSet read_hdf5(const std::string& path, Task task) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // our messages, not HDF5's error stack
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw InputError(fmt::format("data file '{}': {}", path, describe_missing(path)));
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw InputError(fmt::format("data file '{}': not an HDF5 file (expected datasets /features, /targets and optional /owner)",
                                 path));
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw InputError(fmt::format("data file '{}': cannot be opened as HDF5", path));
  std::vector<H5Id> held;

  for (const char* required : {"features", "targets"})
    if (!has_link(file.get(), required))
      throw InputError(fmt::format("data file '{}': no dataset /{} (expected /features (m x d float64), /targets (m) and "
                                   "optional /owner (m integers))",
                                   path, required));

  const Dataset fx = open_dataset(file.get(), path, "/features", held);
  require_numeric(fx, "float64 (or another numeric type)");
  if (fx.dims.size() != 2)
    throw InputError(fmt::format("{} has shape {}; expected a 2-D array (samples x features)", fx.where(), shape_text(fx.dims)));
  if (fx.dims[0] < 1 || fx.dims[1] < 1)
    throw InputError(fmt::format("{} has shape {}; at least one sample and one feature are needed", fx.where(),
                                 shape_text(fx.dims)));
  if (fx.dims[1] > static_cast<hsize_t>(INT_MAX))
    throw InputError(fmt::format("{} has {} features; at most {} are supported", fx.where(), fx.dims[1], INT_MAX));
  const hsize_t m = fx.dims[0];

  SampleSet set;
  set.name = path;
  set.samples = static_cast<std::int64_t>(m);
  set.features = static_cast<int>(fx.dims[1]);

  const Dataset ft = open_dataset(file.get(), path, "/targets", held);
  if (task == Task::regression) {
    require_numeric(ft, "float64 (or another numeric type) for regression targets");
    require_column(ft, m, fx.dims, "target");
  } else {
    require_numeric(ft, "integer class labels (any integer type, or floats holding integers)");
    require_column(ft, m, fx.dims, "label");
  }

  std::vector<int> owner;
  if (has_link(file.get(), "owner")) {
    const Dataset fo = open_dataset(file.get(), path, "/owner", held);
    require_numeric(fo, "integers (the agent of each row)");
    require_column(fo, m, fx.dims, "owner");
    owner = read_nonnegative_ints(fo, "owners (agent numbers)");
  }

  set.x = read_doubles(fx);
  for (std::size_t i = 0; i < set.x.size(); ++i)
    if (!std::isfinite(set.x[i]))
      throw InputError(fmt::format("{}: sample {} has a non-finite value ({}) in column {}; features must be finite",
                                   fx.where(), i / fx.dims[1], shortest(set.x[i]), i % fx.dims[1]));

  if (task == Task::regression) {
    set.targets = read_doubles(ft);
    for (std::size_t i = 0; i < set.targets.size(); ++i)
      if (!std::isfinite(set.targets[i]))
        throw InputError(fmt::format("{}: sample {} has a non-finite target ({}); targets must be finite", ft.where(), i,
                                     shortest(set.targets[i])));
  } else {
    set.labels = read_nonnegative_ints(ft, "class labels");
    set.classes = *std::max_element(set.labels.begin(), set.labels.end()) + 1;
  }
  set.owner = std::move(owner);
  set.validate();
  return set;
}

SampleSet read_libsvm(const std::string& path, Task task, int features) {
  const std::string where = fmt::format("LIBSVM file '{}'", path);
  if (features < 0) throw InputError(fmt::format("{}: features = {}; allowed: 0 (largest index seen) or >= 1", where, features));
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw InputError(fmt::format("{}: {}", where, describe_missing(path)));
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot be opened", where));

  struct Entry {
    std::int64_t sample;
    long long index;  // 1-based
    double value;
  };
  std::vector<Entry> entries;
  std::vector<double> raw_labels;
  long long max_index = 0;
  std::string line;
  long long lineno = 0;
  auto bad = [&](const std::string& why) { throw InputError(fmt::format("{}, line {}: {}", where, lineno, why)); };

  while (std::getline(in, line)) {
    ++lineno;
    std::string_view rest(line);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    auto next_token = [&]() -> std::string_view {
      const auto b = rest.find_first_not_of(" \t\r\v\f");
      if (b == std::string_view::npos) {
        rest = {};
        return {};
      }
      rest.remove_prefix(b);
      const auto e = std::min(rest.find_first_of(" \t\r\v\f"), rest.size());
      const auto tok = rest.substr(0, e);
      rest.remove_prefix(e);
      return tok;
    };
    const auto label_tok = next_token();
    if (label_tok.empty()) continue;  // blank or comment-only line
    double label = 0;
    if (!parse_double(label_tok, label) || !std::isfinite(label))
      bad(fmt::format("label '{}' is not a finite number (expected 'label index:value ...')", label_tok));
    if (task == Task::classification && label != std::floor(label))
      bad(fmt::format("label '{}' is not an integer; classification needs integer class labels", label_tok));
    const auto sample = static_cast<std::int64_t>(raw_labels.size());
    long long previous = 0;
    for (auto tok = next_token(); !tok.empty(); tok = next_token()) {
      const auto colon = tok.find(':');
      if (colon == std::string_view::npos)
        bad(fmt::format("'{}' is not an 'index:value' pair", tok));
      const auto index_text = tok.substr(0, colon);
      const auto value_text = tok.substr(colon + 1);
      if (index_text == "qid") continue;  // SVMlight query ids: not a feature
      long long index = 0;
      if (!parse_int64(index_text, index) || index < 1)
        bad(fmt::format("feature index '{}' in '{}' is not an integer >= 1 (indices are 1-based)", index_text, tok));
      if (index <= previous)
        bad(fmt::format("feature index {} follows index {}; indices must be strictly increasing", index, previous));
      if (features > 0 && index > features)
        bad(fmt::format("feature index {} exceeds the number of features, {}", index, features));
      if (index > INT_MAX) bad(fmt::format("feature index {} is too large (at most {})", index, INT_MAX));
      double value = 0;
      if (!parse_double(value_text, value) || !std::isfinite(value))
        bad(fmt::format("value '{}' of feature {} is not a finite number", value_text, index));
      previous = index;
      max_index = std::max(max_index, index);
      if (value != 0.0) entries.push_back({sample, index, value});
    }
    raw_labels.push_back(label);
  }
  if (in.bad()) throw InputError(fmt::format("{}: read error after line {}", where, lineno));
  if (raw_labels.empty()) throw InputError(fmt::format("{}: no samples (every line is blank or a comment)", where));
  const long long d = features > 0 ? features : max_index;
  if (d < 1)
    throw InputError(fmt::format("{}: no feature index appears in the file; pass the number of features explicitly", where));

  SampleSet set;
  set.name = path;
  set.samples = static_cast<std::int64_t>(raw_labels.size());
  set.features = static_cast<int>(d);
  set.x.assign(static_cast<std::size_t>(set.samples) * static_cast<std::size_t>(d), 0.0);
  for (const auto& e : entries)
    set.x[static_cast<std::size_t>(e.sample) * static_cast<std::size_t>(d) + static_cast<std::size_t>(e.index - 1)] = e.value;

  if (task == Task::regression) {
    set.targets = std::move(raw_labels);
  } else {
    std::vector<double> distinct = raw_labels;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const bool plus_minus = std::all_of(distinct.begin(), distinct.end(), [](double v) { return v == -1.0 || v == 1.0; });
    const bool zero_one = std::all_of(distinct.begin(), distinct.end(), [](double v) { return v == 0.0 || v == 1.0; });
    std::map<double, int> cls;
    if (plus_minus) {
      cls = {{-1.0, 0}, {1.0, 1}};
      set.classes = 2;
    } else if (zero_one) {
      cls = {{0.0, 0}, {1.0, 1}};
      set.classes = 2;
    } else {
      if (distinct.size() > static_cast<std::size_t>(INT_MAX - 1))
        throw InputError(fmt::format("{}: too many distinct labels ({})", where, distinct.size()));
      for (std::size_t i = 0; i < distinct.size(); ++i) cls[distinct[i]] = static_cast<int>(i);
      set.classes = static_cast<int>(distinct.size());
    }
    set.labels.resize(raw_labels.size());
    for (std::size_t i = 0; i < raw_labels.size(); ++i) set.labels[i] = cls.at(raw_labels[i]);
  }
  set.validate();
  return set;
}

SampleSet read_idx(const std::string& images_path, const std::string& labels_path, int classes) {
  if (classes < 1 || classes > 256)
    throw InputError(fmt::format("IDX data '{}': classes = {}; allowed: 1..256 (labels are bytes)", images_path, classes));

  GzFile images(images_path);
  const std::uint32_t magic = images.read_u32("header");
  if (magic != idx_images_magic)
    throw InputError(fmt::format("IDX file '{}': magic number 0x{:08x}; an image file needs 0x{:08x} (unsigned bytes, "
                                 "3 dimensions: images x rows x columns)",
                                 images_path, magic, idx_images_magic));
  const std::uint32_t m = images.read_u32("header");
  const std::uint32_t rows = images.read_u32("header");
  const std::uint32_t cols = images.read_u32("header");
  if (m < 1 || rows < 1 || cols < 1)
    throw InputError(fmt::format("IDX file '{}': the header announces {} images of {} x {} pixels; all must be >= 1",
                                 images_path, m, rows, cols));
  const std::uint64_t pixels = std::uint64_t{rows} * cols;
  if (pixels > static_cast<std::uint64_t>(INT_MAX))
    throw InputError(fmt::format("IDX file '{}': images of {} x {} pixels are too large", images_path, rows, cols));

  GzFile labels(labels_path);
  const std::uint32_t lmagic = labels.read_u32("header");
  if (lmagic != idx_labels_magic)
    throw InputError(fmt::format("IDX file '{}': magic number 0x{:08x}; a label file needs 0x{:08x} (unsigned bytes, "
                                 "1 dimension)",
                                 labels_path, lmagic, idx_labels_magic));
  const std::uint32_t ml = labels.read_u32("header");
  if (ml != m)
    throw InputError(fmt::format("IDX file '{}': {} labels, but the image file '{}' has {} images (expected one label per image)",
                                 labels_path, ml, images_path, m));

  std::vector<unsigned char> bytes(static_cast<std::size_t>(m) * pixels);
  images.read(bytes.data(), bytes.size(), "pixels");
  std::vector<unsigned char> lab(m);
  labels.read(lab.data(), lab.size(), "labels");

  SampleSet set;
  set.name = images_path;
  set.samples = m;
  set.features = static_cast<int>(pixels);
  set.classes = classes;
  set.x.resize(bytes.size());
  std::transform(bytes.begin(), bytes.end(), set.x.begin(), [](unsigned char b) { return b / 255.0; });
  set.labels.resize(m);
  for (std::size_t i = 0; i < m; ++i) {
    if (lab[i] >= classes)
      throw InputError(fmt::format("IDX file '{}': sample {} has label {}, outside the allowed classes 0..{}", labels_path, i,
                                   static_cast<int>(lab[i]), classes - 1));
    set.labels[i] = lab[i];
  }
  return set;
}

SampleSet read_fashion_mnist(const std::string& split, const std::string& directory) {
  const std::string dir = directory.empty() ? std::string("/usr/share/datasets/fashion-mnist") : directory;
  std::string prefix;
  if (split == "train")
    prefix = "train";
  else if (split == "test")
    prefix = "t10k";
  else
    throw InputError(fmt::format("Fashion-MNIST split '{}' is unknown; allowed: train, test", split));
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw InputError(fmt::format("Fashion-MNIST directory '{}' not found: install the Debian package dataset-fashion-mnist "
                                 "(apt-get install dataset-fashion-mnist, or run scripts/setup-deps.sh)",
                                 dir));
  auto locate = [&](const std::string& base) {
    const fs::path gz = fs::path(dir) / (base + ".gz");
    if (fs::is_regular_file(gz, ec)) return gz.string();
    const fs::path plain = fs::path(dir) / base;
    if (fs::is_regular_file(plain, ec)) return plain.string();
    throw InputError(fmt::format("Fashion-MNIST file '{}' not found: reinstall the Debian package dataset-fashion-mnist "
                                 "(or run scripts/setup-deps.sh)",
                                 gz.string()));
  };
  const std::string images = locate(prefix + "-images-idx3-ubyte");
  const std::string labels = locate(prefix + "-labels-idx1-ubyte");
  SampleSet set = read_idx(images, labels, 10);
  set.name = "fashion-mnist/" + split;
  return set;
}

}  // namespace concord::data
