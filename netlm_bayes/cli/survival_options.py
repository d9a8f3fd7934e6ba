"""The options of a survival model's shape on `fit`: the M-spline's knots, effects that
change over time, a cure fraction, survivor counts from other studies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netlm_bayes.cli.app import comma_times


def parse_knots(value: str | None) -> list[float] | None:
    return comma_times("--knots", value, "6,12,24", increasing=True)


KnotsOption = Annotated[
    str | None,
    typer.Option(
        help="--likelihood mspline: interior knots in the time column's unit, e.g. 6,12,24 "
        "(default: at quantiles of the event times; the last knot is always the largest "
        "follow-up time).",
    ),
]

DfOption = Annotated[
    int | None,
    typer.Option(
        "--df",
        help="--likelihood mspline: the number of basis functions (default 10; df - 4 "
        "interior knots).",
    ),
]

CureOption = Annotated[
    bool,
    typer.Option(
        "--cure",
        help="A mixture cure model: a fraction of patients never has the event, S(t) = pi + "
        "(1 - pi) S_u(t), S_u the --likelihood family (HRs are among the uncured).",
    ),
]

CureCovariatesOption = Annotated[
    str | None,
    typer.Option(
        help="Covariates of the cure fraction (a logistic regression; implies --cure), e.g. "
        "A,B: each must also be a covariate of the model.",
    ),
]

NonpropOption = Annotated[
    str | None,
    typer.Option(
        help="--likelihood mspline: covariates whose hazard ratio may change with time, e.g. "
        "A,B (each must also be a covariate); HR(t) is written as hazard_ratios.csv/png.",
    ),
]

ExternalOption = Annotated[
    Path | None,
    typer.Option(
        "--external",
        help="Survivor counts from other studies, a CSV with columns start, stop, n, r (r of n "
        "event-free at start still so at stop, in the time column's unit) and optionally "
        "covariate columns: in the likelihood as r ~ Binomial(n, S(stop)/S(start)).",
    ),
]
