"""Operating characteristics of a time-to-event design, by simulation: `plan`'s machinery
(`assurance`: the same cohorts, censoring, Laplace analysis and criterion) with the truth
fixed at each hazard ratio instead of drawn from the prior.

At each true HR of the criterion's effect, every other parameter (the other effects, the
Weibull shape and median) sits at the design prior's mean; `simulations` cohorts of `n`
patients are simulated and each is analysed with the exported prior (or, to measure
borrowing, the prior robustified at each weight; weight 1 is one unit of information
centred on no effect). P(success) is the share that meet the criterion, with its Monte Carlo
SE sqrt(p (1 - p) / S). The decision depends on the whole cohort, not on one statistic, so
there is no critical value here; the normal endpoint on the log HR (a per-event SD) gives
one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from netlm_bayes import runner
from netlm_bayes.errors import InputError, option
from netlm_bayes.planning import assurance
from netlm_bayes.planning.plan import design_for
from netlm_bayes.priors import exported as exportedprior
from netlm_bayes.priors.exported import ExportedPrior, parameter_names

METHOD = (
    "simulation: {simulations} cohorts per true HR (other parameters at the design prior's "
    "mean), each analysed by the Laplace mixture approximation as plan does; MC SE per row"
)


@dataclass
class SurvivalOC:
    exported: ExportedPrior
    criterion: assurance.Criterion
    design: assurance.Design
    n: int
    simulations: int
    seed: int
    where: str
    table: pd.DataFrame  # per analysis prior and true HR: p_success with its MC SE
    draws: pd.DataFrame  # every simulated cohort
    warnings: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        return METHOD.format(simulations=self.simulations)


def truth_at(exported: ExportedPrior, effect: str, hazard_ratio: float) -> tuple[float, ...]:
    """The design prior's mean, with `effect`'s log HR set to log(hazard_ratio)."""
    names = parameter_names(exported.family, list(exported.effects))
    centre = assurance.design_prior(exported.prior).marginal(names).mean()
    centre[names.index(effect)] = math.log(hazard_ratio)
    return tuple(float(v) for v in centre)


def analysis_priors(exported: ExportedPrior, weights: Sequence[float] | None) -> list[tuple]:
    """(label, prior, own evidence) per robust weight: 0 is the prior as given, 1 one unit
    of information centred on no effect (no borrowing), and a weight between adds that
    component to the prior as given (even one already robust)."""
    if not weights:
        return [("as given", exported, False)]
    out = []
    for weight in weights:
        if not 0 <= weight <= 1:
            raise InputError(f"{option('robust_weights', weight)}: a weight in [0, 1]")
        if weight in (0, 1):
            out.append(("as given" if weight == 0 else "unit information", exported, weight == 1))
        else:  # added to the prior as given, as the exact endpoints' robust weights are
            vague = exported.unit_information_component()
            robust = exported.prior.robustify(weight, vague.cov, vague.mean)
            out.append((f"robust, weight {weight:g}", replace(exported, prior=robust), False))
    return out


def survival_oc(
    prior: ExportedPrior | Path | str,
    criterion: str,
    n: int,
    hazard_ratios: Sequence[float],
    simulations: int = 500,
    robust_weights: Sequence[float] | None = None,
    covariates_from: Path | str | None = None,
    accrual: float | None = None,
    follow_up: float | None = None,
    workers: int | None = None,
    dask: str | None = None,
    seed: int = 20260101,
    on_start: Callable[[int, str], None] = lambda tasks, where: None,
    on_task: Callable[[], None] = lambda: None,
) -> SurvivalOC:
    """P(success) of `criterion` (e.g. 'P(HR_htb_gt25 > 1) > 0.95') for a cohort of `n`
    patients at each true HR, by simulation."""
    exported = prior if isinstance(prior, ExportedPrior) else exportedprior.read(Path(prior))
    if exported.family != "weibull":
        raise InputError(
            f"this prior is for a {exported.family} model; a survival design needs a Weibull "
            "prior (a log HR with its per-event SD can also be designed as a normal endpoint)"
        )
    exported.refuse_cure(str(prior) if not isinstance(prior, ExportedPrior) else "this prior",
                         "the survival design")  # fmt: skip
    rule = assurance.parse_criterion(criterion, exported)
    if simulations < 10 or n < 10:
        raise InputError(f"{option('simulations', simulations)} and {option('n_treatment', n)}: "
                         "at least 10 each")  # fmt: skip
    if not hazard_ratios or min(hazard_ratios) <= 0:
        raise InputError(f"{option('hazard_ratios')}: true hazard ratios > 0, e.g. 1,1.5,2")
    design = design_for(exported, covariates_from, accrual, follow_up)
    priors = analysis_priors(exported, robust_weights)
    tasks, labels = [], []
    for label, analysed, own in priors:
        for hr in hazard_ratios:
            batch = assurance.tasks_for(analysed, design, rule, [n], simulations, seed, own,
                                        truth_at(exported, rule.effect, hr))  # fmt: skip
            tasks += batch
            labels += [label] * len(batch)
    workers = workers or runner.default_workers(len(tasks))
    where = f"Dask at {dask}" if dask else f"{workers} local process{'es' if workers > 1 else ''}"
    on_start(len(tasks), where)
    results = runner.run_tasks(assurance.run_task, tasks, workers, dask, on_task)
    for result, label in zip(results, labels, strict=True):
        result["analysis_prior"] = np.full(len(result["n"]), label)
    table, draws = _tables(results, [p[0] for p in priors])
    warnings = assurance.plan_warnings(exported, design, table)
    return SurvivalOC(exported, rule, design, n, simulations, seed, where, table, draws, warnings)


def _tables(results: list[dict], labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames, draws = [], []
    for label in labels:
        mine = [r for r in results if r["analysis_prior"][0] == label]
        table, cohorts = assurance.assurance_table(mine, by="true_log_ratio", share="p_success")
        table.insert(0, "hazard_ratio", np.exp(table["true_log_ratio"]))
        frames.append(table.assign(analysis_prior=label))
        draws.append(cohorts.assign(analysis_prior=label))
    return pd.concat(frames, ignore_index=True), pd.concat(draws, ignore_index=True)
