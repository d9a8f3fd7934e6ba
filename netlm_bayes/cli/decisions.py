"""The `oc` command: a design's decision rule, its critical values and its operating
characteristics for the next cohort (binary endpoint, Beta-mixture priors, exact).

Registered on the main `netlm-bayes` app (cli/__init__.py imports this module).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from netlm_bayes.cli.app import OverwriteOption, app, clear_errors, console, split_list
from netlm_bayes.errors import InputError


def _rates(text: str | None, flag: str) -> list[float]:
    try:
        values = [float(v) for v in split_list(text) or []]
    except ValueError as exc:
        raise InputError(f"{flag} {text!r}: numbers separated by commas, e.g. 0.1,0.2") from exc
    return values


@app.command("oc")
@clear_errors
def oc_command(
    success: Annotated[
        list[str],
        typer.Option(
            help="A criterion, e.g. 'P(treatment - control > 0) > 0.975' or 'P(treatment > "
            "0.3) > 0.9'; repeat it for criteria that must all hold."
        ),
    ],
    prior_treatment: Annotated[
        str, typer.Option(help="The treatment rate's prior: beta:a,b, or beta:w,a,b;w,a,b.")
    ],
    n_treatment: Annotated[int, typer.Option(min=1, help="Patients on treatment.")],
    endpoint: Annotated[str, typer.Option(help="The endpoint; binary for now.")] = "binary",
    prior_control: Annotated[
        str | None, typer.Option(help="The control rate's prior (two-sample designs).")
    ] = None,
    n_control: Annotated[
        int | None, typer.Option(min=1, help="Control patients; absent: a one-sample design.")
    ] = None,
    control_rates: Annotated[
        str | None, typer.Option(help="True control rates, e.g. 0.1,0.2,0.3 (two samples).")
    ] = None,
    differences: Annotated[
        str, typer.Option(help="True differences treatment - control, e.g. 0,0.3.")
    ] = "0",
    treatment_rates: Annotated[
        str | None, typer.Option(help="True treatment rates (one-sample designs).")
    ] = None,
    robust_weights: Annotated[
        str | None,
        typer.Option(
            help="Two-sample: also the same design with the control prior robustified at "
            "these weights of a Beta(1, 1) component, e.g. 0,0.2,0.5,1 (1: flat, no "
            "borrowing); writes borrowing.csv and borrowing.png."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default results/oc-<time>).")
    ] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Operating characteristics of a decision rule for the next cohort: P(success) at
    each pair of true rates (exact), and the critical values at which the decision flips."""
    from netlm_bayes.planning.decisions import BetaMixture, Criterion, Design
    from netlm_bayes.study import oc as ocrun

    if endpoint != "binary":
        raise InputError(f"--endpoint {endpoint}: only binary is built so far")
    two = n_control is not None
    design = Design(
        BetaMixture.parse(prior_treatment, "prior_treatment"), n_treatment,
        tuple(Criterion.parse(s) for s in success),
        BetaMixture.parse(prior_control, "prior_control") if prior_control else None, n_control,
    )  # fmt: skip
    truths = _rates(control_rates if two else treatment_rates,
                    "--control-rates" if two else "--treatment-rates")  # fmt: skip
    if not truths:
        raise InputError("give the true rates: --control-rates (two samples) or "
                         "--treatment-rates (one sample)")  # fmt: skip
    table = ocrun.oc_table(design, truths, _rates(differences, "--differences") if two else [0.0])
    critical = ocrun.critical_table(design)
    manifest = {"endpoint": endpoint, "prior_treatment": prior_treatment,
                "prior_control": prior_control, "n_treatment": n_treatment,
                "n_control": n_control, "success": list(success),
                "method": ocrun.METHOD}  # fmt: skip
    borrowing = None
    if robust_weights is not None:
        if not two:
            raise InputError("--robust-weights: borrowing is measured for the control arm "
                             "of a two-sample design (give --n-control)")  # fmt: skip
        weights = _rates(robust_weights, "--robust-weights")
        borrowing = ocrun.borrowing_table(design, truths, _rates(differences, "--differences"),
                                          weights)  # fmt: skip
    manifest["probability_of_success"] = design.probability_of_success()
    run_dir = ocrun.write(design, table, critical, out, overwrite, manifest, borrowing)
    _print(table, critical, success, two)
    console.print(
        f"Probability of success under these priors (assurance, exact): "
        f"{manifest['probability_of_success']:.4f} (manifest.json)", highlight=False,
    )  # fmt: skip
    extra = ", borrowing.csv, borrowing.png" if borrowing is not None else ""
    console.print(f"Wrote {run_dir}/: oc.csv, critical_values.csv, oc.png{extra}, manifest.json")


def _print(table, critical, success, two: bool) -> None:
    result = Table(title="P(success): " + escape(" and ".join(success)) + " (exact)")
    for column in ["control", "treatment", "P(success)"] if two else ["treatment", "P(success)"]:
        result.add_column(column, justify="right")
    for row in table.itertuples():
        cells = [f"{row.control:g}"] if two else []
        result.add_row(*cells, f"{row.treatment:g}", f"{row.p_success:.4f}")
    console.print(result)
    needed = ", ".join(
        f"{r.control_responders}: {r.treatment_responders_to_succeed}"
        for r in critical.itertuples()
    ) if two else str(critical["treatment_responders_to_succeed"].iloc[0])  # fmt: skip
    what = "per control responders, the treatment responders that succeed" if two else (
        "treatment responders that succeed")  # fmt: skip
    console.print(f"Critical values ({what}): {needed}", highlight=False)
