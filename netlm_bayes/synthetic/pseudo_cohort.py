"""A synthetic pseudo-cohort that the paper's own methods cannot tell apart from the paper.

The abstract reports effects, not patients. `make_cohort` builds 84 synthetic patients
such that the paper's analysis (`netlm_bayes.frequentist.analysis`) run on them gives back every
reported number: PR/SD/PD counts, the KM median HPFS, the multivariable Cox HR for HTB
and the three multivariable logistic ORs, each with its P. It adds no information beyond
the abstract; it makes the patient-level pipeline runnable and shows, through replicates,
how much the unreported details matter.

The search has two stages, because the covariates are shared and the outcomes are not:
1. covariates and non-response, by simulated annealing on the logistic targets;
2. event times and statuses given the covariates, by annealing on the Cox and KM targets.
Each stage uses the fast fits in `fastfit`; the result is then re-checked with lifelines
and statsmodels, and only a cohort that passes there is accepted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence.cohort import COVARIATES
from netlm_bayes.evidence.paper import Paper
from netlm_bayes.synthetic.assumptions import Assumptions, load_assumptions
from netlm_bayes.synthetic.calibration import (
    Targets,
    check_targets,
)
from netlm_bayes.synthetic.search import search_response, search_survival

DAYS_PER_MONTH = 365.25 / 12
# Steps of the cell-table search (each tries every one-patient move at once).
RESPONSE_BUDGET = 1500

# ---------------------------------------------------------------------------- stage 1


# ---------------------------------------------------------------------------- stage 2


# ---------------------------------------------------------------------------- the cohort


@dataclass
class SynthResult:
    cohort: pd.DataFrame
    achieved: dict
    targets_met: bool
    attempts: int

    @property
    def missed(self) -> list[str]:
        """The targets this cohort does not meet."""
        return [k for k, v in self.achieved.items() if isinstance(v, dict) and not v["met"]]


def make_cohort(
    paper: Paper,
    seed: int,
    assumptions: Assumptions | None = None,
    budget: int = 20_000,
    max_attempts: int = 40,
) -> SynthResult:
    """Search until the paper's analysis on the cohort gives back the paper's numbers."""
    assumptions = assumptions or load_assumptions()
    targets = Targets.from_paper(paper)
    rng = np.random.default_rng(seed)
    start = date.fromisoformat(assumptions.accrual["start"])
    end = date.fromisoformat(assumptions.accrual["end"])
    cutoff = date.fromisoformat(assumptions.follow_up["data_cutoff"])
    best = None
    for attempt in range(1, max_attempts + 1):
        covariates, non_responder, met_logistic = search_response(
            rng, assumptions, targets, RESPONSE_BUDGET
        )
        if not met_logistic:
            continue
        response = _assign_response(rng, non_responder, targets)
        is_pd = response == "PD"
        offsets = np.sort(rng.integers(0, (end - start).days + 1, size=len(covariates)))
        enrolled = pd.to_datetime(start) + pd.to_timedelta(offsets, unit="D")
        follow_up = ((pd.Timestamp(cutoff) - enrolled).days.to_numpy()) / DAYS_PER_MONTH
        time, event, met_survival = search_survival(
            rng, assumptions, targets, covariates, is_pd, follow_up, budget
        )
        cohort = _as_frame(covariates, response, time, event, enrolled, assumptions.marker)
        checked = check_targets(cohort, paper)
        result = SynthResult(cohort, checked, checked["all_met"] and met_survival, attempt)
        if result.targets_met:
            return result
        # Keep the closest miss: the one missing the fewest targets.
        if best is None or len(result.missed) < len(best.missed):
            best = result
    if best is None:
        raise InputError(
            f"no cohort met the logistic targets in {max_attempts} attempts; try another "
            f"{option('seed')}"
        )
    return best


def _assign_response(rng, non_responder: np.ndarray, targets: Targets) -> np.ndarray:
    response = np.full(len(non_responder), "PR", dtype=object)
    idx = np.flatnonzero(non_responder == 1)
    pd_idx = rng.choice(idx, size=targets.counts["PD"], replace=False)
    response[idx] = "SD"
    response[pd_idx] = "PD"
    return response


def _as_frame(covariates, response, time, event, enrolled, marker) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "patient_id": [f"SYN{i + 1:03d}" for i in range(len(time))],
            "hpfs_months": time,
            "progressed": event.astype(int),
            "response": response,
            **{c: covariates[:, j].astype(int) for j, c in enumerate(COVARIATES)},
            "enrolled": enrolled.strftime("%Y-%m-%d"),
            "data_origin": marker,
        }
    )
    return frame


def _plain(value):
    """numpy scalars as the Python values json knows."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


SIDECAR_DIGITS = 6


def _rounded(value):
    """Floats to SIDECAR_DIGITS significant digits, throughout: the sidecar records what the
    frequentist refit achieved, and its last digits differ between CPUs."""
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    if isinstance(value, float | np.floating) and math.isfinite(value):
        return float(f"{float(value):.{SIDECAR_DIGITS}g}")
    return value


def replicate_seed(seed: int, index: int) -> int:
    """A distinct, reproducible seed for replicate `index` of a run seeded with `seed`."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def make_cohorts(
    paper: Paper, seeds: list[int], assumptions: Assumptions, jobs: int = 1
) -> Iterator[tuple[int, SynthResult]]:
    """`make_cohort` for each seed over `jobs` processes, yielding (index, result) as each
    finishes, so that the caller can write every cohort the moment it exists."""
    if jobs == 1 or len(seeds) == 1:
        for index, seed in enumerate(seeds):
            yield index, make_cohort(paper, seed, assumptions)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(make_cohort, paper, s, assumptions): i for i, s in enumerate(seeds)}
        for future in as_completed(futures):
            yield futures[future], future.result()


def write_cohort(result: SynthResult, csv_path: Path, seed: int, assumptions: Assumptions) -> None:
    """The CSV, and beside it a .json with the seed, every assumption and what was achieved.

    Both are written under temporary names and renamed, so a failure leaves neither half-written.
    """
    csv_path = Path(csv_path)
    try:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{csv_path.parent}: cannot write here ({exc.strerror})") from exc
    staged_csv = csv_path.with_name(f".{csv_path.name}.partial")
    staged_json = csv_path.with_name(f".{csv_path.stem}.json.partial")
    result.cohort.to_csv(staged_csv, index=False, float_format="%.2f", lineterminator="\n")
    prevalence = {c: round(float(result.cohort[c].mean()), 4) for c in COVARIATES}
    sidecar = {
        "marker": assumptions.marker,
        "what": "A synthetic pseudo-cohort: its rows are generated so that the paper's own "
        "frequentist methods, run on it, give back the reported numbers. It adds no "
        "information beyond the abstract. Not patient data.",
        "seed": seed,
        "n_patients": len(result.cohort),
        "search_attempts": result.attempts,
        "targets_met": result.targets_met,
        "achieved": _rounded(result.achieved),
        "achieved_prevalence": prevalence,
        "assumptions": assumptions.model_dump(),
    }
    staged_json.write_text(json.dumps(sidecar, indent=2, default=_plain) + "\n")
    staged_csv.replace(csv_path)
    staged_json.replace(csv_path.with_suffix(".json"))
