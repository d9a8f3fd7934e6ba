"""`netlm-bayes fit` and `compare-families`: one model, or every survival family, on a cohort."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from netlm_bayes import labels
from netlm_bayes.cli.app import (
    AllowOutliersOption,
    BenchmarkOption,
    DaskOption,
    DropMissingOption,
    FormulaOption,
    HorizonsOption,
    OverwriteOption,
    PaperOption,
    ProfileOption,
    ReferenceOption,
    SamplerOption,
    SeedOption,
    ThresholdsOption,
    TimeUnitOption,
    WorkersOption,
    app,
    check_sampler,
    clear_errors,
    console,
    covariate_list,
    diagnostics_failed,
    errors,
    parse_benchmarks,
    parse_horizons,
    parse_references,
    parse_thresholds,
    split_list,
    steps,
)
from netlm_bayes.cli.survival_options import (
    CureCovariatesOption,
    CureOption,
    DfOption,
    ExternalOption,
    KnotsOption,
    NonpropOption,
    parse_knots,
)
from netlm_bayes.errors import InputError
from netlm_bayes.families.survival import registry


@app.command()
@clear_errors
def fit(
    model: Annotated[str, typer.Argument(help="Model name in models/ or path to a model file.")],
    data: Annotated[
        Path | None, typer.Option(help="Cohort CSV (default: the model file's data).")
    ] = None,
    time: Annotated[str | None, typer.Option(help="Survival time column (> 0).")] = None,
    event: Annotated[str | None, typer.Option(help="Event column: 1 event, 0 censored.")] = None,
    outcome: Annotated[
        str | None,
        typer.Option(help="Outcome column: 0/1 (logistic) or ordered labels (ordinal)."),
    ] = None,
    covariates: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated covariate columns, e.g. A,B,C; 'none' for the baseline "
            "alone (one group, e.g. a reconstructed single curve)."
        ),
    ] = None,
    formula: FormulaOption = None,
    reference: ReferenceOption = None,
    likelihood: Annotated[
        str | None,
        typer.Option(help=f"Survival family: {', '.join(registry.names())}."),
    ] = None,
    time_unit: TimeUnitOption = None,
    horizons: HorizonsOption = None,
    knots: KnotsOption = None,
    df: DfOption = None,
    cure: CureOption = False,
    cure_covariates: CureCovariatesOption = None,
    external: ExternalOption = None,
    nonprop: NonpropOption = None,
    categories: Annotated[
        str | None,
        typer.Option(
            help="An ordinal --outcome's labels in order, best first, e.g. low,mid,high "
            "(default for a numeric column: its values in numeric order)."
        ),
    ] = None,
    drop_missing: DropMissingOption = False,
    allow_outliers: AllowOutliersOption = False,
    prior_set: Annotated[
        str | None,
        typer.Option(
            help="Named prior set (patient-level models); for reported_effects also a "
            "comma-separated list or 'all' (its default)."
        ),
    ] = None,
    prior: Annotated[
        Path | None,
        typer.Option(
            "--prior",
            help="Prior file: an exported prior (JSON, from export-prior) or one prior "
            "per coefficient (TOML).",
        ),
    ] = None,
    replicates: Annotated[
        Path | None,
        typer.Option(help="Folder of replicate cohorts: fit each and pool their draws."),
    ] = None,
    profile: ProfileOption = "default",
    sampler: SamplerOption = None,
    seed: SeedOption = 20260101,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default results/<model>-<time>).")
    ] = None,
    overwrite: OverwriteOption = False,
    paper_file: PaperOption = None,
    significance_filter: Annotated[
        bool,
        typer.Option(
            help="reported_effects: the selection-adjusted reading, each effect's likelihood "
            "conditioned on its having been reported because it was significant."
        ),
    ] = False,
    filter_level: Annotated[
        float | None,
        typer.Option(
            help="With --significance-filter: the two-sided P the effects were selected by "
            "(default: data/assumptions.toml, significance_filter)."
        ),
    ] = None,
    thresholds: ThresholdsOption = None,
    benchmark: BenchmarkOption = None,
    strict: Annotated[bool, typer.Option(help="Exit 3 when any diagnostic fails.")] = False,
) -> None:
    """Fit MODEL and write a run folder: the paper's reported effects, or a patient-level
    model (hpfs_weibull, response_logistic, response_ordinal) on any cohort CSV."""
    from netlm_bayes.families import specs

    check_sampler(sampler)
    spec = specs.load_spec(model)
    if spec.family == "reported_effects":
        patient_flags = {
            "--data": data, "--time": time, "--event": event, "--outcome": outcome,
            "--covariates": covariates, "--formula": formula, "--reference": reference,
            "--likelihood": likelihood, "--prior": prior,
            "--time-unit": time_unit, "--horizons": horizons, "--categories": categories,
            "--knots": knots, "--df": df,
            "--cure": cure or None, "--cure-covariates": cure_covariates,
            "--external": external, "--nonprop": nonprop,
            "--drop-missing": drop_missing or None,
            "--allow-outliers": allow_outliers or None,
            "--replicates": replicates,
        }  # fmt: skip
        given = [flag for flag, value in patient_flags.items() if value is not None]
        if given:
            raise InputError(f"{', '.join(given)}: not used by the reported-effects model")
        if filter_level is not None and not significance_filter:
            raise InputError("--filter-level: give --significance-filter too")
        reading = (filter_level or True) if significance_filter else None
        passed = _fit_reported_effects(
            model, prior_set or "all", profile, sampler, seed, out, paper_file, reading,
            parse_thresholds(thresholds), parse_benchmarks(benchmark), overwrite,
        )  # fmt: skip
    else:
        reported_only = {"--significance-filter": significance_filter or None,
                         "--filter-level": filter_level, "--thresholds": thresholds,
                         "--benchmark": benchmark}  # fmt: skip
        given = [flag for flag, value in reported_only.items() if value is not None]
        if given:
            raise InputError(f"{', '.join(given)}: only for the reported-effects model")
        from netlm_bayes.fitting.patient_spec import Overrides

        flags = Overrides(
            data, time, event, outcome, covariate_list(covariates), likelihood, time_unit,
            split_list(categories), parse_horizons(horizons), drop_missing, formula,
            parse_references(reference), allow_outliers, parse_knots(knots), df, cure,
            split_list(cure_covariates), external, split_list(nonprop),
        )  # fmt: skip
        passed = _fit_patient_level(
            model, flags, prior_set, prior, profile, sampler, seed, out, replicates, overwrite
        )
    if strict and not passed:
        raise typer.Exit(code=3)


def _fit_reported_effects(
    model, prior_set, profile, sampler, seed, out, paper_file, reading, cutoffs, benchmarks,
    overwrite,
) -> bool:  # fmt: skip
    from netlm_bayes.families import specs
    from netlm_bayes.fitting.reported import resolve_prior_sets
    from netlm_bayes.report import reanalysis as reanalysis_report
    from netlm_bayes.study import fit_reported

    spec = specs.load_spec(model)
    names = resolve_prior_sets(prior_set, specs.load_prior_sets(spec.prior_sets_path))
    with steps(len(names), "compiling and sampling") as begin:
        first = names[0]

        def advance(name: str) -> None:
            note = " (compiling the model first)" if name == first else ""
            begin(f"prior set {name}{note}")

        result = fit_reported.fit_reported_effects(
            model, ",".join(names), profile, sampler, seed, out, paper_file, advance, reading,
            cutoffs, benchmarks, overwrite,
        )  # fmt: skip
    reanalysis_report.console_tables(result, console)
    for name, diagnostic in result.diagnostics.items():
        if not diagnostic.passed:
            diagnostics_failed(f"prior set {name}", diagnostic.failures, profile)
    console.print(
        f"Wrote {result.run_dir}/: comparison.csv, comparison.md, exceedance.csv, "
        "credibility.csv, forest.png, posterior-<prior set>.nc, diagnostics.csv, manifest.json"
    )
    return result.passed


def _fit_patient_level(
    model, flags, prior_set, prior, profile, sampler, seed, out, replicates, overwrite
):
    from netlm_bayes.fitting.patient_spec import load, read_data

    # Read and check the user's file first: a wrong column is refused before PyMC, ArviZ
    # and lifelines are imported (about 2 s sooner; docs/benchmarks.md, "Start-up").
    data = read_data(load(model, flags))
    from netlm_bayes.report import patient as patientreport
    from netlm_bayes.study import fit_patient as patientrun

    total = 2 + (len(list(Path(replicates).glob("*.csv"))) if replicates else 0)
    with steps(total, "reading the data") as begin:
        result = patientrun.run(
            model, flags, prior_set, prior, profile, sampler, seed, out, replicates, begin,
            data, overwrite, begin.detail,
        )  # fmt: skip
    patientreport.print_run(result, console)
    if not result.fit.diagnostics.passed:
        diagnostics_failed(result.spec.name, result.fit.diagnostics.failures, profile)
    for name, replicate in result.replicates.items():
        if not replicate.diagnostics.passed:
            diagnostics_failed(f"replicate {name}", replicate.diagnostics.failures, profile)
    return result.passed


@app.command("compare-families")
@clear_errors
def compare_families_command(
    model: Annotated[str, typer.Argument(help="A survival model name or file.")] = "hpfs_weibull",
    data: Annotated[Path | None, typer.Option(help="Cohort CSV (default: the model's).")] = None,
    time: Annotated[str | None, typer.Option(help="Survival time column (> 0).")] = None,
    event: Annotated[str | None, typer.Option(help="Event column: 1 event, 0 censored.")] = None,
    covariates: Annotated[
        str | None,
        typer.Option(help="Comma-separated covariate columns; 'none' for the baseline alone."),
    ] = None,
    formula: FormulaOption = None,
    reference: ReferenceOption = None,
    likelihoods: Annotated[
        str | None,
        typer.Option(help=f"Comma-separated families (default: all {len(registry.names())})."),
    ] = None,
    time_unit: TimeUnitOption = None,
    horizons: HorizonsOption = None,
    drop_missing: DropMissingOption = False,
    allow_outliers: AllowOutliersOption = False,
    prior_set: Annotated[str | None, typer.Option(help="Named prior set.")] = None,
    profile: ProfileOption = "default",
    sampler: SamplerOption = None,
    seed: SeedOption = 20260101,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default results/families-<model>-<time>).")
    ] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
) -> None:
    """Fit every registered survival family (see `fit --likelihood`) to the same cohort
    and rank them by PSIS-LOO, with Pareto-k warnings."""
    from netlm_bayes.checks import family_comparison
    from netlm_bayes.fitting.patient_spec import Overrides
    from netlm_bayes.study import compare_families as family_run

    check_sampler(sampler)
    chosen = family_comparison.parse_likelihoods(likelihoods)
    flags = Overrides(
        data, time, event, None, covariate_list(covariates), None, time_unit,
        horizons=parse_horizons(horizons), drop_missing=drop_missing, formula=formula,
        references=parse_references(reference), allow_outliers=allow_outliers,
    )  # fmt: skip
    from netlm_bayes import runner

    with steps(len(chosen) + 1, "compiling") as begin:
        result = family_run.compare_families(
            model, flags, prior_set, chosen, profile, sampler, seed, out, begin,
            workers or runner.default_workers(), dask,
        )  # fmt: skip
    if labels.banner(result.origin):
        console.print(f"[bold yellow]{labels.banner(result.origin)}[/bold yellow]")
    for warning in result.warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {escape(warning)}")
    subsample = result.table["loo_subsample"].dropna()
    method = f"PSIS-LOO on {subsample.iloc[0]} patients" if len(subsample) else "PSIS-LOO"
    table = Table(title=f"Survival families ranked by {method} (higher ELPD predicts better)")
    for column in ("rank", "family", "ELPD (SE)", "difference (SE)", "p_loo", "stacking weight",
                   "max Pareto k", "diagnostics"):  # fmt: skip
        table.add_column(column, justify="left" if column == "family" else "right")
    ranked = result.table[result.table["left_out"].fillna("") == ""]
    left_out = result.table[result.table["left_out"].fillna("") != ""]
    for row in ranked.itertuples():
        k_cell = f"{row.pareto_k_max:.2f}"
        if row.patients_k_high:
            high = f"{int(row.patients_k_high)} > {row.pareto_k_threshold:g}"
            k_cell = f"[bold red]{k_cell} ({high})[/]"
        table.add_row(
            str(int(row.rank)),
            row.likelihood,
            f"{row.elpd_loo:.1f} ({row.se:.1f})",
            f"{row.elpd_diff:.1f} ({row.dse:.1f})",
            f"{row.p_loo:.1f}",
            "n/a" if math.isnan(row.stacking_weight) else f"{row.stacking_weight:.2f}",
            k_cell,
            "passed" if row.diagnostics_passed else "[bold red]FAILED[/]",
        )
    console.print(table)
    for row in left_out.itertuples():
        errors.print(
            f"[bold red]{row.likelihood}: left out of the ranking[/]: {escape(row.left_out)}"
        )
    if ranked.empty:
        errors.print("[bold red]No family passed[/]: there is no ranking to trust.")
    for row in ranked.itertuples():
        if row.patients_k_high:
            errors.print(
                f"[bold yellow]warning:[/] {row.likelihood}: Pareto k > {row.pareto_k_threshold:g} "
                f"for patient row(s) {row.patients_k_high_index}; their LOO terms are unreliable, "
                "so treat this family's ELPD with caution."
            )
    if len(subsample):
        errors.print(
            f"[bold yellow]note:[/] too many patients to keep every draw's log-likelihood: exact "
            f"PSIS-LOO on {subsample.iloc[0]} patients drawn at random, the rest approximated at "
            "the posterior mean (Magnusson et al. 2019); loo.csv gives each ELPD's subsampling "
            "SE. No stacking weights."
        )
    console.print(
        "A difference within about 2 of its SE does not separate two families. "
        f"Wrote {result.run_dir}/: loo.csv, {'' if len(subsample) else 'loo.png, '}"
        "summary-<family>.csv, posterior-<family>.nc, "
        "manifest.json"
    )
