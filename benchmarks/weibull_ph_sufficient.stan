// The same Weibull PH model, written with the same sufficient statistics that
// netlm-bayes samples (families.survival.model._weibull_sufficient_loglik): the event sums are data, and
// only one exponential per patient is left in each gradient. Same posterior as weibull_ph.stan.
data {
  int<lower=1> N;
  int<lower=1> P;
  matrix[N, P] X;
  vector[N] log_u;
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
  real event_count = sum(event);
  real event_log_time_sum = dot_product(event, log_u);
  vector[P] event_covariate_sum = X' * event;
}
parameters {
  real log_median;
  real log_shape;
  vector[P] beta;
}
model {
  real k = exp(log_shape);
  log_median ~ normal(log_median_mu, log_median_sigma);
  log_shape ~ normal(log_shape_mu, log_shape_sigma);
  beta ~ normal(prior_mu, prior_sigma);
  target += event_count * (log_ln2 + log_shape - k * log_median - log_t_ref)
            + (k - 1) * event_log_time_sum + dot_product(event_covariate_sum, beta)
            - sum(exp(log_ln2 + k * (log_u - log_median) + X * beta));
}
