"""A run's posterior as the next cohort's prior: `netlm-bayes export-prior RUN`.

`from_run` turns a run folder (Weibull or logistic) into a multivariate normal on the log
scale that keeps the correlations between effects and baseline, with its unit information
(what one event or patient is worth, for ESS and robustification) and its provenance. The
file format, `robustify` and `discount` live in `priors.exported`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from netlm_bayes import runs
from netlm_bayes.errors import InputError, option
from netlm_bayes.fitting.patient_fit import PatientFit
from netlm_bayes.planning.prior_worth import cure_estimate
from netlm_bayes.priors import exported as exportedprior
from netlm_bayes.priors.exported import (
    CURE_LOGIT_AT_PATTERN,
    PROPORTIONAL_HAZARDS,
    ExportedPrior,
    describe_column,
    parameter_names,
)
from netlm_bayes.priors.mixture import Component, MixturePrior
from netlm_bayes.sampling import laplace


def effect_draws(run_dir: Path) -> dict[str, np.ndarray]:
    """The run's posterior draws of each log-scale coefficient (for plots)."""
    trace = _posterior(Path(run_dir))
    posterior = trace["posterior"]
    return {c: posterior["beta"].sel(covariate=c).values.ravel() for c in _covariates(trace)}


def from_run(
    run_dir: Path, effects: list[str] | None = None, baseline: bool = True,
    allow_failed: bool = False,
):  # fmt: skip
    """The run's posterior as a multivariate normal (its mean and covariance, on the log
    scale), restricted to `effects` (default: every covariate) and, with `baseline`, the
    Weibull shape and the median or the logistic intercept at the run cohort's mean
    covariate pattern (`baseline_pattern`), where it is nearly uncorrelated with the
    effects and where a normal describes it best.

    A run that failed its diagnostics is refused (its draws do not describe a posterior),
    unless `allow_failed`; the prior then carries a warning that says so."""
    run_dir = Path(run_dir)
    manifest = _manifest(run_dir)
    warning = _failed_run(run_dir, manifest, allow_failed)
    separated = _separated(f"{run_dir}: this run", manifest.get("separated", []), effects,
                           allow_failed)  # fmt: skip
    warning = "; ".join(w for w in (warning, separated) if w)
    return from_posterior(_posterior(run_dir), manifest, str(run_dir), effects, baseline, warning)


def from_patient_fit(
    fitted: PatientFit, path: Path | str | None = None, effects: list[str] | None = None,
    baseline: bool = True, allow_failed: bool = False,
) -> ExportedPrior:  # fmt: skip
    """The prior a fit in hand gives (the Python API's `to_prior`), written to `path` (JSON)
    when given. A fit that failed its diagnostics is refused unless `allow_failed`, and
    then flagged in the prior."""
    passed = fitted.fit.diagnostics.passed
    failures = "; ".join(fitted.fit.diagnostics.failures)
    warning = "" if passed else _refuse_failed("this fit", "fit", failures, allow_failed)
    separated = _separated("this fit", fitted.data.separated, effects, allow_failed)
    warning = "; ".join(w for w in (warning, separated) if w)
    data = fitted.data
    manifest = {
        "spec": fitted.spec.model_dump(mode="json"), "model": fitted.spec.name,
        "command": "netlm_bayes Python API", "synthetic": data.synthetic,
        "priors": {"source": fitted.priors.label}, "seed": fitted.seed,
        "diagnostics_passed": passed,
    }  # fmt: skip
    source = f"Python API fit of {data.source}"
    prior = from_posterior(fitted.fit.trace, manifest, source, effects, baseline, warning)
    if path is not None:
        exportedprior.write(prior, Path(path))
    return prior


def from_posterior(
    trace, manifest: dict, source: str, effects: list[str] | None = None, baseline: bool = True,
    warning: str = "",
) -> ExportedPrior:  # fmt: skip
    """`from_run`'s prior from a posterior in hand: `manifest` holds what a run folder's
    manifest.json would (the spec, and the provenance fields), `source` names where the
    posterior came from."""
    spec = manifest["spec"]
    family = _family(source, spec)
    spline = spec.get("likelihood") == "mspline"
    covariates = _covariates(trace)
    if not covariates:
        raise InputError(
            f"{source}: a model with no covariates has no effect (HR or OR) to carry forward; "
            "an exported prior carries effects, and the baseline with them"
        )
    effects = list(effects or covariates)
    unknown = [e for e in effects if e not in covariates]
    if unknown:
        raise InputError(
            f"{option('effects')} {', '.join(unknown)}: not covariates of this run ({covariates})"
        )
    raw_X = trace["constant_data"]["X"].sel(covariate=covariates).values
    pattern = dict(zip(covariates, map(float, raw_X.mean(axis=0)), strict=True))
    draws, cohort = _draws_and_cohort(trace, family, covariates, pattern, spline)
    names = covariates if spline else parameter_names(family, covariates)
    cure = bool(spec.get("cure"))
    if cure:  # the cohort's mean pattern is `pattern`: the logit there is the one sampled
        draws = np.hstack([draws, trace["posterior"]["cure_logit_at_mean"].values.reshape(-1, 1)])
        names = [*names, CURE_LOGIT_AT_PATTERN]
    keep = [n for n in names if n in effects or (baseline and n not in covariates)]
    idx = [names.index(n) for n in keep]
    mean = draws.mean(axis=0)
    cov = np.atleast_2d(np.cov(draws, rowvar=False))
    units = float(cohort.event.sum()) if family == "weibull" else float(cohort.X.shape[1])
    cure_note = ""
    if cure:
        unit_cov, cure_note = _cure_unit_information_cov(cohort, covariates, names, cov, units)
    elif spline:
        unit_cov = _cox_unit_information_cov(cohort, units)
    else:
        unit_cov = laplace.unit_information_cov(cohort, mean, units)
    full = MixturePrior(tuple(names), (_component(mean, cov),))
    prior = full.marginal(keep)
    attrs = trace.attrs
    provenance = {
        "run": source,
        "model": manifest.get("model"),
        "command": manifest.get("command"),
        "data_file": attrs.get("data_file"),
        "data_sha256": attrs.get("data_sha256"),
        "data_origin": attrs.get("data_origin"),
        "synthetic": bool(manifest.get("synthetic")),
        "patients": int(cohort.X.shape[1]),
        **({"events": int(cohort.event.sum())} if family == "weibull" else {}),
        **({"outcomes": int(cohort.y.sum())} if family == "logistic" else {}),
        "priors": manifest.get("priors", {}).get("source"),
        "seed": manifest.get("seed"),
        "diagnostics_passed": manifest.get("diagnostics_passed"),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "netlm_bayes": runs.package_versions().get("netlm-bayes"),
    }
    construction = {
        "method": "multivariate normal with the posterior draws' mean and covariance",
        "draws": int(draws.shape[0]),
        "approximation": _approximation(draws[:, idx], keep, prior),
        "robust_weight": 0.0,
        "discount_a0": 1.0,
        **({"baseline": SPLINE_BASELINE_NOTE} if spline else {}),
        **({"cure": CURE_NOTE + cure_note} if cure else {}),
    }
    return ExportedPrior(
        prior, family, _outcome(spec, family, cohort) | ({"cure_model": True} if cure else {}),
        _coding(raw_X, covariates, effects, trace.attrs.get("coding")),
        tuple(e for e in covariates if e in effects), unit_cov[np.ix_(idx, idx)],
        construction, provenance, pattern, warning,
    )  # fmt: skip


def _failed_run(run_dir: Path, manifest: dict, allow_failed: bool) -> str:
    if manifest.get("diagnostics_passed", True):
        return ""
    failures = "its diagnostics"
    table = run_dir / "diagnostics.csv"
    if table.is_file():
        listed = pd.read_csv(table)["failures"].dropna().unique()
        failures = "; ".join(str(f) for f in listed if str(f)) or failures
    return _refuse_failed(f"{run_dir}: this run", "run", failures, allow_failed)


def _separated(what: str, separated: list[str], effects: list[str] | None, allow: bool) -> str:
    """Refuse to carry forward an effect its data could not estimate (separation: every
    patient at one level had the same outcome), unless `allow`: then the prior's warning."""
    exported = [c for c in separated if effects is None or c in effects]
    if not exported:
        return ""
    names = ", ".join(exported)
    if not allow:
        raise InputError(
            f"{what} is separated on {names} (every patient at one of its levels had the same "
            f"outcome), so its OR is not estimable from these data: the posterior there is the "
            f"fit's prior, not evidence to carry forward. Export the other effects with "
            f"{option('effects')}, or give {option('allow_failed', True)} to export it anyway, "
            "flagged"
        )
    return f"separated on {names}: that OR is its fit's prior, not estimated from data"


def _refuse_failed(what: str, kind: str, failures: str, allow_failed: bool) -> str:
    """Refuse a posterior that failed its diagnostics, unless `allow_failed`: then the
    warning the prior carries."""
    if not allow_failed:
        raise InputError(
            f"{what} FAILED its diagnostics ({failures}), so its draws do not describe its "
            "posterior and a prior built on them would carry that error forward; refit it "
            f"(e.g. {option('profile', 'thorough')}), or give {option('allow_failed', True)} "
            "to export it anyway, flagged"
        )
    return f"built from a {kind} that FAILED its diagnostics ({failures}): do not rely on it"


def _component(mean, cov):
    return Component(1.0, mean, (cov + cov.T) / 2, "informative")


def _manifest(run_dir: Path) -> dict:
    manifest = runs.read_manifest(run_dir)
    if manifest is None:
        raise InputError(
            f"{run_dir}: not a run folder (no manifest.json); give a folder written by "
            "`netlm-bayes fit`, e.g. results/study-.../hpfs_weibull"
        )
    if "spec" not in manifest:
        raise InputError(f"{run_dir}: not a patient-level run; export-prior needs one")
    return manifest


SPLINE_BASELINE_NOTE = (
    "effects only: an M-spline baseline is not carried (its coefficients belong to its own "
    "knots, and no Weibull shape and median describe it); the log HRs mean what a Weibull "
    "model's do (proportional hazards), and one event's information is the Cox partial "
    "likelihood's"
)


CURE_NOTE = (
    "from a mixture cure model: the log HRs and the median are the uncured patients', so "
    "only a cure model takes this prior; cure_logit_at_pattern is the logit of the cure "
    "fraction at baseline_pattern; the cure covariates' odds ratios are not carried; one "
    "event's information is the Weibull mixture cure model's (maximum likelihood, one cure "
    "fraction for all)"
)


def _cure_unit_information_cov(cohort, covariates, names, posterior_cov, units):
    """One event's information from the Weibull cure MLE on the source cohort (an M-spline
    run's effects and cure logit too: no closed form for a spline's); where the MLE does not
    converge (no plateau), the posterior covariance times the events, and a note saying so."""
    _, cov, converged = cure_estimate(cohort, covariates, names)
    if converged:
        return cov * units, ""
    return posterior_cov * units, (
        "; the MLE did not converge (the follow-up shows no plateau), so it is the "
        "posterior covariance times the events, which overstates what the data say about "
        "the cure fraction"
    )


def _family(source: str, spec: dict) -> str:
    if spec.get("nonprop"):
        raise InputError(
            f"{source}: a run whose effects change over time ({', '.join(spec['nonprop'])}); "
            "it has no single hazard ratio per covariate to carry forward"
        )
    if spec.get("family") == "survival" and spec.get("likelihood") in PROPORTIONAL_HAZARDS:
        return "weibull"
    if spec.get("family") == "logistic":
        return "logistic"
    kind = spec.get("likelihood") or spec.get("family")
    raise InputError(
        f"{source}: a {kind} run; export-prior supports Weibull and M-spline survival runs "
        "(an M-spline's effects only) and logistic runs"
    )


def _posterior(run_dir: Path):
    from netlm_bayes.sampling.sampler import load_posterior

    path = run_dir / "posterior.nc"
    if not path.is_file():
        raise InputError(f"{run_dir}: no posterior.nc")
    return load_posterior(path)


def _draws_and_cohort(
    trace, family: str, covariates: list[str], pattern: dict[str, float], spline: bool = False
):  # fmt: skip
    """Posterior draws in `parameter_names` order, the baseline at `pattern` (an M-spline
    run's: the effects alone); and the run's cohort, its covariates relative to `pattern`."""
    post = trace["posterior"].to_dataset()
    const = trace["constant_data"].to_dataset()
    beta = post["beta"].sel(covariate=covariates).transpose("chain", "draw", "covariate").values
    beta = beta.reshape(beta.shape[0] * beta.shape[1], len(covariates))  # also for none
    shift = np.array([pattern[name] for name in covariates])
    X = const["X"].sel(covariate=covariates).values[None] - shift
    observed = trace["observed_data"].to_dataset()
    (observed_name,) = list(observed.data_vars)
    if family == "weibull":
        time = observed[observed_name].values.astype(float)[None]
        event = const["event"].values.astype(float)[None]
        cohort = laplace.Cohorts(X, time=time, event=event)
        if spline:
            return beta, cohort
        t_ref = float(const["t_ref"].values)
        log_shape = post["log_shape"].values.reshape(-1, 1)
        # the median at the pattern, in the data's time unit (log_median is at covariates 0)
        at_pattern = post["log_median"].values.ravel() - beta @ shift / np.exp(log_shape[:, 0])
        log_median_at_pattern = (at_pattern + np.log(t_ref))[:, None]
        return np.hstack([beta, log_shape, log_median_at_pattern]), cohort
    alpha = post["alpha"].values.ravel() + beta @ shift
    y = observed[observed_name].values.astype(float)[None]
    return np.hstack([alpha[:, None], beta]), laplace.Cohorts(X, y=y)


def _cox_unit_information_cov(cohort: laplace.Cohorts, units: float) -> np.ndarray:
    """One event's information about the log HRs, from the Cox partial likelihood (which
    needs no baseline): its estimate's covariance times the events."""
    from lifelines import CoxPHFitter

    columns = [f"x{i}" for i in range(cohort.X.shape[2])]
    frame = pd.DataFrame(cohort.X[0], columns=columns)
    frame["time"], frame["event"] = cohort.time[0], cohort.event[0]
    cox = CoxPHFitter().fit(frame, "time", "event")
    return cox.variance_matrix_.loc[columns, columns].to_numpy() * units


def _approximation(draws: np.ndarray, names: list[str], prior: MixturePrior) -> dict:
    """How well the normal reproduces the posterior: each parameter's 2.5/50/97.5% quantiles
    from the draws beside the normal's."""
    from scipy import stats

    mean, sd = prior.mean(), np.sqrt(np.diag(prior.cov()))
    out = {}
    for i, name in enumerate(names):
        q = np.quantile(draws[:, i], [0.025, 0.5, 0.975])
        normal = stats.norm.ppf([0.025, 0.5, 0.975], mean[i], sd[i])
        out[name] = {
            "posterior_q025_q50_q975": [round(float(v), 4) for v in q],
            "normal_q025_q50_q975": [round(float(v), 4) for v in normal],
        }
    return out


def _outcome(spec: dict, family: str, cohort: laplace.Cohorts) -> dict:
    if family == "weibull":
        return {
            "time": spec["time"], "time_unit": spec["time_unit"], "event": spec["event"],
            # the source's median observed time, so that planning can tell another unit
            "observed_time_median": float(np.median(cohort.time)),
        }  # fmt: skip
    return {
        "outcome": spec["outcome"],
        "outcome_events": list(spec.get("outcome_events", [])),
        "outcome_label": spec.get("outcome_label"),
    }


def _coding(X: np.ndarray, covariates: list[str], effects: list[str], terms) -> dict:
    """Per effect: its values in the source cohort, and how it was coded from the data's
    columns (term, level, reference, contrast), so that a cohort coded otherwise is refused."""
    described = json.loads(terms)["effects"] if terms else {}
    return {
        name: {**describe_column(X[:, i]), **described.get(name, {})}
        for i, name in enumerate(covariates)
        if name in effects
    }


def _covariates(trace) -> list[str]:
    """The model's covariates, as its posterior names them (a formula's effects too)."""
    return [str(c) for c in trace["constant_data"]["X"]["covariate"].values]
