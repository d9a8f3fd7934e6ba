# The patient-level part of `make fit`, done the brms way: each model compiled once, then
# refitted with update() (no recompilation) on the pseudo-cohort and its 20 replicates.
# Run by benchmarks/brms.py, which compares it with netlm-bayes; prints one JSON line.
#
#   Rscript brms_workload.R COHORT.csv REPLICATES_DIR CORES
#
# Priors match netlm-bayes's weakly-informative set where the parametrisations allow:
#   coefficients  Normal(0, 2.5) (brms's Weibull is AFT: beta_AFT = -beta_PH / shape, so the
#                 PH prior is matched only approximately; both are weak);
#   Weibull       log shape ~ Normal(0, 1) (brms: shape ~ lognormal(0, 1)); intercept at the
#                 mean covariates ~ Normal(log t_ref, 2.5), t_ref the median observed time;
#   logistic      intercept at the mean covariates ~ Normal(0, 2.5);
#   ordinal       cutpoints ~ Normal(0, 2.5) (netlm-bayes: first ~ Normal(0, 2.5), gaps
#                 ~ HalfNormal(2.5)).
# brms centres the predictors itself, as netlm-bayes does, so intercepts are at the mean.
suppressPackageStartupMessages({
  library(brms)
  library(posterior)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
cohort_file <- args[[1]]
replicates <- sort(list.files(args[[2]], pattern = "\\.csv$", full.names = TRUE))
cores <- as.integer(args[[3]])
covariates <- "htb_gt25 + ki67_gt10 + pet_positive + border_clear"

prepare <- function(path) {
  d <- read.csv(path)
  d$censored <- 1 - d$progressed
  d$non_response <- as.integer(d$response %in% c("SD", "PD"))
  d$category <- factor(d$response, levels = c("PR", "SD", "PD"), ordered = TRUE)
  d
}

cohort <- prepare(cohort_file)
t_ref <- median(cohort$hpfs_months)
models <- list(
  hpfs_weibull = list(
    formula = bf(as.formula(paste("hpfs_months | cens(censored) ~", covariates))),
    family = weibull(),
    prior = c(prior(normal(0, 2.5), class = "b"),
              set_prior(sprintf("normal(%f, 2.5)", log(t_ref)), class = "Intercept"),
              prior(lognormal(0, 1), class = "shape"))
  ),
  response_logistic = list(
    formula = bf(as.formula(paste("non_response ~", covariates))),
    family = bernoulli(),
    prior = c(prior(normal(0, 2.5), class = "b"), prior(normal(0, 2.5), class = "Intercept"))
  ),
  response_ordinal = list(
    formula = bf(as.formula(paste("category ~", covariates))),
    family = cumulative("logit"),
    prior = c(prior(normal(0, 2.5), class = "b"), prior(normal(0, 2.5), class = "Intercept"))
  )
)

seconds <- function(expr) {
  started <- proc.time()[["elapsed"]]
  value <- force(expr)
  list(value = value, seconds = proc.time()[["elapsed"]] - started)
}

# The effect netlm-bayes reports: HR for Weibull (PH = exp(-shape * beta_AFT)), else exp(b).
ratios <- function(fit, name) {
  draws <- as_draws_df(fit)
  b <- draws[, grep("^b_(htb|ki67|pet|border)", names(draws)), drop = FALSE]
  if (name == "hpfs_weibull") b <- -b * draws$shape
  sapply(b, function(x) median(exp(x)))
}

gate <- function(fit) {
  draws <- as_draws_df(fit)
  keep <- grep("^(b_|shape)", names(draws), value = TRUE)
  s <- summarise_draws(subset_draws(as_draws_array(fit), variable = keep),
                       "rhat", "ess_bulk", "ess_tail")
  np <- nuts_params(fit)
  list(rhat_max = max(s$rhat), ess_min = min(s$ess_bulk, s$ess_tail),
       divergences = sum(np$Value[np$Parameter == "divergent__"]))
}

out <- list()
workload_started <- proc.time()[["elapsed"]]
for (name in names(models)) {
  m <- models[[name]]
  compiled <- seconds(brm(m$formula, data = cohort, family = m$family, prior = m$prior,
                          chains = 0, silent = 2, refresh = 0))
  sample <- function(data, seed) {
    seconds(suppressWarnings(update(compiled$value, newdata = data, recompile = FALSE,
                                    chains = 4, cores = cores, iter = 2000, warmup = 1000,
                                    seed = seed, refresh = 0, silent = 2,
                                    control = list(adapt_delta = 0.8))))
  }
  first <- sample(cohort, 1)
  checks <- gate(first$value)
  replicate_seconds <- sapply(seq_along(replicates), function(i) {
    sample(prepare(replicates[[i]]), i + 1)$seconds
  })
  # Stan's own sampling time, chains spread over the cores: update()'s wall time also
  # holds brms's data preparation, which netlm-bayes's sampling time does not.
  stan_seconds <- sum(rstan::get_elapsed_time(first$value$fit)) / min(cores, 4)
  out[[name]] <- list(
    compile_seconds = compiled$seconds,
    sampling_seconds = stan_seconds,
    update_seconds = first$seconds,
    ess_min = checks$ess_min,
    ess_per_second = checks$ess_min / stan_seconds,
    rhat_max = checks$rhat_max,
    divergences = checks$divergences,
    replicate_seconds = sum(replicate_seconds),
    medians = as.list(ratios(first$value, name))
  )
}
out$workload_seconds <- proc.time()[["elapsed"]] - workload_started
out$versions <- list(brms = as.character(packageVersion("brms")),
                     rstan = as.character(packageVersion("rstan")),
                     R = paste(R.version$major, R.version$minor, sep = "."))
cat(toJSON(out, auto_unbox = TRUE, digits = NA), "\n")
