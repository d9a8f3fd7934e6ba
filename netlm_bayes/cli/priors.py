"""CLI commands that carry evidence forward: export-prior, prior-info, plan.

Registered on the main `netlm-bayes` app (cli.py imports this module).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from netlm_bayes import labels
from netlm_bayes.cli.app import (
    DaskOption,
    ProfileOption,
    SeedOption,
    WorkersOption,
    app,
    clear_errors,
    console,
    errors,
    progress_bar,
    split_list,
    steps,
)
from netlm_bayes.errors import InputError


@app.command("export-prior")
@clear_errors
def export_prior(
    run: Annotated[
        Path,
        typer.Argument(
            help="A Weibull or logistic run folder, e.g. results/study-.../hpfs_weibull."
        ),
    ],
    out: Annotated[Path, typer.Option(help="The prior file to write (JSON).")],
    effects: Annotated[
        str | None, typer.Option(help="Comma-separated effects to carry (default: all covariates).")
    ] = None,
    baseline: Annotated[
        bool, typer.Option(help="Carry the baseline too (Weibull shape and median, or intercept).")
    ] = True,
    robust: Annotated[
        float, typer.Option(help="Weight of a vague unit-information component (0: none).")
    ] = 0.2,
    discount: Annotated[
        float, typer.Option(help="Power-prior a0 in (0, 1]: informative variance × 1/a0.")
    ] = 1.0,
    allow_failed: Annotated[
        bool,
        typer.Option(
            "--allow-failed",
            help="Export a run that failed its diagnostics; the file then carries a warning.",
        ),
    ] = False,
    brms: Annotated[
        bool,
        typer.Option(
            "--brms", help="Also write <stem>.brms.R: the prior as brms code (netlm_prior())."
        ),
    ] = False,
) -> None:
    """Turn a run's posterior into a prior for the next cohort: a multivariate normal on the
    log scale (correlations kept), robustified and discounted as asked; also each effect as
    an RBesT mixture file (<stem>.rbest/), brms code with --brms, and a plot."""
    from netlm_bayes.planning import export
    from netlm_bayes.planning import prior_worth as priorinfo
    from netlm_bayes.priors import exported as exportedprior
    from netlm_bayes.report import prior_plots as priorplots

    if not 0 <= robust < 1:
        raise InputError(f"--robust {robust}: a weight in [0, 1) (0: no robust component)")
    exported = export.from_run(run, split_list(effects), baseline, allow_failed)
    if discount != 1.0:
        exported = exported.discount(discount)
    if robust > 0:
        exported = exported.robustify(robust)
    written = exportedprior.write(exported, out)
    if brms:
        written.append(_write_brms(exported, out, run))
    plot = out.with_suffix(".png")
    priorplots.prior_marginals(exported, plot, export.effect_draws(run))
    _print_prior(exported, priorinfo.ess_table(exported))
    _print_approximation(exported)
    console.print(f"Wrote {', '.join(str(p) for p in [*written, plot])}")


@app.command("prior-info")
@clear_errors
def prior_info(
    prior_file: Annotated[Path, typer.Argument(help="An exported prior (JSON).")],
    plot: Annotated[
        Path | None, typer.Option(help="Also draw each effect's prior here (PNG).")
    ] = None,
) -> None:
    """What an exported prior says and what it is worth: each effect's ratio, and its
    effective sample size by ELIR and by moments, in events (or patients)."""
    from netlm_bayes.planning import prior_worth as priorinfo
    from netlm_bayes.priors import exported as exportedprior
    from netlm_bayes.report import prior_plots as priorplots

    exported = exportedprior.read(prior_file)
    _print_prior(exported, priorinfo.ess_table(exported))
    if plot:
        priorplots.prior_marginals(exported, plot)
        console.print(f"Wrote {plot}")


def _write_brms(exported, out: Path, run: Path) -> Path:
    """<stem>.brms.R; for a logistic prior, with the model file's intercept prior (brms'
    Intercept, like netlm-bayes', sits at the data's mean covariates)."""
    from netlm_bayes.families import specs
    from netlm_bayes.priors import for_r

    intercept = None
    if exported.family == "logistic":
        spec = specs.load_spec(exported.provenance.get("model") or "response_logistic")
        intercept = (spec.intercept.mu, spec.intercept.sigma)
    path = out.with_name(f"{out.stem}.brms.R")
    path.write_text(for_r.brms_code(exported, intercept, str(run)))
    return path


def _print_prior(exported, ess) -> None:
    import numpy as np

    from netlm_bayes.planning import assurance

    provenance = exported.provenance
    if exported.synthetic:
        console.print(f"[bold yellow]{labels.SYNTHETIC_SOURCE}[/bold yellow]")
    if exported.reconstructed:
        console.print(f"[bold yellow]{labels.RECONSTRUCTED_SOURCE}[/bold yellow]")
    if exported.warning:
        console.print(f"[bold red]WARNING: this prior was {escape(exported.warning)}[/bold red]")
    built = exported.construction
    if "studies_file" in provenance:
        _print_map_source(provenance, built)
    else:
        counts = f"{provenance.get('patients')} patients" + (
            f", {provenance['events']} events" if "events" in provenance else ""
        )
        console.print(
            f"Prior from {provenance.get('run')} ({provenance.get('model')}; {counts}; "
            f"{provenance.get('priors')}). Robust weight {built.get('robust_weight', 0):g}, "
            f"discount a0 {built.get('discount_a0', 1):g}.",
            markup=False, highlight=False,
        )  # fmt: skip
    if built.get("baseline"):
        console.print(f"Baseline: {built['baseline']}.", markup=False, highlight=False)
    if built.get("cure"):
        console.print(f"Cure: {built['cure']}.", markup=False, highlight=False)
    ratio = "HR" if exported.scale == "log_hr" else "OR"
    table = Table(title=f"Exported prior ({exported.scale}), per effect; ESS in {exported.unit}s")
    for column in (f"{ratio}", "median", "95% interval", "informative part, 95%", f"P({ratio} > 1)",
                   "ESS (ELIR)", "ESS (moment)", "ESS, patients (ELIR)"):  # fmt: skip
        table.add_column(column, justify="left" if column == ratio else "right")
    prior = exported.prior
    informative = assurance.design_prior(prior)
    for row in ess.itertuples():
        q = [np.exp(prior.quantile(row.effect, p)) for p in (0.025, 0.5, 0.975)]
        qi = [np.exp(informative.quantile(row.effect, p)) for p in (0.025, 0.975)]
        above = 1 - prior.cdf(row.effect, 0.0)
        table.add_row(
            escape(row.effect), f"{q[1]:.3g}", f"{q[0]:.3g} to {q[2]:.3g}",
            f"{qi[0]:.3g} to {qi[1]:.3g}",
            f"{above:.3f}",
            f"{row.ess_elir:.1f}", f"{row.ess_moment:.1f}", f"{row.ess_elir_patients:.1f}",
        )  # fmt: skip
    console.print(table)
    for name in exported.nuisance:
        low, mid, high = (prior.quantile(name, p) for p in (0.025, 0.5, 0.975))
        console.print(f"  {name}: {mid:.3g} ({low:.3g} to {high:.3g})", highlight=False)
    console.print(
        "ESS by ELIR is the expected local information ratio (Neuenschwander et al., 2020); "
        "by moments, the variance one unit carries over the prior's variance. They agree for a "
        "single normal; a robust mixture's heavy tails lower the moment ESS much more."
    )


def _print_map_source(provenance: dict, built: dict) -> None:
    """Where a MAP prior (`netlm-bayes map`) came from."""
    if provenance.get("illustrative_studies"):
        console.print(
            f"[bold yellow]{labels.ILLUSTRATIVE}: "
            f"{escape(', '.join(provenance['illustrative_studies']))}[/bold yellow]"
        )
    baseline = provenance.get("baseline_from")
    console.print(
        f"MAP prior for {provenance.get('quantity')} from {provenance.get('studies_file')} "
        f"(studies {', '.join(provenance.get('studies', []))}; tau ~ {built.get('tau_prior')}; "
        f"{built.get('mixture', {}).get('components')}-component mixture). Robust weight "
        f"{built.get('robust_weight', 0):g}."
        + (f" ESS {built['ess']['elir']:g} {built['ess']['unit']} by ELIR, "
           f"{built['ess']['moment']:g} by moments." if "ess" in built else "")
        + (f" Baseline from {baseline} ({provenance.get('baseline_data_origin')})." if baseline
           else ""),
        markup=False, highlight=False,
    )  # fmt: skip


def _print_approximation(exported) -> None:
    table = Table(title="How well the normal reproduces the source posterior (2.5%, 50%, 97.5%)")
    for column in ("parameter", "posterior draws", "exported normal"):
        table.add_column(column, justify="left" if column == "parameter" else "right")
    for name, row in exported.construction["approximation"].items():
        table.add_row(
            escape(name),
            ", ".join(f"{v:.3g}" for v in row["posterior_q025_q50_q975"]),
            ", ".join(f"{v:.3g}" for v in row["normal_q025_q50_q975"]),
        )
    console.print(table)


@app.command()
@clear_errors
def plan(
    prior_file: Annotated[Path, typer.Option("--prior", help="An exported prior (JSON).")],
    criterion: Annotated[
        str,
        typer.Option(
            help="Success, e.g. 'P(HR_htb_gt25 > 1) > 0.95' or 'P(OR_border_clear < 1) > 0.9'."
        ),
    ],
    n: Annotated[str, typer.Option("--n", help="Cohort sizes, comma-separated.")] = "40,60,80,120",
    simulations: Annotated[int, typer.Option(help="Simulated cohorts per size.")] = 500,
    analysis: Annotated[
        str,
        typer.Option(
            help="'prior': analyse each cohort with the exported prior (borrowing); "
            "'own': on its own data (one unit of information, centred on no effect)."
        ),
    ] = "prior",
    covariates_from: Annotated[
        Path | None,
        typer.Option(
            help="Cohort CSV whose covariate rows are resampled (default: the prior's source)."
        ),
    ] = None,
    accrual: Annotated[
        float | None,
        typer.Option(
            help="Accrual period, in the prior's time unit (default: the pseudo-cohort's)."
        ),
    ] = None,
    follow_up: Annotated[
        float | None, typer.Option(help="Follow-up after accrual ends, in the prior's time unit.")
    ] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    check_nuts: Annotated[
        int, typer.Option(help="Refit this many cohorts (at the smallest n) with NUTS and compare.")
    ] = 0,
    profile: ProfileOption = "quick",
    seed: SeedOption = 20260101,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default results/plan-<time>).")
    ] = None,
) -> None:
    """Assurance for a new cohort: for each size, simulate cohorts from the prior, analyse
    each, and report how often the criterion is met, with its Monte Carlo error."""
    from netlm_bayes.planning import assurance
    from netlm_bayes.planning.plan import parse_sizes
    from netlm_bayes.planning.plan import plan as make_plan

    if check_nuts < 0:
        raise InputError("--check-nuts: a count >= 0")
    sizes = parse_sizes(n)
    with progress_bar(transient=True) as progress:
        bar = {}

        def start(total: int, where: str) -> None:
            bar["task"] = progress.add_task(
                f"simulating {len(sizes)} × {simulations} cohorts ({where})", total=total
            )

        result = make_plan(
            prior_file, criterion, sizes, simulations, analysis, covariates_from, accrual,
            follow_up, workers, dask, seed, start, lambda: progress.advance(bar["task"]),
        )  # fmt: skip
    exported, rule, table = result.exported, result.criterion, result.table
    warnings, tasks = result.warnings, result.tasks
    if exported.synthetic:
        console.print(f"[bold yellow]{labels.SYNTHETIC_SOURCE}[/bold yellow]")
    if exported.provenance.get("illustrative_studies"):
        console.print(f"[bold yellow]{labels.ILLUSTRATIVE}: a MAP prior with the studies "
                      f"{escape(', '.join(exported.provenance['illustrative_studies']))}"
                      "[/bold yellow]")  # fmt: skip
    nuts = None
    if check_nuts:
        with steps(check_nuts, "NUTS check") as begin:
            nuts = assurance.nuts_check(tasks[0], check_nuts, profile, begin)
    from netlm_bayes.study import plan as plan_run

    run_dir = plan_run.write(result, prior_file, nuts, out)
    _print_plan(table, rule, analysis, nuts, exported)
    for warning in warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    console.print(f"Wrote {run_dir}/: assurance.csv, simulations.csv, assurance.png, manifest.json"
                  + (", nuts_check.csv" if nuts is not None else ""))  # fmt: skip


def _print_plan(table, rule, analysis, nuts, exported) -> None:
    borrowed = "with the exported prior" if analysis == "prior" else "on its own data"
    title = f"Assurance: {escape(str(rule))}; each cohort analysed {borrowed} (Laplace)"
    result = Table(title=title)
    counted = "median events" if exported.family == "weibull" else "median outcomes"
    for column in ("n", "assurance", "MC SE", "95% MC interval", counted, "cohorts"):
        result.add_column(column, justify="right")
    for row in table.itertuples():
        result.add_row(
            str(row.n), f"{row.assurance:.3f}", f"{row.mc_se:.3f}",
            f"{row.assurance_low95:.3f} to {row.assurance_high95:.3f}",
            f"{row.median_events:.0f}", str(row.simulations),
        )  # fmt: skip
    console.print(result)
    if table["laplace_not_converged"].sum():
        count = int(table["laplace_not_converged"].sum())
        where = ", ".join(f"{r.laplace_not_converged} at n = {r.n}"
                          for r in table.itertuples() if r.laplace_not_converged)  # fmt: skip
        successes = int(table["laplace_not_converged_successes"].sum())
        errors.print(
            f"warning: the Laplace fit did not converge for {count} of "
            f"{int(table['simulations'].sum())} simulated cohorts ({where}); each still counts, "
            f"by the posterior probability at its last Newton step ({successes} of them as a "
            "success, the rest as failures); simulations.csv marks them (converged = False)",
            highlight=False,
        )
    if nuts is not None:
        agree = nuts["same_decision"].mean()
        gap = nuts["abs_difference"]
        console.print(
            f"NUTS check on {len(nuts)} cohorts (n = {nuts['n'].iloc[0]}): |P(Laplace) - P(NUTS)| "
            f"median {gap.median():.3f}, max {gap.max():.3f}; "
            f"same decision in {agree:.0%}; NUTS diagnostics passed in "
            f"{nuts['nuts_diagnostics_passed'].mean():.0%}."
        )
