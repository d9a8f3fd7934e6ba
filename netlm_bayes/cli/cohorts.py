"""`netlm-bayes freq`, `synth` and `reconstruct`: the paper's own analysis on a cohort;
synthetic cohorts; cohorts rebuilt from a published Kaplan-Meier figure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netlm_bayes import paths
from netlm_bayes.cli.app import (
    PaperOption,
    TimeUnitOption,
    app,
    clear_errors,
    console,
    errors,
    progress_bar,
    split_list,
)
from netlm_bayes.errors import InputError


@app.command()
@clear_errors
def freq(
    data: Annotated[Path, typer.Option("--data", help="Cohort CSV (see data/README.md).")],
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the CSV tables (default results/freq-<name>-<time>)."),
    ] = None,
    paper_file: PaperOption = None,
) -> None:
    """The paper's frequentist analysis of a cohort, printed beside the paper's numbers."""
    from netlm_bayes.report import frequentist as freqreport
    from netlm_bayes.study import freq as freq_run

    done = freq_run.run(data, paper_file, out)
    freqreport.print_frequentist(done.result, done.paper, console, str(data), done.synthetic)
    console.print(
        f"Wrote {done.run_dir}/: paper_beside_cohort.csv, freq_km.csv, freq_cox.csv, "
        "freq_logistic.csv, freq_response.csv, manifest.json"
    )


@app.command()
@clear_errors
def synth(
    seed: Annotated[
        int, typer.Option(help="Seed: the same seed gives the same file, byte for byte.")
    ] = 2,
    out: Annotated[Path, typer.Option(help="Cohort CSV to write; a .json goes beside it.")] = Path(
        "data/pseudo_cohort.csv"
    ),
    replicates: Annotated[int, typer.Option(help="Also write K replicate cohorts.")] = 0,
    replicates_dir: Annotated[Path, typer.Option(help="Folder for the replicates.")] = Path(
        "data/pseudo_cohorts"
    ),
    jobs: Annotated[int, typer.Option(help="Parallel searches for replicates.")] = 2,
    assumptions_file: Annotated[
        Path | None,
        typer.Option(
            "--assumptions", help="Assumption file (default data/synth_assumptions.toml)."
        ),
    ] = None,
    paper_file: PaperOption = None,
) -> None:
    """Search for a synthetic cohort that gives back every number the abstract reports."""
    from netlm_bayes.evidence import paper as published
    from netlm_bayes.synthetic import pseudo_cohort as synthesis

    if replicates < 0 or jobs < 1:
        raise InputError("--replicates must be >= 0 and --jobs >= 1")
    paper_numbers = published.load_paper(paper_file or paths.PAPER_FILE)
    assumptions = synthesis.load_assumptions(assumptions_file or paths.SYNTH_ASSUMPTIONS_FILE)
    plan = [(seed, out)] + [
        (synthesis.replicate_seed(seed, i), replicates_dir / f"pseudo_cohort_{i + 1:02d}.csv")
        for i in range(replicates)
    ]
    with progress_bar(transient=False) as progress:
        task = progress.add_task("searching for calibrated cohorts", total=len(plan))
        seeds = [cohort_seed for cohort_seed, _ in plan]
        for index, result in synthesis.make_cohorts(paper_numbers, seeds, assumptions, jobs):
            cohort_seed, path = plan[index]
            synthesis.write_cohort(result, path, cohort_seed, assumptions)
            progress.advance(task)
            verdict = (
                "all targets met" if result.targets_met else "[bold red]TARGETS MISSED[/bold red]"
            )
            progress.console.print(f"{path}: seed {cohort_seed}, {verdict} ({assumptions.marker})")
            if not result.targets_met:
                progress.console.print(
                    f"  missed: {', '.join(result.missed)}; see {path.with_suffix('.json')}"
                )


@app.command()
@clear_errors
def reconstruct(
    curve: Annotated[
        Path,
        typer.Option(
            "--curve",
            help="Digitised KM points: CSV with time, survival (and the group column), as a "
            "digitiser such as WebPlotDigitizer exports them.",
        ),
    ],
    at_risk: Annotated[
        Path,
        typer.Option(
            "--at-risk",
            help="The figure's numbers-at-risk table: CSV with time, at_risk (and the group "
            "column), starting at time 0.",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Cohort CSV to write; its manifest (.json), accuracy tables and plot (.png) "
            "go beside it."
        ),
    ],
    events: Annotated[
        str | None,
        typer.Option(
            help="Total events per group, when the paper reports them, comma-separated in the "
            "groups' order, e.g. 205,94."
        ),
    ] = None,
    group_col: Annotated[
        str | None,
        typer.Option(help="The column naming each point's curve, when the figure has several."),
    ] = None,
    percent: Annotated[
        bool, typer.Option("--percent", help="Survival is in percent (0 to 100).")
    ] = False,
    time_unit: TimeUnitOption = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the files of an earlier run.")
    ] = False,
    paper_file: PaperOption = None,
) -> None:
    """Rebuild patient-level survival data from a published Kaplan-Meier figure (Guyot et
    al. 2012), ready for fit, compare-families, ppc and export-prior."""
    from netlm_bayes.report import reconstruction as reconstruction_report
    from netlm_bayes.study import reconstruct as reconstruct_study

    totals = _parse_events(events)
    result = reconstruct_study.run(
        curve, at_risk, out, totals, group_col, percent, time_unit, overwrite, paper_file
    )
    unit = time_unit or reconstruct_study.NO_UNIT
    cleaning = {name: c.cleaning for name, c in result.figure.items()}
    reconstruction_report.print_accuracy(result.accuracy, unit, cleaning, console)
    if result.paper_effect is not None:
        reconstruction_report.print_paper_effect(result.paper_effect, result.accuracy, console)
    for name, group in result.groups.items():
        for note in group.notes:
            errors.print(f"[bold yellow]warning:[/bold yellow] group {name}: {note}")
    if time_unit is None:
        errors.print(
            "[bold yellow]warning:[/bold yellow] no --time-unit: times are in the figure's "
            "axis unit; give it, so that every median and plot says which"
        )
    console.print("Wrote " + ", ".join(str(p) for p in result.written))
    console.print(_next_step(result, out, time_unit))


def _parse_events(value: str | None) -> list[int] | None:
    parts = split_list(value)
    if parts is None:
        return None
    try:
        return [int(part) for part in parts]
    except ValueError as exc:
        raise InputError(f"--events {value!r}: whole numbers, one per group, e.g. 205,94") from exc


def _next_step(result, out: Path, time_unit: str | None) -> str:
    covariates = [c for c in result.ipd.columns if c not in ("patient_id", "time", "event",
                                                             "data_origin")]  # fmt: skip
    # a group column of labels is treatment-coded against its most frequent level
    unit = f" --time-unit {time_unit}" if time_unit else ""
    return (
        f"Next: netlm-bayes fit hpfs_weibull --data {out} --time time --event event "
        f"--covariates {','.join(covariates) or 'none'}{unit}"
    )
