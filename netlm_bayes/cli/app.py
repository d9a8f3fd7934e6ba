"""The `netlm-bayes` command line."""

from __future__ import annotations

import contextlib
import functools
import itertools
import sys
import time
import warnings
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


def _print_version(asked: bool) -> None:
    if asked:
        from netlm_bayes import __version__

        console.print(f"netlm-bayes {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:  # fmt: skip
    """Bayesian re-analysis of the rectal NETLM TAE + octreotide LAR cohort."""


FLOAT_WARNINGS = r"(overflow|invalid value|divide by zero) encountered"


def clear_errors(command):
    """Bad input: one message naming file, field and rule, and exit code 2; no traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from netlm_bayes import runs

        runs.set_command(as_typed(command, kwargs))
        try:
            with warnings.catch_warnings():
                # numpy's floating-point warnings (an OR of exp(800) under separation, a
                # curve that never reaches 0.5) are noise at a console: each case that
                # matters has its own message.
                warnings.filterwarnings("ignore", FLOAT_WARNINGS, RuntimeWarning)
                return command(*args, **kwargs)
        except InputError as exc:
            # escape: messages quote TOML tables and values, which look like rich markup
            errors.print(f"[bold red]error:[/bold red] {escape(exc.for_cli())}", highlight=False)
            raise typer.Exit(code=2) from None

    return wrapper


def as_typed(command, kwargs: dict) -> str:
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


class Steps:
    """`begin(description)` as each step starts (the previous one then counts as done), and
    `detail(text)` for what the current step is doing (a sampler's draws and time left).

    On a terminal, one transient progress bar. Captured to a log (no terminal), one line
    per step, with the time since the start, and no detail lines."""

    def __init__(self, progress: Progress | None, task, started: float):
        self.progress, self.task, self.started = progress, task, started
        self.count, self.current = 0, ""

    def __call__(self, description: str) -> None:
        if self.progress is None:
            errors.print(f"[{time.monotonic() - self.started:7.1f} s] {description}",
                         highlight=False, markup=False, soft_wrap=True)  # fmt: skip
        elif self.count:
            self.progress.advance(self.task)
        self.count += 1
        self.current = description
        if self.progress is not None:
            self.progress.update(self.task, description=description)

    def detail(self, text: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=f"{self.current}: {text}")


@contextlib.contextmanager
def steps(total: int, first: str = "starting"):
    """Yields a `Steps`: call it as each of `total` steps starts."""
    started = time.monotonic()
    if not errors.is_terminal:
        yield Steps(None, None, started)
        return
    with progress_bar(transient=True) as progress:
        task = progress.add_task(first, total=total)
        begin = Steps(progress, task, started)
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


SamplerOption = Annotated[
    str | None, typer.Option(help="nutpie (default) or pymc, overriding the profile.")
]
ProfileOption = Annotated[
    str, typer.Option(help="Sampler profile in inference/profiles.toml: quick, default, thorough.")
]
SeedOption = Annotated[int, typer.Option(help="Random seed; same inputs and seed, same numbers.")]
WorkersOption = Annotated[
    int | None, typer.Option(help="Local worker processes (default: all cores).")
]
DaskOption = Annotated[
    str | None,
    typer.Option(help="A Dask scheduler address, e.g. tcp://10.0.0.5:8786: run there instead."),
]


def check_sampler(sampler: str | None) -> None:
    if sampler not in (None, "nutpie", "pymc"):
        raise InputError(f"--sampler {sampler!r}: choose nutpie or pymc")


def split_list(value: str | None) -> list[str] | None:
    return None if value is None else [part.strip() for part in value.split(",") if part.strip()]


def covariate_list(value: str | None) -> list[str] | None:
    """--covariates: columns, or none at all ('none')."""
    if value is not None and value.strip().lower() == "none":
        return []
    parts = split_list(value)
    if parts == []:
        raise InputError("--covariates is empty; name the columns (A,B), or 'none' for none")
    return parts


FormulaOption = Annotated[
    str | None,
    typer.Option(
        help="Covariates as a formula (formulaic, as in lifelines and statsmodels), in place "
        "of --covariates, e.g. 'age + C(tgrade) + horTh + np.log(tsize) + tsize:pnodes'; "
        "a column of labels is treatment-coded against its reference level."
    ),
]
ReferenceOption = Annotated[
    str | None,
    typer.Option(
        help="Reference levels of categorical columns, e.g. tgrade=I,horTh=no (default: "
        "each column's most frequent level)."
    ),
]


def parse_references(value: str | None) -> dict[str, str] | None:
    parts = split_list(value)
    if parts is None:
        return None
    pairs = [part.partition("=") for part in parts]
    bad = [part for part, (column, sign, level) in zip(parts, pairs, strict=True)
           if not (sign and column.strip() and level.strip())]  # fmt: skip
    if bad:
        raise InputError(f"--reference {value!r}: give COLUMN=LEVEL pairs, e.g. tgrade=I,sex=F")
    return {column.strip(): level.strip() for column, _, level in pairs}


def comma_times(flag: str, value: str | None, example: str, increasing: bool = False):
    """A flag's comma-separated times > 0 (in the time column's unit), or None."""
    parts = split_list(value)
    if parts is None:
        return None
    try:
        times = [float(part) for part in parts]
    except ValueError as exc:
        raise InputError(f"{flag} {value!r}: comma-separated times, e.g. {example}") from exc
    rising = not increasing or all(b > a for a, b in itertools.pairwise(times))
    if not times or min(times) <= 0 or not rising:
        order = "increasing " if increasing else ""
        raise InputError(f"{flag} {value!r}: {order}times > 0, in the time column's unit")
    return times


def parse_horizons(value: str | None) -> list[float] | None:
    return comma_times("--horizons", value, "365,730")


ThresholdsOption = Annotated[
    str | None,
    typer.Option(
        help="Ratio thresholds for P(effect beyond x) in the paper's direction, e.g. "
        "1,1.5,2 (default: data/thresholds.toml, each with its reason)."
    ),
]
BenchmarkOption = Annotated[
    str | None,
    typer.Option(
        help="Rate benchmarks for P(rate > benchmark), e.g. orr=0.6 (labelled as given by "
        "you; default: only sourced ones in data/thresholds.toml, of which there are none)."
    ),
]


def parse_thresholds(value: str | None) -> list[float] | None:
    parts = split_list(value)
    if parts is None:
        return None
    try:
        return [float(part) for part in parts]
    except ValueError as exc:
        raise InputError(
            f"--thresholds {value!r}: comma-separated ratios >= 1, e.g. 1,1.5,2"
        ) from exc


def parse_benchmarks(value: str | None) -> dict[str, float] | None:
    parts = split_list(value)
    if parts is None:
        return None
    pairs = [part.partition("=") for part in parts]
    try:
        return {name.strip(): float(number) for name, _, number in pairs}
    except ValueError as exc:
        raise InputError(f"--benchmark {value!r}: give RATE=VALUE pairs, e.g. orr=0.6") from exc


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
OverwriteOption = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace the output folder of an earlier run (only a folder this tool wrote).",
    ),
]

AllowOutliersOption = Annotated[
    bool,
    typer.Option(
        "--allow-outliers",
        help="Fit values far outside their column's bulk (more than 10 robust SDs from its "
        "median) as they are; without it a value that would make its column's effect vanish "
        "is refused, and milder ones are warned about.",
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


def diagnostics_failed(what: str, failures: list[str], profile: str) -> None:
    errors.print(
        f"[bold red]DIAGNOSTICS FAILED[/bold red] for {what}: "
        + "; ".join(failures)
        + f". Do not trust these numbers; {advice(profile)}"
    )


def advice(profile: str) -> str:
    """What to try next, never the profile that just failed."""
    if profile != "thorough":
        return "try --profile thorough (longer warm-up, smaller steps)."
    return (
        "--profile thorough did not help, so the model does not fit this sampler's "
        "geometry: look for separation or a near-constant column among the warnings, a "
        "covariate that duplicates another, or a family that does not suit the data "
        "(compare-families), and consider a more informative prior set."
    )


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
