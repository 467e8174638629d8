#include "concord/topology/topology.hpp"

#include <stdexcept>

#include "concord/core/random.hpp"

namespace concord::topology {

const char* schedule_name(Schedule s) {
  switch (s) {
    case Schedule::periodic: return "periodic";
    case Schedule::drawn: return "drawn";
    case Schedule::reweighted: return "reweighted";
  }
  return "?";
}

Topology::Topology(std::string name, std::vector<WeightMatrix> rounds, std::string description)
    : name_(std::move(name)), description_(std::move(description)), rounds_(std::move(rounds)) {
  if (rounds_.empty()) throw std::logic_error("concord::topology::Topology '" + name_ + "': no rounds");
  for (const auto& w : rounds_)
    if (w.size() != rounds_.front().size())
      throw std::logic_error("concord::topology::Topology '" + name_ + "': rounds of different sizes");
  if (description_.empty()) description_ = name_;
}

Topology Topology::drawn(std::string name, std::vector<WeightMatrix> pool, std::uint64_t seed, std::uint64_t stream,
                         std::string description) {
  Topology t(std::move(name), std::move(pool), std::move(description));
  t.schedule_ = Schedule::drawn;
  t.seed_ = seed;
  t.stream_ = stream;
  return t;
}

Topology Topology::reweighted(std::string name, WeightMatrix expected, std::shared_ptr<const WeightDraw> draw,
                              std::string description) {
  if (!draw) throw std::logic_error("concord::topology::Topology::reweighted '" + name + "': no weight draw");
  std::vector<WeightMatrix> rounds;
  rounds.push_back(std::move(expected));
  Topology t(std::move(name), std::move(rounds), std::move(description));
  t.schedule_ = Schedule::reweighted;
  t.draw_ = std::move(draw);
  return t;
}

std::size_t Topology::round_index(std::int64_t k) const {
  switch (schedule_) {
    case Schedule::periodic: return static_cast<std::size_t>(k % period());
    case Schedule::drawn: {
      if (rounds_.size() == 1) return 0;
      RandomStream rng(seed_, stream_purpose::topology, stream_, static_cast<std::uint64_t>(k));
      return static_cast<std::size_t>(rng.uniform_int(0, period() - 1));
    }
    case Schedule::reweighted: return 0;
  }
  return 0;
}

std::span<const double> Topology::weights(std::int64_t k, std::vector<double>& values,
                                         std::vector<int>& scratch) const {
  const WeightMatrix& pattern = round(k);
  if (schedule_ != Schedule::reweighted) return pattern.weights();
  values.resize(pattern.nonzeros());  // no-ops once sized
  scratch.resize(draw_->scratch_size());
  draw_->fill(k, pattern, 0, pattern.size(), values, scratch);
  return values;
}

WeightMatrix Topology::matrix(std::int64_t k) const {
  if (schedule_ != Schedule::reweighted) return round(k);
  const WeightMatrix& pattern = rounds_.front();
  const int n = pattern.size();
  std::vector<double> values(pattern.nonzeros());
  std::vector<int> scratch(draw_->scratch_size());
  draw_->fill(k, pattern, 0, n, values, scratch);
  MatrixBuilder b(n);
  for (int i = 0; i < n; ++i) {
    const auto cols = pattern.row_cols(i);
    const auto offset = static_cast<std::size_t>(pattern.row_offsets()[static_cast<std::size_t>(i)]);
    for (std::size_t e = 0; e < cols.size(); ++e)
      if (values[offset + e] != 0.0) b.set(i, cols[e], values[offset + e]);
  }
  return std::move(b).build();
}

}  // namespace concord::topology
