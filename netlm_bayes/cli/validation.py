"""`netlm-bayes validate`: simulation-based calibration of every model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from netlm_bayes.cli.app import (
    DaskOption,
    SeedOption,
    WorkersOption,
    app,
    clear_errors,
    console,
    progress_bar,
    split_list,
)
from netlm_bayes.errors import InputError


@app.command()
@clear_errors
def validate(
    simulations: Annotated[int, typer.Option(help="Simulated data sets per model.")] = 200,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated models (default: all four).")
    ] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    seed: SeedOption = 20260101,
    out: Annotated[Path, typer.Option(help="Folder for the table and plots.")] = Path("validation"),
) -> None:
    """Simulation-based calibration of every model: ranks, their uniformity and the 95%
    intervals' coverage, written to validation/ (sbc.csv, sbc_ranks.csv, sbc.png)."""
    import pandas as pd

    from netlm_bayes import runner, runs
    from netlm_bayes.checks import sbc
    from netlm_bayes.report import plots

    chosen = split_list(models) or list(sbc.MODELS)
    unknown = [m for m in chosen if m not in sbc.MODELS]
    if unknown:
        raise InputError(f"--models {', '.join(unknown)}: choose from {', '.join(sbc.MODELS)}")
    if simulations < 20:
        raise InputError(f"--simulations {simulations}: at least 20 per model")
    tasks = sbc.tasks_for(chosen, simulations, seed)
    workers = workers or runner.default_workers()
    with progress_bar(transient=True) as progress:
        bar = progress.add_task(f"SBC: {len(chosen)} models × {simulations} fits", total=len(tasks))
        results = runner.run_tasks(
            sbc.run_task, tasks, workers, dask, lambda: progress.advance(bar)
        )
    ranks = pd.DataFrame([row for rows in results for row in rows])
    table = sbc.summarise(ranks)
    with runs.run_folder(out) as staging:
        ranks.to_csv(staging / "sbc_ranks.csv", index=False)
        table.to_csv(staging / "sbc.csv", index=False)
        note = f"{simulations} simulations per model, seed {seed}"
        plots.rank_histograms(ranks, staging / "sbc.png", note, sbc.BINS, sbc.THINNED)
        runs.write_manifest(staging, [], simulations=simulations, models=chosen, seed=seed)
    result = Table(
        title=f"Simulation-based calibration, {simulations} data sets per model (n = 84)"
    )
    for column in ("model", "parameter", "χ² p (corrected)", "95% coverage", "diagnostics passed"):
        result.add_column(column, justify="left" if column in ("model", "parameter") else "right")
    for row in table.itertuples():
        mark = "" if row.uniform else " [red]NOT UNIFORM[/red]"
        result.add_row(
            row.model, row.parameter, f"{row.p_corrected:.3f}{mark}",
            f"{row.coverage95:.3f} ({row.coverage_low:.3f} to {row.coverage_high:.3f})",
            f"{row.diagnostics_passed_share:.0%}",
        )  # fmt: skip
    console.print(result)
    console.print(f"Wrote {out}/: sbc.csv, sbc_ranks.csv, sbc.png, manifest.json")
    if not table["uniform"].all():
        raise typer.Exit(code=3)
