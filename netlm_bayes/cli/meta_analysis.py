"""The `map` command: a meta-analytic-predictive prior for the next centre from several
published studies (a studies file), in the format `fit --prior` and `plan --prior` read.

Registered on the main `netlm-bayes` app (cli/__init__.py imports this module).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from netlm_bayes import labels, paths
from netlm_bayes.cli.app import (
    ProfileOption,
    SeedOption,
    app,
    clear_errors,
    console,
    diagnostics_failed,
    errors,
    steps,
)
from netlm_bayes.errors import InputError

# The mixture should give the draws' quantiles back within this, on the log (logit) scale.
APPROXIMATION_TOLERANCE = 0.05


@app.command("map")
@clear_errors
def map_command(
    studies: Annotated[
        Path, typer.Argument(help="A studies file (TOML), e.g. data/studies/tae_next_centre.toml.")
    ],
    quantity: Annotated[
        str, typer.Option(help="The quantity, named as in data/paper.toml: hr_htb_gt25, orr, ...")
    ],
    tau_prior: Annotated[
        str,
        typer.Option(
            help="Between-study SD prior: small, moderate, substantial, large, very-large "
            "(HalfNormal(sigma/16 ... sigma)), or halfnormal:S, halfcauchy:S, lognormal:M,S, "
            "fixed:T."
        ),
    ] = "moderate",
    strata: Annotated[
        bool, typer.Option("--strata", help="One tau per design stratum (RBesT's tau.strata).")
    ] = False,
    new_stratum: Annotated[
        str | None, typer.Option(help="With --strata: the stratum of the new study.")
    ] = None,
    robust: Annotated[
        float, typer.Option(help="Weight of a unit-information component (0: none).")
    ] = 0.0,
    baseline_from: Annotated[
        Path | None,
        typer.Option(
            help="An exported prior whose baseline (Weibull shape and median, or intercept) "
            "is joined to this effect's MAP prior, so that `plan` can simulate cohorts."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="The prior file (JSON); the table and plot go beside it "
            "(default results/map-<time>/<quantity>.json)."
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing files.")] = False,
    profile: ProfileOption = "map",
    seed: SeedOption = 20260101,
) -> None:
    """Meta-analytic-predictive (MAP) prior: what a new study's hazard ratio, odds ratio,
    median or rate may be, given the studies in STUDIES and between-study heterogeneity;
    approximated by a normal mixture, with its effective sample size."""
    from netlm_bayes import runs
    from netlm_bayes.planning.map_prior import map_prior
    from netlm_bayes.study.map_prior import check_out, write_map

    if not 0 <= robust < 1:
        raise InputError(f"--robust {robust}: a weight in [0, 1) (0: no robust component)")
    out = check_out(out or paths.RESULTS_DIR / f"map-{runs.timestamp()}" / f"{quantity}.json",
                    overwrite)  # fmt: skip
    with steps(2, "reading the studies") as begin:
        result = map_prior(
            studies, quantity, tau_prior, strata, new_stratum, robust or None, baseline_from,
            profile, seed, begin,
        )  # fmt: skip
    written = write_map(result, out, overwrite)
    print_map(result)
    if not result.passed:
        diagnostics_failed("the MAP model", result.diagnostics.failures, profile)
    console.print(f"Wrote {', '.join(str(p) for p in written)}", highlight=False)
    if not result.passed:
        raise typer.Exit(code=3)


def print_map(result) -> None:
    if result.illustrative:
        console.print(
            f"[bold yellow]{labels.ILLUSTRATIVE}: {', '.join(result.illustrative)} "
            "are part of this prior.[/bold yellow]"
        )
    q = result.quantity
    scale = "rate" if q.kind == "rate" else "natural scale"
    table = Table(title=f"MAP for {escape(q.label)} ({escape(q.name)}), {scale}; tau ~ "
                        f"{escape(str(result.tau_prior))}")  # fmt: skip
    for column in ("", "stratum", "reported (95% CI)", "SE from", "shrunk / posterior (95%)"):
        left = column in ("", "stratum", "SE from")
        table.add_column(column, justify="left" if left else "right")
    for row in result.table.itertuples():
        reported = (f"{row.reported:.3g} ({row.reported_ci95_low:.3g} to "
                    f"{row.reported_ci95_high:.3g})" if row.row == "study" else "")  # fmt: skip
        name = row.study or row.row
        if row.row == "study" and row.illustrative:
            name += " (ILLUSTRATIVE)"
        table.add_row(
            escape(name),
            escape(row.stratum),
            reported,
            escape(row.se_from or ""),
            f"{row.median:.3g} ({row.ci95_low:.3g} to {row.ci95_high:.3g})",
        )
    console.print(table)
    for key, reason in result.studies.unavailable.items():
        if not key.endswith(f", {q.name}"):
            continue
        console.print(f"Left out: {reason}.", highlight=False)
    _print_mixture(result)
    ess = result.ess.iloc[0]
    console.print(
        f"ESS of the MAP prior: {ess.ess_elir:.1f} {q.units} by ELIR, {ess.ess_moment:.1f} by "
        f"moments (one {q.units[:-1]}'s SD {result.unit_sd:.3g}: {result.unit_sd_source}).",
        highlight=False, markup=False,
    )  # fmt: skip
    if result.exported is None:
        console.print(result.why_no_prior + ".", highlight=False)
    elif result.exported.construction.get("robust_weight"):
        console.print(f"Robust: a unit-information component of weight "
                      f"{result.exported.construction['robust_weight']:g}.")  # fmt: skip
    if result.beta is not None:
        console.print(f"As a Beta mixture (for oc --endpoint binary, <stem>.beta.json): "
                      f"{result.beta.fit.text}", highlight=False, markup=False)  # fmt: skip
    console.print(f"Sampler: {result.diagnostics.summary_line()}", highlight=False)
    for warning in result.warnings:
        errors.print(f"[bold yellow]warning:[/bold yellow] {escape(warning)}")


def _print_mixture(result) -> None:
    mix, check = result.fitted.mixture, result.approximation
    sign = result.quantity.sign if result.exported is not None else 1.0
    parts = [f"{w:.2f} × N({sign * m:.3f}, {s:.3f}²)"
             for w, m, s in zip(mix.weights, mix.means, mix.sds, strict=True)]  # fmt: skip
    where = (f"on {result.quantity.parameter}'s scale" if result.exported is not None
             else "on the log/logit scale")  # fmt: skip
    console.print(f"Mixture ({result.fitted.components} components, {where}, chosen by AIC "
                  f"with penalty 6): " + " + ".join(parts), highlight=False)  # fmt: skip
    worst = float(np.abs(check["difference"]).max())
    pairs = zip(check["probability"], check["draws"], check["mixture"], strict=True)
    quantiles = ", ".join(f"{p:g}: {d:.3f} vs {f:.3f}" for p, d, f in pairs)
    console.print(f"Mixture against the draws (quantile: draws vs mixture, log/logit scale): "
                  f"{quantiles}; largest gap {worst:.3f}.", highlight=False)  # fmt: skip
    if worst > APPROXIMATION_TOLERANCE:
        errors.print(
            f"[bold yellow]warning:[/bold yellow] the mixture misses a quantile of the draws by "
            f"{worst:.3f} (> {APPROXIMATION_TOLERANCE}); its tails differ from the MAP's"
        )
