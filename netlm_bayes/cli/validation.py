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


@app.command()
@clear_errors
def validate(
    simulations: Annotated[int, typer.Option(help="Simulated data sets per model.")] = 200,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated models (default: every model).")
    ] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    seed: SeedOption = 20260101,
    out: Annotated[Path, typer.Option(help="Folder for the table and plots.")] = Path("validation"),
) -> None:
    """Simulation-based calibration of every model: ranks, their uniformity and the 95%
    intervals' coverage, written to validation/ (sbc.csv, sbc_ranks.csv, sbc.png)."""
    from netlm_bayes.study import validate as sbc_run

    with progress_bar(transient=True) as progress:
        bar = {}

        def start(total: int) -> None:
            bar["task"] = progress.add_task(f"SBC: {simulations} fits per model", total=total)

        done = sbc_run.run(
            split_list(models), simulations, seed, out, workers, dask, start,
            lambda: progress.advance(bar["task"]),
        )  # fmt: skip
    table = done.table
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
