#include "concord/io/trajectory.hpp"

#include <fmt/format.h>
#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "concord/comm/communicator.hpp"
#include "concord/core/detail/hdf5.hpp"
#include "concord/core/error.hpp"
#include "concord/io/hdf5_support.hpp"

namespace concord::io {
namespace {

namespace hdf5 = concord::detail::hdf5;
using hdf5::check_id;
using hdf5::check_status;
using hdf5::Handle;

constexpr const char* trajectory_format = "concord-trajectory 1";
/// Root attributes set from dedicated arguments; entries of FileAttributes with these names are
/// ignored on write and not returned by read_trajectory.
const std::set<std::string> reserved_attributes = {"format", "agents", "dimension"};
/// Records per chunk of the 1-D metric datasets (8 KiB of float64).
constexpr hsize_t record_chunk = 1024;
/// At most this many doubles per chunk of /snapshots/x (32 MiB).
constexpr hsize_t snapshot_chunk_doubles = hsize_t{1} << 22;

std::string where(const std::string& path) { return fmt::format("trajectory file '{}'", path); }

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return "[" + s + "]";
}

/// Column names become dataset names under /trajectory: non-empty, no '/', not "iteration",
/// unique. A violation is a bug in the caller (metric names are Concord's own).
void validate_columns(const std::vector<std::string>& columns) {
  std::set<std::string> seen;
  for (const auto& c : columns) {
    if (c.empty() || c == "." || c.find('/') != std::string::npos || c == "iteration")
      throw std::logic_error("concord::io::TrajectoryWriter: invalid metric column name '" + c +
                             "' (must be non-empty, without '/', and not 'iteration')");
    if (!seen.insert(c).second)
      throw std::logic_error("concord::io::TrajectoryWriter: metric column '" + c + "' is given twice");
  }
}

/// An empty, extendible, chunked 1-D dataset of `type` named `name` in `group`.
Handle create_record_dataset(hid_t group, const std::string& name, hid_t type, const std::string& what) {
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
  Handle space(check_id(H5Screate_simple(1, &zero, &unlimited), what), H5Sclose);
  Handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), what), H5Pclose);
  check_status(H5Pset_chunk(dcpl.get(), 1, &record_chunk), what);
  check_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), what);
  return Handle(
      check_id(H5Dcreate2(group, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), what),
      H5Dclose);
}

/// Collective: grows the 1-D dataset `dataset` to index + 1 entries and writes `value` at `index`
/// from `writer` (true on exactly one rank; the others select nothing).
void append_value(hid_t dataset, hsize_t index, hid_t memory_type, const void* value, bool writer, hid_t dxpl,
                  const std::string& what) {
  const hsize_t size = index + 1, one = 1;
  check_status(H5Dset_extent(dataset, &size), what);
  Handle file_space(check_id(H5Dget_space(dataset), what), H5Sclose);
  Handle memory_space(check_id(H5Screate_simple(1, &one, nullptr), what), H5Sclose);
  if (writer) {
    check_status(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &index, nullptr, &one, nullptr), what);
  } else {
    check_status(H5Sselect_none(file_space.get()), what);
    check_status(H5Sselect_none(memory_space.get()), what);
  }
  check_status(H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), dxpl, value), what);
}

/// All entries of a 1-D dataset (independent read; every rank may call it).
template <class T>
std::vector<T> read_all(hid_t dataset, hid_t memory_type, const std::string& what) {
  const auto dims = hdf5::dataset_dims(dataset, what);
  if (dims.size() != 1) throw InputError(what + " has shape " + hdf5::shape_text(dims) + "; expected 1-D");
  std::vector<T> out(static_cast<std::size_t>(dims[0]));
  if (!out.empty()) check_status(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), what);
  return out;
}

/// How many leading entries of `iterations` (first `available` of them) to keep for a restart at
/// `iteration`: the longest strictly increasing prefix with values <= iteration (a record half
/// written by a crash cannot extend it).
std::size_t kept_prefix(const std::vector<std::int64_t>& iterations, std::size_t available, std::int64_t iteration) {
  std::size_t keep = 0;
  while (keep < available && iterations[keep] <= iteration && (keep == 0 || iterations[keep] > iterations[keep - 1]))
    ++keep;
  return keep;
}

/// The difference between the columns in a trajectory file and a run's, for the message that
/// refuses the resume: the run's columns missing in the file, the file's the run does not write,
/// or (neither) the order.
std::string column_difference(const std::vector<std::string>& existing, const std::vector<std::string>& columns) {
  std::vector<std::string> missing, extra;
  for (const auto& name : columns)
    if (std::find(existing.begin(), existing.end(), name) == existing.end()) missing.push_back(name);
  for (const auto& name : existing)
    if (std::find(columns.begin(), columns.end(), name) == columns.end()) extra.push_back(name);
  std::string difference;
  if (!missing.empty()) difference += "not in the file: " + joined(missing);
  if (!extra.empty())
    difference += (difference.empty() ? "" : "; ") + std::string("not written by this run: ") + joined(extra);
  if (difference.empty()) difference = "the same columns in a different order";
  return difference;
}

}  // namespace

struct TrajectoryWriter::Impl {
  Impl(const std::string& path_, MPI_Comm comm_, const std::vector<std::string>& columns_, const AgentLayout& layout_,
       int dimension_, bool snapshots_)
      : path(path_), comm(comm_), columns(columns_), layout(layout_), dimension(dimension_), snapshots(snapshots_) {}

  std::string path;
  comm::Communicator comm;  // the writer's own duplicate; declared first: freed after every HDF5 id below is closed
  std::vector<std::string> columns;
  AgentLayout layout;
  int dimension;
  bool snapshots;
  std::int64_t records = 0, snapshot_count = 0;
  std::int64_t last_record = std::numeric_limits<std::int64_t>::min();
  std::int64_t last_snapshot = std::numeric_limits<std::int64_t>::min();
  bool closed = false;

  Handle dxpl, file, trajectory_group, snapshot_group;
  Handle iteration;                       // /trajectory/iteration
  std::vector<Handle> values;             // /trajectory/<column>, in column order
  Handle snapshot_iteration, snapshot_x;  // /snapshots/iteration, /snapshots/x

  bool root() const { return layout.rank() == 0; }

  /// Creates /snapshots with its two empty datasets.
  void create_snapshot_datasets() {
    const std::string what = where(path) + ": cannot create the /snapshots datasets";
    snapshot_group =
        Handle(check_id(H5Gcreate2(file.get(), "snapshots", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), what), H5Gclose);
    snapshot_iteration = create_record_dataset(snapshot_group.get(), "iteration", H5T_STD_I64LE, what);
    const hsize_t agents = static_cast<hsize_t>(layout.agents()), d = static_cast<hsize_t>(dimension);
    const hsize_t dims[3] = {0, agents, d}, max_dims[3] = {H5S_UNLIMITED, agents, d};
    const hsize_t chunk_d = std::min(d, snapshot_chunk_doubles);
    const hsize_t chunk[3] = {1, std::clamp<hsize_t>(snapshot_chunk_doubles / chunk_d, 1, agents), chunk_d};
    Handle space(check_id(H5Screate_simple(3, dims, max_dims), what), H5Sclose);
    Handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), what), H5Pclose);
    check_status(H5Pset_chunk(dcpl.get(), 3, chunk), what);
    check_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), what);
    snapshot_x = Handle(check_id(H5Dcreate2(snapshot_group.get(), "x", H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                            dcpl.get(), H5P_DEFAULT),
                                 what),
                        H5Dclose);
  }

  // The steps of resume(), in the order it runs them (each inside comm::on_every_rank).

  /// Rank 0 only, serial driver: extends the file's allocated space (the EOA in the superblock)
  /// to the file's real end, so that new space cannot overlap data a crash left past the EOA.
  /// Does nothing on the other ranks, or when the file is missing or not HDF5 (open_parallel then
  /// names the problem).
  void extend_allocated_space() const {
    if (comm::rank(comm.get()) != 0 || hdf5::path_kind(path) != 1 || H5Fis_hdf5(path.c_str()) <= 0) return;
    const std::string place = where(path);
    Handle serial(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    if (!serial.ok()) return;  // open_parallel names the problem
    check_status(H5Fincrement_filesize(serial.get(), 0), place + ": cannot extend its allocated space");
    if (!serial.reset()) throw RuntimeError(place + ": cannot close it after extending its allocated space");
  }

  /// Checks the open file is a trajectory written for this run's agents x dimension.
  void require_same_shape() const {
    const std::string place = where(path);
    hdf5::require_format(file.get(), path, "trajectory", trajectory_format);
    std::int64_t agents = -1, dims = -1;
    hdf5::read_integer_attribute(file.get(), "agents", agents, place);
    hdf5::read_integer_attribute(file.get(), "dimension", dims, place);
    if (agents != layout.agents() || dims != dimension)
      throw InputError(
          fmt::format("{} was written for {} agents x {} coordinates; this run has {} agents x {} "
                      "coordinates, so it cannot be resumed (start a new trajectory instead)",
                      place, agents, dims, layout.agents(), dimension));
  }

  /// Opens /trajectory and checks that its `columns` attribute lists this run's columns, in
  /// order (the message lists the difference).
  void open_trajectory_group() {
    const std::string place = where(path);
    if (H5Lexists(file.get(), "trajectory", H5P_DEFAULT) <= 0)
      throw InputError(place + " has no /trajectory group; it is not a complete Concord trajectory");
    trajectory_group = Handle(check_id(H5Gopen2(file.get(), "trajectory", H5P_DEFAULT), place), H5Gclose);
    std::vector<std::string> existing;
    {
      Handle a(check_id(H5Aopen(trajectory_group.get(), "columns", H5P_DEFAULT),
                        place + ": /trajectory has no attribute 'columns'"),
               H5Aclose);
      existing = hdf5::read_strings(a.get(), place + ": attribute /trajectory columns");
    }
    if (existing != columns)
      throw InputError(
          fmt::format("{} has metric columns {} but this run writes {} ({}); the columns must match to "
                      "resume a trajectory",
                      place, joined(existing), joined(columns), column_difference(existing, columns)));
  }

  /// Opens /trajectory/iteration and the column datasets, in column order.
  void open_record_datasets() {
    const std::string what = where(path) + ": cannot open /trajectory";
    iteration = Handle(check_id(H5Dopen2(trajectory_group.get(), "iteration", H5P_DEFAULT), what), H5Dclose);
    for (const auto& column : columns)
      values.emplace_back(check_id(H5Dopen2(trajectory_group.get(), column.c_str(), H5P_DEFAULT), what), H5Dclose);
  }

  /// Opens /snapshots and its datasets when the file has them, checking the shape of
  /// /snapshots/x against agents x dimension.
  void open_snapshot_datasets() {
    if (H5Lexists(file.get(), "snapshots", H5P_DEFAULT) <= 0) return;
    const std::string place = where(path);
    const std::string swhat = place + ": cannot open /snapshots";
    snapshot_group = Handle(check_id(H5Gopen2(file.get(), "snapshots", H5P_DEFAULT), swhat), H5Gclose);
    snapshot_iteration = Handle(check_id(H5Dopen2(snapshot_group.get(), "iteration", H5P_DEFAULT), swhat), H5Dclose);
    snapshot_x = Handle(check_id(H5Dopen2(snapshot_group.get(), "x", H5P_DEFAULT), swhat), H5Dclose);
    const auto x_dims = hdf5::dataset_dims(snapshot_x.get(), swhat);
    if (x_dims.size() != 3 || x_dims[1] != static_cast<hsize_t>(layout.agents()) ||
        x_dims[2] != static_cast<hsize_t>(dimension))
      throw InputError(fmt::format("{}: /snapshots/x has shape {}; expected snapshots x {} agents x {} coordinates",
                                   place, hdf5::shape_text(x_dims), layout.agents(), dimension));
  }

  /// Keeps the records up to `restart` (kept_prefix) and drops the rest (collective
  /// H5Dset_extent). With `required_record` >= 0, first checks that the last record kept up to
  /// max(`restart`, `required_record`) is that of `required_record`, and refuses the file
  /// (InputError) before changing anything otherwise.
  void truncate_records(std::int64_t restart, std::int64_t required_record) {
    const std::string place = where(path);
    const std::string what = place + ": cannot truncate the records after iteration " + std::to_string(restart);
    auto iterations = read_all<std::int64_t>(iteration.get(), H5T_NATIVE_INT64, what);
    std::size_t available = iterations.size();  // records every column holds
    for (const auto& v : values) available = std::min<std::size_t>(available, hdf5::dataset_dims(v.get(), what).at(0));
    if (required_record >= 0) {
      const std::size_t upto = kept_prefix(iterations, available, std::max(restart, required_record));
      if (upto == 0 || iterations[upto - 1] != required_record)
        throw InputError(fmt::format(
            "{} does not reach the checkpoint: the run being continued had written a record of iteration {} "
            "when it wrote its checkpoint, but the file's last record up to there is {} (records were lost, or the "
            "file belongs to another run)",
            place, required_record, upto == 0 ? std::string("none") : "of iteration " + std::to_string(iterations[upto - 1])));
    }
    const hsize_t keep = kept_prefix(iterations, available, restart);
    check_status(H5Dset_extent(iteration.get(), &keep), what);
    for (const auto& v : values) check_status(H5Dset_extent(v.get(), &keep), what);
    records = static_cast<std::int64_t>(keep);
    if (keep > 0) last_record = iterations[keep - 1];
  }

  /// Keeps the snapshots up to `restart` and drops the rest (collective H5Dset_extent); when the
  /// file has none and this run takes snapshots, creates /snapshots.
  void truncate_snapshots(std::int64_t restart) {
    if (!snapshot_x.ok()) {
      if (snapshots) create_snapshot_datasets();
      return;
    }
    const std::string swhat = where(path) + ": cannot truncate the snapshots after iteration " + std::to_string(restart);
    auto snapshot_iterations = read_all<std::int64_t>(snapshot_iteration.get(), H5T_NATIVE_INT64, swhat);
    const std::size_t stored =
        std::min<std::size_t>(snapshot_iterations.size(), hdf5::dataset_dims(snapshot_x.get(), swhat).at(0));
    const hsize_t kept = kept_prefix(snapshot_iterations, stored, restart);
    check_status(H5Dset_extent(snapshot_iteration.get(), &kept), swhat);
    const hsize_t x_dims[3] = {kept, static_cast<hsize_t>(layout.agents()), static_cast<hsize_t>(dimension)};
    check_status(H5Dset_extent(snapshot_x.get(), x_dims), swhat);
    snapshot_count = static_cast<std::int64_t>(kept);
    if (kept > 0) last_snapshot = snapshot_iterations[kept - 1];
  }
};

TrajectoryWriter::TrajectoryWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrajectoryWriter::TrajectoryWriter(TrajectoryWriter&&) noexcept = default;
TrajectoryWriter& TrajectoryWriter::operator=(TrajectoryWriter&& other) noexcept {
  if (this != &other) {
    try {
      close();
    } catch (...) {  // a move assignment cannot throw; close() errors were agreed on every rank
    }
    impl_ = std::move(other.impl_);
  }
  return *this;
}

TrajectoryWriter::~TrajectoryWriter() {
  if (!impl_ || impl_->closed) return;
  if (comm::finalized()) return;  // nothing collective is possible any more; the ids leak
  try {
    close();
  } catch (...) {  // destructors do not throw; call close() to see errors
  }
}

TrajectoryWriter TrajectoryWriter::create(const std::string& path, MPI_Comm comm,
                                          const std::vector<std::string>& columns, const FileAttributes& attributes,
                                          const AgentLayout& layout, int dimension, bool snapshots, bool overwrite) {
  hdf5::Quiet quiet;
  validate_columns(columns);
  if (dimension < 1) throw std::logic_error("concord::io::TrajectoryWriter::create: dimension must be >= 1");
  // Rank 0 looks, everyone agrees, before any collective HDF5 call.
  const int kind = detail::path_kind_on_rank0(path, comm);
  if (kind == 2) throw InputError(fmt::format("{} is a directory; choose a file name", where(path)));
  if (kind == 3)
    throw InputError(fmt::format("{} is not a regular file, or cannot be inspected (a device, a pipe, a path without permission); choose another file name", where(path)));
  if (kind != 0 && !overwrite)
    throw InputError(fmt::format("{} already exists; set `concord/output/overwrite: true` to replace it", where(path)));

  auto impl = std::make_unique<Impl>(path, comm, columns, layout, dimension, snapshots);
  Impl& w = *impl;
  MPI_Comm c = w.comm.get();
  comm::on_every_rank(c, [&] {
    w.dxpl = hdf5::collective_dxpl();
    Handle fapl = hdf5::mpio_fapl(c);
    w.file = Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    if (!w.file.ok())
      throw RuntimeError(fmt::format("{} cannot be created (does the directory exist, is it writable?){}", where(path),
                                     hdf5::error_detail()));
  });
  comm::on_every_rank(c, [&] {
    const std::string what = where(path) + ": cannot write the file's layout";
    hdf5::write_text_attribute(w.file.get(), "format", trajectory_format, where(path));
    hdf5::write_integer_attribute(w.file.get(), "agents", layout.agents(), where(path));
    hdf5::write_integer_attribute(w.file.get(), "dimension", dimension, where(path));
    hdf5::write_attributes(w.file.get(), attributes.text, attributes.integers, reserved_attributes, where(path));
    w.trajectory_group =
        Handle(check_id(H5Gcreate2(w.file.get(), "trajectory", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), what), H5Gclose);
    hdf5::write_text_list_attribute(w.trajectory_group.get(), "columns", columns, where(path));
    w.iteration = create_record_dataset(w.trajectory_group.get(), "iteration", H5T_STD_I64LE, what);
    for (const auto& column : columns)
      w.values.push_back(create_record_dataset(w.trajectory_group.get(), column, H5T_IEEE_F64LE, what));
    if (snapshots) w.create_snapshot_datasets();
  });
  return TrajectoryWriter(std::move(impl));
}

TrajectoryWriter TrajectoryWriter::resume(const std::string& path, MPI_Comm comm, std::int64_t iteration,
                                          const std::vector<std::string>& columns, const FileAttributes& attributes,
                                          const AgentLayout& layout, int dimension, bool snapshots,
                                          std::int64_t required_record) {
  hdf5::Quiet quiet;
  validate_columns(columns);
  if (dimension < 1) throw std::logic_error("concord::io::TrajectoryWriter::resume: dimension must be >= 1");
  auto impl = std::make_unique<Impl>(path, comm, columns, layout, dimension, snapshots);
  Impl& w = *impl;
  MPI_Comm c = w.comm.get();
  const std::string place = where(path);
  // A crash between two flushes can leave data and metadata past the end of the allocated space
  // that the superblock records (the EOA): new space would then overlap them. Rank 0 extends the
  // EOA to the file's real end first, with the serial driver (HDF5 refuses this under MPI-IO); a
  // no-op for a file that was closed cleanly.
  comm::on_every_rank(c, [&] { w.extend_allocated_space(); });
  w.file = detail::open_parallel(path, c, H5F_ACC_RDWR, "trajectory");
  // Every check below reads metadata that is the same on every rank, so all ranks agree.
  comm::on_every_rank(c, [&] {
    w.dxpl = hdf5::collective_dxpl();
    w.require_same_shape();
    w.open_trajectory_group();
    w.open_record_datasets();
    w.open_snapshot_datasets();
  });
  // Truncation: records and snapshots after `iteration` go (collective H5Dset_extent), then the
  // root attributes given replace the old ones and everything is flushed.
  comm::on_every_rank(c, [&] {
    w.truncate_records(iteration, required_record);
    w.truncate_snapshots(iteration);
    hdf5::write_attributes(w.file.get(), attributes.text, attributes.integers, reserved_attributes, place);
    check_status(H5Fflush(w.file.get(), H5F_SCOPE_GLOBAL), place + ": cannot flush");
  });
  return TrajectoryWriter(std::move(impl));
}

void TrajectoryWriter::append(std::int64_t iteration, const std::vector<double>& values) {
  if (!impl_ || impl_->closed) throw std::logic_error("concord::io::TrajectoryWriter::append: the writer is closed");
  Impl& w = *impl_;
  if (values.size() != w.columns.size())
    throw std::logic_error(fmt::format("concord::io::TrajectoryWriter::append: {} values for {} columns", values.size(),
                                       w.columns.size()));
  if (iteration <= w.last_record)
    throw std::logic_error(
        fmt::format("concord::io::TrajectoryWriter::append: iteration {} after iteration {}; records "
                    "must have increasing iterations",
                    iteration, w.last_record));
  hdf5::Quiet quiet;
  comm::on_every_rank(w.comm.get(), [&] {
    const std::string what = fmt::format("{}: cannot append the record of iteration {}", where(w.path), iteration);
    const hsize_t index = static_cast<hsize_t>(w.records);
    append_value(w.iteration.get(), index, H5T_NATIVE_INT64, &iteration, w.root(), w.dxpl.get(), what);
    for (std::size_t i = 0; i < values.size(); ++i)
      append_value(w.values[i].get(), index, H5T_NATIVE_DOUBLE, &values[i], w.root(), w.dxpl.get(), what);
  });
  ++w.records;
  w.last_record = iteration;
}

void TrajectoryWriter::snapshot(std::int64_t iteration, const AgentMatrix& x) {
  if (!impl_ || impl_->closed) throw std::logic_error("concord::io::TrajectoryWriter::snapshot: the writer is closed");
  Impl& w = *impl_;
  if (!w.snapshot_x.ok())
    throw std::logic_error("concord::io::TrajectoryWriter::snapshot: snapshots were not enabled for " + where(w.path));
  if (static_cast<int>(x.extent(0)) != w.layout.local_count() || static_cast<int>(x.extent(1)) != w.dimension)
    throw std::logic_error(
        fmt::format("concord::io::TrajectoryWriter::snapshot: x is {} x {}, expected {} local agents "
                    "x {} coordinates",
                    x.extent(0), x.extent(1), w.layout.local_count(), w.dimension));
  if (iteration <= w.last_snapshot)
    throw std::logic_error(
        fmt::format("concord::io::TrajectoryWriter::snapshot: iteration {} after iteration {}; "
                    "snapshots must have increasing iterations",
                    iteration, w.last_snapshot));
  hdf5::Quiet quiet;
  auto host = Kokkos::create_mirror_view(Kokkos::WithoutInitializing, x);
  Kokkos::deep_copy(host, x);
  const std::string what = fmt::format("{}: cannot write the snapshot of iteration {}", where(w.path), iteration);
  const hsize_t index = static_cast<hsize_t>(w.snapshot_count);
  comm::on_every_rank(w.comm.get(), [&] {
    append_value(w.snapshot_iteration.get(), index, H5T_NATIVE_INT64, &iteration, w.root(), w.dxpl.get(), what);
    const hsize_t dims[3] = {index + 1, static_cast<hsize_t>(w.layout.agents()), static_cast<hsize_t>(w.dimension)};
    check_status(H5Dset_extent(w.snapshot_x.get(), dims), what);
  });
  detail::transfer_rows(true, w.comm.get(), w.snapshot_x.get(), w.dxpl.get(), static_cast<long long>(index),
                        w.layout.local_first(), w.layout.local_count(), w.dimension, host, what);
  ++w.snapshot_count;
  w.last_snapshot = iteration;
}

void TrajectoryWriter::flush() {
  if (!impl_ || impl_->closed) throw std::logic_error("concord::io::TrajectoryWriter::flush: the writer is closed");
  hdf5::Quiet quiet;
  comm::on_every_rank(impl_->comm.get(), [&] {
    check_status(H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL), where(impl_->path) + ": cannot flush");
  });
}

void TrajectoryWriter::close() {
  if (!impl_ || impl_->closed) return;
  hdf5::Quiet quiet;
  Impl& w = *impl_;
  w.closed = true;
  comm::on_every_rank(w.comm.get(), [&] {
    bool fine = true;
    for (auto& v : w.values) fine &= v.reset();
    for (Handle* id :
         {&w.iteration, &w.snapshot_iteration, &w.snapshot_x, &w.trajectory_group, &w.snapshot_group, &w.dxpl})
      fine &= id->reset();
    fine &= w.file.reset();
    if (!fine)
      throw RuntimeError(where(w.path) + ": closing the file failed; it may be incomplete" + hdf5::error_detail());
  });
}

bool hdf5_shutdown_unsafe() { return hdf5::abandoned_files().load(); }

std::int64_t TrajectoryWriter::records() const { return impl_ ? impl_->records : 0; }

std::int64_t TrajectoryWriter::last_record() const {
  return impl_ && impl_->records > 0 ? impl_->last_record : -1;
}

Trajectory read_trajectory(const std::string& path) {
  hdf5::Quiet quiet;
  const std::string place = where(path);
  Handle file = hdf5::open_serial(path, "trajectory");
  hdf5::require_format(file.get(), path, "trajectory", trajectory_format);
  Trajectory t;
  std::int64_t agents = 0, dimension = 0;
  if (!hdf5::read_integer_attribute(file.get(), "agents", agents, place) ||
      !hdf5::read_integer_attribute(file.get(), "dimension", dimension, place))
    throw InputError(place + " has no integer root attributes 'agents' and 'dimension'; it is damaged");
  t.agents = static_cast<int>(agents);
  t.dimension = static_cast<int>(dimension);
  auto attributes = hdf5::read_attributes(file.get(), reserved_attributes, place);
  t.attributes = {std::move(attributes.text), std::move(attributes.integers)};

  const std::string what = place + ": cannot read /trajectory";
  if (H5Lexists(file.get(), "trajectory", H5P_DEFAULT) <= 0) throw InputError(place + " has no /trajectory group");
  Handle group(check_id(H5Gopen2(file.get(), "trajectory", H5P_DEFAULT), what), H5Gclose);
  {
    Handle a(check_id(H5Aopen(group.get(), "columns", H5P_DEFAULT), place + ": /trajectory has no attribute 'columns'"),
             H5Aclose);
    t.column_order = hdf5::read_strings(a.get(), place + ": attribute /trajectory columns");
  }
  {
    Handle d(check_id(H5Dopen2(group.get(), "iteration", H5P_DEFAULT), what), H5Dclose);
    t.iteration = read_all<std::int64_t>(d.get(), H5T_NATIVE_INT64, place + ": /trajectory/iteration");
  }
  for (const auto& column : t.column_order) {
    Handle d(check_id(H5Dopen2(group.get(), column.c_str(), H5P_DEFAULT), what + "/" + column), H5Dclose);
    auto v = read_all<double>(d.get(), H5T_NATIVE_DOUBLE, place + ": /trajectory/" + column);
    if (v.size() != t.iteration.size())
      throw InputError(fmt::format("{}: /trajectory/{} has {} records but /trajectory/iteration has {}", place, column,
                                   v.size(), t.iteration.size()));
    t.columns[column] = std::move(v);
  }
  if (H5Lexists(file.get(), "snapshots", H5P_DEFAULT) > 0) {
    const std::string swhat = place + ": cannot read /snapshots";
    Handle sgroup(check_id(H5Gopen2(file.get(), "snapshots", H5P_DEFAULT), swhat), H5Gclose);
    Handle si(check_id(H5Dopen2(sgroup.get(), "iteration", H5P_DEFAULT), swhat), H5Dclose);
    t.snapshot_iteration = read_all<std::int64_t>(si.get(), H5T_NATIVE_INT64, place + ": /snapshots/iteration");
    Handle sx(check_id(H5Dopen2(sgroup.get(), "x", H5P_DEFAULT), swhat), H5Dclose);
    const auto dims = hdf5::dataset_dims(sx.get(), swhat);
    if (dims.size() != 3 || dims[0] != t.snapshot_iteration.size())
      throw InputError(fmt::format("{}: /snapshots/x has shape {} for {} snapshot iterations", place,
                                   hdf5::shape_text(dims), t.snapshot_iteration.size()));
    t.snapshots.resize(static_cast<std::size_t>(dims[0] * dims[1] * dims[2]));
    if (!t.snapshots.empty())
      check_status(H5Dread(sx.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.snapshots.data()), swhat);
  }
  return t;
}

}  // namespace concord::io
