#include "concord/core/detail/hdf5.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "concord/core/error.hpp"

namespace concord::detail::hdf5 {

std::string library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
#ifdef H5_HAVE_PARALLEL
  const char* flavour = "parallel";
#else
  const char* flavour = "serial";
#endif
  return fmt::format("{}.{}.{} ({})", major, minor, release, flavour);
}

// ------------------------------------------------------------------------------------------------
// Handles and errors
// ------------------------------------------------------------------------------------------------

std::atomic<bool>& abandoned_files() {
  static std::atomic<bool> flag{false};
  return flag;
}

bool Handle::reset() noexcept {
  bool fine = true;
  if (id_ >= 0 && close_) fine = close_(id_) >= 0;
  if (!fine) abandoned_files().store(true);
  id_ = -1;
  return fine;
}

std::atomic<long>& failures() {
  static std::atomic<long> count{0};
  return count;
}

Quiet::Quiet() {
  H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
  H5Eset_auto2(
      H5E_DEFAULT, [](hid_t, void*) -> herr_t { return ++failures(), 0; }, nullptr);
}

Quiet::~Quiet() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }

std::string error_detail() {
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

hid_t check_id(hid_t id, const std::string& what) {
  if (id < 0) throw RuntimeError(what + error_detail());
  return id;
}

void check_status(herr_t status, const std::string& what) {
  if (status < 0) throw RuntimeError(what + error_detail());
}

// ------------------------------------------------------------------------------------------------
// Files and property lists
// ------------------------------------------------------------------------------------------------

int path_kind(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) return 0;
  if (ec) return 3;
  if (std::filesystem::is_regular_file(status)) return 1;
  if (std::filesystem::is_directory(status)) return 2;
  return 3;
}

std::string unusable_file(const std::string& path, const std::string& noun, int kind, bool hdf5) {
  if (kind == 0) return fmt::format("{} file '{}' does not exist", noun, path);
  if (kind == 2) return fmt::format("{} file '{}' is a directory, not a file", noun, path);
  if (kind != 1) return fmt::format("{} file '{}' is not a regular file", noun, path);
  if (!hdf5) return fmt::format("{} file '{}' is not an HDF5 file, so not a Concord {}", noun, path, noun);
  return {};
}

Handle open_serial(const std::string& path, const std::string& noun) {
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
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok())
    throw InputError(fmt::format("{} file '{}' cannot be opened: it is damaged or truncated, or not readable{}", noun,
                                 path, error_detail()));
  return file;
}

Handle open_parallel_file(const std::string& path, MPI_Comm comm, unsigned flags, const std::string& noun) {
  Handle fapl = mpio_fapl(comm);
  Handle file(H5Fopen(path.c_str(), flags, fapl.get()), H5Fclose);
  if (!file.ok())
    throw InputError(fmt::format("{} file '{}' cannot be opened{}: it is damaged or truncated, or not {}{}", noun, path,
                                 flags == H5F_ACC_RDWR ? " for writing" : "",
                                 flags == H5F_ACC_RDWR ? "writable" : "readable", error_detail()));
  return file;
}

void require_format(hid_t file, const std::string& path, const std::string& noun, const std::string& expected) {
  std::string format;
  if (!read_text_attribute(file, "format", format, fmt::format("{} file '{}'", noun, path)))
    throw InputError(fmt::format("{} file '{}' is not a Concord {}: it has no root attribute 'format' (expected '{}')",
                                 noun, path, noun, expected));
  if (format != expected)
    throw InputError(fmt::format("{} file '{}' is not a Concord {}: its root attribute 'format' is '{}', expected '{}'",
                                 noun, path, noun, format, expected));
}

Handle mpio_fapl(MPI_Comm comm) {
  Handle fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "cannot create an HDF5 file access property list"), H5Pclose);
  check_status(H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL), "cannot select HDF5's MPI-IO driver");
  return fapl;
}

Handle collective_dxpl() {
  Handle dxpl(check_id(H5Pcreate(H5P_DATASET_XFER), "cannot create an HDF5 transfer property list"), H5Pclose);
  check_status(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), "cannot select collective HDF5 transfers");
  return dxpl;
}

void use_checksummed_metadata(hid_t fapl) {
  check_status(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST),
               "cannot select HDF5's latest file format");
}

// ------------------------------------------------------------------------------------------------
// Attributes
// ------------------------------------------------------------------------------------------------

Handle utf8_string_type(StringStorage storage, std::size_t fixed_size) {
  Handle type(check_id(H5Tcopy(H5T_C_S1), "cannot create an HDF5 string type"), H5Tclose);
  check_status(H5Tset_size(type.get(), storage == StringStorage::variable ? H5T_VARIABLE : std::max<std::size_t>(1, fixed_size)),
               "cannot create an HDF5 string type");
  if (storage == StringStorage::fixed) check_status(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "cannot create an HDF5 string type");
  check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "cannot create an HDF5 string type");
  return type;
}

void delete_attribute_if_present(hid_t object, const std::string& name, const std::string& where) {
  const htri_t exists = H5Aexists(object, name.c_str());
  check_status(exists < 0 ? -1 : 0, where + ": cannot look up attribute '" + name + "'");
  if (exists > 0) check_status(H5Adelete(object, name.c_str()), where + ": cannot replace attribute '" + name + "'");
}

void write_text_attribute(hid_t object, const std::string& name, const std::string& value, const std::string& where,
                          StringStorage storage) {
  delete_attribute_if_present(object, name, where);
  const std::string what = where + ": cannot write attribute '" + name + "'";
  Handle type = utf8_string_type(storage, value.size());
  Handle space(check_id(H5Screate(H5S_SCALAR), what), H5Sclose);
  Handle attribute(check_id(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what),
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

void write_text_list_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values,
                               const std::string& where, StringStorage storage) {
  delete_attribute_if_present(object, name, where);
  const std::string what = where + ": cannot write attribute '" + name + "'";
  std::size_t longest = 1;
  for (const auto& v : values) longest = std::max(longest, v.size());
  Handle type = utf8_string_type(storage, longest);
  const hsize_t n = values.size();
  Handle space(check_id(n ? H5Screate_simple(1, &n, nullptr) : H5Screate(H5S_NULL), what), H5Sclose);
  Handle attribute(check_id(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what),
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

void write_integer_attribute(hid_t object, const std::string& name, std::int64_t value, const std::string& where) {
  delete_attribute_if_present(object, name, where);
  const std::string what = where + ": cannot write attribute '" + name + "'";
  Handle space(check_id(H5Screate(H5S_SCALAR), what), H5Sclose);
  Handle attribute(
      check_id(H5Acreate2(object, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), what), H5Aclose);
  check_status(H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value), what);
}

std::vector<std::string> read_strings(hid_t attribute, const std::string& what) {
  Handle file_type(check_id(H5Aget_type(attribute), what), H5Tclose);
  if (H5Tget_class(file_type.get()) != H5T_STRING) throw InputError(what + " is not a string");
  Handle space(check_id(H5Aget_space(attribute), what), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0) throw RuntimeError(what + error_detail());
  std::vector<std::string> out;
  if (count == 0 || H5Sget_simple_extent_type(space.get()) == H5S_NULL) return out;
  const auto n = static_cast<std::size_t>(count);
  const htri_t variable = H5Tis_variable_str(file_type.get());
  if (variable < 0) throw RuntimeError(what + error_detail());
  Handle memory_type(check_id(H5Tcopy(H5T_C_S1), what), H5Tclose);
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

Attributes read_attributes(hid_t object, const std::set<std::string>& skip, const std::string& where) {
  struct Context {
    Attributes out;
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
          Handle attribute(check_id(H5Aopen(location, name, H5P_DEFAULT), what + " cannot be opened"), H5Aclose);
          Handle type(check_id(H5Aget_type(attribute.get()), what), H5Tclose);
          Handle space(check_id(H5Aget_space(attribute.get()), what), H5Sclose);
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

bool read_text_attribute(hid_t object, const std::string& name, std::string& value, const std::string& where) {
  if (H5Aexists(object, name.c_str()) <= 0) return false;
  Handle attribute(check_id(H5Aopen(object, name.c_str(), H5P_DEFAULT), where + ": cannot open attribute " + name),
                   H5Aclose);
  Handle type(check_id(H5Aget_type(attribute.get()), where), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) return false;
  auto texts = read_strings(attribute.get(), where + ": attribute '" + name + "'");
  if (texts.size() != 1) return false;
  value = texts.front();
  return true;
}

bool read_integer_attribute(hid_t object, const std::string& name, std::int64_t& value, const std::string& where) {
  if (H5Aexists(object, name.c_str()) <= 0) return false;
  Handle attribute(check_id(H5Aopen(object, name.c_str(), H5P_DEFAULT), where + ": cannot open attribute " + name),
                   H5Aclose);
  Handle type(check_id(H5Aget_type(attribute.get()), where), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_INTEGER) return false;
  return H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) >= 0;
}

void write_attributes(hid_t object, const std::map<std::string, std::string>& text,
                      const std::map<std::string, std::int64_t>& integers, const std::set<std::string>& reserved,
                      const std::string& where, StringStorage storage) {
  for (const auto& [name, value] : text) {
    if (integers.count(name))
      throw std::logic_error(where + ": attribute '" + name + "' is given both as text and as an integer");
    if (name.empty()) throw std::logic_error(where + ": an attribute name is empty");
    if (!reserved.count(name)) write_text_attribute(object, name, value, where, storage);
  }
  for (const auto& [name, value] : integers) {
    if (name.empty()) throw std::logic_error(where + ": an attribute name is empty");
    if (!reserved.count(name)) write_integer_attribute(object, name, value, where);
  }
}

// ------------------------------------------------------------------------------------------------
// Datasets
// ------------------------------------------------------------------------------------------------

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& what) {
  Handle space(check_id(H5Dget_space(dataset), what), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw RuntimeError(what + error_detail());
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank), 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  if (dims.empty()) return "a scalar";
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

std::size_t rows_per_piece(int dimension) {
  return std::max<std::size_t>(1, transfer_piece_doubles / std::max<std::size_t>(1, static_cast<std::size_t>(dimension)));
}

long long row_pieces(int count, int dimension) {
  const std::size_t per_piece = rows_per_piece(dimension);
  return count > 0 ? static_cast<long long>((static_cast<std::size_t>(count) + per_piece - 1) / per_piece) : 0;
}

void transfer_row_piece(bool write, hid_t dataset, hid_t dxpl, long long lead, int first, int count, int dimension,
                        long long piece, const HostMatrix& host, std::vector<double>& buffer, const std::string& what) {
  const std::size_t d = static_cast<std::size_t>(dimension);
  const std::size_t per_piece = rows_per_piece(dimension);
  const std::size_t row0 = static_cast<std::size_t>(piece) * per_piece;
  const std::size_t rows =
      row0 < static_cast<std::size_t>(count) ? std::min(per_piece, static_cast<std::size_t>(count) - row0) : 0;
  Handle file_space(check_id(H5Dget_space(dataset), what), H5Sclose);
  const hsize_t elements = std::max<hsize_t>(1, rows * d);
  Handle memory_space(check_id(H5Screate_simple(1, &elements, nullptr), what), H5Sclose);
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
}

}  // namespace concord::detail::hdf5
