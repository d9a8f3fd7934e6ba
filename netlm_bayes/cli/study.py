"""`netlm-bayes study`, `ppc` and `report`: the whole re-analysis, its checks, its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from netlm_bayes import labels
from netlm_bayes.cli.app import (
    BenchmarkOption,
    DaskOption,
    OverwriteOption,
    ProfileOption,
    SeedOption,
    ThresholdsOption,
    WorkersOption,
    app,
    clear_errors,
    console,
    diagnostics_failed,
    parse_benchmarks,
    parse_thresholds,
    steps,
)
from netlm_bayes.errors import InputError


@app.command()
@clear_errors
def study(
    profile: ProfileOption = "default",
    seed: SeedOption = 20260101,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default results/study-<time>).")
    ] = None,
    replicates: Annotated[
        Path | None,
        typer.Option(help="Replicate cohorts to fit and pool (default: the bundled 20)."),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit 3 when any diagnostic fails.")] = False,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    thresholds: ThresholdsOption = None,
    benchmark: BenchmarkOption = None,
) -> None:
    """The whole re-analysis (what `make fit` runs): the paper's effects under every prior
    set; the Weibull, logistic and ordinal models on the pseudo-cohort and its replicates;
    posterior predictive checks; one comparison table and report.html."""
    from netlm_bayes import paths, runner

    replicates = paths.PSEUDO_COHORTS_DIR if replicates is None else replicates
    if not dask and (workers or runner.default_workers()) > 1:
        runner.start_workers_early(["netlm_bayes.study.reanalysis"])
    from netlm_bayes.report import patient as patientreport
    from netlm_bayes.report import reanalysis as reanalysis_report
    from netlm_bayes.report import summary
    from netlm_bayes.study import reanalysis as reanalysis_study

    replicate_count = len(list(replicates.glob("*.csv"))) if replicates.is_dir() else 0
    total = 9 + len(reanalysis_study.PATIENT_MODELS) * (2 + replicate_count)
    with steps(total) as begin:
        result = reanalysis_study.run_study(
            profile, seed, out, replicates, begin, workers, dask,
            parse_thresholds(thresholds), parse_benchmarks(benchmark),
        )  # fmt: skip
    reanalysis_report.console_tables(result.reported, console)
    if result.selected is not None:
        console.print()
        reanalysis_report.console_tables(result.selected, console)
    for patient_run in result.patient_runs.values():
        console.print()
        patientreport.print_run(patient_run, console)
    console.print()
    patientreport.print_comparison(result.comparison, console)
    if result.next_centre is not None:
        _print_next_centre(result.run_dir / reanalysis_study.NEXT_CENTRE / "next_centre.csv")
    failed = [name for name, r in result.patient_runs.items() if not r.passed]
    failed += [] if result.next_centre is None or result.next_centre.passed else ["next_centre"]
    failed += [] if result.reported.passed else ["reported_effects"]
    for name in failed:
        diagnostics_failed(name, ["see its diagnostics.csv"], profile)
    console.print(
        f"Wrote {result.run_dir}/: report.html, comparison.csv, forest.png, manifest.json, "
        "ppc/, next_centre/, and one folder per model"
    )
    console.print()
    summary.print_answer(result.comparison, console, result.reported.paper)
    console.print(f"Report: {result.run_dir / 'report.html'}")
    if strict and not result.passed:
        raise typer.Exit(code=3)


def _print_next_centre(path: Path) -> None:
    import pandas as pd

    table = pd.read_csv(path)
    shown = Table(title="The paper's HR as the prior for a next centre (ESS in events)")
    for column in ("prior", "HR median (95%)", "ESS (ELIR)", "ESS (moments)"):
        shown.add_column(column, justify="left" if column == "prior" else "right")
    for row in table.itertuples():
        shown.add_row(
            escape(row.prior), f"{row.median:.3g} ({row.ci95_low:.3g} to {row.ci95_high:.3g})",
            f"{row.ess_elir:.1f}", f"{row.ess_moment:.1f}",
        )  # fmt: skip
    console.print(shown)
    from netlm_bayes.report.html_sections import next_centre_sentences

    for line in [*next_centre_sentences(path.parent), "Method: docs/map.md."]:
        console.print(line, highlight=False, markup=False)


@app.command()
@clear_errors
def ppc(
    run: Annotated[Path, typer.Argument(help="A run folder: fit MODEL --data ..., or make fit's.")],
    draws: Annotated[int, typer.Option(help="Posterior draws, one replicate cohort each.")] = 500,
    seed: SeedOption = 20260101,
    out: Annotated[Path | None, typer.Option(help="Output folder (default RUN/ppc).")] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Posterior predictive check: simulate a cohort per posterior draw, rerun the paper's
    frequentist analysis on each, and see where the cohort's and the paper's values fall.
    RUN may hold several runs: each is checked and labelled by its folder's name."""
    from netlm_bayes.report.format import fmt, fmt_bound
    from netlm_bayes.study import ppc as ppcrun

    folders = ppcrun.parts(run)
    with steps(len(folders), "reading the run") as begin:
        result = ppcrun.run_ppc(run, draws, seed, begin, out, overwrite)
    if labels.banner(result.origin):
        console.print(f"[bold yellow]{labels.banner(result.origin)}[/bold yellow]")
    table = Table(
        title=f"Posterior predictive check: {draws} replicate cohorts, the paper's analysis "
        "rerun on each (95% intervals)"
    )
    for column in ("model", "statistic", "cohort", "replicates: median (95%)", "p (cohort)",
                   "paper", "paper's quantile"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("model", "statistic") else "right")

    bound = fmt_bound
    for row in result.table.itertuples():
        p_cell = f"{row.ppp_value:.2f}"
        if row.ppp_value < 0.05:
            p_cell = f"[bold red]{p_cell}[/]"
        table.add_row(
            escape(row.model),
            escape(
                row.statistic + (f" ({row.unit})" if isinstance(row.unit, str) and row.unit else "")
            ),
            fmt_bound(row.observed),
            f"{bound(row.replicate_median)} ({bound(row.ppi95_low)} to {bound(row.ppi95_high)})",
            p_cell,
            fmt_bound(row.paper),
            fmt(row.paper_quantile),
        )
    console.print(table)
    console.print(
        "p: two-sided posterior predictive p-value of the cohort's statistic; near 0 means the "
        "model does not reproduce it. 'inf' or '0' in an interval: replicates where a group had no "
        "events or was separated, so the MLE is infinite. km_spread = KM median / KM time to "
        "S = 0.75, a statistic of the curve's shape. The paper's values and their sources are "
        "in ppc.csv."
    )
    console.print(
        f"Wrote {result.out_dir}/: ppc.csv, ppc_draws.csv, ppc.png, ppc_km-<model>.png "
        "(survival models), manifest.json"
    )


@app.command()
@clear_errors
def report(
    run: Annotated[Path, typer.Argument(help="A study run folder (make fit's).")],
) -> None:
    """Rebuild RUN/report.html from the run folder's own files."""
    from netlm_bayes.report import html as htmlreport

    if not (Path(run) / "comparison.csv").exists():
        raise InputError(f"{run}: no comparison.csv here; give a study folder (make fit's)")
    console.print(f"Report: {htmlreport.write_report(run)}")
