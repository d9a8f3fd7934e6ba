// Weibull proportional hazards with right censoring: the model netlm-bayes fits
// (netlm_bayes/families/survival/weibull.py and model.py), with the same parametrisation, priors and data.
//   H(u | x) = ln2 (u / m)^k exp(x' beta),  u = t / t_ref
// Written as a Stan user would: vectorised over patients, log u passed in as data.
data {
  int<lower=1> N;
  int<lower=1> P;
  matrix[N, P] X;
  vector[N] log_u;               // log(t / t_ref)
  vector<lower=0, upper=1>[N] event;
  real log_t_ref;
  vector[P] prior_mu;
  vector<lower=0>[P] prior_sigma;
  real log_median_mu;
  real<lower=0> log_median_sigma;
  real log_shape_mu;
  real<lower=0> log_shape_sigma;
}
transformed data {
  real log_ln2 = log(log2());
}
parameters {
  real log_median;
  real log_shape;
  vector[P] beta;
}
model {
  real k = exp(log_shape);
  vector[N] eta = X * beta;
  vector[N] log_h = log_ln2 + log_shape - log_median + (k - 1) * (log_u - log_median) + eta;
  vector[N] log_cumhaz = log_ln2 + k * (log_u - log_median) + eta;
  log_median ~ normal(log_median_mu, log_median_sigma);
  log_shape ~ normal(log_shape_mu, log_shape_sigma);
  beta ~ normal(prior_mu, prior_sigma);
  target += dot_product(event, log_h - log_t_ref) - sum(exp(log_cumhaz));
}
