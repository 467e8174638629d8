#pragma once
/// \file hdf5_support.hpp
/// Internal to the io layer (trajectory.cpp, checkpoint.cpp); not installed, not for users.
///
/// What the parallel HDF5 files of Concord share:
///  - `H5Id`: RAII for HDF5 ids, closed in reverse order of declaration. Closing a dataset or a
///    file opened with MPI-IO is collective, so every rank must hold and drop the same ids.
///  - `QuietHdf5`: turns off HDF5's automatic error-stack printing for a scope; our errors name
///    the file and say what failed, with HDF5's innermost message appended (`hdf5_detail`).
///  - `on_every_rank`: runs a step on every rank and, when it threw on any rank, throws the first
///    failing rank's error on *every* rank, so that no rank walks on into a collective call alone.
///  - string (variable-length UTF-8) and int64 attributes;
///  - `transfer_rows`: collective read or write of each rank's block of agent rows, row-major
///    [agent][coordinate] in the file, from or into a LayoutLeft host matrix.
#include <fmt/format.h>
#include <hdf5.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "concord/core/error.hpp"
#include "concord/io/trajectory.hpp"

namespace concord::io::detail {

/// RAII for one HDF5 id.
/// Set when HDF5 could not close an object (see H5Id::reset and io::hdf5_shutdown_unsafe).
inline std::atomic<bool>& abandoned_files() {
  static std::atomic<bool> flag{false};
  return flag;
}

class H5Id {
 public:
  H5Id() = default;
  H5Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  H5Id(H5Id&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  H5Id& operator=(H5Id&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      close_ = other.close_;
      other.id_ = -1;
    }
    return *this;
  }
  ~H5Id() { reset(); }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  /// Closes now; returns false when HDF5 reported an error doing so.
  bool reset() {
    bool fine = true;
    if (id_ >= 0 && close_) fine = close_(id_) >= 0;
    // A failed close (disk full, an I/O error, a damaged file) leaves a half-destroyed object
    // registered: HDF5's own shutdown (at MPI_Finalize or exit) would close it again and crash or
    // loop. Remember it.
    if (!fine) abandoned_files().store(true);
    id_ = -1;
    return fine;
  }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

/// Turns HDF5's automatic error printing off for the lifetime of the object (restores it after).
/// How many HDF5 calls have failed under a QuietHdf5 (in this process).
inline std::atomic<long>& hdf5_failures() {
  static std::atomic<long> count{0};
  return count;
}

class QuietHdf5 {
 public:
  QuietHdf5() {
    H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
    // Instead of printing HDF5's error stack: count the failure (see hdf5_failures).
    H5Eset_auto2(
        H5E_DEFAULT, [](hid_t, void*) -> herr_t { return ++hdf5_failures(), 0; }, nullptr);
  }
  QuietHdf5(const QuietHdf5&) = delete;
  QuietHdf5& operator=(const QuietHdf5&) = delete;
  ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }

 private:
  H5E_auto2_t function_ = nullptr;
  void* data_ = nullptr;
};

/// " (HDF5: <innermost error description>)" for the last failed HDF5 call, or "".
inline std::string hdf5_detail() {
  std::string innermost;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* error, void* data) -> herr_t {
        if (n == 0 && error && error->desc) *static_cast<std::string*>(data) = error->desc;
        return 0;
      },
      &innermost);
  // One line: MPI error strings carry their own newlines.
  std::string line;
  for (char ch : innermost) {
    if (ch == '\n' || ch == '\r') {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      if (!line.empty()) line += "; ";
    } else if (ch != ' ' || (!line.empty() && line.back() != ' ')) {
      line += ch;
    }
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == ';')) line.pop_back();
  return line.empty() ? std::string() : " (HDF5: " + line + ")";
}

/// `id` when >= 0; otherwise RuntimeError(`what` + HDF5's detail).
inline hid_t check_id(hid_t id, const std::string& what) {
  if (id < 0) throw RuntimeError(what + hdf5_detail());
  return id;
}
inline void check_status(herr_t status, const std::string& what) {
  if (status < 0) throw RuntimeError(what + hdf5_detail());
}

inline int comm_rank(MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  return rank;
}

/// Runs `step` on every rank of `comm`. When it throws on some ranks, every rank throws the error
/// of the lowest failing rank (InputError, RuntimeError or std::logic_error, same message), so all
/// ranks leave together. Costs one allreduce (plus a broadcast on failure).
template <class Step>
void on_every_rank(MPI_Comm comm, Step&& step) {
  int kind = 0;  // 0 fine, 1 InputError, 2 RuntimeError, 3 logic_error
  std::string message;
  try {
    step();
  } catch (const InputError& e) {
    kind = 1, message = e.what();
  } catch (const RuntimeError& e) {
    kind = 2, message = e.what();
  } catch (const std::logic_error& e) {
    kind = 3, message = e.what();
  } catch (const std::exception& e) {
    kind = 2, message = e.what();
  }
  const int rank = comm_rank(comm);
  int mine = kind ? rank : INT_MAX, first = INT_MAX;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == INT_MAX) return;
  long long length = static_cast<long long>(message.size());
  int head[2] = {kind, 0};
  MPI_Bcast(head, 2, MPI_INT, first, comm);
  MPI_Bcast(&length, 1, MPI_LONG_LONG, first, comm);
  message.resize(static_cast<std::size_t>(length));
  MPI_Bcast(message.data(), static_cast<int>(length), MPI_CHAR, first, comm);
  if (head[0] == 1) throw InputError(message);
  if (head[0] == 3) throw std::logic_error(message);
  throw RuntimeError(message);
}

/// What is at `path`, looked at by rank 0 and broadcast: 0 nothing, 1 a regular file, 2 a
/// directory, 3 something else (or unknown).
/// What `path` is, in this process: 0 missing, 1 regular file, 2 directory, 3 anything else.
inline int path_kind(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) return 0;
  if (ec) return 3;
  if (std::filesystem::is_regular_file(status)) return 1;
  if (std::filesystem::is_directory(status)) return 2;
  return 3;
}

/// path_kind on rank 0, broadcast.
inline int path_kind_on_rank0(const std::string& path, MPI_Comm comm) {
  int kind = comm_rank(comm) == 0 ? path_kind(path) : 0;
  MPI_Bcast(&kind, 1, MPI_INT, 0, comm);
  return kind;
}

/// File access property list for MPI-IO on `comm`.
inline H5Id mpio_fapl(MPI_Comm comm) {
  H5Id fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "cannot create an HDF5 file access property list"), H5Pclose);
  check_status(H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL), "cannot select HDF5's MPI-IO driver");
  return fapl;
}

/// Collective transfer property list.
inline H5Id collective_dxpl() {
  H5Id dxpl(check_id(H5Pcreate(H5P_DATASET_XFER), "cannot create an HDF5 transfer property list"), H5Pclose);
  check_status(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), "cannot select collective HDF5 transfers");
  return dxpl;
}

// ------------------------------------------------------------------------------------------------
// Attributes
// ------------------------------------------------------------------------------------------------

/// How string attributes are stored. Variable-length strings live in HDF5's global heap, which
/// has no checksums: a corrupted heap can crash the reader inside H5Aread. Fixed-length strings
/// live in the attribute message itself, which files with the latest format (see
/// `checksummed_fapl`) protect with a checksum: corruption becomes a clean read error.
enum class StringStorage { variable, fixed };

/// UTF-8 string type: variable length, or fixed at `fixed_size` bytes (null-padded).
inline H5Id utf8_string_type(StringStorage storage = StringStorage::variable, std::size_t fixed_size = 1) {
  H5Id type(check_id(H5Tcopy(H5T_C_S1), "cannot create an HDF5 string type"), H5Tclose);
  check_status(H5Tset_size(type.get(), storage == StringStorage::variable ? H5T_VARIABLE : std::max<std::size_t>(1, fixed_size)),
               "cannot create an HDF5 string type");
  if (storage == StringStorage::fixed) check_status(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "cannot create an HDF5 string type");
  check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "cannot create an HDF5 string type");
  return type;
}

/// Latest file format (object headers, superblock and heaps of version 2, all checksummed), so
/// that HDF5 itself detects corrupted metadata when the file is read back.
inline void use_checksummed_metadata(hid_t fapl) {
  check_status(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST),
               "cannot select HDF5's latest file format");
}

inline void delete_attribute_if_present(hid_t object, const std::string& name, const std::string& where) {
  const htri_t exists = H5Aexists(object, name.c_str());
  check_status(exists < 0 ? -1 : 0, where + ": cannot look up attribute '" + name + "'");
  if (exists > 0) check_status(H5Adelete(object, name.c_str()), where + ": cannot replace attribute '" + name + "'");
}

/// Writes (replacing) a scalar variable-length UTF-8 string attribute. Collective in a parallel
/// file: every rank passes the same value.
inline void write_text_attribute(hid_t object, const std::string& name, const std::string& value,
                                 const std::string& where, StringStorage storage = StringStorage::variable) {
  delete_attribute_if_present(object, name, where);
  const std::string what = where + ": cannot write attribute '" + name + "'";
  H5Id type = utf8_string_type(storage, value.size());
  H5Id space(check_id(H5Screate(H5S_SCALAR), what), H5Sclose);
  H5Id attribute(check_id(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what),
                 H5Aclose);
  if (storage == StringStorage::fixed) {
    std::string padded = value;
    padded.resize(std::max<std::size_t>(1, value.size()), '\0');
    check_status(H5Awrite(attribute.get(), type.get(), padded.data()), what);
    return;
  }
  const char* text = value.c_str();
  check_status(H5Awrite(attribute.get(), type.get(), &text), what);
}

/// Writes (replacing) a 1-D attribute of UTF-8 strings.
inline void write_text_list_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values,
                                      const std::string& where, StringStorage storage = StringStorage::variable) {
  delete_attribute_if_present(object, name, where);
  const std::string what = where + ": cannot write attribute '" + name + "'";
  std::size_t longest = 1;
  for (const auto& v : values) longest = std::max(longest, v.size());
  H5Id type = utf8_string_type(storage, longest);
  const hsize_t n = values.size();
  H5Id space(check_id(n ? H5Screate_simple(1, &n, nullptr) : H5Screate(H5S_NULL), what), H5Sclose);
  H5Id attribute(check_id(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what),
                 H5Aclose);
  if (!n) return;
  if (storage == StringStorage::fixed) {
    std::string packed(n * longest, '\0');
    for (std::size_t i = 0; i < n; ++i) packed.replace(i * longest, values[i].size(), values[i]);
    check_status(H5Awrite(attribute.get(), type.get(), packed.data()), what);
    return;
  }
  std::vector<const char*> texts;
  for (const auto& v : values) texts.push_back(v.c_str());
  check_status(H5Awrite(attribute.get(), type.get(), texts.data()), what);
}

/// Writes (replacing) a scalar int64 attribute.
inline void write_integer_attribute(hid_t object, const std::string& name, std::int64_t value,
                                    const std::string& where) {
  delete_attribute_if_present(object, name, where);
  const std::string what = where + ": cannot write attribute '" + name + "'";
  H5Id space(check_id(H5Screate(H5S_SCALAR), what), H5Sclose);
  H5Id attribute(check_id(H5Acreate2(object, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), what),
                 H5Aclose);
  check_status(H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value), what);
}

/// The strings of an open string attribute (scalar: one entry), fixed or variable length.
inline std::vector<std::string> read_strings(hid_t attribute, const std::string& what) {
  H5Id file_type(check_id(H5Aget_type(attribute), what), H5Tclose);
  if (H5Tget_class(file_type.get()) != H5T_STRING) throw InputError(what + " is not a string");
  H5Id space(check_id(H5Aget_space(attribute), what), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0) throw RuntimeError(what + hdf5_detail());
  std::vector<std::string> out;
  if (count == 0 || H5Sget_simple_extent_type(space.get()) == H5S_NULL) return out;
  const auto n = static_cast<std::size_t>(count);
  const htri_t variable = H5Tis_variable_str(file_type.get());
  if (variable < 0) throw RuntimeError(what + hdf5_detail());
  H5Id memory_type(check_id(H5Tcopy(H5T_C_S1), what), H5Tclose);
  H5Tset_cset(memory_type.get(), H5Tget_cset(file_type.get()));
  if (variable > 0) {
    check_status(H5Tset_size(memory_type.get(), H5T_VARIABLE), what);
    std::vector<char*> texts(n, nullptr);
    check_status(H5Aread(attribute, memory_type.get(), texts.data()), what);
    for (char* t : texts) {
      out.emplace_back(t ? t : "");
      if (t) H5free_memory(t);
    }
  } else {
    const std::size_t size = H5Tget_size(file_type.get());
    check_status(H5Tset_size(memory_type.get(), size), what);
    H5Tset_strpad(memory_type.get(), H5T_STR_NULLPAD);
    std::vector<char> buffer(n * size + 1, '\0');
    check_status(H5Aread(attribute, memory_type.get(), buffer.data()), what);
    for (std::size_t i = 0; i < n; ++i) {
      const char* begin = buffer.data() + i * size;
      out.emplace_back(begin, std::find(begin, begin + size, '\0'));
    }
  }
  return out;
}

/// Reads every scalar string and integer attribute of `object` (in name order), skipping the
/// names in `skip`; attributes of other types are ignored.
inline FileAttributes read_attributes(hid_t object, const std::set<std::string>& skip, const std::string& where) {
  struct Context {
    FileAttributes out;
    const std::set<std::string>* skip;
    std::string where;
    std::string error;
  } context{{}, &skip, where, {}};
  const herr_t status = H5Aiterate2(
      object, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t location, const char* name, const H5A_info_t*, void* data) -> herr_t {
        auto& c = *static_cast<Context*>(data);
        if (c.skip->count(name)) return 0;
        try {
          const std::string what = c.where + ": attribute '" + std::string(name) + "'";
          H5Id attribute(check_id(H5Aopen(location, name, H5P_DEFAULT), what + " cannot be opened"), H5Aclose);
          H5Id type(check_id(H5Aget_type(attribute.get()), what), H5Tclose);
          H5Id space(check_id(H5Aget_space(attribute.get()), what), H5Sclose);
          if (H5Sget_simple_extent_type(space.get()) != H5S_SCALAR) return 0;
          const H5T_class_t type_class = H5Tget_class(type.get());
          if (type_class == H5T_STRING) {
            auto texts = read_strings(attribute.get(), what);
            c.out.text[name] = texts.empty() ? std::string() : texts.front();
          } else if (type_class == H5T_INTEGER) {
            std::int64_t value = 0;
            check_status(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), what + " cannot be read as int64");
            c.out.integers[name] = value;
          }
          return 0;
        } catch (const std::exception& e) {
          c.error = e.what();
          return -1;
        }
      },
      &context);
  if (!context.error.empty()) throw RuntimeError(context.error);
  check_status(status, where + ": cannot list the attributes");
  return context.out;
}

/// The scalar string attribute `name` of `object`, or nothing when it is absent or not a string.
inline bool read_text_attribute(hid_t object, const std::string& name, std::string& value, const std::string& where) {
  if (H5Aexists(object, name.c_str()) <= 0) return false;
  H5Id attribute(check_id(H5Aopen(object, name.c_str(), H5P_DEFAULT), where + ": cannot open attribute " + name),
                 H5Aclose);
  H5Id type(check_id(H5Aget_type(attribute.get()), where), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) return false;
  auto texts = read_strings(attribute.get(), where + ": attribute '" + name + "'");
  if (texts.size() != 1) return false;
  value = texts.front();
  return true;
}

/// The scalar integer attribute `name` of `object`, or nothing when it is absent or not an integer.
inline bool read_integer_attribute(hid_t object, const std::string& name, std::int64_t& value,
                                   const std::string& where) {
  if (H5Aexists(object, name.c_str()) <= 0) return false;
  H5Id attribute(check_id(H5Aopen(object, name.c_str(), H5P_DEFAULT), where + ": cannot open attribute " + name),
                 H5Aclose);
  H5Id type(check_id(H5Aget_type(attribute.get()), where), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_INTEGER) return false;
  return H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) >= 0;
}

/// Writes the given root attributes, except the `reserved` names (set by the caller from their
/// dedicated arguments). A name that is both a text and an integer attribute is a caller bug.
inline void write_file_attributes(hid_t object, const FileAttributes& attributes, const std::set<std::string>& reserved,
                                  const std::string& where, StringStorage storage = StringStorage::variable) {
  for (const auto& [name, value] : attributes.text) {
    if (attributes.integers.count(name))
      throw std::logic_error(where + ": attribute '" + name + "' is given both as text and as an integer");
    if (name.empty()) throw std::logic_error(where + ": an attribute name is empty");
    if (!reserved.count(name)) write_text_attribute(object, name, value, where, storage);
  }
  for (const auto& [name, value] : attributes.integers) {
    if (name.empty()) throw std::logic_error(where + ": an attribute name is empty");
    if (!reserved.count(name)) write_integer_attribute(object, name, value, where);
  }
}

// ------------------------------------------------------------------------------------------------
// Datasets
// ------------------------------------------------------------------------------------------------

/// The dimensions of an open dataset.
inline std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& what) {
  H5Id space(check_id(H5Dget_space(dataset), what), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw RuntimeError(what + hdf5_detail());
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank), 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

inline std::string shape_text(const std::vector<hsize_t>& dims) {
  if (dims.empty()) return "a scalar";
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

/// Host matrix type for transfers (LayoutLeft like AgentMatrix).
using HostMatrix = Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace>;

/// At most this many doubles per rank go into one HDF5 call (MPI-IO counts are `int`, and the
/// row-major staging buffer stays bounded).
inline constexpr std::size_t transfer_piece_doubles = std::size_t{1} << 25;  // 256 MiB

/// Collective: this rank's rows [first, first + count) x dimension of `dataset` (dims [agents,
/// dimension], or [n, agents, dimension] at leading index `lead` when `lead` >= 0), written from
/// or read into `host` (count x dimension, LayoutLeft), row-major in the file. Done in pieces;
/// ranks with fewer pieces (or no rows) select nothing. Errors are agreed over `comm`.
inline void transfer_rows(bool write, MPI_Comm comm, hid_t dataset, hid_t dxpl, long long lead, int first, int count,
                          int dimension, const HostMatrix& host, const std::string& what) {
  const std::size_t d = static_cast<std::size_t>(dimension);
  const std::size_t rows_per_piece = std::max<std::size_t>(1, transfer_piece_doubles / std::max<std::size_t>(1, d));
  long long pieces_here =
      count > 0 ? static_cast<long long>((static_cast<std::size_t>(count) + rows_per_piece - 1) / rows_per_piece) : 0;
  long long pieces = 0;
  MPI_Allreduce(&pieces_here, &pieces, 1, MPI_LONG_LONG, MPI_MAX, comm);
  std::vector<double> buffer;
  for (long long p = 0; p < pieces; ++p) {
    on_every_rank(comm, [&] {
      const std::size_t row0 = static_cast<std::size_t>(p) * rows_per_piece;
      const std::size_t rows =
          row0 < static_cast<std::size_t>(count) ? std::min(rows_per_piece, static_cast<std::size_t>(count) - row0) : 0;
      H5Id file_space(check_id(H5Dget_space(dataset), what), H5Sclose);
      const hsize_t elements = std::max<hsize_t>(1, rows * d);
      H5Id memory_space(check_id(H5Screate_simple(1, &elements, nullptr), what), H5Sclose);
      double dummy = 0.0;
      double* data = &dummy;
      if (rows > 0) {
        buffer.resize(rows * d);
        data = buffer.data();
        if (lead >= 0) {
          const hsize_t start[3] = {static_cast<hsize_t>(lead), static_cast<hsize_t>(first) + row0, 0};
          const hsize_t extent[3] = {1, rows, d};
          check_status(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr), what);
        } else {
          const hsize_t start[2] = {static_cast<hsize_t>(first) + row0, 0};
          const hsize_t extent[2] = {rows, d};
          check_status(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr), what);
        }
        if (write)
          for (std::size_t c = 0; c < d; ++c)
            for (std::size_t r = 0; r < rows; ++r) buffer[r * d + c] = host(row0 + r, c);
      } else {
        check_status(H5Sselect_none(file_space.get()), what);
        check_status(H5Sselect_none(memory_space.get()), what);
      }
      if (write)
        check_status(H5Dwrite(dataset, H5T_NATIVE_DOUBLE, memory_space.get(), file_space.get(), dxpl, data), what);
      else
        check_status(H5Dread(dataset, H5T_NATIVE_DOUBLE, memory_space.get(), file_space.get(), dxpl, data), what);
      if (!write)
        for (std::size_t c = 0; c < d; ++c)
          for (std::size_t r = 0; r < rows; ++r) host(row0 + r, c) = buffer[r * d + c];
    });
  }
}

// ------------------------------------------------------------------------------------------------
// Opening files
// ------------------------------------------------------------------------------------------------

/// Why `path` cannot be a Concord file of kind `noun` ("trajectory", "checkpoint"), from the path
/// kind (see path_kind_on_rank0) and whether it is HDF5; empty when it may be one.
inline std::string unusable_file(const std::string& path, const std::string& noun, int kind, bool hdf5) {
  if (kind == 0) return fmt::format("{} file '{}' does not exist", noun, path);
  if (kind == 2) return fmt::format("{} file '{}' is a directory, not a file", noun, path);
  if (kind != 1) return fmt::format("{} file '{}' is not a regular file", noun, path);
  if (!hdf5) return fmt::format("{} file '{}' is not an HDF5 file, so not a Concord {}", noun, path, noun);
  return {};
}

/// Opens `path` read-only in this process alone (H5P_DEFAULT driver). InputError naming the file
/// when it is missing, not HDF5 or cannot be opened.
inline H5Id open_serial(const std::string& path, const std::string& noun) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  int kind = 3;
  if (status.type() == std::filesystem::file_type::not_found)
    kind = 0;
  else if (!ec && std::filesystem::is_regular_file(status))
    kind = 1;
  else if (!ec && std::filesystem::is_directory(status))
    kind = 2;
  const std::string problem = unusable_file(path, noun, kind, kind == 1 && H5Fis_hdf5(path.c_str()) > 0);
  if (!problem.empty()) throw InputError(problem);
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok())
    throw InputError(fmt::format("{} file '{}' cannot be opened: it is damaged or truncated, or not readable{}", noun,
                                 path, hdf5_detail()));
  return file;
}

/// Collective: opens `path` with MPI-IO on `comm` (`flags`: H5F_ACC_RDONLY or H5F_ACC_RDWR). The
/// checks run on rank 0 and are broadcast; InputError on every rank when the file is unusable.
inline H5Id open_parallel(const std::string& path, MPI_Comm comm, unsigned flags, const std::string& noun) {
  int state[2] = {path_kind_on_rank0(path, comm), 0};
  if (comm_rank(comm) == 0 && state[0] == 1) state[1] = H5Fis_hdf5(path.c_str()) > 0;
  MPI_Bcast(state, 2, MPI_INT, 0, comm);
  const std::string problem = unusable_file(path, noun, state[0], state[1] != 0);
  if (!problem.empty()) throw InputError(problem);
  H5Id file;
  on_every_rank(comm, [&] {
    H5Id fapl = mpio_fapl(comm);
    file = H5Id(H5Fopen(path.c_str(), flags, fapl.get()), H5Fclose);
    if (!file.ok())
      throw InputError(fmt::format("{} file '{}' cannot be opened{}: it is damaged or truncated, or not {}{}", noun, path,
                                   flags == H5F_ACC_RDWR ? " for writing" : "",
                                   flags == H5F_ACC_RDWR ? "writable" : "readable", hdf5_detail()));
  });
  return file;
}

/// InputError unless the root attribute `format` of `file` is `expected`.
inline void require_format(hid_t file, const std::string& path, const std::string& noun, const std::string& expected) {
  std::string format;
  if (!read_text_attribute(file, "format", format, fmt::format("{} file '{}'", noun, path)))
    throw InputError(fmt::format("{} file '{}' is not a Concord {}: it has no root attribute 'format' (expected '{}')",
                                 noun, path, noun, expected));
  if (format != expected)
    throw InputError(fmt::format("{} file '{}' is not a Concord {}: its root attribute 'format' is '{}', expected '{}'",
                                 noun, path, noun, format, expected));
}

}  // namespace concord::io::detail
