"""The `oc` command: a design's decision rule, its critical values, its operating
characteristics and its probability of success for the next cohort: binary (Beta-mixture
priors) and normal (normal-mixture priors, including a log HR or log OR from a prior file)
endpoints, exact.

Registered on the main `netlm-bayes` app (cli/__init__.py imports this module).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from netlm_bayes.cli.app import (
    DaskOption,
    OverwriteOption,
    SeedOption,
    WorkersOption,
    app,
    clear_errors,
    console,
    errors,
    progress_bar,
    split_list,
)
from netlm_bayes.errors import InputError


def _numbers(text: str | None, flag: str) -> list[float]:
    try:
        return [float(v) for v in split_list(text) or []]
    except ValueError as exc:
        raise InputError(f"{flag} {text!r}: numbers separated by commas, e.g. 0.1,0.2") from exc


def _interim(text: str | None, flag: str, endpoint: str) -> tuple | None:
    """'r/n' (binary: r responders of n) or 'mean/n' (normal)."""
    if text is None:
        return None
    value, _, seen = text.partition("/")
    try:
        parsed = (int(value) if endpoint == "binary" else float(value)), int(seen)
    except ValueError as exc:
        what = "r/n, e.g. 7/20" if endpoint == "binary" else "mean/n, e.g. 0.35/20"
        raise InputError(f"{flag} {text!r}: write it as {what}") from exc
    return parsed


@app.command("oc")
@clear_errors
def oc_command(
    success: Annotated[list[str], typer.Option(
        help="A criterion, e.g. 'P(treatment - control > 0) > 0.975' or 'P(treatment > 0.3) > "
        "0.9'; repeat it for criteria that must all hold.")],
    prior_treatment: Annotated[str, typer.Option(
        help="The treatment's prior: beta:a,b or beta:w,a,b;w,a,b (binary); normal:m,s, "
        "normal:w,m,s;w,m,s or an export-prior / map file (.json) (normal).")],
    n_treatment: Annotated[int, typer.Option(min=1, help="Patients (or events) on treatment.")],
    endpoint: Annotated[str, typer.Option(
        help="binary, normal (exact) or survival (a Weibull prior file, by simulation).",
    )] = "binary",
    prior_control: Annotated[str | None, typer.Option(
        help="The control's prior (two-sample designs), written as --prior-treatment.")] = None,
    n_control: Annotated[int | None, typer.Option(
        min=1, help="Control patients (or events); absent: a one-sample design.")] = None,
    futility: Annotated[list[str] | None, typer.Option(
        help="A futility criterion, written as --success; repeat for criteria that must all "
        "hold. Adds p_futility to oc.csv.")] = None,
    sigma: Annotated[float | None, typer.Option(
        help="Normal: the sampling SD per patient or event (2 per event for a log HR); "
        "default: a prior file's unit-information SD.")] = None,
    effect: Annotated[str | None, typer.Option(
        help="Normal, with a prior file: the effect whose marginal is the prior.")] = None,
    link: Annotated[str, typer.Option(
        help="Binary, two samples: compare rates as identity (difference), log (log ratio) "
        "or logit (log odds ratio).")] = "identity",
    control_rates: Annotated[str | None, typer.Option(
        "--control-rates", "--control-means",
        help="True control rates (binary) or means (normal), e.g. 0.1,0.2,0.3.")] = None,
    differences: Annotated[str, typer.Option(
        help="True differences treatment - control, e.g. 0,0.3.")] = "0",
    treatment_rates: Annotated[str | None, typer.Option(
        "--treatment-rates", "--treatment-means", "--hazard-ratios",
        help="True treatment rates or means (one-sample designs); survival: the true hazard "
        "ratios of the criterion's effect.")] = None,
    robust_weights: Annotated[str | None, typer.Option(
        help="Also the design with the borrowed prior (the control's; one sample: the arm's) "
        "robustified at these weights of a vague component (Beta(1, 1), or one unit of "
        "information), e.g. 0,0.2,0.5,1 (1: no borrowing); writes borrowing.csv and "
        "borrowing.png. Survival: the analysis prior at each weight.")] = None,
    interim_treatment: Annotated[str | None, typer.Option(
        help="Interim data on treatment: r/n (binary) or mean/n (normal). OC and PoS become "
        "conditional on it.")] = None,
    interim_control: Annotated[str | None, typer.Option(
        help="Interim data on control, written as --interim-treatment.")] = None,
    simulations: Annotated[int, typer.Option(
        help="Survival: simulated cohorts per true HR (and per robust weight).")] = 500,
    accrual: Annotated[float | None, typer.Option(
        help="Survival: accrual period, in the prior's time unit (default: the "
        "pseudo-cohort's).")] = None,
    follow_up: Annotated[float | None, typer.Option(
        help="Survival: follow-up after accrual ends, in the prior's time unit.")] = None,
    covariates_from: Annotated[Path | None, typer.Option(
        help="Survival: a cohort CSV whose covariate rows are resampled (default: the "
        "prior's source).")] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    seed: SeedOption = 20260101,
    out: Annotated[Path | None, typer.Option(
        help="Run folder (default results/oc-<time>).")] = None,
    overwrite: OverwriteOption = False,
) -> None:  # fmt: skip
    """Operating characteristics of a decision rule for the next cohort: P(success) at
    each pair of true values (exact; survival by simulation), the critical values at which
    the decision flips, and the probability of success under the priors."""
    from netlm_bayes.planning import operating_characteristics as tables
    from netlm_bayes.study import oc as ocrun

    if endpoint not in (*tables.EXACT_ENDPOINTS, "survival"):
        raise InputError(f"--endpoint {endpoint}: binary, normal or survival")
    if endpoint == "survival":
        return _survival(success, prior_treatment, n_treatment, treatment_rates, simulations,
                         robust_weights, covariates_from, accrual, follow_up, workers, dask,
                         seed, out, overwrite)  # fmt: skip
    design = tables.oc_design(endpoint, success, prior_treatment, n_treatment, prior_control,
                             n_control, sigma, effect, link)  # fmt: skip
    two = n_control is not None
    interim = (_interim(interim_treatment, "--interim-treatment", endpoint),
               _interim(interim_control, "--interim-control", endpoint))  # fmt: skip
    if any(interim):
        design = design.after_interim(*interim)
    truths = _numbers(control_rates if two else treatment_rates,
                      "--control-rates" if two else "--treatment-rates")  # fmt: skip
    if not truths:
        raise InputError("give the true values: --control-rates (two samples) or "
                         "--treatment-rates (one sample)")  # fmt: skip
    shifts = _numbers(differences, "--differences")
    table = tables.oc_table(design, truths, shifts, futility or ())
    borrowing = None
    if robust_weights is not None:
        weights = _numbers(robust_weights, "--robust-weights")
        borrowing = tables.borrowing_table(design, truths, shifts, weights)
    pos = design.probability_of_success()
    warned = ocrun.prior_warnings(prior_treatment, prior_control)
    for warning in warned:
        console.print(f"[bold yellow]{escape(warning)}[/bold yellow]")
    ess = design.prior_ess()
    manifest = {"prior_warnings": warned, "prior_ess_elir": ess, "endpoint": endpoint,
                "prior_treatment": prior_treatment,
                "prior_control": prior_control, "n_treatment": n_treatment,
                "n_control": n_control, "success": list(success), "futility": futility or [],
                "sigma": getattr(design, "sigma", None), "link": link,
                "interim_treatment": interim_treatment, "interim_control": interim_control,
                "method": design.method, "probability_of_success": pos}  # fmt: skip
    run_dir = ocrun.write(design, table, out, overwrite, manifest, borrowing)
    _print(table, design, success, any(interim))
    given = "given the interim data (predictive probability)" if any(interim) else (
        "under these priors (assurance)")  # fmt: skip
    console.print(f"Probability of success {given}: {pos:.4f} (manifest.json)", highlight=False)
    unit = "events or patients" if design.endpoint == "normal" else "patients"
    console.print("Prior worth (ESS by ELIR, in " + unit + "): "
                  + ", ".join(f"{arm} {value:.1f}" for arm, value in ess.items()),
                  highlight=False)  # fmt: skip
    extra = ", borrowing.csv, borrowing.png" if borrowing is not None else ""
    console.print(f"Wrote {run_dir}/: oc.csv, critical_values.csv, oc.png{extra}, manifest.json")


def _print(table, design, success, interim: bool) -> None:
    what = "conditional on the interim" if interim else "exact"
    result = Table(title="P(success): " + escape(" and ".join(success)) + f" ({what})")
    two, futility = design.n_control is not None, "p_futility" in table
    truth = [f"true control {design.value_label}"] if two else []
    for column in [*truth, f"true treatment {design.value_label}", "P(success)",
                   *(["P(futility)"] if futility else [])]:  # fmt: skip
        result.add_column(column, justify="right")
    for row in table.itertuples():
        cells = [f"{row.control:g}"] if two else []
        extra = [f"{row.p_futility:.4f}"] if futility else []
        result.add_row(*cells, f"{row.treatment:g}", f"{row.p_success:.4f}", *extra)
    console.print(result)
    critical = design.critical_table()
    region = critical.columns[critical.columns.str.endswith("_to_succeed")][0]
    observed = ("the treatment responders" if design.endpoint == "binary"
                else f"the treatment's observed {design.value_label}")  # fmt: skip
    if interim:
        observed += f" among the remaining {design.n_treatment}"
    if two:
        needed = ", ".join(f"{r.iloc[0]:g}: {r[region]}" for _, r in critical.iterrows())
        per = critical.columns[0].replace("_", " ")
        per += f" among the remaining {design.n_control}" if interim else ""
        console.print(f"Critical values (per {per}, {observed} that succeed): {needed}",
                      highlight=False)  # fmt: skip
    else:
        console.print(f"Critical value ({observed} that succeed): {critical[region].iloc[0]}",
                      highlight=False)  # fmt: skip


def _survival(
    success,
    prior_file,
    n,
    hazard_ratios,
    simulations,
    robust_weights,
    covariates_from,
    accrual,
    follow_up,
    workers,
    dask,
    seed,
    out,
    overwrite,
):
    """`oc --endpoint survival`: plan's simulation at fixed true HRs."""
    from netlm_bayes.planning.survival_oc import survival_oc
    from netlm_bayes.study import oc as ocrun

    if not str(prior_file).lower().endswith(".json"):
        raise InputError(f"--prior-treatment {prior_file!r}: --endpoint survival takes an "
                         "exported Weibull prior file (.json, from export-prior)")  # fmt: skip
    if len(success) != 1:
        raise InputError("--success: a survival design takes one criterion, e.g. "
                         "'P(HR_htb_gt25 > 1) > 0.95'")  # fmt: skip
    ratios = _numbers(hazard_ratios, "--hazard-ratios")
    weights = _numbers(robust_weights, "--robust-weights") if robust_weights else None
    ocrun.check_out(out, overwrite)
    with progress_bar(transient=True) as progress:
        bar = {}

        def start(total: int, where: str) -> None:
            bar["task"] = progress.add_task(f"simulating cohorts ({where})", total=total)

        result = survival_oc(prior_file, success[0], n, ratios, simulations, weights,
                             covariates_from, accrual, follow_up, workers, dask, seed, start,
                             lambda: progress.advance(bar["task"]))  # fmt: skip
    warned = ocrun.prior_warnings(prior_file)
    for warning in warned:
        console.print(f"[bold yellow]{escape(warning)}[/bold yellow]")
    run_dir = ocrun.write_survival(result, Path(prior_file), out, overwrite, warned)
    table = Table(title=f"P(success): {escape(str(result.criterion))} ({result.simulations} "
                  f"simulated cohorts of {n} per row)")  # fmt: skip
    for column in ("analysis prior", "true HR", "P(success)", "MC SE", "median events"):
        table.add_column(column, justify="right")
    for row in result.table.itertuples():
        table.add_row(row.analysis_prior, f"{row.hazard_ratio:.3g}", f"{row.p_success:.3f}",
                      f"{row.mc_se:.3f}", f"{row.median_events:.0f}")  # fmt: skip
    console.print(table)
    for warning in result.warnings:
        errors.print(f"warning: {warning}", highlight=False)
    console.print(f"Wrote {run_dir}/: oc.csv, simulations.csv, oc.png, manifest.json")
