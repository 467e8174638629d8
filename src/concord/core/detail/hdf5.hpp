#pragma once
/// \file hdf5.hpp
/// Concord's one HDF5 layer: private to the library (never installed: cmake/ConcordPackaging.cmake
/// leaves every detail/ directory out, and no public header includes this one, since it pulls in
/// hdf5.h). Used by data/readers.cpp, topology/user_matrix.cpp, io/trajectory.cpp and
/// io/checkpoint.cpp; it lives in core so that data and topology (below io) may use it.
///
/// Why hand-written RAII over the HDF5 C API rather than HighFive (`libhighfive-dev`):
///  - Debian 12, the distribution scripts/setup-deps.sh installs from, has no libhighfive-dev
///    package (`apt-cache policy libhighfive-dev` finds none); vendoring it would be a new
///    dependency for what is ~600 lines here.
///  - HighFive does speak parallel HDF5 (MPIOFileAccess, collective transfer properties), so that
///    is no reason either way; but its handles are reference-counted copies that drop HDF5's
///    result when they close. The io layer must *know* when a close failed (disk full: the
///    ENOSPC runs of tests/io/test_faults.py): HDF5 then keeps a half-destroyed file registered
///    and its own shutdown at MPI_Finalize would crash, so `Handle::reset` reports the failure
///    and records it (`abandoned_files`, io::hdf5_shutdown_unsafe). The fault-injection and fuzz
///    tests also compare our one-line messages (the file, the object, HDF5's innermost error),
///    which HighFive's exceptions (the whole error stack) would change.
///
/// What is here (namespace concord::detail::hdf5); nothing here calls MPI (core sits below
/// comm): the collective coordination (agreeing on errors, broadcasting what rank 0 saw) is the
/// caller's, with comm::on_every_rank and friends (see io/hdf5_support.hpp).
///  - `Handle`: move-only RAII for one HDF5 id. Closing a dataset or a file opened with MPI-IO is
///    collective, so every rank must hold and drop the same handles.
///  - `Quiet`: turns off HDF5's automatic error-stack printing for a scope; our errors name the
///    file and the object and say what failed, with HDF5's innermost message appended
///    (`error_detail`); `check_id` / `check_status` throw concord::RuntimeError that way.
///  - opening files (`open_serial`, `open_parallel_file`, `require_format`), property lists for
///    MPI-IO (`mpio_fapl`, `collective_dxpl`);
///  - string (fixed or variable-length UTF-8) and int64 attributes;
///  - datasets: `dataset_dims`, `shape_text`, and `transfer_row_piece`, one rank's part of a
///    collective row transfer (io/hdf5_support.hpp's transfer_rows runs the pieces collectively).
#include <hdf5.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace concord::detail::hdf5 {

/// The HDF5 library's version and flavour, e.g. "1.10.8 (parallel)" (for `concord --version`).
std::string library_version();

// ------------------------------------------------------------------------------------------------
// Handles and errors
// ------------------------------------------------------------------------------------------------

/// Set once HDF5 could not close an object (see Handle::reset and io::hdf5_shutdown_unsafe).
std::atomic<bool>& abandoned_files();

/// RAII for one HDF5 id: closed by `close` (H5Fclose, H5Dclose, ...) when destroyed or reset.
/// Move-only: an id has exactly one owner, so it is closed exactly once.
class Handle {
 public:
  Handle() = default;
  /// Takes `id` (which may be negative: an HDF5 failure, `ok()` is then false).
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      close_ = other.close_;
      other.id_ = -1;
    }
    return *this;
  }
  ~Handle() { reset(); }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  /// Closes now; returns false when HDF5 reported an error doing so. A failed close (disk full,
  /// an I/O error, a damaged file) leaves a half-destroyed object registered: HDF5's own shutdown
  /// (at MPI_Finalize or exit) would close it again and crash or loop, so it is remembered in
  /// `abandoned_files`.
  bool reset() noexcept;

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

/// How many HDF5 calls have failed under a `Quiet` (in this process).
std::atomic<long>& failures();

/// Turns HDF5's automatic error printing off for the lifetime of the object (restores it after);
/// instead, each failure is counted (see `failures`).
class Quiet {
 public:
  Quiet();
  Quiet(const Quiet&) = delete;
  Quiet& operator=(const Quiet&) = delete;
  ~Quiet();

 private:
  H5E_auto2_t function_ = nullptr;
  void* data_ = nullptr;
};

/// " (HDF5: <innermost error description>)" for the last failed HDF5 call, on one line; or "".
std::string error_detail();

/// `id` when >= 0; otherwise RuntimeError(`what` + error_detail()).
hid_t check_id(hid_t id, const std::string& what);
/// Nothing when `status` >= 0; otherwise RuntimeError(`what` + error_detail()).
void check_status(herr_t status, const std::string& what);

// ------------------------------------------------------------------------------------------------
// Files and property lists
// ------------------------------------------------------------------------------------------------

/// What `path` is, in this process: 0 missing, 1 regular file, 2 directory, 3 anything else (or
/// it cannot be inspected).
int path_kind(const std::string& path);

/// Why `path` cannot be a Concord file of kind `noun` ("trajectory", "checkpoint"), from its
/// path_kind and whether it is HDF5; empty when it may be one.
std::string unusable_file(const std::string& path, const std::string& noun, int kind, bool hdf5);

/// Opens `path` read-only in this process alone (the default driver). InputError naming the file
/// when it is missing, not HDF5 or cannot be opened.
Handle open_serial(const std::string& path, const std::string& noun);

/// Collective over `comm` (HDF5's, not an MPI call of ours): H5Fopen of `path` with MPI-IO and
/// `flags` (H5F_ACC_RDONLY or H5F_ACC_RDWR). InputError naming the file when it fails.
Handle open_parallel_file(const std::string& path, MPI_Comm comm, unsigned flags, const std::string& noun);

/// InputError unless the root attribute `format` of `file` is `expected`.
void require_format(hid_t file, const std::string& path, const std::string& noun, const std::string& expected);

/// File access property list for MPI-IO on `comm`.
Handle mpio_fapl(MPI_Comm comm);
/// Collective transfer property list.
Handle collective_dxpl();
/// Latest file format (object headers, superblock and heaps of version 2, all checksummed), so
/// that HDF5 itself detects corrupted metadata when the file is read back.
void use_checksummed_metadata(hid_t fapl);

// ------------------------------------------------------------------------------------------------
// Attributes. `where` names the file (and object) in error messages.
// ------------------------------------------------------------------------------------------------

/// How string attributes are stored. Variable-length strings live in HDF5's global heap, which
/// has no checksums: a corrupted heap can crash the reader inside H5Aread. Fixed-length strings
/// live in the attribute message itself, which files with the latest format (see
/// `use_checksummed_metadata`) protect with a checksum: corruption becomes a clean read error.
enum class StringStorage { variable, fixed };

/// UTF-8 string type: variable length, or fixed at `fixed_size` bytes (null-padded).
Handle utf8_string_type(StringStorage storage = StringStorage::variable, std::size_t fixed_size = 1);

void delete_attribute_if_present(hid_t object, const std::string& name, const std::string& where);

/// Writes (replacing) a scalar UTF-8 string attribute. Collective in a parallel file: every rank
/// passes the same value.
void write_text_attribute(hid_t object, const std::string& name, const std::string& value, const std::string& where,
                          StringStorage storage = StringStorage::variable);
/// Writes (replacing) a 1-D attribute of UTF-8 strings.
void write_text_list_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values,
                               const std::string& where, StringStorage storage = StringStorage::variable);
/// Writes (replacing) a scalar int64 attribute.
void write_integer_attribute(hid_t object, const std::string& name, std::int64_t value, const std::string& where);

/// The strings of an open string attribute (scalar: one entry), fixed or variable length.
std::vector<std::string> read_strings(hid_t attribute, const std::string& what);

/// Scalar string and integer attributes by name (io::FileAttributes holds the same two maps).
struct Attributes {
  std::map<std::string, std::string> text;
  std::map<std::string, std::int64_t> integers;
};

/// Reads every scalar string and integer attribute of `object` (in name order), skipping the
/// names in `skip`; attributes of other types are ignored.
Attributes read_attributes(hid_t object, const std::set<std::string>& skip, const std::string& where);

/// The scalar string attribute `name` of `object`; false when it is absent or not a string.
bool read_text_attribute(hid_t object, const std::string& name, std::string& value, const std::string& where);
/// The scalar integer attribute `name` of `object`; false when it is absent or not an integer.
bool read_integer_attribute(hid_t object, const std::string& name, std::int64_t& value, const std::string& where);

/// Writes the given attributes, except the `reserved` names (set by the caller from their
/// dedicated arguments). A name that is both a text and an integer attribute, or an empty name,
/// is a caller bug (std::logic_error).
void write_attributes(hid_t object, const std::map<std::string, std::string>& text,
                      const std::map<std::string, std::int64_t>& integers, const std::set<std::string>& reserved,
                      const std::string& where, StringStorage storage = StringStorage::variable);

// ------------------------------------------------------------------------------------------------
// Datasets
// ------------------------------------------------------------------------------------------------

/// The dimensions of an open dataset.
std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& what);

/// "a scalar", "5", "3 x 4".
std::string shape_text(const std::vector<hsize_t>& dims);

/// Host matrix type for transfers (LayoutLeft like AgentMatrix).
using HostMatrix = Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace>;

/// At most this many doubles per rank go into one HDF5 call (MPI-IO counts are `int`, and the
/// row-major staging buffer stays bounded).
inline constexpr std::size_t transfer_piece_doubles = std::size_t{1} << 25;  // 256 MiB

/// Rows of a `dimension`-wide matrix per transfer piece (>= 1).
std::size_t rows_per_piece(int dimension);
/// How many pieces this rank's `count` rows of width `dimension` take (0 for no rows).
long long row_pieces(int count, int dimension);

/// One rank's part of piece `piece` of a collective row transfer (every rank calls it for every
/// piece, with `dxpl` collective): rows [first + row0, first + row0 + rows) of `dataset` (dims
/// [agents, dimension], or [n, agents, dimension] at leading index `lead` when `lead` >= 0), where
/// row0 = piece * rows_per_piece(dimension) and rows what is left of `count`, written from or read
/// into `host` (count x dimension, LayoutLeft), row-major in the file. A rank past its rows
/// selects nothing. `buffer` is reused staging space. RuntimeError(`what` + HDF5's detail).
void transfer_row_piece(bool write, hid_t dataset, hid_t dxpl, long long lead, int first, int count, int dimension,
                        long long piece, const HostMatrix& host, std::vector<double>& buffer, const std::string& what);

}  // namespace concord::detail::hdf5
