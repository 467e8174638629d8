#include "concord/data/readers.hpp"

#include <fmt/format.h>
#include <fcntl.h>
#include <hdf5.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "concord/core/detail/hdf5.hpp"
#include "concord/core/error.hpp"
#include "concord/core/format.hpp"

namespace concord::data {

std::uint64_t data_memory_limit() {
  constexpr std::uint64_t unknown = std::uint64_t{1} << 40;  // 1 TiB when the system does not say
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  std::uint64_t memory = unknown;
  if (pages > 0 && page_size > 0) {
    const auto p = static_cast<std::uint64_t>(pages), s = static_cast<std::uint64_t>(page_size);
    memory = p > std::numeric_limits<std::uint64_t>::max() / s ? unknown : p * s;
  }
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    struct rlimit limit {};
    if (::getrlimit(resource, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
      memory = std::min<std::uint64_t>(memory, static_cast<std::uint64_t>(limit.rlim_cur));
  }
  return memory / 2;
}

namespace {

namespace fs = std::filesystem;
namespace hdf5 = concord::detail::hdf5;
using hdf5::Handle;
using hdf5::shape_text;

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

/// a * b, saturating at 2^64 - 1.
std::uint64_t times(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > u64_max / a) return u64_max;
  return a * b;
}
std::uint64_t plus(std::uint64_t a, std::uint64_t b) { return b > u64_max - a ? u64_max : a + b; }

/// "1.5 GiB", "800 bytes".
std::string bytes_text(std::uint64_t bytes) {
  if (bytes == u64_max) return "more than 16 EiB";
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 5) v /= 1024.0, ++u;
  return fmt::format("{:.1f} {}", v, units[u]);
}

/// InputError unless `bytes` of memory (the values of the data set once read) fit in the machine.
void require_memory(std::uint64_t bytes, const std::string& where, const std::string& what) {
  const std::uint64_t limit = data_memory_limit();
  if (bytes > limit)
    throw InputError(fmt::format("{}: {} would need {} of memory, more than the {} allowed (half of the memory this "
                                 "process may use; corrupt header, or a data set too large for one process)",
                                 where, what, bytes_text(bytes), bytes_text(limit)));
}

/// A token of a text file as it may appear in a one-line message: at most 40 characters,
/// control and non-ASCII bytes as \xNN.
std::string printable(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= 40) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

std::string describe_missing(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return "no such file";
  if (fs::is_directory(path, ec)) return "is a directory, not a file";
  return "cannot be opened (check the permissions)";
}

// ------------------------------------------------------------------------------------------------
// HDF5
// ------------------------------------------------------------------------------------------------

/// Deflate cannot compress by more than about 1032:1 (shuffle and fletcher32 do not compress):
/// a filtered dataset must store at least 1/ratio of its declared bytes.
constexpr std::uint64_t max_compression_ratio = 1100;

/// One open dataset of an HDF5 data file, with its shape and type.
struct Dataset {
  std::string path;  // the file
  std::string name;  // "/features"
  Handle id;
  H5T_class_t type_class = H5T_NO_CLASS;
  std::size_t type_size = 0;
  std::vector<hsize_t> dims;

  std::string where() const { return fmt::format("data file '{}': dataset {}", path, name); }
  std::uint64_t count() const {
    std::uint64_t c = 1;
    for (auto d : dims) c = times(c, d);
    return c;
  }
};

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
    case H5T_TIME: return "time";
    default: return "unknown";
  }
}

/// Opens `name` in `file` and reads its type and shape. InputError naming the dataset when it
/// is not a numeric array (`allowed` says what is).
Dataset open_dataset(hid_t file, const std::string& path, const std::string& name, const char* allowed) {
  Dataset ds;
  ds.path = path;
  ds.name = name;
  ds.id = Handle(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.id.ok())
    throw InputError(fmt::format("{} cannot be opened as a dataset (corrupt file?){}", ds.where(), hdf5::error_detail()));
  Handle type(H5Dget_type(ds.id.get()), H5Tclose);
  if (!type.ok()) throw InputError(fmt::format("{} has an unreadable type (corrupt file?){}", ds.where(), hdf5::error_detail()));
  ds.type_class = H5Tget_class(type.get());
  ds.type_size = H5Tget_size(type.get());
  if (ds.type_class != H5T_INTEGER && ds.type_class != H5T_FLOAT)
    throw InputError(fmt::format("{} has {} type; allowed: {}", ds.where(), class_name(ds.type_class), allowed));
  if (ds.type_size < 1 || ds.type_size > 16)
    throw InputError(fmt::format("{} has {} elements of {} bytes; allowed: {} of 1 to 16 bytes", ds.where(),
                                 class_name(ds.type_class), ds.type_size, allowed));
  Handle space(H5Dget_space(ds.id.get()), H5Sclose);
  if (!space.ok() || H5Sget_simple_extent_type(space.get()) != H5S_SIMPLE)
    throw InputError(fmt::format("{} has no simple dataspace; expected a numeric array{}", ds.where(), hdf5::error_detail()));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > H5S_MAX_RANK)
    throw InputError(fmt::format("{} has an unreadable shape (corrupt file?){}", ds.where(), hdf5::error_detail()));
  ds.dims.assign(static_cast<std::size_t>(rank), 0);
  if (rank > 0 && H5Sget_simple_extent_dims(space.get(), ds.dims.data(), nullptr) < 0)
    throw InputError(fmt::format("{} has an unreadable shape (corrupt file?){}", ds.where(), hdf5::error_detail()));
  return ds;
}

/// The dataset's declared extent against what the file really stores: storage inside the file,
/// no more than the file's size, and (without compression) every declared value present.
void require_stored(const Dataset& ds, std::uint64_t file_size) {
  const std::uint64_t declared = times(ds.count(), ds.type_size);
  const std::string extent = fmt::format("{} values of {} bytes ({})", shape_text(ds.dims), ds.type_size,
                                         bytes_text(declared));
  Handle dcpl(H5Dget_create_plist(ds.id.get()), H5Pclose);
  if (!dcpl.ok())
    throw InputError(fmt::format("{} has unreadable storage properties (corrupt file?){}", ds.where(), hdf5::error_detail()));
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (layout != H5D_COMPACT && layout != H5D_CONTIGUOUS && layout != H5D_CHUNKED)
    throw InputError(fmt::format("{} has a {} layout; allowed: data stored in the file itself (contiguous, chunked or "
                                 "compact)",
                                 ds.where(), layout == H5D_VIRTUAL ? "virtual" : "unknown"));
  const int external = H5Pget_external_count(dcpl.get());
  if (external < 0)
    throw InputError(fmt::format("{} has unreadable storage properties (corrupt file?){}", ds.where(), hdf5::error_detail()));
  if (external > 0)
    throw InputError(fmt::format("{} keeps its values in external files; allowed: data stored in the file itself",
                                 ds.where()));
  const int filters = H5Pget_nfilters(dcpl.get());
  if (filters < 0)
    throw InputError(fmt::format("{} has unreadable filters (corrupt file?){}", ds.where(), hdf5::error_detail()));
  for (int f = 0; f < filters; ++f) {
    unsigned flags = 0;
    std::size_t nelements = 0;
    char name[64] = {};
    const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(f), &flags, &nelements, nullptr,
                                           sizeof(name), name, nullptr);
    if (id != H5Z_FILTER_DEFLATE && id != H5Z_FILTER_SHUFFLE && id != H5Z_FILTER_FLETCHER32)
      throw InputError(fmt::format("{} uses HDF5 filter {} ('{}'); allowed: deflate (gzip), shuffle and fletcher32",
                                   ds.where(), static_cast<long>(id), printable(std::string_view(name, strnlen(name, sizeof(name))))));
  }

  const hsize_t storage = H5Dget_storage_size(ds.id.get());
  if (storage > file_size)
    throw InputError(fmt::format("{} claims {} of storage but the file has {} (corrupt or truncated file)", ds.where(),
                                 bytes_text(storage), bytes_text(file_size)));
  if (layout == H5D_CONTIGUOUS && declared > 0) {
    const haddr_t offset = H5Dget_offset(ds.id.get());
    if (offset == HADDR_UNDEF || storage == 0)
      throw InputError(fmt::format("{} declares {} but none is stored in the file (dataset never written)", ds.where(),
                                   extent));
    if (plus(offset, storage) > file_size)
      throw InputError(fmt::format("{} declares {} stored from byte {}, beyond the end of the file ({} bytes; truncated "
                                   "or corrupt file)",
                                   ds.where(), extent, offset, file_size));
  }
  if (declared > 0 && storage == 0)
    throw InputError(fmt::format("{} declares {} but the file stores only 0 bytes of it (dataset never written)",
                                 ds.where(), extent));
  if (filters == 0 && storage < declared)
    throw InputError(fmt::format("{} declares {} but the file stores only {} of it (truncated, corrupt or partly "
                                 "written dataset)",
                                 ds.where(), extent, bytes_text(storage)));
  if (layout == H5D_CHUNKED && declared > 0) {
    // Unwritten chunks would read as fill values: every chunk of the extent must be stored.
    std::vector<hsize_t> chunk(ds.dims.size(), 0);
    if (H5Pget_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) != static_cast<int>(chunk.size()))
      throw InputError(fmt::format("{} has an unreadable chunk shape (corrupt file?){}", ds.where(), hdf5::error_detail()));
    std::uint64_t expected = 1;
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      if (chunk[i] == 0)
        throw InputError(fmt::format("{} has a chunk dimension of 0 (corrupt file)", ds.where()));
      expected = times(expected, (ds.dims[i] + chunk[i] - 1) / chunk[i]);
    }
    hsize_t written = 0;
    Handle space(H5Dget_space(ds.id.get()), H5Sclose);
    if (!space.ok() || H5Dget_num_chunks(ds.id.get(), space.get(), &written) < 0)
      throw InputError(fmt::format("{} has an unreadable chunk index (corrupt file?){}", ds.where(), hdf5::error_detail()));
    if (written != expected)
      throw InputError(fmt::format("{} declares {} in {} chunks but the file stores {} of them (partly written or "
                                   "corrupt dataset)",
                                   ds.where(), extent, expected, written));
  }
  if (filters > 0 && times(storage, max_compression_ratio) < declared)
    throw InputError(fmt::format("{} declares {} but the file stores only {} of it, compressed (more than {}:1 is "
                                 "impossible with deflate: corrupt or partly written dataset)",
                                 ds.where(), extent, bytes_text(storage), max_compression_ratio));
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
  if (!v.empty() && H5Dread(ds.id.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
    throw InputError(fmt::format("{} cannot be read as float64 numbers (corrupt data?){}", ds.where(), hdf5::error_detail()));
  return v;
}

/// Integer values (class labels, owners) from an integer dataset, or a float dataset holding
/// integral values. Rejects non-integral, negative and values above `max`.
std::vector<int> read_nonnegative_ints(const Dataset& ds, const char* what, int max, const char* why_max) {
  const std::size_t n = static_cast<std::size_t>(ds.count());
  std::vector<int> out(n);
  if (n == 0) return out;
  auto check = [&](std::size_t i, long double value, const std::string& text) {
    if (value < 0)
      throw InputError(fmt::format("{}: entry {} is {}; {} must be integers >= 0", ds.where(), i, text, what));
    if (value > max)
      throw InputError(fmt::format("{}: entry {} is {}; {} must be integers in [0, {}]{}", ds.where(), i, text, what, max,
                                   why_max));
    out[i] = static_cast<int>(value);
  };
  if (ds.type_class == H5T_INTEGER) {
    std::vector<long long> v(n);
    if (H5Dread(ds.id.get(), H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
      throw InputError(fmt::format("{} cannot be read as integers (corrupt data?){}", ds.where(), hdf5::error_detail()));
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

/// Whether the link `name` exists in `file`; InputError when the file's index cannot be read.
bool has_link(hid_t file, const std::string& path, const char* name) {
  const htri_t exists = H5Lexists(file, name, H5P_DEFAULT);
  if (exists < 0)
    throw InputError(fmt::format("data file '{}': the root group cannot be read (corrupt file?){}", path, hdf5::error_detail()));
  return exists > 0;
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

/// The bytes of an IDX file, plain or gzip-compressed (recognised by its magic bytes), read
/// incrementally. A gzip file is inflated to the end of its last member, so that zlib verifies
/// every member's CRC-32 and length trailer; bytes after the last member are refused.
class IdxStream {
 public:
  explicit IdxStream(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
      throw InputError(fmt::format("IDX file '{}': {}", path, describe_missing(path)));
    file_size_ = fs::file_size(path, ec);
    if (ec) throw InputError(fmt::format("IDX file '{}': cannot be opened ({})", path, ec.message()));
    in_.open(path, std::ios::binary);
    if (!in_) throw InputError(fmt::format("IDX file '{}': cannot be opened (check the permissions)", path));
    const int first = in_.peek();
    if (first == 0x1f) {
      gzip_ = true;
      input_.resize(1 << 16);
      if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK)
        throw InputError(fmt::format("IDX file '{}': cannot start zlib", path));
      inflating_ = true;
    }
  }
  IdxStream(const IdxStream&) = delete;
  IdxStream& operator=(const IdxStream&) = delete;
  ~IdxStream() {
    if (inflating_) inflateEnd(&z_);
  }

  const std::string& path() const { return path_; }
  bool gzip() const { return gzip_; }
  std::uint64_t file_size() const { return file_size_; }

  /// Up to `n` bytes of data into `dst`; fewer only at the end of the data. `what` names the
  /// item being read in messages.
  std::size_t read(unsigned char* dst, std::size_t n, const std::string& what) {
    const std::size_t got = gzip_ ? inflate_into(dst, n, what) : read_plain(dst, n);
    position_ += got;
    return got;
  }

  /// Reads exactly `n` bytes; `what` names them in the error.
  void read_exact(unsigned char* dst, std::size_t n, const std::string& what) {
    const std::size_t got = read(dst, n, what);
    if (got < n)
      throw InputError(fmt::format("IDX file '{}': the file ends after {} of the {} bytes of the {} (truncated file?)",
                                   path_, got, n, what));
  }

  std::uint32_t read_u32(const std::string& what) {
    unsigned char b[4];
    read_exact(b, 4, what);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
  }

  /// Before reading `payload` more bytes: refuses when the file cannot hold them (a plain file
  /// of the wrong size; a gzip file too small for any compression to reach the size).
  void require_capacity(std::uint64_t payload, const std::string& declared) const {
    const std::uint64_t total = plus(position_, payload);
    if (!gzip_) {
      if (file_size_ < total)
        throw InputError(fmt::format("IDX file '{}': the header declares {} ({} bytes with the header) but the file has "
                                     "only {} bytes (truncated file or corrupt header)",
                                     path_, declared, total, file_size_));
      if (file_size_ > total)
        throw InputError(fmt::format("IDX file '{}': the header declares {} ({} bytes with the header) but the file has "
                                     "{} bytes (trailing data or corrupt header)",
                                     path_, declared, total, file_size_));
      return;
    }
    // Deflate expands at most about 1032:1; a gzip member adds at least 18 bytes.
    const std::uint64_t most = times(file_size_, 1032);
    if (total > most)
      throw InputError(fmt::format("IDX file '{}': the header declares {} ({} bytes) but a gzip file of {} bytes "
                                   "inflates to at most {} bytes (corrupt header)",
                                   path_, declared, total, file_size_, most));
  }

  /// After the last item: the data must end here, and a gzip file's trailers must check out.
  void require_end(const std::string& declared) {
    unsigned char extra[1];
    if (read(extra, 1, "data after the " + declared) > 0)
      throw InputError(fmt::format("IDX file '{}': more data follows the {} the header declares (trailing data or "
                                   "corrupt header)",
                                   path_, declared));
  }

 private:
  std::size_t read_plain(unsigned char* dst, std::size_t n) {
    in_.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n));
    return static_cast<std::size_t>(in_.gcount());
  }

  [[noreturn]] void corrupt(const std::string& what, const std::string& why) const {
    throw InputError(fmt::format("IDX file '{}': the gzip data is corrupt while reading the {} ({})", path_, what, why));
  }

  std::size_t inflate_into(unsigned char* dst, std::size_t n, const std::string& what) {
    std::size_t done = 0;
    while (done < n && !finished_) {
      if (z_.avail_in == 0 && !input_end_) {
        in_.read(reinterpret_cast<char*>(input_.data()), static_cast<std::streamsize>(input_.size()));
        const auto got = static_cast<uInt>(in_.gcount());
        if (got == 0) input_end_ = true;
        z_.next_in = input_.data();
        z_.avail_in = got;
        continue;
      }
      if (member_done_) {
        if (z_.avail_in == 0 && input_end_) {
          finished_ = true;
          break;
        }
        if (z_.next_in[0] != 0x1f)
          throw InputError(fmt::format("IDX file '{}': bytes follow the end of the gzip stream (trailing garbage after "
                                       "byte {} of the file)",
                                       path_, z_.total_in + compressed_before_));
        compressed_before_ += z_.total_in;
        if (inflateReset(&z_) != Z_OK) corrupt(what, "zlib cannot restart");
        member_done_ = false;
        continue;
      }
      const std::size_t room = std::min<std::size_t>(n - done, std::size_t{1} << 30);
      z_.next_out = dst + done;
      z_.avail_out = static_cast<uInt>(room);
      const int ret = inflate(&z_, Z_NO_FLUSH);
      done += room - z_.avail_out;
      if (ret == Z_STREAM_END) {
        member_done_ = true;
      } else if (ret == Z_BUF_ERROR) {
        if (z_.avail_in == 0 && input_end_)
          throw InputError(fmt::format("IDX file '{}': the gzip stream ends early while reading the {} (truncated file?)",
                                       path_, what));
      } else if (ret != Z_OK) {
        corrupt(what, z_.msg ? fmt::format("zlib: {}", z_.msg) : fmt::format("zlib error {}", ret));
      }
    }
    return done;
  }

  std::string path_;
  std::ifstream in_;
  std::uint64_t file_size_ = 0;
  std::uint64_t position_ = 0;
  bool gzip_ = false;
  bool inflating_ = false;
  z_stream z_{};
  std::vector<unsigned char> input_;
  bool input_end_ = false;
  bool member_done_ = false;
  bool finished_ = false;
  std::uint64_t compressed_before_ = 0;
};

/// Reads exactly `n` bytes, growing the buffer only as data arrives (a header that lies about
/// the size cannot make us allocate much more than the file really holds: a plain file's size
/// was checked, a gzip file's buffer starts at 8 times the compressed size and doubles).
std::vector<unsigned char> read_payload(IdxStream& s, std::uint64_t n, const std::string& what) {
  std::vector<unsigned char> out;
  const std::uint64_t first = s.gzip() ? std::max<std::uint64_t>(times(s.file_size(), 8), 1 << 20) : n;
  while (out.size() < n) {
    const std::size_t have = out.size();
    const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(n - have, have ? have : first));
    out.resize(have + step);
    const std::size_t got = s.read(out.data() + have, step, what);
    if (got < step)
      throw InputError(fmt::format("IDX file '{}': the file ends after {} of the {} bytes of the {} (truncated file?)",
                                   s.path(), have + got, n, what));
  }
  return out;
}

constexpr std::uint32_t idx_images_magic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t idx_labels_magic = 0x00000801;  // unsigned bytes, 1 dimension

// ------------------------------------------------------------------------------------------------
// HDF5 in a child process
// ------------------------------------------------------------------------------------------------

/// Writes all of `n` bytes to `fd` (in the child); false when the parent went away.
bool put(int fd, const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<std::size_t>(n, std::size_t{1} << 30));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w, n -= static_cast<std::size_t>(w);
  }
  return true;
}

/// Reads all of `n` bytes from `fd`; false at the end of the data.
bool take(int fd, void* data, std::size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, std::min<std::size_t>(n, std::size_t{1} << 30));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r, n -= static_cast<std::size_t>(r);
  }
  return true;
}

template <class T>
bool put_vector(int fd, const std::vector<T>& v) {
  const std::uint64_t n = v.size();
  return put(fd, &n, sizeof n) && put(fd, v.data(), n * sizeof(T));
}

template <class T>
bool take_vector(int fd, std::vector<T>& v) {
  std::uint64_t n = 0;
  if (!take(fd, &n, sizeof n)) return false;
  v.resize(static_cast<std::size_t>(n));
  return take(fd, v.data(), v.size() * sizeof(T));
}

/// What the child reading a data file sends back: status 0 and the SampleSet, or the kind of
/// error (1 InputError, 2 RuntimeError, 3 anything else) and its message.
struct ChildOutcome {
  std::uint8_t status = 0;
  std::string message;
  SampleSet set;
};

/// Runs `read` (in the child), catching every exception into the outcome.
ChildOutcome outcome_of(const std::function<SampleSet()>& read) {
  ChildOutcome o;
  try {
    o.set = read();
  } catch (const InputError& e) {
    o.status = 1, o.message = e.what();
  } catch (const RuntimeError& e) {
    o.status = 2, o.message = e.what();
  } catch (const std::exception& e) {
    o.status = 3, o.message = e.what();
  } catch (...) {
    o.status = 3, o.message = "unknown error";
  }
  return o;
}

/// Writes the outcome to the pipe `out` (in the child): the status byte, then the message
/// (length, bytes) or the set (samples, features, classes, then x, targets, labels, owner).
/// False when the parent went away.
bool send_outcome(int out, const ChildOutcome& o) {
  bool fine = put(out, &o.status, 1);
  if (o.status != 0) {
    const std::uint64_t n = o.message.size();
    fine = fine && put(out, &n, sizeof n) && put(out, o.message.data(), o.message.size());
  } else {
    const std::int64_t head[3] = {o.set.samples, o.set.features, o.set.classes};
    fine = fine && put(out, head, sizeof head) && put_vector(out, o.set.x) && put_vector(out, o.set.targets) &&
           put_vector(out, o.set.labels) && put_vector(out, o.set.owner);
  }
  return fine;
}

/// The forked child's whole life: runs `read`, sends the outcome through `out` and leaves with
/// _exit (status 1 when the parent went away), never returning into the parent's code.
[[noreturn]] void child_main(int out, const std::function<SampleSet()>& read) {
  // A crash here is reported by the parent in one line: no handler of MPI's transports (UCX
  // prints a backtrace), no glibc diagnostics on the terminal's stderr.
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, SIG_DFL);
  if (const int null = ::open("/dev/null", O_WRONLY); null >= 0) ::dup2(null, 2);
  const ChildOutcome o = outcome_of(read);
  ::_exit(send_outcome(out, o) ? 0 : 1);
}

/// The parent's end of the child: the read end of the pipe and the process, reaped on every
/// path (killed first when we stop reading early).
struct Child {
  pid_t pid;
  int fd;
  int status = 0;
  bool reaped = false;
  Child(pid_t pid_, int fd_) : pid(pid_), fd(fd_) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  /// Waits for the child (once) and returns its wait status.
  int wait() {
    if (!reaped) {
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      reaped = true;
    }
    return status;
  }
  ~Child() {
    ::close(fd);
    if (!reaped) {
      ::kill(pid, SIGKILL);
      wait();
    }
  }
};

/// Reads the child's error message after a non-zero `status` and rethrows it in this process
/// (once the child is reaped): InputError and RuntimeError as they were, bad_alloc as bad_alloc,
/// anything else as a RuntimeError naming the file. Returns (false) only when the message is
/// incomplete or longer than 1 MiB.
bool rethrow_child_error(Child& child, std::uint8_t status, const std::string& path) {
  std::uint64_t n = 0;
  std::string message;
  if (!take(child.fd, &n, sizeof n) || n >= (std::uint64_t{1} << 20)) return false;
  message.resize(static_cast<std::size_t>(n));
  if (!take(child.fd, message.data(), message.size())) return false;
  child.wait();
  if (status == 1) throw InputError(message);
  if (status == 2) throw RuntimeError(message);
  if (message.find("bad_alloc") != std::string::npos) throw std::bad_alloc();
  throw RuntimeError(fmt::format("data file '{}': {}", path, message));
}

/// Reads the set the child sent after status 0 into `set` (named `path`); false when the data
/// ended early.
bool take_sample_set(int fd, const std::string& path, SampleSet& set) {
  std::int64_t head[3] = {0, 0, 0};
  const bool complete = take(fd, head, sizeof head) && take_vector(fd, set.x) && take_vector(fd, set.targets) &&
                        take_vector(fd, set.labels) && take_vector(fd, set.owner);
  set.name = path;
  set.samples = head[0];
  set.features = static_cast<int>(head[1]);
  set.classes = static_cast<int>(head[2]);
  return complete;
}

/// Reads the child's outcome: fills `set`, or rethrows the child's error. False when the pipe
/// ended before a whole outcome (the child crashed or went away).
bool receive_outcome(Child& child, const std::string& path, SampleSet& set) {
  std::uint8_t status = 0;
  if (!take(child.fd, &status, 1)) return false;
  if (status != 0) return rethrow_child_error(child, status, path);
  return take_sample_set(child.fd, path, set);
}

/// Throws when the child did not end well: an InputError naming the signal when the HDF5
/// library crashed on the file, a RuntimeError when it ended without sending a whole result.
void require_clean_exit(int wait_status, bool complete, const std::string& path) {
  if (WIFSIGNALED(wait_status))
    throw InputError(fmt::format("data file '{}': corrupt HDF5 file: the HDF5 library stopped with signal {} ({}) while "
                                 "reading it",
                                 path, WTERMSIG(wait_status), strsignal(WTERMSIG(wait_status))));
  if (!complete || !WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0)
    throw RuntimeError(fmt::format("data file '{}': the process reading it ended without a result", path));
}

/// The HDF5 library (1.10) trusts a file's metadata: some corrupt files make it read out of
/// bounds, divide by zero or smash its stack. `read` (which opens, checks and reads the file)
/// therefore runs in a forked child that sends the SampleSet (or the error) back through a pipe;
/// a child killed by a signal becomes an InputError naming the file. The child touches neither
/// MPI nor Kokkos and leaves with _exit. Without a pipe or a fork, `read` runs in this process.
SampleSet read_in_child(const std::string& path, const std::function<SampleSet()>& read) {
  H5open();  // initialise the library once, here, rather than in every child
  int fds[2];
  if (::pipe(fds) != 0) return read();  // no pipe: read in this process
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return read();
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_main(fds[1], read);
  }
  ::close(fds[1]);
  Child child(pid, fds[0]);
  SampleSet set;
  const bool complete = receive_outcome(child, path, set);
  require_clean_exit(child.wait(), complete, path);
  return set;
}

/// Runs `read`, turning an allocation failure into an InputError naming `where`.
template <class Read>
SampleSet guarded(const std::string& where, Read&& read) {
  try {
    return read();
  } catch (const std::bad_alloc&) {
    throw InputError(fmt::format("{}: not enough memory to read it (corrupt header, or a data set too large for one "
                                 "process)",
                                 where));
  } catch (const std::length_error&) {
    throw InputError(fmt::format("{}: declares more values than one process can hold (corrupt header?)", where));
  }
}

SampleSet read_hdf5_file(const std::string& path, Task task) {
  hdf5::Quiet quiet;  // our messages, not HDF5's error stack
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw InputError(fmt::format("data file '{}': {}", path, describe_missing(path)));
  const std::uint64_t file_size = fs::file_size(path, ec);
  if (ec) throw InputError(fmt::format("data file '{}': cannot be opened ({})", path, ec.message()));
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw InputError(fmt::format("data file '{}': not an HDF5 file (expected datasets /features, /targets and optional /owner)",
                                 path));
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.ok() || H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG) < 0)
    throw RuntimeError(fmt::format("data file '{}': cannot create an HDF5 file access property list{}", path,
                                   hdf5::error_detail()));
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!file.ok())
    throw InputError(fmt::format("data file '{}': cannot be opened as HDF5 (corrupt or truncated file?){}", path,
                                 hdf5::error_detail()));

  for (const char* required : {"features", "targets"})
    if (!has_link(file.get(), path, required))
      throw InputError(fmt::format("data file '{}': no dataset /{} (expected /features (m x d float64), /targets (m) and "
                                   "optional /owner (m integers))",
                                   path, required));

  const Dataset fx = open_dataset(file.get(), path, "/features", "float64 (or another float or integer type)");
  if (fx.dims.size() != 2)
    throw InputError(fmt::format("{} has shape {}; expected a 2-D array (samples x features)", fx.where(), shape_text(fx.dims)));
  if (fx.dims[0] < 1 || fx.dims[1] < 1)
    throw InputError(fmt::format("{} has shape {}; at least one sample and one feature are needed", fx.where(),
                                 shape_text(fx.dims)));
  if (fx.dims[1] > static_cast<hsize_t>(INT_MAX))
    throw InputError(fmt::format("{} has {} features; at most {} are supported", fx.where(), fx.dims[1], INT_MAX));
  if (fx.dims[0] > static_cast<hsize_t>(INT64_MAX))
    throw InputError(fmt::format("{} has {} samples; at most {} are supported", fx.where(), fx.dims[0], INT64_MAX));
  const hsize_t m = fx.dims[0];

  const Dataset ft = task == Task::regression
                         ? open_dataset(file.get(), path, "/targets", "float64 (or another numeric type) for regression targets")
                         : open_dataset(file.get(), path, "/targets",
                                        "integer class labels (any integer type, or floats holding integers)");
  require_column(ft, m, fx.dims, task == Task::regression ? "target" : "label");

  std::optional<Dataset> fo;
  if (has_link(file.get(), path, "owner")) {
    fo.emplace(open_dataset(file.get(), path, "/owner", "integers (the agent of each row)"));
    require_column(*fo, m, fx.dims, "owner");
  }

  // What the file declares against what it stores, and against the memory, before allocating.
  require_stored(fx, file_size);
  require_stored(ft, file_size);
  if (fo) require_stored(*fo, file_size);
  const std::uint64_t values = plus(fx.count(), times(m, fo ? 2 : 1));
  require_memory(times(values, sizeof(double)), fmt::format("data file '{}'", path),
                 fmt::format("{} samples x {} features", m, fx.dims[1]));

  SampleSet set;
  set.name = path;
  set.samples = static_cast<std::int64_t>(m);
  set.features = static_cast<int>(fx.dims[1]);

  std::vector<int> owner;
  if (fo) owner = read_nonnegative_ints(*fo, "owners (agent numbers)", INT_MAX - 1, "");

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
    const std::string why = fmt::format(" (at most {} classes)", max_classes);
    set.labels = read_nonnegative_ints(ft, "class labels", max_classes - 1, why.c_str());
    set.classes = *std::max_element(set.labels.begin(), set.labels.end()) + 1;
  }
  set.owner = std::move(owner);
  set.validate();
  return set;
}

/// One non-zero value of a LIBSVM file.
struct LibsvmEntry {
  std::int64_t sample;
  long long index;  // 1-based
  double value;
};

/// What the lines of a LIBSVM file hold, before it is made dense.
struct LibsvmRows {
  std::vector<LibsvmEntry> entries;  ///< the non-zero values, in file order
  std::vector<double> labels;        ///< one per sample, as written
  long long max_index = 0;           ///< the largest feature index seen
  long long max_index_line = 0;      ///< the line where it first appears
};

/// Splits the rest of a line into whitespace-separated tokens.
struct Tokens {
  std::string_view rest;
  /// The next token; empty at the end of the line.
  std::string_view next() {
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
  }
};

/// Parses the lines of a LIBSVM file one at a time, checking each; errors name the line.
class LibsvmParser {
 public:
  LibsvmParser(const std::string& where, Task task, int features) : where_(where), task_(task), features_(features) {}

  /// Reads every line of `in`; InputError on a read error.
  LibsvmRows parse(std::istream& in) {
    std::string line;
    while (std::getline(in, line)) {
      ++lineno_;
      parse_line(line);
    }
    if (in.bad()) throw InputError(fmt::format("{}: read error after line {}", where_, lineno_));
    return std::move(rows_);
  }

 private:
  /// Throws the InputError for the current line.
  [[noreturn]] void bad(const std::string& why) const {
    throw InputError(fmt::format("{}, line {}: {}", where_, lineno_, why));
  }

  /// One line: `label [qid:n] index:value ...`, up to a `#` comment; blank lines are skipped.
  void parse_line(std::string_view line) {
    Tokens tokens{line};
    if (const auto hash = tokens.rest.find('#'); hash != std::string_view::npos) tokens.rest = tokens.rest.substr(0, hash);
    const auto label_tok = tokens.next();
    if (label_tok.empty()) return;  // blank or comment-only line
    const double label = parse_label(label_tok);
    const auto sample = static_cast<std::int64_t>(rows_.labels.size());
    long long previous = 0;
    for (auto tok = tokens.next(); !tok.empty(); tok = tokens.next()) parse_pair(tok, sample, previous);
    rows_.labels.push_back(label);
  }

  /// The label: a finite number, an integer for classification.
  double parse_label(std::string_view tok) const {
    double label = 0;
    if (!parse_double(tok, label) || !std::isfinite(label))
      bad(fmt::format("label '{}' is not a finite number (expected 'label index:value ...')", printable(tok)));
    if (task_ == Task::classification && label != std::floor(label))
      bad(fmt::format("label '{}' is not an integer; classification needs integer class labels", printable(tok)));
    return label;
  }

  /// One `index:value` pair of sample `sample` (or a `qid:n` before the features, skipped);
  /// `previous` is the last feature index of the line (0 before the first).
  void parse_pair(std::string_view tok, std::int64_t sample, long long& previous) {
    const auto colon = tok.find(':');
    if (colon == std::string_view::npos) bad(fmt::format("'{}' is not an 'index:value' pair", printable(tok)));
    const auto index_text = tok.substr(0, colon);
    const auto value_text = tok.substr(colon + 1);
    if (index_text == "qid") {  // SVMlight query ids: not a feature
      long long qid = 0;
      if (previous != 0) bad(fmt::format("'{}' follows a feature; a query id comes before the features", printable(tok)));
      if (!parse_int64(value_text, qid) || qid < 0)
        bad(fmt::format("query id '{}' is not an integer >= 0", printable(value_text)));
      return;
    }
    long long index = 0;
    if (!parse_int64(index_text, index) || index < 1)
      bad(fmt::format("feature index '{}' in '{}' is not an integer >= 1 (indices are 1-based)", printable(index_text),
                      printable(tok)));
    if (index <= previous)
      bad(fmt::format("feature index {} follows index {}; indices must be strictly increasing", index, previous));
    if (features_ > 0 && index > features_)
      bad(fmt::format("feature index {} exceeds the number of features, {}", index, features_));
    if (index > INT_MAX) bad(fmt::format("feature index {} is too large (at most {})", index, INT_MAX));
    double value = 0;
    if (!parse_double(value_text, value) || !std::isfinite(value))
      bad(fmt::format("value '{}' of feature {} is not a finite number", printable(value_text), index));
    previous = index;
    if (index > rows_.max_index) rows_.max_index = index, rows_.max_index_line = lineno_;
    if (value != 0.0) rows_.entries.push_back({sample, index, value});
  }

  const std::string& where_;
  Task task_;
  int features_;
  long long lineno_ = 0;
  LibsvmRows rows_;
};

/// Checks the `features` argument and that `path` is a readable regular file, and opens it.
std::ifstream open_libsvm(const std::string& path, const std::string& where, int features) {
  if (features < 0) throw InputError(fmt::format("{}: features = {}; allowed: 0 (largest index seen) or >= 1", where, features));
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw InputError(fmt::format("{}: {}", where, describe_missing(path)));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot be opened", where));
  return in;
}

/// The number of features (`features`, or the largest index seen when 0), checked to be >= 1
/// and to fit in memory with the samples held dense (m x d float64 values).
long long libsvm_dimension(const LibsvmRows& rows, const std::string& where, int features) {
  if (rows.labels.empty()) throw InputError(fmt::format("{}: no samples (every line is blank or a comment)", where));
  const long long d = features > 0 ? features : rows.max_index;
  if (d < 1)
    throw InputError(fmt::format("{}: no feature index appears in the file; pass the number of features explicitly", where));
  require_memory(times(times(rows.labels.size(), static_cast<std::uint64_t>(d)), sizeof(double)), where,
                 features > 0 ? fmt::format("{} samples x {} features", rows.labels.size(), d)
                              : fmt::format("{} samples x {} features (the largest feature index, line {})",
                                            rows.labels.size(), d, rows.max_index_line));
  return d;
}

/// The samples of `rows` as a dense m x d matrix, row-major (zeros where the file has none).
std::vector<double> dense_features(const LibsvmRows& rows, long long d) {
  std::vector<double> x(rows.labels.size() * static_cast<std::size_t>(d), 0.0);
  for (const auto& e : rows.entries)
    x[static_cast<std::size_t>(e.sample) * static_cast<std::size_t>(d) + static_cast<std::size_t>(e.index - 1)] = e.value;
  return x;
}

/// Classification: maps the labels as written to classes 0..c-1 in `set` ({-1, +1} and {0, 1}
/// become {0, 1}; other labels their rank among the distinct ones, at most max_classes).
void assign_classes(SampleSet& set, const std::vector<double>& raw_labels, const std::string& where) {
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
    if (distinct.size() > static_cast<std::size_t>(max_classes))
      throw InputError(fmt::format("{}: {} distinct class labels; at most {} classes are allowed", where, distinct.size(),
                                   max_classes));
    for (std::size_t i = 0; i < distinct.size(); ++i) cls[distinct[i]] = static_cast<int>(i);
    set.classes = static_cast<int>(distinct.size());
  }
  set.labels.resize(raw_labels.size());
  for (std::size_t i = 0; i < raw_labels.size(); ++i) set.labels[i] = cls.at(raw_labels[i]);
}

/// Reads a LIBSVM file: opens it, parses and checks every line, then builds the dense samples
/// and the targets (regression) or classes (classification).
SampleSet read_libsvm_file(const std::string& path, Task task, int features) {
  const std::string where = fmt::format("LIBSVM file '{}'", path);
  std::ifstream in = open_libsvm(path, where, features);
  LibsvmRows rows = LibsvmParser(where, task, features).parse(in);
  const long long d = libsvm_dimension(rows, where, features);

  SampleSet set;
  set.name = path;
  set.samples = static_cast<std::int64_t>(rows.labels.size());
  set.features = static_cast<int>(d);
  set.x = dense_features(rows, d);
  if (task == Task::regression)
    set.targets = std::move(rows.labels);
  else
    assign_classes(set, rows.labels, where);
  set.validate();
  return set;
}

SampleSet read_idx_files(const std::string& images_path, const std::string& labels_path, int classes) {
  if (classes < 1 || classes > 256)
    throw InputError(fmt::format("IDX data '{}': classes = {}; allowed: 1..256 (labels are bytes)", images_path, classes));

  IdxStream images(images_path);
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
    throw InputError(fmt::format("IDX file '{}': images of {} x {} pixels are too large (at most {} pixels)", images_path,
                                 rows, cols, INT_MAX));
  const std::string images_declared = fmt::format("{} images of {} x {} pixels", m, rows, cols);
  images.require_capacity(times(m, pixels), images_declared);

  IdxStream labels(labels_path);
  const std::uint32_t lmagic = labels.read_u32("header");
  if (lmagic != idx_labels_magic)
    throw InputError(fmt::format("IDX file '{}': magic number 0x{:08x}; a label file needs 0x{:08x} (unsigned bytes, "
                                 "1 dimension)",
                                 labels_path, lmagic, idx_labels_magic));
  const std::uint32_t ml = labels.read_u32("header");
  if (ml != m)
    throw InputError(fmt::format("IDX file '{}': {} labels, but the image file '{}' has {} images (expected one label per image)",
                                 labels_path, ml, images_path, m));
  const std::string labels_declared = fmt::format("{} labels", m);
  labels.require_capacity(m, labels_declared);
  // The pixels as bytes, then as float64 values.
  require_memory(times(times(m, pixels), 1 + sizeof(double)), fmt::format("IDX file '{}'", images_path), images_declared);

  const auto bytes = read_payload(images, times(m, pixels), "pixels");
  images.require_end(images_declared);
  const auto lab = read_payload(labels, m, "labels");
  labels.require_end(labels_declared);

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

}  // namespace

// ------------------------------------------------------------------------------------------------

SampleSet read_hdf5(const std::string& path, Task task) {
  return guarded(fmt::format("data file '{}'", path),
                 [&] { return read_in_child(path, [&] { return read_hdf5_file(path, task); }); });
}

SampleSet read_libsvm(const std::string& path, Task task, int features) {
  return guarded(fmt::format("LIBSVM file '{}'", path), [&] { return read_libsvm_file(path, task, features); });
}

SampleSet read_idx(const std::string& images_path, const std::string& labels_path, int classes) {
  return guarded(fmt::format("IDX file '{}'", images_path),
                 [&] { return read_idx_files(images_path, labels_path, classes); });
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
