"""`netlm-bayes validate`: simulation-based calibration of every model, written to one folder
(sbc.csv, sbc_ranks.csv, sbc.png, manifest.json)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from netlm_bayes import runner, runs
from netlm_bayes.checks import sbc
from netlm_bayes.errors import InputError, option
from netlm_bayes.report import plots

MIN_SIMULATIONS = 20


@dataclass
class Calibration:
    ranks: pd.DataFrame  # one row per simulated data set and parameter
    table: pd.DataFrame  # per model and parameter: uniformity of ranks, 95% coverage
    out: Path


def run(
    models: list[str] | None, simulations: int, seed: int, out: Path,
    workers: int | None = None, dask: str | None = None,
    on_start: Callable[[int], None] = lambda tasks: None,
    on_task: Callable[[], None] = lambda: None,
) -> Calibration:  # fmt: skip
    """Simulate, fit and rank `simulations` data sets per model; write the folder."""
    chosen = models or list(sbc.MODELS)
    known = sbc.MODELS + sbc.OPTIONAL_MODELS
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise InputError(f"{option('models', ','.join(unknown))}: choose from {', '.join(known)}")
    if simulations < MIN_SIMULATIONS:
        raise InputError(
            f"{option('simulations', simulations)}: at least {MIN_SIMULATIONS} per model"
        )
    tasks = sbc.tasks_for(chosen, simulations, seed)
    on_start(len(tasks))
    results = runner.run_tasks(
        sbc.run_task, tasks, workers or runner.default_workers(), dask, on_task
    )
    ranks = pd.DataFrame([row for rows in results for row in rows])
    table = sbc.summarise(ranks)
    with runs.run_folder(out) as staging:
        ranks.to_csv(staging / "sbc_ranks.csv", index=False)
        table.to_csv(staging / "sbc.csv", index=False)
        note = f"{simulations} simulations per model, seed {seed}"
        plots.rank_histograms(ranks, staging / "sbc.png", note, sbc.BINS, sbc.THINNED)
        runs.write_manifest(staging, [], simulations=simulations, models=chosen, seed=seed)
    return Calibration(ranks, table, Path(out))
