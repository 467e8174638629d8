#include "concord/topology/user_matrix.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "concord/core/detail/hdf5.hpp"
#include "concord/core/error.hpp"
#include "concord/core/format.hpp"
#include "concord/topology/directed.hpp"
#include "concord/topology/graph.hpp"

namespace concord::topology {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

WeightMatrix read_matrix_market(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("weight matrix file '" + path + "': cannot be opened");
  std::string line;
  int lineno = 1;
  auto bad = [&](const std::string& why) {
    throw InputError("weight matrix file '" + path + "', line " + std::to_string(lineno) + ": " + why);
  };
  if (!std::getline(in, line)) bad("empty file");
  std::istringstream header(lower(line));
  std::string banner, object, format, field, symmetry;
  header >> banner >> object >> format >> field >> symmetry;
  if (banner != "%%matrixmarket" || object != "matrix")
    bad("not a MatrixMarket file (expected '%%MatrixMarket matrix coordinate real general')");
  if (format != "coordinate") bad("format '" + format + "' not supported; allowed: coordinate");
  if (field != "real" && field != "double" && field != "integer")
    bad("field '" + field + "' not supported; allowed: real, integer");
  if (symmetry != "general" && symmetry != "symmetric")
    bad("symmetry '" + symmetry + "' not supported; allowed: general, symmetric");
  long long rows = -1, cols = -1, nnz = -1;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '%') continue;
    std::istringstream s(line);
    if (!(s >> rows >> cols >> nnz)) bad("expected the size line 'n n nnz'");
    break;
  }
  if (rows < 1 || rows != cols) bad("the matrix must be square with n >= 1, got " + std::to_string(rows) + " x " + std::to_string(cols));
  if (rows > (1LL << 30)) bad("too many agents");
  const int n = static_cast<int>(rows);
  MatrixBuilder b(n);
  long long read = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '%') continue;
    std::istringstream s(line);
    long long i = 0, j = 0;
    double w = 0;
    if (!(s >> i >> j >> w)) bad("expected an entry 'i j weight'");
    if (i < 1 || j < 1 || i > n || j > n) bad("entry (" + std::to_string(i) + ", " + std::to_string(j) + ") outside 1.." + std::to_string(n));
    if (!std::isfinite(w)) bad("weight is not finite");
    if (b.has(static_cast<int>(i - 1), static_cast<int>(j - 1))) bad("duplicate entry (" + std::to_string(i) + ", " + std::to_string(j) + ")");
    b.set(static_cast<int>(i - 1), static_cast<int>(j - 1), w);
    if (symmetry == "symmetric" && i != j) b.set(static_cast<int>(j - 1), static_cast<int>(i - 1), w);
    ++read;
  }
  if (read != nnz) throw InputError("weight matrix file '" + path + "': the size line announces " + std::to_string(nnz) +
                                    " entries but " + std::to_string(read) + " were found");
  return std::move(b).build();
}

namespace hdf5 = concord::detail::hdf5;
using hdf5::Handle;

std::vector<double> read_dataset_double(hid_t file, const char* name, const std::string& path, std::vector<hsize_t>& dims) {
  const std::string what = "weight matrix file '" + path + "': dataset '/" + name + "'";
  Handle ds(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) throw InputError("weight matrix file '" + path + "': no dataset '/" + name + "'");
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  const int rank = space.ok() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (rank < 0) throw InputError(what + " has an unreadable shape (corrupt file?)" + hdf5::error_detail());
  dims.assign(static_cast<std::size_t>(rank), 0);
  if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
    throw InputError(what + " has an unreadable shape (corrupt file?)" + hdf5::error_detail());
  hsize_t count = 1;
  for (auto d : dims) count *= d;
  std::vector<double> data(count);
  if (count && H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0)
    throw InputError("weight matrix file '" + path + "': dataset '/" + name + "' cannot be read as numbers");
  return data;
}

WeightMatrix read_hdf5(const std::string& path) {
  hdf5::Quiet quiet;  // our messages, not HDF5's error stack
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError("weight matrix file '" + path + "': not an HDF5 file");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw InputError("weight matrix file '" + path + "': cannot be opened");
  std::vector<hsize_t> dims;
  if (H5Lexists(file.get(), "W", H5P_DEFAULT) > 0) {
    auto data = read_dataset_double(file.get(), "W", path, dims);
    if (dims.size() != 2 || dims[0] != dims[1] || dims[0] < 1)
      throw InputError("weight matrix file '" + path + "': dataset '/W' must be a square 2-D array");
    const int n = static_cast<int>(dims[0]);
    MatrixBuilder b(n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const double w = data[static_cast<std::size_t>(i) * n + j];
        if (!std::isfinite(w)) throw InputError("weight matrix file '" + path + "': W(" + std::to_string(i) + ", " + std::to_string(j) + ") is not finite");
        if (w != 0.0) b.set(i, j, w);
      }
    return std::move(b).build();
  }
  if (H5Lexists(file.get(), "rows", H5P_DEFAULT) <= 0)
    throw InputError("weight matrix file '" + path + "': expected a dataset '/W' (dense n x n) or datasets '/rows', "
                     "'/cols', '/weights' with a root attribute 'agents'");
  long long agents = 0;
  {
    if (H5Aexists(file.get(), "agents") <= 0)
      throw InputError("weight matrix file '" + path + "': the root group needs an integer attribute 'agents'");
    Handle attr(H5Aopen(file.get(), "agents", H5P_DEFAULT), H5Aclose);
    if (!attr.ok() || H5Aread(attr.get(), H5T_NATIVE_LLONG, &agents) < 0 || agents < 1)
      throw InputError("weight matrix file '" + path + "': attribute 'agents' must be a positive integer");
  }
  std::vector<hsize_t> dr, dc, dw;
  auto rows = read_dataset_double(file.get(), "rows", path, dr);
  auto cols = read_dataset_double(file.get(), "cols", path, dc);
  auto weights = read_dataset_double(file.get(), "weights", path, dw);
  if (rows.size() != cols.size() || rows.size() != weights.size())
    throw InputError("weight matrix file '" + path + "': '/rows', '/cols' and '/weights' must have the same length");
  const int n = static_cast<int>(agents);
  MatrixBuilder b(n);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const double i = rows[k], j = cols[k];
    if (i != std::floor(i) || j != std::floor(j) || i < 0 || j < 0 || i >= n || j >= n)
      throw InputError("weight matrix file '" + path + "': entry " + std::to_string(k) + " has indices outside 0.." + std::to_string(n - 1));
    if (b.has(static_cast<int>(i), static_cast<int>(j)))
      throw InputError("weight matrix file '" + path + "': duplicate entry (" + std::to_string(static_cast<long long>(i)) + ", " + std::to_string(static_cast<long long>(j)) + ")");
    if (!std::isfinite(weights[k])) throw InputError("weight matrix file '" + path + "': weight " + std::to_string(k) + " is not finite");
    b.set(static_cast<int>(i), static_cast<int>(j), weights[k]);
  }
  return std::move(b).build();
}

}  // namespace

WeightMatrix read_weight_matrix_file(const std::string& path) {
  if (!std::filesystem::exists(path)) throw InputError("weight matrix file '" + path + "': no such file");
  const std::string ext = lower(std::filesystem::path(path).extension().string());
  if (ext == ".mtx") return read_matrix_market(path);
  if (ext == ".h5" || ext == ".hdf5") return read_hdf5(path);
  throw InputError("weight matrix file '" + path + "': unknown extension '" + ext + "'; allowed: .mtx (MatrixMarket), .h5 or .hdf5 (HDF5)");
}

void validate_mixing_matrix(const WeightMatrix& w, const std::string& source, double tolerance) {
  const int n = w.size();
  std::vector<double> colsum(static_cast<std::size_t>(n), 0.0);
  int bad_row = -1;
  double bad_rowsum = 0.0;
  for (int i = 0; i < n; ++i) {
    double rowsum = 0.0;
    auto cols = w.row_cols(i);
    auto vals = w.row_weights(i);
    for (std::size_t k = 0; k < cols.size(); ++k) {
      if (vals[k] < 0.0)
        throw InputError(source + ": W(" + std::to_string(i) + ", " + std::to_string(cols[k]) + ") = " +
                         shortest(vals[k]) + " is negative; mixing weights must be >= 0");
      rowsum += vals[k];
      colsum[cols[k]] += vals[k];
    }
    if (bad_row < 0 && std::abs(rowsum - 1.0) > tolerance) bad_row = i, bad_rowsum = rowsum;
  }
  int bad_col = -1;
  for (int j = 0; j < n && bad_col < 0; ++j)
    if (std::abs(colsum[j] - 1.0) > tolerance) bad_col = j;
  // Doubly stochastic (what most algorithms need), or row- or column-stochastic only (directed
  // graphs: push-sum runs on column-stochastic W); the algorithms check what they need.
  if (bad_row >= 0 && bad_col >= 0)
    throw InputError(source + ": W is neither row- nor column-stochastic within tolerance " + shortest(tolerance) +
                     ": row " + std::to_string(bad_row) + " sums to " + shortest(bad_rowsum) + " and column " +
                     std::to_string(bad_col) + " sums to " + shortest(colsum[bad_col]) +
                     "; every row (row-stochastic) or every column (column-stochastic) must sum to 1, both for the "
                     "doubly-stochastic W that dsgd, gradient_tracking and most algorithms need");
  if (bad_row < 0 && bad_col < 0) {
    // Doubly stochastic: a connected pattern is strongly connected (each weak component is a strong one).
    if (!pattern_connected({w}))
      throw InputError(source + ": the graph of W is not connected; agents in different components never reach consensus");
  } else if (!strongly_connected(w)) {
    throw InputError(source + ": the directed graph of W (" + (bad_row < 0 ? "row" : "column") +
                     "-stochastic) is not strongly connected; some agent's value never reaches some other agent");
  }
}

Topology user_matrix_topology(WeightMatrix w, const std::string& source, int agents, double tolerance) {
  if (w.size() != agents)
    throw InputError("weight matrix file '" + source + "' is " + std::to_string(w.size()) + " x " +
                     std::to_string(w.size()) + " but the run has " + std::to_string(agents) + " agents; they must match");
  validate_mixing_matrix(w, "weight matrix file '" + source + "'", tolerance);
  std::vector<WeightMatrix> rounds;
  rounds.push_back(std::move(w));
  return Topology("file", std::move(rounds), "file(path=" + source + ")");
}

}  // namespace concord::topology
