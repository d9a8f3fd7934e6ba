r"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari and Gelman, 2018).

For each model: draw θ from its prior, simulate a data set of n = 84 from the model, fit
it with the model's own code and sampler, and take the rank of each true parameter among
L = 100 thinned posterior draws. If the model and sampler are right, every rank is uniform
on 0..L, and 95% posterior intervals hold the truth 95% of the time.

The four models, as the tool builds them (`build_model` of each family):
- `hpfs_weibull`: the pseudo-cohort's covariate rows, Weibull times from θ, censoring
  uniform on (0.5, 4) in units of t_ref. t_ref is held at 1 here, so that the prior does
  not depend on the data (in a real fit t_ref is the median observed time, a data-chosen
  unit under a prior of SD 2.5 on the log scale);
- `hpfs_mspline` and `hpfs_mspline_cure` (only when named): the same, with the M-spline
  baseline (and, for the second, a cure fraction for everyone, its logit from its prior): the
  coefficients drawn from their smoothing prior, 6 interior knots fixed at
  `MSPLINE_KNOTS` and the boundary at the largest censoring time (knots from each
  simulated data set's quantiles would make the model differ between simulations,
  which SBC cannot judge);
- `response_logistic`, `response_ordinal`: the same covariate rows, outcomes from θ;
- `reported_effects` with `se = "fixed"`: each log ratio observed with the SE its printed
  P implies, and the response counts. (The default `rounded-p` variant's SE is a function
  of the observed estimate itself, which is not a generative model, so SBC cannot test it.)

Each task carries its own seed and runs anywhere (`runner`: local processes or Dask).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from scipy import special, stats

from netlm_bayes import paths

MODELS = ("hpfs_weibull", "response_logistic", "response_ordinal", "reported_effects")
# Run only when named (`make validate-optional`, validation-optional/): 195 and 196 of 200
# fits through the gate; out of the default set for their cost (docs/validation.md).
OPTIONAL_MODELS = ("hpfs_mspline", "hpfs_mspline_cure")
THINNED = 100  # L: posterior draws per rank
BINS = 10
PASS_P = 0.01
CENSOR_RANGE = (0.5, 4.0)
MSPLINE_KNOTS = (0.3, 0.6, 0.9, 1.3, 1.8, 2.6)  # in units of t_ref (1 here): df 10


@dataclass(frozen=True)
class Task:
    model: str
    first: int  # index of the first simulation in this batch
    count: int
    seed: int
    profile: str = "sbc"


@dataclass
class _Case:
    """A compiled model with what it needs to simulate from its prior."""

    sampler: object
    fixed: dict  # pm.Data values that stay (covariates, priors)
    spec: object
    paper: object = None


@cache
def _case(model: str, profile: str) -> _Case:
    """Built and compiled once per process (and reused across its tasks)."""
    from netlm_bayes.evidence import paper as published
    from netlm_bayes.evidence.patient_data import Columns, read_model_data
    from netlm_bayes.families import specs
    from netlm_bayes.fitting import prior_choice
    from netlm_bayes.sampling.sampler import Sampler, load_profile

    spec = _spec(model)
    settings = load_profile(profile)
    if model == "reported_effects":
        from netlm_bayes.families import reported_effects

        spec = spec.model_copy(update={"se": "fixed"})
        paper = published.load_paper(paths.PAPER_FILE)
        prior_sets = specs.load_prior_sets(spec.prior_sets_path)
        name = prior_sets.default
        built = reported_effects.build_model(spec, paper, prior_sets, name)
        fixed = reported_effects.prior_data(spec, paper, prior_sets, name)
        return _Case(Sampler(built, settings), fixed, spec, paper)
    data = read_model_data(
        paths.PROJECT_ROOT / spec.data, Columns(tuple(spec.covariates))
    )  # covariate rows only: outcomes are simulated
    chosen = prior_choice.from_prior_set(
        specs.load_prior_sets(spec.prior_sets_path), spec.default_prior_set, data.covariates
    )
    from netlm_bayes.families.survival.registry import spec_family
    from netlm_bayes.fitting.patient import MODEL_BUILDERS, family_profile

    module = MODEL_BUILDERS[spec.family]
    if spec.family == "survival":  # as a real fit samples it
        settings = family_profile(settings, spec_family(spec, 1.0))
    placeholder = _placeholder(spec, data)
    built = module.build_model(spec, placeholder, chosen)
    from netlm_bayes.families.design import design_values

    fixed = design_values(data, chosen)
    return _Case(Sampler(built, settings), fixed, spec)


def _spec(model: str):
    from netlm_bayes.families import specs

    if model not in OPTIONAL_MODELS:
        return specs.load_spec(model)
    return specs.load_spec("hpfs_weibull").model_copy(update={
        "likelihood": "mspline", "knots": list(MSPLINE_KNOTS), "boundary_knot": CENSOR_RANGE[1],
        "cure": model == "hpfs_mspline_cure",
    })  # fmt: skip


def _placeholder(spec, data):
    """Outcome columns for building the model; every fit replaces them."""
    from dataclasses import replace

    if spec.family == "survival":
        return replace(data, time=np.ones(data.n), event=np.ones(data.n, dtype=int))
    return replace(data, y=np.arange(data.n) % (2 if spec.family == "logistic" else 3))


def simulate(model: str, case: _Case, rng: np.random.Generator) -> tuple[dict, dict]:
    """(true parameter values by name, `pm.Data` values for the simulated data set)."""
    spec = case.spec
    if model == "reported_effects":
        mu, sigma = case.fixed["prior_mu"], case.fixed["prior_sigma"]
        theta = rng.normal(mu, sigma)
        effects = [case.paper.effect(name) for name in spec.effects]
        se = np.array([e.exact.se for e in effects])
        rates = rng.dirichlet(case.fixed["prior_alpha"])
        n = case.paper.study.n_patients
        data = {
            **case.fixed,
            "observed_log_estimate": rng.normal(theta, se),
            "observed_counts": rng.multinomial(n, rates),
        }
        truth = {f"log_ratio[{i}]": t for i, t in enumerate(theta)}
        truth |= {f"rates[{i}]": r for i, r in enumerate(rates)}
        return truth, data
    # Simulated as the models are written: the baseline at the cohort's mean pattern.
    centred = case.fixed["X"] - case.fixed["covariate_mean"]
    beta = rng.normal(case.fixed["prior_mu"], case.fixed["prior_sigma"])
    truth = {f"beta[{i}]": b for i, b in enumerate(beta)}
    eta = centred @ beta
    if spec.family == "survival" and spec.likelihood == "mspline":
        return _simulate_mspline(case, rng, eta, truth)
    if spec.family == "survival":
        from netlm_bayes.families.survival.registry import family

        base = spec.baseline
        params = {
            "log_median": rng.normal(base.log_median.mu, base.log_median.sigma),
            "log_shape": rng.normal(base.log_shape.mu, base.log_shape.sigma),
        }
        times = family("weibull").sample_times(params, eta, 1.0, rng)
        censor = rng.uniform(*CENSOR_RANGE, size=len(eta))
        observed = np.maximum(np.minimum(times, censor), 1e-12)
        truth |= {"log_median_at_mean": params["log_median"], "log_shape": params["log_shape"]}
        data = {
            **case.fixed, "event": (times <= censor).astype(float), "observed_time": observed,
            "t_ref": np.asarray(1.0),
        }  # fmt: skip
        return truth, data
    if spec.family == "logistic":
        alpha = rng.normal(spec.intercept.mu, spec.intercept.sigma)
        y = (rng.uniform(size=len(eta)) < special.expit(alpha + eta)).astype(int)
        return truth | {"alpha_at_mean": alpha}, {**case.fixed, "observed_outcome": y}
    first = rng.normal(spec.cutpoints.mu, spec.cutpoints.sigma)
    gaps = np.abs(rng.normal(0.0, spec.cutpoints.sigma, size=len(spec.categories) - 2))
    cutpoints = np.concatenate([[first], first + np.cumsum(gaps)])
    below = special.expit(cutpoints[None, :] - eta[:, None])
    y = (rng.uniform(size=(len(eta), 1)) > below).sum(axis=1)
    truth |= {"first_cutpoint": first} | {f"cutpoint_gaps[{i}]": g for i, g in enumerate(gaps)}
    return truth, {**case.fixed, "observed_outcome": y}


def _simulate_mspline(case: _Case, rng: np.random.Generator, eta, truth: dict):
    """θ from the M-spline model's priors (`mspline_model`), times by inverting H."""
    from netlm_bayes.families.survival.mspline import SMOOTHNESS_PRIOR, smoothed_coefficients
    from netlm_bayes.families.survival.mspline_model import spline_data
    from netlm_bayes.families.survival.registry import spec_family

    kind = spec_family(case.spec, 1.0)
    prior = kind.baseline_prior(case.spec.baseline)
    log_scale = rng.normal(prior.mu, prior.sigma * float(case.fixed["baseline_sd_scale"]))
    shape, rate = SMOOTHNESS_PRIOR
    sd = rng.gamma(shape, 1.0 / rate)
    steps = rng.normal(size=kind.core.basis.size)
    coefficients = smoothed_coefficients(kind.core.basis, sd, steps, special.softmax)
    params = {"log_hazard_scale": log_scale, "coefficients": coefficients}
    times = kind.core.sample_times(params, eta, 1.0, rng)
    if kind.cure:  # one cure fraction for everyone: the model's without cure covariates
        base = case.spec.baseline.cure_logit
        logit = rng.normal(base.mu, base.sigma * float(case.fixed["baseline_sd_scale"]))
        times = np.where(rng.uniform(size=len(eta)) < special.expit(logit), np.inf, times)
        truth["cure_logit_at_mean"] = logit
    censor = rng.uniform(*CENSOR_RANGE, size=len(eta))
    observed = np.maximum(np.minimum(times, censor), 1e-12)
    truth |= {"log_hazard_scale_at_mean": log_scale, "smoothness_sd": sd}
    truth |= {f"coefficients[{i}]": c for i, c in enumerate(coefficients)}
    data = {
        **case.fixed, "event": (times <= censor).astype(float), "observed_time": observed,
        "t_ref": np.asarray(1.0), **spline_data(kind.core, observed, 1.0),
    }  # fmt: skip
    return truth, data


def _posterior_draws(trace, name: str) -> np.ndarray:
    """Draws of `name` or `name[i]` (flattened over chains)."""
    base, _, index = name.partition("[")
    values = trace["posterior"][base].values
    values = values.reshape(values.shape[0] * values.shape[1], -1)
    return values[:, int(index.rstrip("]")) if index else 0]


def run_task(task: Task) -> list[dict]:
    """Simulate and fit `task.count` data sets; per simulation and parameter: the rank,
    whether the 95% interval covered the truth, and whether the diagnostics passed."""
    from netlm_bayes.sampling import gate

    case = _case(task.model, task.profile)
    thresholds = gate.load_thresholds()
    rows = []
    for k in range(task.count):
        simulation = task.first + k
        rng = np.random.default_rng(np.random.SeedSequence(task.seed, spawn_key=(simulation,)))
        truth, data = simulate(task.model, case, rng)
        # As a real fit does: a run that diverges is sampled again with smaller steps.
        trace, diagnostics = gate.sample_gated(
            case.sampler, data, int(rng.integers(2**31)), thresholds
        )
        passed = diagnostics.passed
        for name, value in truth.items():
            draws = _posterior_draws(trace, name)
            thinned = draws[:: max(1, len(draws) // THINNED)][:THINNED]
            low, high = np.quantile(draws, [0.025, 0.975])
            rows.append(
                {
                    "model": task.model, "simulation": simulation, "parameter": name,
                    "rank": int(np.sum(thinned < value)), "covered": bool(low <= value <= high),
                    "diagnostics_passed": passed, "failures": "; ".join(diagnostics.failures),
                    # how much the simulated data say: survival fits with almost no events
                    # are where the gate fails (the baseline prior's far tail)
                    "events": int(data["event"].sum()) if "event" in data else None,
                }
            )  # fmt: skip
    return rows


def tasks_for(models: list[str], simulations: int, seed: int, per_task: int = 10) -> list[Task]:
    return [
        Task(model, start, min(per_task, simulations - start), seed)
        for model in models
        for start in range(0, simulations, per_task)
    ]


def summarise(ranks: pd.DataFrame) -> pd.DataFrame:
    """Per model and parameter: the χ² uniformity test of the ranks (BINS bins), its
    Bonferroni-corrected p over the model's parameters, and the 95% intervals' coverage
    with its exact binomial 95% interval."""
    rows = []
    for (model, parameter), group in ranks.groupby(["model", "parameter"], sort=False):
        bins = np.floor(group["rank"].to_numpy() * BINS / (THINNED + 1)).astype(int)
        counts = np.bincount(bins, minlength=BINS)
        p = stats.chisquare(counts).pvalue
        covered = int(group["covered"].sum())
        ci = stats.binomtest(covered, len(group)).proportion_ci(0.95, method="exact")
        rows.append(
            {
                "model": model, "parameter": parameter, "simulations": len(group),
                "chi2_p": p, "coverage95": covered / len(group), "coverage_low": ci.low,
                "coverage_high": ci.high,
                "diagnostics_passed_share": float(group["diagnostics_passed"].mean()),
            }
        )  # fmt: skip
    table = pd.DataFrame(rows)
    per_model = table.groupby("model")["parameter"].transform("count")
    table["p_corrected"] = np.minimum(1.0, table["chi2_p"] * per_model)
    table["uniform"] = table["p_corrected"] > PASS_P
    return table
