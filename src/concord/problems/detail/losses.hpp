#pragma once
/// \file losses.hpp
/// The per-sample losses of the problems, written once and called by every kernel that needs
/// them (the linear models and the MLP, host and device paths):
///   squared_loss             l = e^2 / 2 with e = z - t; the residual dl/dz = e
///   logistic_loss            l = log(1 + e^{-y z}), y = +-1; residual -y sigma(-y z)
///   softmax_cross_entropy    l = -log softmax(z)_y; residual softmax(z) - e_y
/// Each writes the residual dl/dz in place of z and returns the loss and whether the prediction
/// was right (1 or 0; always 0 for the squared loss).
#include <Kokkos_Core.hpp>

namespace concord::problems::detail {

struct SampleLoss {
  double loss = 0.0;
  double correct = 0.0;
};

/// z: the prediction, replaced by the residual e = z - target.
KOKKOS_INLINE_FUNCTION SampleLoss squared_loss(double& z, double target) {
  const double e = z - target;
  z = e;
  return {0.5 * e * e, 0.0};
}

/// z: the logit, replaced by dl/dz; `positive` is class 1 (y = +1; class 0 is y = -1).
KOKKOS_INLINE_FUNCTION SampleLoss logistic_loss(double& z, bool positive) {
  const double y = positive ? 1.0 : -1.0;
  const double m = y * z;
  // log(1 + e^-m) and sigma(-m) = 1 / (1 + e^m), both without overflow.
  const double loss = m > 0 ? Kokkos::log1p(Kokkos::exp(-m)) : -m + Kokkos::log1p(Kokkos::exp(m));
  const double sig = m > 0 ? Kokkos::exp(-m) / (1.0 + Kokkos::exp(-m)) : 1.0 / (1.0 + Kokkos::exp(m));
  const double correct = ((z > 0) == positive) ? 1.0 : 0.0;
  z = -y * sig;
  return {loss, correct};
}

/// z[0], z[stride], ..., z[(K - 1) stride]: the logits, replaced by softmax(z) - e_label. The
/// prediction is the first largest logit.
KOKKOS_INLINE_FUNCTION SampleLoss softmax_cross_entropy(double* z, long stride, int K, int label) {
  int best = 0;
  double zmax = z[0];
  for (int k = 1; k < K; ++k)
    if (z[k * stride] > zmax) zmax = z[k * stride], best = k;
  double total = 0.0;
  for (int k = 0; k < K; ++k) total += Kokkos::exp(z[k * stride] - zmax);
  const double log_total = Kokkos::log(total);
  const double loss = -(z[label * stride] - zmax - log_total);
  for (int k = 0; k < K; ++k) z[k * stride] = Kokkos::exp(z[k * stride] - zmax - log_total) - (k == label ? 1.0 : 0.0);
  return {loss, best == label ? 1.0 : 0.0};
}

}  // namespace concord::problems::detail
