"""`netlm-bayes freq` and `synth`: the paper's own analysis on a cohort; synthetic cohorts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netlm_bayes import paths
from netlm_bayes.cli.app import (
    PaperOption,
    app,
    clear_errors,
    console,
    progress_bar,
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
    from netlm_bayes import runs
    from netlm_bayes.evidence import cohort
    from netlm_bayes.evidence import paper as evidence
    from netlm_bayes.frequentist import analysis as frequentist
    from netlm_bayes.report import frequentist as freqreport

    patients = cohort.read_cohort(data)
    paper_numbers = evidence.load_paper(paper_file or paths.PAPER_FILE)
    synthetic = cohort.is_synthetic(patients, data)
    result = frequentist.analyse(patients)
    destination = out or paths.RESULTS_DIR / f"freq-{data.stem}-{runs.timestamp()}"
    with runs.run_folder(destination) as staging:
        result.write_csv(staging)
        freqreport.paper_beside_cohort(result, paper_numbers).assign(
            cohort_file=str(data), synthetic=synthetic
        ).to_csv(staging / "paper_beside_cohort.csv", index=False)
        runs.write_manifest(staging, [data], command_name="freq", synthetic=synthetic)
    freqreport.print_frequentist(result, paper_numbers, console, str(data), synthetic)
    console.print(
        f"Wrote {destination}/: paper_beside_cohort.csv, freq_km.csv, freq_cox.csv, "
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
    from netlm_bayes.evidence import paper as evidence
    from netlm_bayes.synthetic import pseudo_cohort as synthesis

    if replicates < 0 or jobs < 1:
        raise InputError("--replicates must be >= 0 and --jobs >= 1")
    paper_numbers = evidence.load_paper(paper_file or paths.PAPER_FILE)
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
