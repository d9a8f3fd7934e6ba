"""The next cohort's decision, as tables: a design built from the words the CLI takes
(`oc_design`), P(success) and P(futility) at each true value (`oc_table`), and the same
with the borrowed prior robustified at several weights (`borrowing_table`). The designs are
`decisions.BinaryDesign` and `normal_decisions.NormalDesign`: both answer p_success,
critical_table and probability_of_success, so nothing here cares which."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from netlm_bayes.errors import InputError, option
from netlm_bayes.planning.decisions import BetaMixture, BinaryDesign, Criterion
from netlm_bayes.planning.normal_decisions import NormalDesign, NormalMixture

AnyDesign = BinaryDesign | NormalDesign
EXACT_ENDPOINTS = ("binary", "normal")


def oc_design(
    endpoint: str, success: list[str] | str, prior_treatment: str, n_treatment: int,
    prior_control: str | None = None, n_control: int | None = None,
    sigma: float | None = None, effect: str | None = None, link: str = "identity",
) -> AnyDesign:  # fmt: skip
    """A design from the words the CLI takes: criteria as 'P(treatment - control > 0) >
    0.975'; priors as 'beta:a,b' (binary) or 'normal:m,s' or a prior file (.json; normal,
    whose unit-information SD is the default sigma); no n_control: one sample."""
    if endpoint not in EXACT_ENDPOINTS:
        raise InputError(f"{option('endpoint', endpoint)}: binary or normal (survival: "
                         "planning.survival_oc)")  # fmt: skip
    success = [success] if isinstance(success, str) else success
    criteria = tuple(Criterion.parse(s) for s in success)
    if endpoint == "binary":
        control = BetaMixture.parse(prior_control, "prior_control") if prior_control else None
        return BinaryDesign(BetaMixture.parse(prior_treatment, "prior_treatment"), n_treatment,
                            criteria, control, n_control, link)  # fmt: skip
    if link != "identity":
        raise InputError(f"{option('link', link)}: a normal endpoint is compared on its "
                         "own scale (a log HR is already a log); the link is for binary "
                         "endpoints")  # fmt: skip
    label = "mean"
    if str(prior_treatment).lower().endswith(".json"):
        from_file = NormalMixture.from_prior_file(Path(prior_treatment), "prior_treatment", effect)
        sigma = from_file.unit_sd if sigma is None else sigma
        label = from_file.scale
    if sigma is None:
        raise InputError(f"{option('sigma')}: a normal endpoint needs the sampling SD per "
                         "patient (or per event: 2 for a log HR), unless a prior file gives "
                         "it")  # fmt: skip
    control = NormalMixture.parse(prior_control, "prior_control", effect) if prior_control else None
    return NormalDesign(NormalMixture.parse(str(prior_treatment), "prior_treatment", effect),
                        n_treatment, criteria, sigma, control, n_control, label)  # fmt: skip


def oc_table(
    design: AnyDesign, values: list[float], differences: list[float] = (0.0,),
    futility: tuple[Criterion | str, ...] = (),
) -> pd.DataFrame:  # fmt: skip
    """One row per true pair: `values` are the control's true rates or means and treatment
    = control + difference (one sample: `values` are the treatment's own), P(success), and
    P(futility) when futility criteria (written as the success ones) are given."""
    futility = tuple(c if isinstance(c, Criterion) else Criterion.parse(c, "futility")
                     for c in futility)  # fmt: skip
    two = design.n_control is not None
    frames = []
    for difference in differences if two else [0.0]:
        control = np.asarray(values, float)
        # rounded so that 0.7 + 0.1 is 0.8 in the table, not 0.7999999999999999
        treatment = np.round(control + difference, 12) if two else control
        outside = treatment[(treatment < 0) | (treatment > 1)]
        if design.endpoint == "binary" and outside.size:
            given = option("differences", difference) if two else option("treatment_rates")
            raise InputError(f"{given}: treatment rate {outside[0]:g} lies outside [0, 1]")
        truth = (treatment, control) if two else (treatment,)
        frame = pd.DataFrame({"control": control if two else np.nan, "treatment": treatment,
                              "difference": difference if two else np.nan,
                              "p_success": design.p_success(*truth)})  # fmt: skip
        if futility:
            frame["p_futility"] = replace(design, criteria=futility).p_success(*truth)
        frames.append(frame.assign(method=design.method))
    return pd.concat(frames, ignore_index=True)


def robust_borrowed(design: AnyDesign, weight: float) -> AnyDesign:
    """The design with its borrowed prior (the control's, or the one arm's in a one-sample
    design) robustified at `weight`: a Beta(1, 1) component (binary) or one unit of
    information, N(no effect or the prior's mean, sigma^2) (normal)."""
    arm = "prior_control" if design.n_control is not None else "prior_treatment"
    prior = getattr(design, arm)
    if design.endpoint == "binary":
        return replace(design, **{arm: prior.robustified(weight)})
    return replace(design, **{arm: prior.robustified(weight, design.sigma)})


def borrowing_table(
    design: AnyDesign, values: list[float], differences: list[float], weights: list[float],
) -> pd.DataFrame:  # fmt: skip
    """The same design with its borrowed prior robustified at each weight (1: the vague
    component alone, no borrowing), P(success) at every true value: type-I error and power
    as the truth moves away from the prior's centre."""
    vague = "flat Beta(1, 1)" if design.endpoint == "binary" else "unit information"
    parts = []
    for weight in weights:
        label = vague if weight == 1 else (
            "as given" if weight == 0 else f"robust, weight {weight:g}")  # fmt: skip
        table = oc_table(robust_borrowed(design, weight), values, differences)
        parts.append(table.assign(borrowed_prior=label, robust_weight=weight))
    return pd.concat(parts, ignore_index=True)
