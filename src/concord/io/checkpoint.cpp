#include "concord/io/checkpoint.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <hdf5.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>

#include "concord/comm/communicator.hpp"
#include "concord/core/detail/hdf5.hpp"
#include "concord/core/error.hpp"
#include "concord/core/random.hpp"
#include "concord/io/hdf5_support.hpp"

namespace concord::io {
namespace {

namespace hdf5 = concord::detail::hdf5;
using hdf5::check_id;
using hdf5::check_status;
using hdf5::Handle;

constexpr const char* checkpoint_format = "concord-checkpoint 1";
/// Root attributes set from the header's own fields; entries of header.attributes with these
/// names are ignored on write and not returned by read_checkpoint_header.
const std::set<std::string> reserved_attributes = {"format", "iteration", "agents", "dimension", "checksum"};
/// Text attributes are fixed-length strings in checksummed metadata (StringStorage::fixed).
constexpr auto strings = hdf5::StringStorage::fixed;

// ---------------------------------------------------------------------------------------------
// Checksums: one per state matrix (attribute `checksum` of /state/<name>) and one of the whole
// header (root attribute `checksum`: the reserved fields, every attribute, the state names and
// their checksums). Both are independent of the number of ranks that wrote or read the file.
// ---------------------------------------------------------------------------------------------
std::uint64_t hash_bytes(std::uint64_t h, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  h = mix64(h ^ size);
  for (std::size_t i = 0; i < size; ++i) h = (h ^ bytes[i]) * 0x100000001b3ULL;  // FNV-1a
  return mix64(h);
}
std::uint64_t hash_text(std::uint64_t h, const std::string& text) { return hash_bytes(h, text.data(), text.size()); }
std::uint64_t hash_integer(std::uint64_t h, std::int64_t value) { return hash_bytes(h, &value, sizeof(value)); }

/// Collective: the checksum of a state matrix, from each rank's rows (global row `first + r`):
/// a sum over rows (mod 2^64) of a hash of the row's bits keyed by the global row, so the same
/// for any split of the rows over ranks. Also counts the entries that are not finite.
std::pair<std::uint64_t, long long> state_checksum(MPI_Comm comm, int first, int count, int dimension,
                                                   const hdf5::HostMatrix& host) {
  std::uint64_t local = 0;
  long long nonfinite = 0;
  for (int r = 0; r < count; ++r) {
    std::uint64_t h = mix64(static_cast<std::uint64_t>(first + r) + 1);
    for (int c = 0; c < dimension; ++c) {
      const double x = host(r, c);
      std::uint64_t bits = 0;
      std::memcpy(&bits, &x, sizeof(bits));
      h = mix64(h ^ bits);
      nonfinite += std::isfinite(x) ? 0 : 1;
    }
    local += h;
  }
  return {comm::allreduce_sum(local, comm), comm::allreduce_sum(nonfinite, comm)};
}

std::uint64_t header_checksum(const CheckpointHeader& h, const std::vector<std::int64_t>& state_checksums) {
  std::uint64_t x = hash_text(0x636f6e636f726431ULL, checkpoint_format);
  x = hash_integer(x, h.iteration);
  x = hash_integer(x, h.agents);
  x = hash_integer(x, h.dimension);
  for (const auto& [name, value] : h.attributes.text)
    if (!reserved_attributes.count(name)) x = hash_text(hash_text(x, name), value);
  for (const auto& [name, value] : h.attributes.integers)
    if (!reserved_attributes.count(name)) x = hash_integer(hash_text(x, name), value);
  for (std::size_t i = 0; i < h.state.size(); ++i) x = hash_integer(hash_text(x, h.state[i]), state_checksums.at(i));
  for (const auto& column : h.record_columns) x = hash_text(x, column);
  x = hash_bytes(x, h.record_iteration.data(), h.record_iteration.size() * sizeof(std::int64_t));
  x = hash_bytes(x, h.record_values.data(), h.record_values.size() * sizeof(double));
  return x;
}

std::int64_t as_attribute(std::uint64_t checksum) {
  std::int64_t value = 0;
  std::memcpy(&value, &checksum, sizeof(value));
  return value;
}

std::string where(const std::string& path) { return fmt::format("checkpoint file '{}'", path); }

void validate_state_names(const std::vector<std::pair<std::string, AgentMatrix>>& state, const char* function) {
  std::set<std::string> seen;
  for (const auto& [name, x] : state) {
    if (name.empty() || name == "." || name.find('/') != std::string::npos)
      throw std::logic_error(
          fmt::format("concord::io::{}: invalid state name '{}' (non-empty, without '/')", function, name));
    if (!seen.insert(name).second)
      throw std::logic_error(fmt::format("concord::io::{}: state '{}' is given twice", function, name));
  }
}

std::string errno_text(int error) { return std::strerror(error); }

/// Rank 0: makes `tmp` durable and renames it over `path`, then makes the rename durable.
void commit(const std::string& tmp, const std::string& path) {
  const int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd < 0)
    throw RuntimeError(fmt::format("{}: cannot reopen '{}' to sync it: {}", where(path), tmp, errno_text(errno)));
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    throw RuntimeError(fmt::format("{}: cannot sync '{}' to disk: {}", where(path), tmp, errno_text(error)));
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw RuntimeError(fmt::format("{}: cannot rename '{}' over it: {}", where(path), tmp, errno_text(errno)));
  // The rename lives in the directory: sync it too (best effort; not every file system allows it).
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  const int dfd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

/// Collective: /records (the same values on every rank; rank 0 writes them).
void write_records(hid_t file, hid_t dxpl, MPI_Comm comm, const CheckpointHeader& header, const std::string& place) {
  const std::size_t records = header.record_iteration.size(), columns = header.record_columns.size();
  if (header.record_values.size() != records * columns)
    throw std::logic_error(fmt::format("concord::io::write_checkpoint: {} record values for {} records x {} columns",
                                       header.record_values.size(), records, columns));
  if (records == 0 || columns == 0) return;
  const bool root = comm::rank(comm) == 0;
  const std::string what = place + ": cannot write /records";
  Handle group;
  comm::on_every_rank(comm, [&] {
    group = Handle(check_id(H5Gcreate2(file, "records", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), what), H5Gclose);
    hdf5::write_text_list_attribute(group.get(), "columns", header.record_columns, place, strings);
  });
  auto write = [&](const char* name, hid_t file_type, hid_t memory_type, int rank, const hsize_t* dims, const void* data) {
    comm::on_every_rank(comm, [&] {
      Handle space(check_id(H5Screate_simple(rank, dims, nullptr), what), H5Sclose);
      Handle dataset(check_id(H5Dcreate2(group.get(), name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                              what),
                     H5Dclose);
      Handle memory(check_id(H5Screate_simple(rank, dims, nullptr), what), H5Sclose);
      if (!root) {
        check_status(H5Sselect_none(space.get()), what);
        check_status(H5Sselect_none(memory.get()), what);
      }
      check_status(H5Dwrite(dataset.get(), memory_type, memory.get(), space.get(), dxpl, data), what);
    });
  };
  const hsize_t iteration_dims[1] = {records}, value_dims[2] = {records, columns};
  write("iteration", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, iteration_dims, header.record_iteration.data());
  write("values", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, value_dims, header.record_values.data());
}

/// Serial: /records into `header` (nothing when absent). InputError when malformed.
void read_records(hid_t file, CheckpointHeader& header, const std::string& place) {
  if (H5Lexists(file, "records", H5P_DEFAULT) <= 0) return;
  const std::string what = place + ": /records";
  Handle group(check_id(H5Gopen2(file, "records", H5P_DEFAULT), what + " cannot be opened"), H5Gclose);
  Handle columns(check_id(H5Aopen(group.get(), "columns", H5P_DEFAULT), what + " has no attribute 'columns'"), H5Aclose);
  header.record_columns = hdf5::read_strings(columns.get(), what + " columns");
  Handle iteration(check_id(H5Dopen2(group.get(), "iteration", H5P_DEFAULT), what + "/iteration is missing"), H5Dclose);
  Handle values(check_id(H5Dopen2(group.get(), "values", H5P_DEFAULT), what + "/values is missing"), H5Dclose);
  const auto idims = hdf5::dataset_dims(iteration.get(), what);
  const auto vdims = hdf5::dataset_dims(values.get(), what);
  if (idims.size() != 1 || vdims.size() != 2 || vdims[0] != idims[0] || vdims[1] != header.record_columns.size() ||
      idims[0] > (hsize_t{1} << 32))
    throw InputError(fmt::format("{} has shapes {} and {} for {} columns; the file is damaged", what,
                                 hdf5::shape_text(idims), hdf5::shape_text(vdims), header.record_columns.size()));
  header.record_iteration.resize(idims[0]);
  header.record_values.resize(vdims[0] * vdims[1]);
  if (idims[0] == 0) return;
  check_status(H5Dread(iteration.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, header.record_iteration.data()),
               what + "/iteration cannot be read");
  check_status(H5Dread(values.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, header.record_values.data()),
               what + "/values cannot be read");
}

/// Collective: writes the whole checkpoint into `tmp` and closes it. Every id is closed on return
/// or unwinding, on every rank alike (errors are agreed step by step).
void write_file(const std::string& tmp, const std::string& path, MPI_Comm comm, const AgentLayout& layout,
                const CheckpointHeader& header, int dimension,
                const std::vector<std::pair<std::string, AgentMatrix>>& state) {
  const std::string place = where(path);
  Handle dxpl, file, group;
  comm::on_every_rank(comm, [&] {
    dxpl = hdf5::collective_dxpl();
    Handle fapl = hdf5::mpio_fapl(comm);
    hdf5::use_checksummed_metadata(fapl.get());
    file = Handle(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    if (!file.ok())
      throw RuntimeError(fmt::format("{}: cannot create '{}' (does the directory exist, is it writable?){}", place, tmp,
                                     hdf5::error_detail()));
    hdf5::write_text_attribute(file.get(), "format", checkpoint_format, place, strings);
    hdf5::write_integer_attribute(file.get(), "iteration", header.iteration, place);
    hdf5::write_integer_attribute(file.get(), "agents", layout.agents(), place);
    hdf5::write_integer_attribute(file.get(), "dimension", dimension, place);
    hdf5::write_attributes(file.get(), header.attributes.text, header.attributes.integers, reserved_attributes, place,
                           strings);
    group = Handle(check_id(H5Gcreate2(file.get(), "state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                            place + ": cannot create /state"),
                   H5Gclose);
    // The state names in the order given (HDF5 lists links by name).
    std::vector<std::string> names;
    for (const auto& entry : state) names.push_back(entry.first);
    hdf5::write_text_list_attribute(group.get(), "order", names, place, strings);
  });
  CheckpointHeader written = header;
  written.agents = layout.agents();
  written.dimension = dimension;
  written.state.clear();
  std::vector<std::int64_t> checksums;
  const hsize_t dims[2] = {static_cast<hsize_t>(layout.agents()), static_cast<hsize_t>(dimension)};
  for (const auto& [name, x] : state) {
    const std::string what = fmt::format("{}: cannot write state '{}'", place, name);
    Handle dataset;
    comm::on_every_rank(comm, [&] {
      Handle space(check_id(H5Screate_simple(2, dims, nullptr), what), H5Sclose);
      Handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), what), H5Pclose);
      check_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), what);
      dataset = Handle(check_id(H5Dcreate2(group.get(), name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                           dcpl.get(), H5P_DEFAULT),
                                what),
                       H5Dclose);
    });
    auto host = Kokkos::create_mirror_view(Kokkos::WithoutInitializing, x);
    Kokkos::deep_copy(host, x);
    detail::transfer_rows(true, comm, dataset.get(), dxpl.get(), -1, layout.local_first(), layout.local_count(),
                          dimension, host, what);
    const std::int64_t checksum =
        as_attribute(state_checksum(comm, layout.local_first(), layout.local_count(), dimension, host).first);
    written.state.push_back(name);
    checksums.push_back(checksum);
    comm::on_every_rank(comm, [&] {
      hdf5::write_integer_attribute(dataset.get(), "checksum", checksum, what);
      if (!dataset.reset()) throw RuntimeError(what + hdf5::error_detail());
    });
  }
  write_records(file.get(), dxpl.get(), comm, header, place);
  comm::on_every_rank(comm, [&] {
    hdf5::write_integer_attribute(file.get(), "checksum", as_attribute(header_checksum(written, checksums)), place);
  });
  comm::on_every_rank(comm, [&] {
    bool fine = group.reset();
    fine &= dxpl.reset();
    fine &= file.reset();
    if (!fine) throw RuntimeError(fmt::format("{}: closing '{}' failed{}", place, tmp, hdf5::error_detail()));
  });
}

}  // namespace

void write_checkpoint(const std::string& path, MPI_Comm comm, const AgentLayout& layout, const CheckpointHeader& header,
                      const std::vector<std::pair<std::string, AgentMatrix>>& state) {
  validate_state_names(state, "write_checkpoint");
  if (header.agents != 0 && header.agents != layout.agents())
    throw std::logic_error(
        fmt::format("concord::io::write_checkpoint: header.agents is {} but the layout has {} agents", header.agents,
                    layout.agents()));
  int dimension = header.dimension;
  if (dimension == 0 && !state.empty()) dimension = static_cast<int>(state.front().second.extent(1));
  if (dimension < 1) throw std::logic_error("concord::io::write_checkpoint: the dimension must be >= 1");
  for (const auto& [name, x] : state)
    if (static_cast<int>(x.extent(0)) != layout.local_count() || static_cast<int>(x.extent(1)) != dimension)
      throw std::logic_error(
          fmt::format("concord::io::write_checkpoint: state '{}' is {} x {}, expected {} local agents "
                      "x {} coordinates",
                      name, x.extent(0), x.extent(1), layout.local_count(), dimension));

  hdf5::Quiet quiet;
  const std::string tmp = path + ".tmp";
  const bool root = comm::rank(comm) == 0;
  const int kind = detail::path_kind_on_rank0(path, comm);
  if (kind == 2) throw InputError(fmt::format("{} is a directory; choose a file name", where(path)));
  if (kind == 3)
    throw InputError(fmt::format("{} is not a regular file, or cannot be inspected (a device, a pipe, a path without permission); choose another file name", where(path)));
  try {
    write_file(tmp, path, comm, layout, header, dimension, state);
    comm::on_every_rank(comm, [&] {
      if (root) commit(tmp, path);
    });
  } catch (...) {
    // Every rank has closed the file (ids are closed while unwinding, collectively); the
    // previous checkpoint at `path` was never touched. unlink() leaves a directory of that name.
    if (root) ::unlink(tmp.c_str());
    throw;
  }
  comm::barrier(comm);
}

namespace {
CheckpointHeader read_header(const std::string& path);
void read_state(const std::string& path, MPI_Comm comm, const AgentLayout& layout,
                const std::vector<std::pair<std::string, AgentMatrix>>& state);

/// HDF5 failures while reading a checkpoint mean a damaged file: bad input (exit status 2) that
/// names the file, not an internal error.
template <class Read>
auto reading(const std::string& path, Read&& read) {
  const long failures = hdf5::failures().load();
  // HDF5 calls failed on the way (damaged metadata): objects it could not read may stay
  // half-open, and its shutdown would then loop or crash on them (see io::hdf5_shutdown_unsafe).
  auto note_damage = [&] {
    if (hdf5::failures().load() != failures) hdf5::abandoned_files().store(true);
  };
  try {
    return read();
  } catch (const InputError&) {
    note_damage();
    throw;
  } catch (const RuntimeError& e) {
    hdf5::abandoned_files().store(true);  // an HDF5 call failed on the way
    const std::string what = e.what(), place = where(path);
    throw InputError(what.rfind(place, 0) == 0 ? what + " (the file is damaged)"
                                               : place + " is damaged: " + what);
  }
}
}  // namespace

CheckpointHeader read_checkpoint_header(const std::string& path) {
  return reading(path, [&] { return read_header(path); });
}

void read_checkpoint_state(const std::string& path, MPI_Comm comm, const AgentLayout& layout,
                           const std::vector<std::pair<std::string, AgentMatrix>>& state) {
  reading(path, [&] { read_state(path, comm, layout, state); });
}

namespace {

CheckpointHeader read_header(const std::string& path) {
  hdf5::Quiet quiet;
  const std::string place = where(path);
  Handle file = hdf5::open_serial(path, "checkpoint");
  hdf5::require_format(file.get(), path, "checkpoint", checkpoint_format);
  CheckpointHeader header;
  std::int64_t agents = 0, dimension = 0;
  if (!hdf5::read_integer_attribute(file.get(), "iteration", header.iteration, place) ||
      !hdf5::read_integer_attribute(file.get(), "agents", agents, place) ||
      !hdf5::read_integer_attribute(file.get(), "dimension", dimension, place))
    throw InputError(place +
                     " lacks one of the integer root attributes 'iteration', 'agents', 'dimension'; it is damaged");
  // Range checks before any narrowing: a damaged or hand-made file never passes as another size.
  if (header.iteration < 0)
    throw InputError(fmt::format("{}: attribute 'iteration' is {}; it must be >= 0 (the file is damaged)", place,
                                 header.iteration));
  for (const auto& [name, value] : {std::pair{"agents", agents}, std::pair{"dimension", dimension}})
    if (value < 1 || value > INT_MAX)
      throw InputError(fmt::format("{}: attribute '{}' is {}; allowed 1..{} (the file is damaged)", place, name, value,
                                   INT_MAX));
  header.agents = static_cast<int>(agents);
  header.dimension = static_cast<int>(dimension);
  auto attributes = hdf5::read_attributes(file.get(), reserved_attributes, place);
  header.attributes = {std::move(attributes.text), std::move(attributes.integers)};
  if (H5Lexists(file.get(), "state", H5P_DEFAULT) <= 0) throw InputError(place + " has no /state group; it is damaged");
  Handle group(check_id(H5Gopen2(file.get(), "state", H5P_DEFAULT), place + ": cannot open /state"), H5Gclose);
  Handle order(check_id(H5Aopen(group.get(), "order", H5P_DEFAULT), place + ": /state has no attribute 'order'"),
               H5Aclose);
  header.state = hdf5::read_strings(order.get(), place + ": attribute /state order");
  // The header's checksum covers every field read above and the states' own checksums.
  std::vector<std::int64_t> checksums;
  for (const auto& name : header.state) {
    const std::string what = fmt::format("{}: state '{}'", place, name);
    if (name.empty() || H5Lexists(group.get(), name.c_str(), H5P_DEFAULT) <= 0)
      throw InputError(what + " is listed in /state order but missing; the file is damaged");
    Handle dataset(check_id(H5Dopen2(group.get(), name.c_str(), H5P_DEFAULT), what + " cannot be opened"), H5Dclose);
    std::int64_t checksum = 0;
    if (!hdf5::read_integer_attribute(dataset.get(), "checksum", checksum, what))
      throw InputError(what + " has no checksum; the file is damaged or was not written by this version of Concord");
    checksums.push_back(checksum);
  }
  read_records(file.get(), header, place);
  std::int64_t stored = 0;
  if (!hdf5::read_integer_attribute(file.get(), "checksum", stored, place))
    throw InputError(place + " has no checksum; it is damaged or was not written by this version of Concord");
  if (stored != as_attribute(header_checksum(header, checksums)))
    throw InputError(place + ": its header does not match its checksum; the file is damaged");
  return header;
}

void read_state(const std::string& path, MPI_Comm comm, const AgentLayout& layout,
                const std::vector<std::pair<std::string, AgentMatrix>>& state) {
  validate_state_names(state, "read_checkpoint_state");
  for (const auto& [name, x] : state)
    if (static_cast<int>(x.extent(0)) != layout.local_count())
      throw std::logic_error(
          fmt::format("concord::io::read_checkpoint_state: state '{}' has {} rows, expected {} local "
                      "agents",
                      name, x.extent(0), layout.local_count()));
  hdf5::Quiet quiet;
  const std::string place = where(path);
  Handle file = detail::open_parallel(path, comm, H5F_ACC_RDONLY, "checkpoint");
  Handle dxpl, group;
  std::vector<Handle> datasets;
  std::vector<std::int64_t> checksums;
  // Metadata reads: identical on every rank, so every rank reaches the same verdict.
  comm::on_every_rank(comm, [&] {
    hdf5::require_format(file.get(), path, "checkpoint", checkpoint_format);
    dxpl = hdf5::collective_dxpl();
    if (H5Lexists(file.get(), "state", H5P_DEFAULT) <= 0)
      throw InputError(place + " has no /state group; it is damaged");
    group = Handle(check_id(H5Gopen2(file.get(), "state", H5P_DEFAULT), place + ": cannot open /state"), H5Gclose);
    for (const auto& [name, x] : state) {
      if (H5Lexists(group.get(), name.c_str(), H5P_DEFAULT) <= 0) {
        std::vector<std::string> present;
        if (H5Aexists(group.get(), "order") > 0) {
          Handle order(check_id(H5Aopen(group.get(), "order", H5P_DEFAULT), place), H5Aclose);
          present = hdf5::read_strings(order.get(), place + ": attribute /state order");
        }
        std::string list;
        for (const auto& p : present) list += (list.empty() ? "" : ", ") + p;
        throw InputError(fmt::format("{} has no state '{}' (it holds: {}); was it written by another algorithm?", place,
                                     name, list.empty() ? "nothing" : list));
      }
      datasets.emplace_back(check_id(H5Dopen2(group.get(), name.c_str(), H5P_DEFAULT),
                                     fmt::format("{}: cannot open state '{}'", place, name)),
                            H5Dclose);
      const auto dims = hdf5::dataset_dims(datasets.back().get(), place);
      if (dims.size() != 2 || dims[0] != static_cast<hsize_t>(layout.agents()) || dims[1] != x.extent(1))
        throw InputError(
            fmt::format("{}: state '{}' has shape {} (agents x coordinates) but this run has {} agents x {} "
                        "coordinates",
                        place, name, hdf5::shape_text(dims), layout.agents(), x.extent(1)));
      std::int64_t checksum = 0;
      if (!hdf5::read_integer_attribute(datasets.back().get(), "checksum", checksum, place))
        throw InputError(fmt::format("{}: state '{}' has no checksum; the file is damaged", place, name));
      checksums.push_back(checksum);
    }
  });
  for (std::size_t i = 0; i < state.size(); ++i) {
    const auto& [name, x] = state[i];
    auto host = Kokkos::create_mirror_view(Kokkos::WithoutInitializing, x);
    detail::transfer_rows(false, comm, datasets[i].get(), dxpl.get(), -1, layout.local_first(), layout.local_count(),
                          static_cast<int>(x.extent(1)), host, fmt::format("{}: cannot read state '{}'", place, name));
    // The same verdict on every rank (both figures are allreduced).
    const auto [checksum, nonfinite] =
        state_checksum(comm, layout.local_first(), layout.local_count(), static_cast<int>(x.extent(1)), host);
    if (as_attribute(checksum) != checksums[i])
      throw InputError(fmt::format("{}: state '{}' does not match its checksum; the file is damaged", place, name));
    if (nonfinite > 0)
      throw InputError(fmt::format("{}: state '{}' holds {} values that are not finite (NaN or Inf); a run cannot "
                                   "continue from it",
                                   place, name, nonfinite));
    Kokkos::deep_copy(x, host);
  }
}

}  // namespace

}  // namespace concord::io
