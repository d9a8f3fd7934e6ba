"""The `netlm-bayes` command line."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

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
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            errors.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
            raise typer.Exit(code=2) from None

    return wrapper


PaperOption = Annotated[
    Path | None, typer.Option("--paper", help="Paper evidence file (default: data/paper.toml).")
]


@app.command()
@clear_errors
def paper(paper_file: PaperOption = None) -> None:
    """Print the paper's numbers, their sources and what we derive from them."""
    from netlm_bayes import evidence

    loaded = evidence.load_paper(paper_file or evidence.DEFAULT_PAPER)
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
    from netlm_bayes import specs

    sets = specs.load_prior_sets()
    table = Table(title=f"Named prior sets ({specs.MODELS_DIR / 'prior_sets.toml'})")
    for column in (
        "prior set",
        "log-effect prior (hypothesis: increases)",
        "response prior",
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
            prior_set.rationale,
        )
    console.print(table)


@app.command()
@clear_errors
def fit(
    model: Annotated[str, typer.Argument(help="Model name in models/ or path to a model file.")],
    prior_set: Annotated[
        str, typer.Option(help="A named prior set, a comma-separated list, or 'all'.")
    ] = "all",
    profile: Annotated[
        str, typer.Option(help="Sampler profile in inference/profiles.toml.")
    ] = "default",
    sampler: Annotated[
        str | None, typer.Option(help="nutpie (default) or pymc, overriding the profile.")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; same inputs and seed, same numbers.")
    ] = 20260101,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default results/<model>-<time>).")
    ] = None,
    paper_file: PaperOption = None,
    strict: Annotated[bool, typer.Option(help="Exit non-zero when any diagnostic fails.")] = False,
) -> None:
    """Fit MODEL under the chosen prior sets and write a run folder."""
    from netlm_bayes import fit as fitting
    from netlm_bayes import report, specs

    if sampler not in (None, "nutpie", "pymc"):
        raise InputError(f"--sampler {sampler!r}: choose nutpie or pymc")
    spec = specs.load_spec(model)
    if spec.family != "reported_effects":
        raise InputError(f"model family {spec.family!r} cannot be fitted yet")
    names = fitting.resolve_prior_sets(prior_set, specs.load_prior_sets(spec.prior_sets_path))
    columns = (
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=errors, transient=True) as progress:
        task = progress.add_task("compiling and sampling", total=len(names))
        started = {"count": 0}

        def advance(name: str) -> None:
            if started["count"]:
                progress.advance(task)
            started["count"] += 1
            note = " (compiling the model first)" if started["count"] == 1 else ""
            progress.update(task, description=f"prior set {name}{note}")

        result = fitting.fit_reported_effects(
            model, ",".join(names), profile, sampler, seed, out, paper_file, advance
        )
        progress.advance(task)
    report.console_tables(result, console)
    for name, diagnostic in result.diagnostics.items():
        if not diagnostic.passed:
            errors.print(
                f"[bold red]DIAGNOSTICS FAILED[/bold red] for prior set {name}: "
                + "; ".join(diagnostic.failures)
                + ". Do not trust these numbers; try --profile thorough."
            )
    console.print(
        f"Wrote {result.run_dir}/: comparison.csv, comparison.md, forest.png, "
        "posterior-<prior set>.nc, diagnostics.csv, manifest.json"
    )
    if strict and not result.passed:
        raise typer.Exit(code=3)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
