"""The exported-prior file: one cohort's posterior, as a prior for the next cohort.

`from_run` turns a run folder (Weibull or logistic) into a multivariate normal on the log
scale that keeps the correlations between effects and baseline; `robustify` and `discount`
return new priors (see `jointprior`). The file is JSON and holds the prior, the coding it
assumes, its unit information (what one event or patient is worth, for ESS and for
robustification) and its provenance; nothing else. `check_coding` refuses a model whose
coding differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netlm_bayes.sampling import laplace
from netlm_bayes import runs
from netlm_bayes.errors import InputError
from netlm_bayes.priors.mixture import Component, MixturePrior, rbest_normmix

FORMAT = "netlm-bayes exported prior"
# 2: the baseline (log reference median, intercept) is stated at `baseline_pattern`, the
# source cohort's mean covariates, no longer at every covariate = 0.
VERSION = 2
SCALES = {"weibull": "log_hr", "logistic": "log_or"}
UNITS = {"weibull": "event", "logistic": "patient"}


@dataclass(frozen=True)
class ExportedPrior:
    prior: MixturePrior
    family: str  # weibull | logistic
    outcome: dict  # time column and unit, or the outcome's events and label
    coding: dict  # per covariate: its values, and its share or range in the source cohort
    effects: tuple[str, ...]
    unit_cov: np.ndarray  # over prior.names: the information in one unit (event / patient)
    construction: dict
    provenance: dict
    # The covariate pattern (the source cohort's means) at which the baseline is stated.
    baseline_pattern: dict[str, float]
    # Set when the source run failed its diagnostics and the user exported it anyway.
    warning: str = ""

    def centred(self, X: np.ndarray, covariates: list[str]) -> np.ndarray:
        """X with each covariate the pattern names taken relative to it, and any other
        centred at X's own mean (as `fit --prior` does): the coordinates in which the
        prior's baseline sits at 0 (`laplace`, `planning`, the conflict check)."""
        own_mean = X.reshape(-1, X.shape[-1]).mean(axis=0)
        shift = [self.baseline_pattern.get(name, own_mean[j]) for j, name in enumerate(covariates)]
        return X - np.array(shift)

    @property
    def scale(self) -> str:
        return SCALES[self.family]

    @property
    def unit(self) -> str:
        return UNITS[self.family]

    @property
    def synthetic(self) -> bool:
        return bool(self.provenance.get("synthetic"))

    @property
    def nuisance(self) -> list[str]:
        return [n for n in self.prior.names if n not in self.effects]

    def unit_sd(self, name: str) -> float:
        i = self.prior.index(name)
        return float(np.sqrt(self.unit_cov[i, i]))

    def robustify(self, weight: float) -> ExportedPrior:
        """Add a unit-information component of weight `weight`, centred on no effect for
        the effects and on the informative mean for the baseline (which has no null)."""
        if any(c.label == "robust" for c in self.prior.components):
            raise InputError("this prior is already robust; robustify the original once")
        vague = self.unit_information_component()
        prior = self.prior.robustify(weight, vague.cov, vague.mean)
        return replace(
            self, prior=prior, construction={**self.construction, "robust_weight": weight}
        )

    def unit_information_component(self) -> Component:
        """One unit of information, centred on no effect (and on the informative mean of the
        baseline, which has no null): RBesT's unit-information prior."""
        informative = [c for c in self.prior.components if c.label != "robust"]
        total = sum(c.weight for c in informative)
        centre = sum(c.weight * c.mean for c in informative) / total
        for name in self.effects:
            centre[self.prior.index(name)] = 0.0
        return Component(1.0, centre, self.unit_cov, "robust")

    def discount(self, a0: float) -> ExportedPrior:
        prior = self.prior.discount(a0)
        return replace(self, prior=prior, construction={**self.construction, "discount_a0": a0})

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "family": self.family,
            "scale": self.scale,
            "outcome": self.outcome,
            "coding": self.coding,
            "effects": list(self.effects),
            "prior": self.prior.to_dict(),
            "unit_information": {
                "per": self.unit,
                "cov": [[float(v) for v in row] for row in self.unit_cov],
            },
            "construction": self.construction,
            "provenance": self.provenance,
            "baseline_pattern": self.baseline_pattern,
            **({"warning": self.warning} if self.warning else {}),
        }

    def rbest(self) -> dict:
        """Each effect's marginal as an RBesT normMix (read with RBesT::read_mix_json)."""
        return {name: rbest_normmix(self.prior, name, self.unit_sd(name)) for name in self.effects}


class _UnitInformation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per: str
    cov: list[list[float]]


class _PriorFile(BaseModel):
    """The file's schema, for one clear message when a file is broken or hand-edited."""

    model_config = ConfigDict(extra="forbid")
    format: str
    version: int
    family: str = Field(pattern="^(weibull|logistic)$")
    scale: str
    outcome: dict
    coding: dict[str, dict]
    effects: list[str] = Field(min_length=1)
    prior: dict
    unit_information: _UnitInformation
    construction: dict
    provenance: dict
    baseline_pattern: dict[str, float]
    warning: str = ""


def write(exported: ExportedPrior, path: Path) -> list[Path]:
    """The prior file, and beside it `<stem>.rbest.json` with each effect for R users.
    Each is written whole to a temporary file first, so a failure leaves no partial file."""
    path = Path(path)
    if path.suffix != ".json":
        raise InputError(f"--out {path}: an exported prior is JSON; name it <something>.json")
    rbest = path.with_name(f"{path.stem}.rbest.json")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, content in ((path, exported.to_dict()), (rbest, exported.rbest())):
            partial = target.with_name(f".{target.name}.partial")
            partial.write_text(json.dumps(content, indent=2) + "\n")
            partial.replace(target)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the prior file ({exc.strerror})") from exc
    return [path, rbest]


def effect_draws(run_dir: Path) -> dict[str, np.ndarray]:
    """The run's posterior draws of each log-scale coefficient (for plots)."""
    manifest = _manifest(Path(run_dir))
    covariates = list(manifest["spec"]["covariates"])
    posterior = _posterior(Path(run_dir))["posterior"]
    return {c: posterior["beta"].sel(covariate=c).values.ravel() for c in covariates}


def read(path: Path) -> ExportedPrior:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON prior file ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise InputError(
            f'{path}: not a netlm-bayes exported prior (no "format": {FORMAT!r}); make one '
            "with `netlm-bayes export-prior RUN --out FILE`"
        )
    if raw.get("version") != VERSION:
        raise InputError(
            f"{path}: version {raw.get('version')}; this netlm-bayes reads {VERSION} (re-export "
            "it with `netlm-bayes export-prior RUN`)"
        )
    try:
        checked = _PriorFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{path}: {problems}") from exc
    try:
        prior = MixturePrior.from_dict(checked.prior)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: prior: malformed ({exc})") from exc
    except InputError as exc:
        raise InputError(f"{path}: prior: {exc}") from exc
    unit_cov = np.asarray(checked.unit_information.cov, float)
    if unit_cov.shape != (len(prior.names),) * 2:
        raise InputError(f"{path}: unit_information.cov must be square over {prior.names}")
    missing = [e for e in checked.effects if e not in prior.names]
    if missing:
        raise InputError(f"{path}: effects {missing} are not parameters of the prior")

    if checked.scale != SCALES[checked.family]:
        raise InputError(f"{path}: scale {checked.scale!r} does not fit family {checked.family}")
    return ExportedPrior(
        prior, checked.family, checked.outcome, checked.coding, tuple(checked.effects),
        unit_cov, checked.construction, checked.provenance, checked.baseline_pattern,
        checked.warning,
    )  # fmt: skip


# ---- from a run folder ---------------------------------------------------------------------


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
    spec = manifest["spec"]
    family = _family(run_dir, spec)
    trace = _posterior(run_dir)
    covariates = list(spec["covariates"])
    effects = list(effects or covariates)
    unknown = [e for e in effects if e not in covariates]
    if unknown:
        raise InputError(
            f"--effects {', '.join(unknown)}: not covariates of this run ({covariates})"
        )
    raw_X = trace["constant_data"]["X"].sel(covariate=covariates).values
    pattern = dict(zip(covariates, map(float, raw_X.mean(axis=0)), strict=True))
    draws, cohort = _draws_and_cohort(trace, family, covariates, pattern)
    names = laplace.parameter_names(family, covariates)
    keep = [n for n in names if n in effects or (baseline and n not in covariates)]
    idx = [names.index(n) for n in keep]
    mean = draws.mean(axis=0)
    cov = np.cov(draws, rowvar=False)
    units = float(cohort.event.sum()) if family == "weibull" else float(cohort.X.shape[1])
    unit_cov = laplace.unit_information_cov(cohort, mean, units)
    full = MixturePrior(tuple(names), (_component(mean, cov),))
    prior = full.marginal(keep)
    attrs = trace.attrs
    provenance = {
        "run": str(run_dir),
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
    }
    return ExportedPrior(
        prior, family, _outcome(spec, family, cohort), _coding(raw_X, covariates, effects),
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
    if not allow_failed:
        raise InputError(
            f"{run_dir}: this run FAILED its diagnostics ({failures}), so its draws do not "
            "describe its posterior and a prior built on them would carry that error forward; "
            "refit it (e.g. --profile thorough), or give --allow-failed to export it anyway, "
            "flagged"
        )
    return f"built from a run that FAILED its diagnostics ({failures}): do not rely on it"


def _component(mean, cov):
    return Component(1.0, mean, (cov + cov.T) / 2, "informative")


def _manifest(run_dir: Path) -> dict:
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise InputError(
            f"{run_dir}: not a run folder (no manifest.json); give a folder written by "
            "`netlm-bayes fit`, e.g. results/study-.../hpfs_weibull"
        )
    manifest = json.loads(path.read_text())
    if "spec" not in manifest:
        raise InputError(f"{run_dir}: not a patient-level run; export-prior needs one")
    return manifest


def _family(run_dir: Path, spec: dict) -> str:
    if spec.get("family") == "survival" and spec.get("likelihood") == "weibull":
        return "weibull"
    if spec.get("family") == "logistic":
        return "logistic"
    kind = spec.get("likelihood") or spec.get("family")
    raise InputError(
        f"{run_dir}: a {kind} run; export-prior supports Weibull survival and logistic runs"
    )


def _posterior(run_dir: Path):
    from netlm_bayes.sampling import sampler as inference

    path = run_dir / "posterior.nc"
    if not path.is_file():
        raise InputError(f"{run_dir}: no posterior.nc")
    return inference.load_posterior(path)


def _draws_and_cohort(trace, family: str, covariates: list[str], pattern: dict[str, float]):
    """Posterior draws in `laplace.parameter_names` order, the baseline at `pattern`; and
    the run's cohort, its covariates relative to `pattern`."""
    post = trace["posterior"].to_dataset()
    const = trace["constant_data"].to_dataset()
    beta = post["beta"].sel(covariate=covariates).values.reshape(-1, len(covariates))
    shift = np.array([pattern[name] for name in covariates])
    X = const["X"].sel(covariate=covariates).values[None] - shift
    observed = trace["observed_data"].to_dataset()
    (observed_name,) = list(observed.data_vars)
    if family == "weibull":
        t_ref = float(const["t_ref"].values)
        log_shape = post["log_shape"].values.reshape(-1, 1)
        # the median at the pattern, in the data's time unit (log_median is at covariates 0)
        at_pattern = post["log_median"].values.ravel() - beta @ shift / np.exp(log_shape[:, 0])
        log_median_at_pattern = (at_pattern + np.log(t_ref))[:, None]
        draws = np.hstack([beta, log_shape, log_median_at_pattern])
        time = observed[observed_name].values.astype(float)[None]
        event = const["event"].values.astype(float)[None]
        return draws, laplace.Cohorts(X, time=time, event=event)
    alpha = post["alpha"].values.ravel() + beta @ shift
    y = observed[observed_name].values.astype(float)[None]
    return np.hstack([alpha[:, None], beta]), laplace.Cohorts(X, y=y)


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


def _coding(X: np.ndarray, covariates: list[str], effects: list[str]) -> dict:
    return {name: describe_column(X[:, i]) for i, name in enumerate(covariates) if name in effects}


def describe_column(values: np.ndarray) -> dict:
    if np.isin(values, [0, 1]).all():
        return {"values": "0/1", "share_of_1": round(float(values.mean()), 4)}
    return {
        "values": "continuous",
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": round(float(values.mean()), 4),
    }


def check_coding(exported: ExportedPrior, spec, data, path: Path) -> None:
    """Refuse a model whose outcome, time unit or covariate coding differs from the prior's."""
    problems = []
    family = "weibull" if getattr(spec, "likelihood", None) == "weibull" else spec.family
    if family != exported.family:
        what = f"{spec.family} ({spec.likelihood})" if spec.family == "survival" else spec.family
        raise InputError(
            f"{path}: a {exported.family} prior ({exported.scale}); this model is {what}"
        )
    baseline = set(laplace.parameter_names(family, []))
    unknown = [n for n in exported.nuisance if n not in baseline]
    if unknown:
        raise InputError(
            f"{path}: parameters {unknown} are neither effects nor a {family} baseline "
            f"({', '.join(sorted(baseline))}); this model would silently ignore them"
        )
    if family == "weibull":
        unit = exported.outcome.get("time_unit")
        if unit != spec.time_unit:
            problems.append(
                f"time unit: the prior's is {unit!r}, this model's {spec.time_unit!r} (if your "
                f"times are in {unit!r}, say so with --time-unit)"
            )
    else:
        ours = {"outcome_events": list(spec.outcome_events), "outcome_label": spec.outcome_label}
        for key, value in ours.items():
            if exported.outcome.get(key) != value:
                problems.append(
                    f"{key}: the prior's is {exported.outcome.get(key)!r}, this model's {value!r}"
                )
    for name in exported.effects:
        if name not in data.covariates:
            problems.append(
                f"covariate {name}: in the prior but not in this model ({data.covariates}); "
                "export only the effects you model (`export-prior --effects`)"
            )
            continue
        theirs = exported.coding.get(name, {})
        ours = describe_column(data.X[:, data.covariates.index(name)])
        if theirs.get("values") != ours["values"]:
            problems.append(
                f"covariate {name}: the prior codes it {theirs.get('values')}, this cohort "
                f"has {ours['values']} values"
            )
        elif ours["values"] == "continuous" and (
            ours["max"] < theirs["min"] or ours["min"] > theirs["max"]
        ):
            problems.append(
                f"covariate {name}: this cohort's range {ours['min']:g} to {ours['max']:g} does "
                f"not overlap the prior's {theirs['min']:g} to {theirs['max']:g}: another unit?"
            )
    if problems:
        raise InputError(
            f"{path}: the prior's coding does not match this model: " + "; ".join(problems)
        )
