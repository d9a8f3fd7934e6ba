"""The `netlm-bayes` command line."""

from __future__ import annotations

import contextlib
import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from netlm_bayes import paths
from netlm_bayes.errors import InputError

app = typer.Typer(
    help="Bayesian re-analysis of the rectal NETLM TAE + octreotide LAR cohort.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Pipes and files have no width; give tables room there instead of rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 120)
errors = Console(stderr=True)


def clear_errors(command):
    """Bad input: one message naming file, field and rule, and exit code 2; no traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from netlm_bayes import runs

        runs.set_command(_as_typed(command, kwargs))
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            # escape: messages quote TOML tables and values, which look like rich markup
            errors.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(code=2) from None

    return wrapper


def _as_typed(command, kwargs: dict) -> str:
    """The command line that gives these parameters (for manifests)."""
    import inspect
    import shlex

    words = ["netlm-bayes", command.__name__.removesuffix("_command").replace("_", "-")]
    for name, parameter in inspect.signature(command).parameters.items():
        value = kwargs.get(name, parameter.default)
        unset = value is None or value is False or value == parameter.default
        if unset and parameter.default is not inspect.Parameter.empty:
            continue
        flag = "--" + name.replace("_file", "").replace("_", "-")
        if parameter.default is inspect.Parameter.empty and name == "model":
            words.append(str(value))
        elif value is True:
            words.append(flag)
        else:
            words += [flag, str(value)]
    return shlex.join(words)


@contextlib.contextmanager
def steps(total: int, first: str = "starting"):
    """A transient progress bar over `total` steps; yields `begin(description)`, called as
    each step starts (the previous one is then counted done)."""
    with progress_bar(transient=True) as progress:
        task = progress.add_task(first, total=total)
        begun = {"count": 0}

        def begin(description: str) -> None:
            if begun["count"]:
                progress.advance(task)
            begun["count"] += 1
            progress.update(task, description=description)

        yield begin
        progress.advance(task)


def progress_bar(transient: bool) -> Progress:
    """The one progress bar style of the CLI, on stderr so tables on stdout stay clean."""
    columns = (
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(),
    )  # fmt: skip
    return Progress(*columns, console=errors, transient=transient)


PaperOption = Annotated[
    Path | None, typer.Option("--paper", help="Paper evidence file (default: data/paper.toml).")
]


@app.command()
@clear_errors
def paper(paper_file: PaperOption = None) -> None:
    """Print the paper's numbers, their sources and what we derive from them."""
    from netlm_bayes.evidence import paper as evidence

    loaded = evidence.load_paper(paper_file or paths.PAPER_FILE)
    study = loaded.study
    console.print(study.citation, style="bold", markup=False)
    plain = {"markup": False, "highlight": False}
    console.print(
        f"{study.design}; n = {study.n_patients}; accrual {study.accrual_start} to "
        f"{study.accrual_end}. Source: “{study.quote}”",
        **plain,
    )
    console.print(
        f"Median HPFS {loaded.hpfs.median_months} months. Source: “{loaded.hpfs.quote}”", **plain
    )

    response = Table(title="Response (abstract)")
    for column in ("category", "patients", "percent (reported)"):
        response.add_column(column)
    for category, count in loaded.response.counts.items():
        response.add_row(category, str(count), f"{loaded.response.percent[category]}%")
    response.add_row("ORR", str(loaded.response.counts["PR"]), f"{loaded.response.orr_percent}%")
    console.print(response)
    console.print(f"Source: “{loaded.response.quote}” Coding: {loaded.response.coding}", **plain)

    effects = Table(title="Reported effects, and what follows from the printed P (Wald)")
    effects.add_column("quantity", no_wrap=True)
    effects.add_column("reported", no_wrap=True)
    for column in ("log est.", "SE", "95% CI", "p interval", "SE interval"):
        effects.add_column(column, justify="right")
    for effect in loaded.effects:
        d = effect.exact
        effects.add_row(
            effect.name,
            f"{effect.measure} {effect.estimate}, P={effect.p_printed}",
            f"{d.log_estimate:.3f}",
            f"{d.se:.3f}",
            f"{d.ci95[0]:.3g}–{d.ci95[1]:.3g}",
            f"{d.p_interval[0]:g}–{d.p_interval[1]:g}",
            f"{d.se_interval[0]:.3f}–{d.se_interval[1]:.3f}",
        )
    console.print(effects)
    for effect in loaded.effects:
        console.print(f"[bold]{effect.name}[/bold]")
        console.print(f"  coding: {effect.coding}", markup=False, highlight=False)
        console.print(f"  source: {effect.source}", markup=False, highlight=False)
        if effect.wording_note:
            console.print(f"  note: {effect.wording_note}", markup=False, highlight=False)


@app.command("prior-sets")
@clear_errors
def prior_sets_command() -> None:
    """List the named prior sets, each with its priors and rationale."""
    from netlm_bayes.families import specs

    sets = specs.load_prior_sets()
    table = Table(title=f"Named prior sets ({paths.PRIOR_SETS_FILE})")
    for column in (
        "prior set",
        "log-effect prior (hypothesis: increases)",
        "response prior",
        "baseline prior SDs",
        "rationale",
    ):
        table.add_column(column, overflow="fold")
    increases = specs.Hypothesis(direction="increases", why="display only: increases")
    for name, prior_set in sets.prior_sets.items():
        marker = " (default)" if name == sets.default else ""
        table.add_row(
            name + marker,
            str(prior_set.effect_prior(increases)),
            str(prior_set.response_prior(list(prior_set.response))),
            f"x {prior_set.baseline_sd_scale:g} the model file's",
            prior_set.rationale,
        )
    console.print(table)


SamplerOption = Annotated[
    str | None, typer.Option(help="nutpie (default) or pymc, overriding the profile.")
]
ProfileOption = Annotated[
    str, typer.Option(help="Sampler profile in inference/profiles.toml: quick, default, thorough.")
]
SeedOption = Annotated[int, typer.Option(help="Random seed; same inputs and seed, same numbers.")]


def _check_sampler(sampler: str | None) -> None:
    if sampler not in (None, "nutpie", "pymc"):
        raise InputError(f"--sampler {sampler!r}: choose nutpie or pymc")


def _split(value: str | None) -> list[str] | None:
    return None if value is None else [part.strip() for part in value.split(",") if part.strip()]


def _horizons(value: str | None) -> list[float] | None:
    parts = _split(value)
    if parts is None:
        return None
    try:
        horizons = [float(part) for part in parts]
    except ValueError as exc:
        raise InputError(f"--horizons {value!r}: comma-separated times, e.g. 365,730") from exc
    if not horizons or min(horizons) <= 0:
        raise InputError(f"--horizons {value!r}: times > 0, in the time column's unit")
    return horizons


TimeUnitOption = Annotated[
    str | None,
    typer.Option(
        help="The time column's unit, e.g. months or days: printed with every time and "
        "checked against --prior FILE.json."
    ),
]
HorizonsOption = Annotated[
    str | None,
    typer.Option(
        help="RMST horizons in the time column's unit, e.g. 365,730 (default: the model "
        "file's for its own time column, else the quartiles of the observed times)."
    ),
]
DropMissingOption = Annotated[
    bool,
    typer.Option(
        "--drop-missing",
        help="Leave out rows with a missing value in a column the model uses; the run "
        "reports and records how many.",
    ),
]


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
        str | None, typer.Option(help="Comma-separated covariate columns, e.g. A,B,C.")
    ] = None,
    likelihood: Annotated[
        str | None,
        typer.Option(
            help="Survival family: weibull, exponential, gompertz, lognormal, loglogistic."
        ),
    ] = None,
    time_unit: TimeUnitOption = None,
    horizons: HorizonsOption = None,
    categories: Annotated[
        str | None,
        typer.Option(
            help="An ordinal --outcome's labels in order, best first, e.g. low,mid,high "
            "(default for a numeric column: its values in numeric order)."
        ),
    ] = None,
    drop_missing: DropMissingOption = False,
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
    paper_file: PaperOption = None,
    strict: Annotated[bool, typer.Option(help="Exit 3 when any diagnostic fails.")] = False,
) -> None:
    """Fit MODEL and write a run folder: the paper's reported effects, or a patient-level
    model (hpfs_weibull, response_logistic, response_ordinal) on any cohort CSV."""
    from netlm_bayes.families import specs

    _check_sampler(sampler)
    spec = specs.load_spec(model)
    if spec.family == "reported_effects":
        patient_flags = {
            "--data": data, "--time": time, "--event": event, "--outcome": outcome,
            "--covariates": covariates, "--likelihood": likelihood, "--prior": prior,
            "--time-unit": time_unit, "--horizons": horizons, "--categories": categories,
            "--drop-missing": drop_missing or None,
            "--replicates": replicates,
        }  # fmt: skip
        given = [flag for flag, value in patient_flags.items() if value is not None]
        if given:
            raise InputError(f"{', '.join(given)}: not used by the reported-effects model")
        passed = _fit_reported_effects(
            model, prior_set or "all", profile, sampler, seed, out, paper_file
        )
    else:
        from netlm_bayes.fitting.patient import Overrides

        flags = Overrides(
            data, time, event, outcome, _split(covariates), likelihood, time_unit,
            _split(categories), _horizons(horizons), drop_missing,
        )  # fmt: skip
        passed = _fit_patient_level(
            model, flags, prior_set, prior, profile, sampler, seed, out, replicates
        )
    if strict and not passed:
        raise typer.Exit(code=3)


def _fit_reported_effects(model, prior_set, profile, sampler, seed, out, paper_file) -> bool:
    from netlm_bayes.families import specs
    from netlm_bayes.fitting import reported as fitting
    from netlm_bayes.report import reanalysis as report

    spec = specs.load_spec(model)
    names = fitting.resolve_prior_sets(prior_set, specs.load_prior_sets(spec.prior_sets_path))
    with steps(len(names), "compiling and sampling") as begin:
        first = names[0]

        def advance(name: str) -> None:
            note = " (compiling the model first)" if name == first else ""
            begin(f"prior set {name}{note}")

        result = fitting.fit_reported_effects(
            model, ",".join(names), profile, sampler, seed, out, paper_file, advance
        )
    report.console_tables(result, console)
    for name, diagnostic in result.diagnostics.items():
        if not diagnostic.passed:
            _diagnostics_failed(f"prior set {name}", diagnostic.failures, profile)
    console.print(
        f"Wrote {result.run_dir}/: comparison.csv, comparison.md, forest.png, "
        "posterior-<prior set>.nc, diagnostics.csv, manifest.json"
    )
    return result.passed


def _fit_patient_level(model, flags, prior_set, prior, profile, sampler, seed, out, replicates):
    from netlm_bayes.fitting import patient_run as patientrun
    from netlm_bayes.report import patient as patientreport

    total = 2 + (len(list(Path(replicates).glob("*.csv"))) if replicates else 0)
    with steps(total, "reading the data") as begin:
        result = patientrun.run(
            model, flags, prior_set, prior, profile, sampler, seed, out, replicates, begin
        )
    patientreport.print_run(result, console)
    if not result.fit.diagnostics.passed:
        _diagnostics_failed(result.spec.name, result.fit.diagnostics.failures, profile)
    for name, replicate in result.replicates.items():
        if not replicate.diagnostics.passed:
            _diagnostics_failed(f"replicate {name}", replicate.diagnostics.failures, profile)
    return result.passed


def _diagnostics_failed(what: str, failures: list[str], profile: str) -> None:
    errors.print(
        f"[bold red]DIAGNOSTICS FAILED[/bold red] for {what}: "
        + "; ".join(failures)
        + f". Do not trust these numbers; {_advice(profile)}"
    )


def _advice(profile: str) -> str:
    """What to try next, never the profile that just failed."""
    if profile != "thorough":
        return "try --profile thorough (longer warm-up, smaller steps)."
    return (
        "--profile thorough did not help, so the model does not fit this sampler's "
        "geometry: look for separation or a near-constant column among the warnings, a "
        "covariate that duplicates another, or a family that does not suit the data "
        "(compare-families), and consider a more informative prior set."
    )


@app.command("compare-families")
@clear_errors
def compare_families_command(
    model: Annotated[str, typer.Argument(help="A survival model name or file.")] = "hpfs_weibull",
    data: Annotated[Path | None, typer.Option(help="Cohort CSV (default: the model's).")] = None,
    time: Annotated[str | None, typer.Option(help="Survival time column (> 0).")] = None,
    event: Annotated[str | None, typer.Option(help="Event column: 1 event, 0 censored.")] = None,
    covariates: Annotated[
        str | None, typer.Option(help="Comma-separated covariate columns.")
    ] = None,
    likelihoods: Annotated[
        str | None,
        typer.Option(help="Comma-separated families (default: all five)."),
    ] = None,
    time_unit: TimeUnitOption = None,
    horizons: HorizonsOption = None,
    drop_missing: DropMissingOption = False,
    prior_set: Annotated[str | None, typer.Option(help="Named prior set.")] = None,
    profile: ProfileOption = "default",
    sampler: SamplerOption = None,
    seed: SeedOption = 20260101,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default results/families-<model>-<time>).")
    ] = None,
) -> None:
    """Fit each survival family (Weibull, exponential, Gompertz, log-normal, log-logistic)
    to the same cohort and rank them by PSIS-LOO, with Pareto-k warnings."""
    from netlm_bayes.checks import family_comparison as families
    from netlm_bayes.fitting.patient import Overrides
    from netlm_bayes.report.frequentist import SYNTHETIC_BANNER

    _check_sampler(sampler)
    chosen = families.parse_likelihoods(likelihoods)
    flags = Overrides(
        data, time, event, None, _split(covariates), None, time_unit,
        horizons=_horizons(horizons), drop_missing=drop_missing,
    )  # fmt: skip
    with steps(len(chosen), "compiling") as begin:
        result = families.compare_families(
            model, flags, prior_set, chosen, profile, sampler, seed, out, begin
        )
    if result.synthetic:
        console.print(f"[bold yellow]{SYNTHETIC_BANNER}[/bold yellow]")
    for warning in result.warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {escape(warning)}")
    table = Table(title="Survival families ranked by PSIS-LOO (higher ELPD predicts better)")
    for column in ("rank", "family", "ELPD (SE)", "difference (SE)", "p_loo", "stacking weight",
                   "max Pareto k", "diagnostics"):  # fmt: skip
        table.add_column(column, justify="left" if column == "family" else "right")
    ranked = result.table[result.table["left_out"].fillna("") == ""]
    left_out = result.table[result.table["left_out"].fillna("") != ""]
    for row in ranked.itertuples():
        k_cell = f"{row.pareto_k_max:.2f}"
        if row.patients_k_high:
            k_cell = f"[bold red]{k_cell} ({row.patients_k_high} > {row.pareto_k_threshold:g})[/]"
        table.add_row(
            str(row.rank),
            row.likelihood,
            f"{row.elpd_loo:.1f} ({row.se:.1f})",
            f"{row.elpd_diff:.1f} ({row.dse:.1f})",
            f"{row.p_loo:.1f}",
            f"{row.stacking_weight:.2f}",
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
    console.print(
        "A difference within about 2 of its SE does not separate two families. "
        f"Wrote {result.run_dir}/: loo.csv, loo.png, summary-<family>.csv, posterior-<family>.nc, "
        "manifest.json"
    )


@app.command()
@clear_errors
def study(
    profile: ProfileOption = "default",
    seed: SeedOption = 20260101,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default results/study-<time>).")
    ] = None,
    replicates: Annotated[Path, typer.Option(help="Replicate cohorts to fit and pool.")] = Path(
        "data/pseudo_cohorts"
    ),
    strict: Annotated[bool, typer.Option(help="Exit 3 when any diagnostic fails.")] = False,
) -> None:
    """The whole re-analysis (what `make fit` runs): the paper's effects under every prior
    set; the Weibull, logistic and ordinal models on the pseudo-cohort and its replicates;
    posterior predictive checks; one comparison table and report.html."""
    from netlm_bayes import study as studies
    from netlm_bayes.report import patient as patientreport
    from netlm_bayes.report import reanalysis as report

    replicate_count = len(list(replicates.glob("*.csv"))) if replicates.is_dir() else 0
    total = 6 + len(studies.PATIENT_MODELS) * (2 + replicate_count)
    with steps(total) as begin:
        result = studies.run_study(profile, seed, out, replicates, begin)
    report.console_tables(result.reported, console)
    for patient_run in result.patient_runs.values():
        console.print()
        patientreport.print_run(patient_run, console)
    console.print()
    patientreport.print_comparison(result.comparison, console)
    failed = [name for name, r in result.patient_runs.items() if not r.passed]
    failed += [] if result.reported.passed else ["reported_effects"]
    for name in failed:
        _diagnostics_failed(name, ["see its diagnostics.csv"], profile)
    console.print(
        f"Wrote {result.run_dir}/: report.html, comparison.csv, forest.png, manifest.json, "
        "ppc/, and one folder per model"
    )
    console.print(f"Report: {result.run_dir / 'report.html'}")
    if strict and not result.passed:
        raise typer.Exit(code=3)


@app.command()
@clear_errors
def ppc(
    run: Annotated[Path, typer.Argument(help="A run folder: fit MODEL --data ..., or make fit's.")],
    draws: Annotated[int, typer.Option(help="Posterior draws, one replicate cohort each.")] = 500,
    seed: SeedOption = 20260101,
) -> None:
    """Posterior predictive check: simulate a cohort per posterior draw, rerun the paper's
    frequentist analysis on each, and see where the cohort's and the paper's values fall."""
    from netlm_bayes.checks import ppc_run as ppcrun
    from netlm_bayes.report import reanalysis as report
    from netlm_bayes.report.frequentist import SYNTHETIC_BANNER

    folders = ppcrun.parts(run)
    with steps(len(folders), "reading the run") as begin:
        result = ppcrun.run_ppc(run, draws, seed, begin)
    if result.synthetic:
        console.print(f"[bold yellow]{SYNTHETIC_BANNER}[/bold yellow]")
    table = Table(
        title=f"Posterior predictive check: {draws} replicate cohorts, the paper's analysis "
        "rerun on each (95% intervals)"
    )
    for column in ("model", "statistic", "cohort", "replicates: median (95%)", "p (cohort)",
                   "paper", "paper's quantile"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("model", "statistic") else "right")

    bound = report.fmt_bound
    for row in result.table.itertuples():
        p_cell = f"{row.ppp_value:.2f}"
        if row.ppp_value < 0.05:
            p_cell = f"[bold red]{p_cell}[/]"
        table.add_row(
            row.model,
            row.statistic,
            report.fmt_bound(row.observed),
            f"{bound(row.replicate_median)} ({bound(row.ppi95_low)} to {bound(row.ppi95_high)})",
            p_cell,
            report.fmt_bound(row.paper),
            report.fmt(row.paper_quantile),
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


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
