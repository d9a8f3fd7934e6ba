"""`plan`: assurance for the next cohort from an exported prior, as one call (the CLI's
`netlm-bayes plan` and the Python API both make it). The method is in `assurance`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from netlm_bayes import paths, runner, tomlfiles
from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence.patient_data import Columns, frame_model_data, read_model_data
from netlm_bayes.planning import assurance
from netlm_bayes.priors import exported as exportedprior
from netlm_bayes.priors.exported import ExportedPrior

DEFAULT_SIZES = (40, 60, 80, 120)


@dataclass
class Plan:
    """Assurance per cohort size (`table`), every simulated cohort's outcome (`draws`), and
    what the simulation assumed."""

    exported: ExportedPrior
    criterion: assurance.Criterion
    design: assurance.Design
    analysis: str
    sizes: list[int]
    simulations: int
    seed: int
    where: str
    table: pd.DataFrame
    draws: pd.DataFrame
    tasks: list[assurance.Task] = field(repr=False)
    warnings: list[str] = field(default_factory=list)


def plan(
    prior: ExportedPrior | Path | str,
    criterion: str,
    sizes: Sequence[int] = DEFAULT_SIZES,
    simulations: int = 500,
    analysis: str = "prior",
    covariates_from: Path | str | None = None,
    accrual: float | None = None,
    follow_up: float | None = None,
    workers: int | None = None,
    dask: str | None = None,
    seed: int = 20260101,
    on_start: Callable[[int, str], None] = lambda tasks, where: None,
    on_task: Callable[[], None] = lambda: None,
) -> Plan:
    """Simulate `simulations` cohorts per size from the prior, analyse each (`analysis`:
    'prior' borrows the exported prior, 'own' uses one unit of information centred on no
    effect) and report how often `criterion` (e.g. 'P(HR_htb_gt25 > 1) > 0.95') is met.
    Covariate rows are resampled from `covariates_from` (a CSV path or a DataFrame; default:
    the prior's source cohort). Accrual and follow-up are in the prior's time unit (default:
    the pseudo-cohort's)."""
    exported = prior if isinstance(prior, ExportedPrior) else exportedprior.read(Path(prior))
    exported.refuse_cure(str(prior) if not isinstance(prior, ExportedPrior) else "this prior",
                         "assurance")  # fmt: skip
    rule = assurance.parse_criterion(criterion, exported)
    sizes = check_sizes(sizes)
    if simulations < 10:
        raise InputError(f"{option('simulations', simulations)}: at least 10 per size")
    if analysis not in ("prior", "own"):
        raise InputError(f"{option('analysis', analysis)}: 'prior' or 'own'")
    design = design_for(exported, covariates_from, accrual, follow_up)
    tasks = assurance.tasks_for(exported, design, rule, sizes, simulations, seed, analysis == "own")
    workers = workers or runner.default_workers(len(tasks))
    where = f"Dask at {dask}" if dask else f"{workers} local process{'es' if workers > 1 else ''}"
    on_start(len(tasks), where)
    results = runner.run_tasks(assurance.run_task, tasks, workers, dask, on_task)
    table, draws = assurance.assurance_table(results)
    warnings = assurance.plan_warnings(exported, design, table)
    return Plan(exported, rule, design, analysis, sizes, simulations, seed, where, table, draws,
                tasks, warnings)  # fmt: skip


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise InputError(
            f"{option('sizes', text)}: comma-separated whole numbers, e.g. 40,60,80"
        ) from exc
    return check_sizes(sizes, text)


def check_sizes(sizes: Sequence[int], given: str | None = None) -> list[int]:
    if not sizes or min(sizes) < 10:
        raise InputError(
            f"{option('sizes')} {given or ','.join(map(str, sizes))!r}: sizes of at least 10 "
            "patients"
        )
    return sorted(set(sizes))


def _coded_columns(exported: ExportedPrior, effects: list[str]) -> Columns:
    """The columns to read, coded as the prior's effects were: plain columns by name, or
    the terms and reference levels of a formula or categorical coding."""
    coded = [exported.coding.get(e, {}) for e in effects]
    if all(c.get("term", e) == e and "level" not in c for e, c in zip(effects, coded, strict=True)):
        return Columns(tuple(effects))
    terms = list(dict.fromkeys(c.get("term", e) for e, c in zip(effects, coded, strict=True)))
    references = {c["columns"][0]: c["reference"] for c in coded if "level" in c}
    return Columns((), formula=" + ".join(terms), references=tuple(references.items()))


def design_for(exported: ExportedPrior, covariates_from, accrual, follow_up) -> assurance.Design:
    """Covariate rows to resample (default: the prior's source cohort) and, for survival,
    the accrual and follow-up that set censoring."""
    effects = list(exported.effects)
    columns = _coded_columns(exported, effects)
    if isinstance(covariates_from, pd.DataFrame):
        cohort = frame_model_data(covariates_from, columns)
    else:
        source = covariates_from or exported.provenance.get("data_file")
        if not source or not Path(source).is_file():
            raise InputError(
                f"the prior's source cohort {source!r} is not here; give "
                f"{option('covariates_from')} "
                "(a CSV file of the covariates; in Python, a DataFrame too)"
            )
        cohort = read_model_data(Path(source), columns)
    absent = [e for e in effects if e not in cohort.covariates]
    if absent:
        raise InputError(
            f"{cohort.source}: coded as the prior, it gives {cohort.covariates}, without "
            f"{', '.join(absent)}: a level missing from these rows?"
        )
    X = cohort.X[:, [cohort.covariates.index(e) for e in effects]]
    rows = exported.centred(X, effects)
    if exported.family != "weibull":
        return assurance.Design(rows)
    if accrual is None or follow_up is None:
        assumptions = tomlfiles.read_toml(paths.SYNTH_ASSUMPTIONS_FILE)
        default_accrual, default_follow_up = assurance.pseudo_cohort_timing(
            assumptions, exported.outcome.get("time_unit")
        )
        accrual = default_accrual if accrual is None else accrual
        follow_up = default_follow_up if follow_up is None else follow_up
    if accrual < 0 or follow_up <= 0:
        raise InputError(f"{option('accrual')} must be >= 0 and {option('follow_up')} > 0")
    return assurance.Design(rows, accrual, follow_up)
