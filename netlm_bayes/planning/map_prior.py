"""`netlm-bayes map`: a meta-analytic-predictive prior for the next centre, from published
summaries of several studies (`evidence.studies`), as one call.

The model is in `priors.map_model`, sampled with the diagnostics gate; its predictive draws
are approximated by a normal mixture (`priors.mixture_fit`), optionally made robust, and
written as an exported prior (`priors.exported`), the format `fit --prior` and `plan
--prior` read. Its worth is an effective sample size in events or patients
(`prior_worth`), the same measure the plain export gets, so the two can be set side by side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import linalg, special

from netlm_bayes import labels, paths, runs, tomlfiles
from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence.studies import (
    Measurement,
    Quantity,
    Studies,
    known_quantities,
    load_studies,
)
from netlm_bayes.families import specs
from netlm_bayes.planning import prior_worth
from netlm_bayes.planning.rate_prior import RatePrior, rate_as_beta
from netlm_bayes.priors import exported as exportedprior
from netlm_bayes.priors import map_model
from netlm_bayes.priors.exported import ExportedPrior
from netlm_bayes.priors.mixture import Component, MixturePrior
from netlm_bayes.priors.mixture_fit import AutoMixture, automix, quantile_check
from netlm_bayes.sampling import gate
from netlm_bayes.sampling.sampler import Sampler, load_profile

DEFAULT_TAU_PRIOR = "moderate"
UNIT_SD_ASSUMPTION = {"ratio_hr": "map_unit_sd_log_hr", "ratio_or": "map_unit_sd_log_or",
                      "median": "map_unit_sd_log_median"}  # fmt: skip
SHIPPED_MODEL = {"weibull": "hpfs_weibull", "logistic": "response_logistic"}


@dataclass
class MapResult:
    quantity: Quantity
    studies: Studies
    measurements: list[Measurement]
    data: map_model.MapData
    tau_prior: map_model.TauPrior
    unit_sd: float
    unit_sd_source: str
    draws: dict[str, np.ndarray]  # mu, tau (per stratum), theta (per study), theta_new
    trace: object  # the sampled DataTree (chains kept, for Monte Carlo errors)
    diagnostics: gate.Diagnostics
    fitted: AutoMixture  # of theta_new, on the model's log or logit scale
    approximation: pd.DataFrame
    table: pd.DataFrame
    ess: pd.DataFrame
    exported: ExportedPrior | None
    why_no_prior: str = ""
    warnings: list[str] = field(default_factory=list)
    beta: RatePrior | None = None  # a rate's predictive as a Beta mixture

    @property
    def passed(self) -> bool:
        return self.diagnostics.passed

    @property
    def illustrative(self) -> list[str]:
        return sorted({m.study for m in self.measurements if m.illustrative})


def map_prior(
    studies: Path | str | Studies,
    quantity: str,
    tau_prior: str = DEFAULT_TAU_PRIOR,
    strata: bool = False,
    new_stratum: str | None = None,
    robust: float | None = None,
    baseline_from: Path | str | None = None,
    profile: str = "map",
    seed: int = 20260101,
    on_step: Callable[[str], None] = lambda step: None,
) -> MapResult:
    """The MAP prior of `quantity` for a new study, from the studies that report it."""
    studies = studies if isinstance(studies, Studies) else load_studies(studies)
    q, measured = _measurements(studies, quantity)
    data = _map_data(q, measured, strata, new_stratum)
    unit_sd, unit_source = unit_information(q, measured)
    tau = map_model.parse_tau_prior(tau_prior, unit_sd)
    on_step(f"sampling the MAP model ({len(measured)} studies)")
    sampler = Sampler(map_model.build_model(data, tau), load_profile(profile))
    trace, diagnostics = gate.sample_gated(sampler, {}, seed, gate.load_thresholds())
    draws = _draws(trace)
    on_step("fitting a normal mixture to the predictive draws")
    fitted = automix(draws["theta_new"])
    approximation = quantile_check(draws["theta_new"], fitted.mixture)
    exported, why = None, ""
    if q.family is None:
        why = f"{q.name} is no parameter of a patient-level model, so no prior file is written"
    else:
        exported = _exported(q, studies, measured, fitted, tau, unit_sd, unit_source,
                             diagnostics, seed, approximation)  # fmt: skip
        if robust is not None:
            exported = exported.robustify(robust)
        if baseline_from is not None:
            exported = with_baseline(exported, Path(baseline_from))
    result = MapResult(
        q, studies, measured, data, tau, unit_sd, unit_source, draws, trace, diagnostics, fitted,
        approximation, _table(q, measured, data, draws), pd.DataFrame(), exported, why,
    )  # fmt: skip
    result.ess = ess_rows(result)
    if q.kind == "rate":
        result.beta = rate_as_beta(draws["theta_new"], robust)
    if exported is not None:  # prior-info shows what it was worth when built
        ess = result.ess.iloc[0]
        worth = {"unit": q.units, "elir": round(float(ess.ess_elir), 2),
                 "moment": round(float(ess.ess_moment), 2)}  # fmt: skip
        result.exported = replace(exported, construction={**exported.construction, "ess": worth})
    if q.kind in ("rate", "median") and exported is not None:
        result.warnings.append(
            f"a prior for the model's baseline ({q.parameter}): the published {q.label} is "
            "a whole cohort's, which is that baseline exactly only in a model without "
            "covariates; with covariates the baseline sits at the "
            "mean covariate pattern and differs somewhat (hazard and odds ratios are "
            "non-collapsible)"
        )
    if result.illustrative:
        result.warnings.append(
            f"ILLUSTRATIVE studies ({', '.join(result.illustrative)}) are part of this prior: "
            "they are invented numbers, not evidence"
        )
    return result


def _measurements(studies: Studies, quantity: str) -> tuple[Quantity, list[Measurement]]:
    known = studies.quantities or known_quantities()
    if quantity not in known:
        raise InputError(
            f"{option('quantity', quantity)}: not a quantity of {studies.path}; choose one of "
            f"{list(known)}, or declare it there in [quantities.{quantity}] (docs/map.md)"
        )
    measured = studies.of(quantity)
    if not measured:
        why = [v for k, v in studies.unavailable.items() if k.endswith(f", {quantity}")]
        raise InputError(
            f"{studies.path}: no study reports {quantity} with its uncertainty"
            + (f" ({'; '.join(why)})" if why else "")
        )
    return known[quantity], measured


def _map_data(q: Quantity, measured: list[Measurement], strata: bool, new_stratum: str | None):
    labels_ = [m.stratum for m in measured] if strata else ["all"] * len(measured)
    ordered = tuple(dict.fromkeys(labels_))
    if new_stratum is not None and not strata:
        raise InputError(
            f"{option('new_stratum')} needs {option('strata', True)} (one tau per stratum)"
        )
    if strata and new_stratum is None and len(ordered) > 1:
        raise InputError(
            f"{option('strata', True)}: the studies have strata {', '.join(ordered)}; say "
            f"which one the new study belongs to with {option('new_stratum')}"
        )
    target = new_stratum if new_stratum is not None else ordered[0]
    if target not in ordered:
        raise InputError(f"{option('new_stratum', target)}: the strata are {', '.join(ordered)}")
    common = dict(
        studies=tuple(m.study for m in measured), strata=ordered,
        stratum_index=np.array([ordered.index(s) for s in labels_]),
        new_stratum=ordered.index(target),
    )  # fmt: skip
    if q.kind == "rate":
        return map_model.MapData("binomial", **common, r=np.array([m.r for m in measured]),
                                 n=np.array([m.n for m in measured]))  # fmt: skip
    return map_model.MapData("normal", **common, y=np.array([m.y for m in measured]),
                             se=np.array([m.se for m in measured]))  # fmt: skip


def unit_information(q: Quantity, measured: list[Measurement]) -> tuple[float, str]:
    """The SD one event or patient carries on the model's scale, and where it came from."""
    if q.kind == "rate":
        p = sum(m.r for m in measured) / sum(m.n for m in measured)
        p = min(max(p, 0.01), 0.99)
        return 1 / np.sqrt(p * (1 - p)), f"1/sqrt(p(1-p)) per patient at the pooled rate {p:.3f}"
    reporting = [m for m in measured if m.units]
    if reporting:
        sd = np.sqrt(sum(m.units for m in reporting) / sum(m.se**-2 for m in reporting))
        return float(sd), (
            f"per {q.units[:-1]}, from the {len(reporting)} studies that report their "
            f"{q.units} ({', '.join(m.study for m in reporting)}): sigma^2 = sum(n) / sum(1/s^2)"
        )
    key = UNIT_SD_ASSUMPTION["median" if q.kind == "median" else f"ratio_{q.name[:2]}"]
    value = float(tomlfiles.read_toml(paths.ASSUMPTIONS_FILE)[key]["value"])
    return value, f"per {q.units[:-1]}, data/assumptions.toml [{key}] (no study reports {q.units})"


def _draws(trace) -> dict[str, np.ndarray]:
    post = trace["posterior"]
    flat = {}
    for name in ("mu", "tau", "theta", "theta_new"):
        values = post[name].values
        flat[name] = values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])
    return flat


def _natural(q: Quantity, values: np.ndarray) -> np.ndarray:
    return special.expit(values) if q.kind == "rate" else np.exp(values)


def _table(q: Quantity, measured, data: map_model.MapData, draws) -> pd.DataFrame:
    """map.csv: each study's estimate and its shrinkage estimate, then mu, tau and the
    predictive, each as a median and 95% interval (natural scale; tau on the model's)."""
    rows = []
    for i, m in enumerate(measured):
        low, high = _study_interval(q, m)
        rows.append(_row(q, "study", m.study, m.stratum, _natural(q, draws["theta"][:, i]),
                         m.estimate, low, high, m))  # fmt: skip
    rows.append(_row(q, "mean (mu)", "", "", _natural(q, draws["mu"])))
    for g, stratum in enumerate(data.strata):
        tau = draws["tau"][:, g]
        scale = "logit" if q.kind == "rate" else "log"
        rows.append(_row(q, f"between-study SD (tau, {scale} scale)", "", stratum, tau))
    new = data.strata[data.new_stratum]
    rows.append(_row(q, "MAP: a new study (theta*)", "", new, _natural(q, draws["theta_new"])))
    return pd.DataFrame(rows)


def _row(q, what, study, stratum, values, estimate=np.nan, low=np.nan, high=np.nan, m=None):
    lo, median, hi = np.quantile(values, [0.025, 0.5, 0.975])
    return {
        "quantity": q.name, "row": what, "study": study, "stratum": stratum,
        "reported": estimate, "reported_ci95_low": low, "reported_ci95_high": high,
        "median": median, "ci95_low": lo, "ci95_high": hi,
        "se_log_scale": m.se if m is not None else np.nan,
        "se_from": m.se_from if m is not None else "",
        "illustrative": bool(m.illustrative) if m is not None else "",
        "source": f"{m.citation.rstrip('.')}: “{m.quote}”" if m is not None else "",
    }  # fmt: skip


def _study_interval(q: Quantity, m: Measurement) -> tuple[float, float]:
    if q.kind == "rate":
        from scipy import stats

        ci = stats.binomtest(m.r, m.n).proportion_ci(0.95, method="exact")
        return ci.low, ci.high
    half = 1.959964 * m.se
    return float(np.exp(m.y - half)), float(np.exp(m.y + half))


# ---- the prior file ------------------------------------------------------------------------


def _exported(q, studies, measured, fitted, tau, unit_sd, unit_source, diagnostics, seed,
              approximation) -> ExportedPrior:  # fmt: skip
    mix = fitted.mixture
    components = tuple(
        Component(float(w), np.array([q.sign * m]), np.array([[s**2]]), "informative")
        for w, m, s in zip(mix.weights, mix.means, mix.sds, strict=True)
    )
    prior = MixturePrior((q.parameter,), components)
    effect = q.parameter if q.kind == "ratio" else None
    outcome = _outcome(q, measured)
    illustrative = sorted({m.study for m in measured if m.illustrative})
    origin = labels.map_origin(bool(illustrative))
    digest = hashlib.sha256(Path(studies.path).read_bytes()).hexdigest()
    provenance = {
        "studies_file": str(studies.path), "studies_sha256": digest,
        "studies": [m.study for m in measured], "illustrative_studies": illustrative,
        "data_origin": origin, "synthetic": False, "quantity": q.name,
        "diagnostics_passed": diagnostics.passed, "seed": seed,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "netlm_bayes": runs.package_versions().get("netlm-bayes"),
    }  # fmt: skip
    construction = {
        "method": "meta-analytic-predictive (MAP) prior: the predictive of a new study's "
        "parameter in a normal hierarchical model with known SEs (binomial-logit for rates), "
        "approximated by a normal mixture",
        "tau_prior": str(tau), "unit_information": unit_source,
        "mixture": {"components": fitted.components,
                    "criterion": "EM fits of 1 to 4 components, the lowest AIC with a "
                                 "penalty of 6 per parameter (RBesT's automixfit default)"},
        "approximation": {
            "probabilities": [float(p) for p in approximation["probability"]],
            "draws": [round(float(v), 4) for v in approximation["draws"]],
            "mixture": [round(float(v), 4) for v in approximation["mixture"]],
        },
        "sign": q.sign, "robust_weight": 0.0, "discount_a0": 1.0,
    }  # fmt: skip
    coding = {effect: _coding(q)} if effect else {}
    warning = (
        ""
        if diagnostics.passed
        else ("built from a MAP fit that FAILED its diagnostics: do not rely on it")
    )
    return ExportedPrior(
        prior, q.family, outcome, coding, (effect,) if effect else (),
        np.array([[unit_sd**2]]), construction, provenance, {}, warning,
    )  # fmt: skip


def _outcome(q: Quantity, measured: list[Measurement]) -> dict:
    """The outcome the prior is for: the shipped model's for the paper's quantities; the
    declared columns (or none named) for a quantity of the user's own."""
    spec = specs.load_spec(SHIPPED_MODEL[q.family])
    if q.family == "weibull":
        unit = next((m.time_unit for m in measured if m.time_unit), None)
        if not q.declared:
            return {"time": spec.time, "time_unit": unit or spec.time_unit, "event": spec.event}
        return {"time": q.time_column, "time_unit": unit, "event": q.event_column}
    if not q.declared:
        return {"outcome": spec.outcome, "outcome_events": list(spec.outcome_events),
                "outcome_label": spec.outcome_label}  # fmt: skip
    # a 0/1 outcome column, as `fit --outcome COLUMN` codes it (patient_spec)
    return {"outcome": q.outcome_column, "outcome_events": [],
            "outcome_label": q.outcome_column}  # fmt: skip


def _coding(q: Quantity) -> dict:
    """The covariate's coding as `fit --prior` checks it against a cohort's."""
    if q.values == "continuous":
        low, high = q.covariate_range
        return {"values": "continuous", "min": low, "max": high, "coding": q.coding,
                "columns": [q.parameter], "term": q.parameter}  # fmt: skip
    return {"values": "0/1", "coding": q.coding}


def with_baseline(exported: ExportedPrior, path: Path) -> ExportedPrior:
    """The MAP prior of an effect joined to another exported prior's baseline (independent
    of it): planning simulates whole cohorts, and published summaries rarely give a
    baseline curve with its uncertainty."""
    other = exportedprior.read(path)
    other.refuse_cure(f"{option('baseline_from', str(path))}", "a MAP prior's planning baseline")
    if other.family != exported.family:
        raise InputError(
            f"{option('baseline_from', str(path))}: a {other.family} prior; this MAP prior "
            f"is {exported.family}"
        )
    names = [n for n in exportedprior.parameter_names(other.family, []) if n in other.prior.names]
    if not names:
        raise InputError(
            f"{option('baseline_from', str(path))}: it has no baseline ({other.prior.names})"
        )
    clash = [n for n in names if n in exported.prior.names]
    if clash:
        raise InputError(
            f"{option('baseline_from', str(path))}: this MAP prior already has {clash}"
        )
    prior = exported.prior.joined(other.prior.marginal(names))
    idx = [other.prior.index(n) for n in names]
    unit_cov = linalg.block_diag(exported.unit_cov, other.unit_cov[np.ix_(idx, idx)])
    pattern = {e: other.baseline_pattern[e] for e in exported.effects
               if e in other.baseline_pattern}  # fmt: skip
    # `plan` resamples covariate rows from the prior's source cohort: the baseline's.
    cohort = {k: other.provenance[k] for k in ("data_file", "data_sha256", "patients", "events")
              if k in other.provenance}  # fmt: skip
    provenance = {**exported.provenance, **cohort, "baseline_from": str(path),
                  "baseline_synthetic": other.synthetic,
                  "baseline_data_origin": other.provenance.get("data_origin"),
                  "synthetic": bool(exported.synthetic or other.synthetic)}  # fmt: skip
    if other.synthetic:
        provenance["data_origin"] += "; baseline from a SYNTHETIC cohort"
    return replace(exported, prior=prior, unit_cov=unit_cov, outcome=other.outcome,
                   provenance=provenance, baseline_pattern=pattern)  # fmt: skip


def ess_rows(result: MapResult) -> pd.DataFrame:
    """ESS of the MAP prior in events or patients, by ELIR and by moments; for a rate,
    with the binomial's information p(1-p) per patient at each value (Neuenschwander et
    al., 2020), so ELIR keeps its predictive consistency."""
    q, mix = result.quantity, result.fitted.mixture
    parts = zip(mix.weights, mix.means, mix.sds, strict=True)
    components = tuple(Component(float(w), np.array([m]), np.array([[s**2]])) for w, m, s in parts)
    if result.exported is not None:  # robust, if asked for; the sign leaves ESS alone
        components = result.exported.prior.marginal([q.parameter]).components
    prior = MixturePrior(("theta",), components)
    unit_var: float | Callable = result.unit_sd**2
    if q.kind == "rate":
        unit_var = lambda theta: 1 / (special.expit(theta) * special.expit(-theta))  # noqa: E731
        moment_var = result.unit_sd**2
    else:
        moment_var = unit_var
    return pd.DataFrame(
        [{
            "quantity": q.name, "what": "MAP prior for a new study", "unit": q.units,
            "unit_sd": result.unit_sd, "unit_sd_source": result.unit_sd_source,
            "ess_elir": prior_worth.ess_elir(prior, "theta", unit_var),
            "ess_moment": prior_worth.ess_moment(prior, "theta", moment_var),
        }]
    )  # fmt: skip
