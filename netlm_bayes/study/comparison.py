"""The study's comparison table (comparison.csv): per paper quantity, every analysis of it.

The paper's number with its implied CI; the reported-effects posteriors under each prior
set, plain and selection-adjusted, with P(beyond each threshold); each patient-level model
on the pseudo-cohort and pooled over its replicates; the MAP prior for a next centre; then
for each row the frequentist refit, the posterior predictive interval of the same
statistic, the width relative to the paper's CI, and power-scaling prior sensitivity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from netlm_bayes import labels
from netlm_bayes.checks import prior_sensitivity
from netlm_bayes.evidence import paper as published
from netlm_bayes.families.reported_effects import is_ratio
from netlm_bayes.fitting.patient import PatientRun
from netlm_bayes.fitting.reported import ReanalysisResult
from netlm_bayes.frequentist import analysis as frequentist_analysis
from netlm_bayes.planning.map_prior import MapResult

# Which PPC statistic replicates each paper quantity, and the model it comes from.
PPC_STATISTIC = {
    "hr_htb_gt25": ("hpfs_weibull", "hr_htb_gt25"),
    "or_border_clear": ("response_logistic", "or_border_clear"),
    "or_pet_positive": ("response_logistic", "or_pet_positive"),
    "or_ki67_gt10": ("response_logistic", "or_ki67_gt10"),
    "orr": ("response_logistic", "orr"),
    "sd_rate": ("response_ordinal", "sd_count"),
    "pd_rate": ("response_ordinal", "pd_count"),
}
# The exceedance columns (prob_beyond_<threshold>, benchmark, ...) follow prob_gt_1.
COMPARISON_COLUMNS = [
    "quantity", "analysis", "prior", "median", "eti95_low", "eti95_high", "hdi95_low",
    "hdi95_high", "prob_gt_1", "paper_estimate", "paper_ci95_low", "paper_ci95_high",
    "width_vs_paper_ci", "freq_estimate", "freq_ci95_low", "freq_ci95_high", "ppc_median",
    "ppc95_low", "ppc95_high", "ppc_p_value", "psense_prior", "psense_likelihood",
    "psense_verdict", "data_origin", "paper_source",
]  # fmt: skip


def frequentist_refit(patients: pd.DataFrame) -> pd.DataFrame:
    """The paper's frequentist analysis of the cohort, one row per paper quantity."""
    result = frequentist_analysis.analyse(patients)
    rows = []
    for table, prefix, column in ((result.cox, "hr_", "hr"), (result.logistic, "or_", "or")):
        multivariable = table[table["model"] == "multivariable"]
        for _, row in multivariable.iterrows():
            separated = bool(row.get("separation", ""))
            rows.append(
                {
                    "quantity": prefix + row["covariate"],
                    "freq_estimate": np.nan if separated else row[column],
                    "freq_ci95_low": np.nan if separated else row["ci95_low"],
                    "freq_ci95_high": np.nan if separated else row["ci95_high"],
                }
            )
    response = result.response.set_index("covariate")
    for quantity, label in (("orr", "ORR"), ("sd_rate", "SD"), ("pd_rate", "PD")):
        row = response.loc[label]
        rows.append(
            {
                "quantity": quantity,
                "freq_estimate": row["rate"],
                "freq_ci95_low": row["ci95_low"],
                "freq_ci95_high": row["ci95_high"],
            }
        )
    return pd.DataFrame(rows)


def _ppc_columns(quantity: str, checks: pd.DataFrame, n: int) -> dict:
    if quantity not in PPC_STATISTIC:
        return {}
    model, statistic = PPC_STATISTIC[quantity]
    row = checks[(checks["model"] == model) & (checks["statistic"] == statistic)]
    if row.empty:
        return {}
    row = row.iloc[0]
    scale = 1 / n if statistic.endswith("_count") else 1  # counts are reported as rates
    return {
        "ppc_median": row.replicate_median * scale,
        "ppc95_low": row.ppi95_low * scale,
        "ppc95_high": row.ppi95_high * scale,
        "ppc_p_value": row.ppp_value,
    }


def _width_ratio(row) -> float:
    """Posterior 95% ETI width over the paper's 95% CI width (log scale for ratios)."""
    values = [row.eti95_low, row.eti95_high, row.paper_ci95_low, row.paper_ci95_high]
    if is_ratio(row.quantity):
        if min(values) <= 0:
            return np.nan
        values = np.log(values)
    return (values[1] - values[0]) / (values[3] - values[2])


def study_comparison(
    reported: ReanalysisResult,
    patient_runs: dict[str, PatientRun],
    paper: published.Paper,
    refit: pd.DataFrame,
    checks: pd.DataFrame,
    centre: MapResult | None = None,
    selected: ReanalysisResult | None = None,
) -> pd.DataFrame:
    """Per paper quantity: the reported-effects posteriors under each prior set (plain, then
    selection-adjusted), then each patient-level model on the pseudo-cohort and pooled over
    its replicates."""
    references = published.paper_references(paper)
    frames = [
        reading.comparison.assign(
            analysis=reading.analysis, prior=reading.comparison["prior_set"],
            data_origin="the paper's printed numbers", paper_source=reading.comparison["source"],
        )
        for reading in (reported, selected) if reading is not None
    ]  # fmt: skip
    for name, patient in patient_runs.items():
        pieces = [("pseudo-cohort", patient.fit.summary)]
        if patient.pooled is not None:
            pieces.append((f"{len(patient.replicates)} replicates pooled", patient.pooled))
        for label, summary in pieces:
            rows = summary[summary["quantity"].isin(references)].copy()
            if name == "response_ordinal":
                # its ORs are cumulative, not the paper's logistic ones; its rates are
                rows = rows[~rows["quantity"].str.startswith("or_")]
            rows["analysis"] = f"{name}, {label}"
            rows["prior"] = _prior_name(patient)
            rows["data_origin"] = labels.SYNTHETIC
            for column, attribute in (
                ("paper_estimate", "estimate"), ("paper_ci95_low", "ci95_low"),
                ("paper_ci95_high", "ci95_high"), ("paper_source", "source"),
            ):  # fmt: skip
                rows[column] = rows["quantity"].map(
                    lambda q, a=attribute: getattr(references[q], a)
                )
            frames.append(rows)
    if centre is not None:
        frames.append(_next_centre_row(centre, references[centre.quantity.name]))
    table = pd.concat(frames, ignore_index=True)
    table["width_vs_paper_ci"] = [_width_ratio(row) for row in table.itertuples()]
    table = table.merge(refit, on="quantity", how="left")
    n = paper.study.n_patients
    ppc_rows = pd.DataFrame(
        [{"quantity": q, **_ppc_columns(q, checks, n)} for q in table["quantity"].unique()]
    )
    table = table.merge(ppc_rows, on="quantity", how="left")
    sensitivity = sensitivity_rows(reported, patient_runs, selected)
    table = table.merge(sensitivity, on=["quantity", "analysis", "prior"], how="left")
    for column in COMPARISON_COLUMNS:
        if column not in table:
            table[column] = np.nan
    table = table[_with_exceedance(COMPARISON_COLUMNS, table.columns)]
    order = {quantity: i for i, quantity in enumerate(references)}
    table["_order"] = table["quantity"].map(order)
    return table.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def _with_exceedance(columns: list[str], present) -> list[str]:
    """COMPARISON_COLUMNS with the exceedance columns the table has, after prob_gt_1."""
    extra = [c for c in present if c.startswith(EXCEEDANCE_PREFIXES)]
    extra.sort(key=lambda c: (not c.startswith("prob_beyond_"), _threshold_of(c)))
    where = columns.index("prob_gt_1") + 1
    return [*columns[:where], *extra, *columns[where:]]


EXCEEDANCE_PREFIXES = ("prob_beyond_", "benchmark", "prob_above_benchmark")


def _threshold_of(column: str) -> float:
    try:
        return float(column.removeprefix("prob_beyond_"))
    except ValueError:
        return 0.0


def sensitivity_rows(
    reported: ReanalysisResult,
    patient_runs: dict[str, PatientRun],
    selected: ReanalysisResult | None = None,
) -> pd.DataFrame:
    """Power-scaling prior sensitivity of every posterior that has draws of its own: each
    prior set's reading of the paper (plain and selection-adjusted), and each patient-level
    model on the pseudo-cohort."""
    frames = [
        prior_sensitivity.sensitivity(trace, trace["posterior"]["reported"]).assign(
            analysis=reading.analysis, prior=name
        )
        for reading in (reported, selected)
        if reading is not None
        for name, trace in reading.posteriors.items()
    ]
    frames += [
        prior_sensitivity.sensitivity(patient.fit.trace, patient.fit.quantities).assign(
            analysis=f"{name}, pseudo-cohort", prior=_prior_name(patient)
        )
        for name, patient in patient_runs.items()
    ]
    return pd.concat(frames, ignore_index=True)


def _prior_name(patient: PatientRun) -> str:
    return patient.prior_label.removeprefix("prior set ")


def _next_centre_row(centre: MapResult, reference) -> pd.DataFrame:
    """The MAP prior for a next centre, as a row beside the analyses of the paper's HR."""
    predictive = centre.draws["theta_new"]
    row = centre.table.set_index("row").loc["MAP: a new study (theta*)"]
    return pd.DataFrame([{
        "quantity": centre.quantity.name, "analysis": "MAP prior for a next centre",
        "prior": f"tau ~ {centre.tau_prior}", "median": row["median"],
        "eti95_low": row["ci95_low"], "eti95_high": row["ci95_high"],
        "prob_gt_1": float(np.mean(predictive > 0)), "paper_estimate": reference.estimate,
        "paper_ci95_low": reference.ci95_low, "paper_ci95_high": reference.ci95_high,
        "data_origin": "the paper's printed numbers", "paper_source": reference.source,
    }])  # fmt: skip
