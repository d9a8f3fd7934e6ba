"""`netlm-bayes paper` and `prior-sets`: what the paper reports, and the named prior sets."""

from __future__ import annotations

from rich.table import Table

from netlm_bayes import paths
from netlm_bayes.cli.app import (
    PaperOption,
    app,
    clear_errors,
    console,
)


@app.command()
@clear_errors
def paper(paper_file: PaperOption = None) -> None:
    """Print the paper's numbers, their sources and what we derive from them."""
    from netlm_bayes.evidence import paper as published

    loaded = published.load_paper(paper_file or paths.PAPER_FILE)
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
