r"""How large must the next cohort be? Assurance by simulation from an exported prior.

For each size n, S future cohorts are simulated:
- the truth θ is drawn from the *design prior*: the exported prior's informative part
  (its robust component is for analysis, not a belief about the truth);
- covariate rows are resampled from a cohort (by default the one the prior came from);
- survival: Weibull event times from θ; enrolment uniform over the accrual period and one
  analysis at the cut-off `follow_up` after accrual ends, so patient i is censored at
  follow_up + accrual × U_i (the pseudo-cohort's assumptions unless overridden);
- logistic: outcomes Bernoulli(logistic(α + x'β)).
Each cohort is analysed with the whole exported prior (robust part included) by the
Laplace mixture of `sampling.laplace`, and meets the criterion, e.g. P(HR_htb_gt25 > 1) > 0.95, or
not. Assurance is the share that meet it, with its Monte Carlo SE √(a(1 − a)/S).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from netlm_bayes.errors import InputError, option
from netlm_bayes.families.survival.registry import family
from netlm_bayes.priors.exported import ExportedPrior, parameter_names
from netlm_bayes.priors.mixture import MixturePrior
from netlm_bayes.sampling import laplace

RATIO_OF_SCALE = {"log_hr": "HR", "log_or": "OR"}
TASK_SIZE = 100  # cohorts per task: big enough to vectorise, small enough to spread
DAYS_PER_MONTH = 365.25 / 12
_CRITERION = re.compile(
    r"^\s*P\(\s*(?P<ratio>HR|OR)_(?P<effect>[^\s<>]+?)\s*(?P<side>[<>])\s*(?P<value>[0-9.eE+-]+)\s*\)"
    r"\s*>\s*(?P<level>[0-9.eE+-]+)\s*$"
)


@dataclass(frozen=True)
class Criterion:
    ratio: str
    effect: str
    above: bool
    value: float
    level: float

    def __str__(self) -> str:
        side = ">" if self.above else "<"
        return f"P({self.ratio}_{self.effect} {side} {self.value:g}) > {self.level:g}"


def parse_criterion(text: str, exported: ExportedPrior) -> Criterion:
    match = _CRITERION.match(text)
    example = (
        "'P(HR_htb_gt25 > 1) > 0.95'"
        if exported.scale == "log_hr"
        else "'P(OR_border_clear < 1) > 0.95'"
    )
    if not match:
        raise InputError(
            f"{option('criterion', text)}: write it as P(<HR|OR>_<effect> <> value) > level, "
            f"e.g. {example}"
        )
    ratio, effect = match["ratio"], match["effect"]
    expected = RATIO_OF_SCALE[exported.scale]
    if ratio != expected:
        raise InputError(
            f"{option('criterion', text)}: this prior is on the {expected} scale "
            f"({exported.scale}), "
            f"not {ratio}"
        )
    if effect not in exported.effects:
        raise InputError(
            f"{option('criterion', text)}: no effect {effect!r} in the prior; "
            f"it has {list(exported.effects)}"
        )
    try:
        value, level = float(match["value"]), float(match["level"])
    except ValueError as exc:
        raise InputError(f"{option('criterion', text)}: {exc}") from exc
    if not value > 0:
        raise InputError(f"{option('criterion', text)}: a ratio threshold must be > 0")
    if not 0 < level < 1:
        raise InputError(f"{option('criterion', text)}: the probability level must be in (0, 1)")
    return Criterion(ratio, effect, match["side"] == ">", value, level)


@dataclass(frozen=True)
class Design:
    """What is simulated: covariate rows to resample, and accrual and follow-up (survival)."""

    # (rows, p), the prior's effects in order, relative to its baseline pattern
    # (`ExportedPrior.centred`), so that the prior's baseline is the one at x = 0.
    covariates: np.ndarray
    accrual: float = 0.0
    follow_up: float = 0.0


def pseudo_cohort_timing(assumptions: dict, time_unit: str) -> tuple[float, float]:
    """Accrual length and follow-up after accrual from data/synth_assumptions.toml, in months."""
    if time_unit != "months":
        raise InputError(
            f"the prior's time unit is {time_unit!r}; give {option('accrual')} and "
            f"{option('follow_up')} in it "
            "(the pseudo-cohort's assumptions are in months)"
        )
    start = date.fromisoformat(assumptions["accrual"]["start"])
    end = date.fromisoformat(assumptions["accrual"]["end"])
    cutoff = date.fromisoformat(assumptions["follow_up"]["data_cutoff"])
    return (end - start).days / DAYS_PER_MONTH, (cutoff - end).days / DAYS_PER_MONTH


@dataclass(frozen=True)
class Task:
    """One batch of simulated cohorts: plain data, so it pickles to any worker."""

    design_prior: dict  # MixturePrior dicts: the truth is drawn from the design prior,
    analysis_prior: dict  # and each cohort analysed with the analysis prior
    family: str
    effects: tuple[str, ...]
    design: Design
    criterion: Criterion
    n: int
    count: int
    seed: tuple[int, ...]  # entropy and spawn key: the same draws wherever it runs
    # Operating characteristics fix the truth (the parameter vector, in `parameter_names`
    # order) instead of drawing it from the design prior.
    truth: tuple[float, ...] | None = None


def tasks_for(
    exported: ExportedPrior, design: Design, criterion: Criterion, sizes: list[int],
    simulations: int, seed: int, own_evidence: bool = False,
    truth: tuple[float, ...] | None = None,
) -> list[Task]:  # fmt: skip
    """With `own_evidence`, each cohort is analysed on its own data (one unit of prior
    information, centred on no effect) instead of borrowing the exported prior. With
    `truth`, every cohort is simulated from that parameter vector (operating
    characteristics) instead of from draws of the design prior (assurance)."""
    names = parameter_names(exported.family, list(exported.effects))
    missing = [n for n in names if n not in exported.prior.names]
    if missing:
        raise InputError(
            f"planning simulates the whole model, but the prior has no {', '.join(missing)}; "
            "export it with its baseline (the default of export-prior)"
        )
    designed = design_prior(exported.prior).marginal(names).to_dict()
    analysis = unit_information_prior(exported) if own_evidence else exported.prior
    analysis = analysis.marginal(names).to_dict()
    out = []
    for i, n in enumerate(sizes):
        for j, start in enumerate(range(0, simulations, TASK_SIZE)):
            out.append(
                Task(
                    designed,
                    analysis,
                    exported.family,
                    exported.effects,
                    design,
                    criterion,
                    n,
                    min(TASK_SIZE, simulations - start),
                    (seed, i, j),
                    truth,
                )
            )
    return out


MIN_EVENTS = 5  # fewer, and an assurance rests on the prior rather than on the cohort
UNIT_RATIO = 20.0  # a study window this far from the source's times is likely another unit


def plan_warnings(exported: ExportedPrior, design: Design, table: pd.DataFrame) -> list[str]:
    """What makes a plan's numbers untrustworthy for a reason the user can fix: simulated
    survival cohorts with almost no events, or an accrual and follow-up that look like
    another unit than the source cohort's times."""
    if exported.family != "weibull":
        return []
    unit = exported.outcome.get("time_unit")
    warnings = []
    few = table[table["median_events"] < MIN_EVENTS]
    if not few.empty:
        sizes = ", ".join(f"n = {r.n} ({r.median_events:g})" for r in few.itertuples())
        warnings.append(
            f"the simulated cohorts have almost no events (median events: {sizes}), so their "
            f"assurance says little; check {option('accrual')} {design.accrual:g} and "
            f"{option('follow_up')} "
            f"{design.follow_up:g}, which must be in the prior's time unit ({unit})"
        )
    median = exported.outcome.get("observed_time_median")
    window = design.accrual + design.follow_up
    if median and not median / UNIT_RATIO <= window <= median * UNIT_RATIO:
        warnings.append(
            f"accrual + follow-up = {window:g} {unit}, against a median observed time of "
            f"{median:g} {unit} in the prior's source cohort: are they in another unit? "
            f"Give {option('accrual')} and {option('follow_up')} in {unit}"
        )
    return warnings


def design_prior(prior: MixturePrior) -> MixturePrior:
    """The truth is drawn from the informative components only."""
    informative = [c for c in prior.components if c.label != "robust"]
    total = sum(c.weight for c in informative)
    return MixturePrior(
        prior.names, tuple(replace(c, weight=c.weight / total) for c in informative)
    )


def unit_information_prior(exported: ExportedPrior) -> MixturePrior:
    """One unit (event or patient) of information, centred on no effect: the robust
    component on its own."""
    return MixturePrior(exported.prior.names, (exported.unit_information_component(),))


def simulate(task: Task, rng: np.random.Generator):
    """`task.count` cohorts of `task.n` patients, and the true parameters."""
    if task.truth is not None:
        truth = np.tile(np.asarray(task.truth, float), (task.count, 1))
    else:
        truth = MixturePrior.from_dict(task.design_prior).sample(rng, task.count)
    rows = rng.integers(0, len(task.design.covariates), size=(task.count, task.n))
    X = task.design.covariates[rows]
    p = len(task.effects)
    if task.family == "weibull":
        eta = np.einsum("snp,sp->sn", X, truth[:, :p])
        params = {"log_shape": truth[:, p, None], "log_median": truth[:, p + 1, None]}
        event_time = family("weibull").sample_times(params, eta, 1.0, rng)
        censor = task.design.follow_up + task.design.accrual * rng.uniform(size=eta.shape)
        event = (event_time <= censor).astype(float)
        # a time of exactly 0 has no log; the floor is far below any clinical resolution
        time = np.maximum(np.minimum(event_time, censor), 1e-9)
        return laplace.Cohorts(X, time=time, event=event), truth
    z = truth[:, :1] + np.einsum("snp,sp->sn", X, truth[:, 1:])
    y = (rng.uniform(size=z.shape) < 1 / (1 + np.exp(-z))).astype(float)
    return laplace.Cohorts(X, y=y), truth


def run_task(task: Task) -> dict:
    """Simulate and analyse one batch: per cohort, P(criterion's event) and the outcome."""
    rng = np.random.default_rng(np.random.SeedSequence(task.seed[0], spawn_key=task.seed[1:]))
    cohorts, truth = simulate(task, rng)
    names = parameter_names(task.family, list(task.effects))
    fit = laplace.posterior(cohorts, MixturePrior.from_dict(task.analysis_prior))
    index = names.index(task.criterion.effect)
    above = fit.prob_above(index, math.log(task.criterion.value))
    probability = above if task.criterion.above else 1 - above
    events = cohorts.event.sum(axis=1) if task.family == "weibull" else cohorts.y.sum(axis=1)
    return {
        "n": np.full(task.count, task.n),
        "true_log_ratio": truth[:, index],
        "posterior_probability": probability,
        "success": probability > task.criterion.level,
        "events": events,
        "converged": fit.converged,
    }


def draws_frame(results: list[dict]) -> pd.DataFrame:
    """Every simulated cohort of `run_task`'s results, one row each."""
    return pd.DataFrame(
        {key: np.concatenate([r[key] for r in results]) for key in
         ("n", "true_log_ratio", "posterior_probability", "success", "events", "converged")}
    )  # fmt: skip


def assurance_table(results: list[dict], by: str = "n",
                    share: str = "assurance") -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Per n (or per value of another column, `by`): the share of cohorts that succeed
    (`share`: assurance, or P(success) at a fixed truth) with MC SE and 95% interval; and
    every simulated cohort."""
    draws = draws_frame(results)
    rows = []
    for key, group in draws.groupby(by):
        s = len(group)
        a = float(group["success"].mean())
        se = math.sqrt(a * (1 - a) / s)
        rows.append(
            {
                by: key if by != "n" else int(key), "n": int(group["n"].iloc[0]),
                "simulations": s, share: a, "mc_se": se,
                f"{share}_low95": max(0.0, a - 1.96 * se),
                f"{share}_high95": min(1.0, a + 1.96 * se),
                "median_events": float(group["events"].median()),
                "mean_posterior_probability": float(group["posterior_probability"].mean()),
                "laplace_not_converged": int((~group["converged"]).sum()),
                # they still count, each by its last Newton step: how many as successes
                "laplace_not_converged_successes": int(
                    (~group["converged"] & group["success"]).sum()
                ),
            }
        )  # fmt: skip
    return pd.DataFrame(rows), draws


def nuts_check(task: Task, count: int, profile: str = "quick", on_step=lambda s: None):
    """Refit the first `count` cohorts of `task` with NUTS under the same analysis prior:
    the Laplace and NUTS posterior probabilities side by side, per cohort."""
    from pathlib import Path

    from netlm_bayes.evidence.patient_data import ModelData
    from netlm_bayes.families import specs
    from netlm_bayes.fitting.patient import PatientModel
    from netlm_bayes.fitting.patient_spec import Overrides, apply_overrides
    from netlm_bayes.fitting.prior_choice import from_prior_set
    from netlm_bayes.priors.coefficients import CoefficientPriors
    from netlm_bayes.sampling.sampler import load_profile

    rng = np.random.default_rng(np.random.SeedSequence(task.seed[0], spawn_key=task.seed[1:]))
    cohorts, _ = simulate(task, rng)
    laplace_p = run_task(task)["posterior_probability"]
    model = "hpfs_weibull" if task.family == "weibull" else "response_logistic"
    covariates = list(task.effects)
    spec = apply_overrides(specs.load_spec(model), Overrides(covariates=covariates))
    fallback = from_prior_set(
        specs.load_prior_sets(spec.prior_sets_path), "weakly-informative", covariates
    )
    # The cohorts' covariates are relative to the prior's pattern (`Design`): it sits at 0.
    chosen = CoefficientPriors(
        fallback.priors, "analysis prior", MixturePrior.from_dict(task.analysis_prior),
        pattern=dict.fromkeys(covariates, 0.0),
    )  # fmt: skip
    threshold = math.log(task.criterion.value)
    rows, fitted = [], None
    for s in range(min(count, task.count)):
        data = ModelData(
            source=Path(f"simulated cohort {s + 1} (n={task.n})"), sha256="", covariates=covariates,
            X=cohorts.X[s], synthetic=True,
            time=None if cohorts.time is None else cohorts.time[s],
            event=None if cohorts.event is None else cohorts.event[s].astype(int),
            y=None if cohorts.y is None else cohorts.y[s].astype(int),
        )  # fmt: skip
        on_step(f"NUTS check: cohort {s + 1} of {count} (n={task.n})")
        if fitted is None:
            fitted = PatientModel(spec, data, chosen, load_profile(profile))
        fit = fitted.fit(data, chosen, seed=task.seed[0] + s)
        beta = fit.trace["posterior"]["beta"].sel(covariate=task.criterion.effect).values
        nuts_p = float(np.mean(beta > threshold if task.criterion.above else beta < threshold))
        level = task.criterion.level
        rows.append(
            {
                "n": task.n, "cohort": s + 1, "laplace_probability": float(laplace_p[s]),
                "nuts_probability": nuts_p, "abs_difference": abs(nuts_p - float(laplace_p[s])),
                "same_decision": (nuts_p > level) == (laplace_p[s] > level),
                "nuts_diagnostics_passed": fit.diagnostics.passed,
            }
        )  # fmt: skip
    return pd.DataFrame(rows)
