"""`netlm-bayes compare-families`: fit every survival family to one cohort, rank by PSIS-LOO.

Each family's log-likelihood is a density of the observed time on the data's own scale
(see survival.py), so their ELPDs are comparable. Pareto k above `good_k` (0.7 for these
sample sizes) marks patients whose leave-one-out estimate is unreliable; they are counted
and named per family, and the ranking says so rather than hiding it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import arviz_stats
import numpy as np
import pandas as pd

from netlm_bayes import runs
from netlm_bayes.errors import InputError
from netlm_bayes.evidence.patient_data import data_warnings
from netlm_bayes.families import specs
from netlm_bayes.fitting.patient import SYNTHETIC, Fit, Overrides, PatientModel, read_data
from netlm_bayes.fitting.patient_run import choose_priors, load, with_horizons
from netlm_bayes.report import plots
from netlm_bayes.sampling import sampler as inference


@dataclass
class FamilyComparison:
    run_dir: Path
    table: pd.DataFrame
    fits: dict[str, Fit]
    synthetic: bool
    warnings: list[str]


def parse_likelihoods(value: str | None) -> list[str]:
    if value is None:
        return list(specs.SURVIVAL_LIKELIHOODS)
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [name for name in chosen if name not in specs.SURVIVAL_LIKELIHOODS]
    if unknown or len(chosen) < 2:
        raise InputError(
            f"--likelihoods {value!r}: give two or more of {', '.join(specs.SURVIVAL_LIKELIHOODS)}"
        )
    return chosen


def compare_families(
    model: str = "hpfs_weibull",
    flags: Overrides | None = None,
    prior_set: str | None = None,
    likelihoods: list[str] | None = None,
    profile: str = "default",
    sampler: inference.SamplerName | None = None,
    seed: int = 20260101,
    out: Path | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> FamilyComparison:
    spec = load(model, flags or Overrides())
    if spec.family != "survival":
        raise InputError(f"compare-families compares survival families; {model} is {spec.family}")
    data = read_data(spec)
    spec = with_horizons(spec, data)
    notes = data_warnings(data)
    chosen = choose_priors(spec, data, prior_set, None)
    settings = inference.load_profile(profile)
    fits: dict[str, Fit] = {}
    failed: dict[str, str] = {}
    run_dir = Path(out) if out else runs.default_run_dir(f"families-{spec.name}")
    with runs.run_folder(run_dir) as staging:
        for likelihood in likelihoods or list(specs.SURVIVAL_LIKELIHOODS):
            on_step(f"{likelihood}: compiling and sampling")
            family_spec = spec.model_copy(update={"likelihood": likelihood})
            try:
                patient_model = PatientModel(family_spec, data, chosen, settings, sampler)
                fit = patient_model.fit(data, chosen, seed)
            except RuntimeError as exc:  # e.g. no chain could start: this family, not the run
                failed[likelihood] = f"sampling failed: {str(exc).splitlines()[0]}"
                continue
            fits[likelihood] = fit
            fit.summary.assign(data_origin=_origin(data)).to_csv(
                staging / f"summary-{likelihood}.csv", index=False
            )
            inference.save_posterior(
                fit.trace,
                staging / f"posterior-{likelihood}.nc",
                {"likelihood": likelihood, "data_sha256": data.sha256, "seed": seed},
            )
        failed |= {name: "diagnostics failed: " + "; ".join(fit.diagnostics.failures)
                   for name, fit in fits.items() if not fit.diagnostics.passed}  # fmt: skip
        table, ranked = loo_table(fits, failed)
        table = table.assign(data_origin=_origin(data))
        table.to_csv(staging / "loo.csv", index=False)
        if ranked is not None:
            plots.compare_plot(ranked, staging / "loo.png")
        runs.write_manifest(
            staging,
            [spec.path, data.source, spec.prior_sets_path],
            model=spec.name,
            likelihoods=list(fits),
            priors=chosen.label,
            profile=settings.model_dump(),
            seed=seed,
            synthetic=data.synthetic,
            diagnostics_passed={name: fit.diagnostics.passed for name, fit in fits.items()},
            data_warnings=notes,
            rows_dropped_missing=data.dropped,
        )
    return FamilyComparison(run_dir, table, fits, data.synthetic, notes)


def _origin(data) -> str:
    return SYNTHETIC if data.synthetic else "as supplied"


def loo_table(fits: dict[str, Fit], failed: dict[str, str] | None = None):
    """Families ranked by ELPD (PSIS-LOO), with stacking weights and Pareto-k counts; and
    arviz-stats' own comparison frame (for its plot; None when fewer than two rank).

    A family in `failed` (name: reason), or whose PSIS-LOO cannot be computed, is left out
    of the ranking: its row names it, with the reason, and the others still rank. A chain
    stuck at its start gives every draw the same log-likelihood, and a ranking built on it
    would be meaningless."""
    failed = dict(failed or {})
    loos = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # high k is reported in the table below
        # PSIS-LOO once per family; compare() ranks those results rather than redoing them.
        for name, fit in fits.items():
            if name in failed:
                continue
            try:
                loos[name] = arviz_stats.loo(fit.trace, pointwise=True)
            except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
                failed[name] = f"PSIS-LOO failed: {exc}"
        ranked = arviz_stats.compare(loos, round_to="none") if len(loos) >= 2 else None
    rows = _ranked_rows(fits, loos, ranked)
    rows += [
        {"likelihood": name, "left_out": reason,
         "diagnostics_passed": name in fits and fits[name].diagnostics.passed}
        for name, reason in failed.items()
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=LOO_COLUMNS), ranked


LOO_COLUMNS = [
    "likelihood", "rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "stacking_weight",
    "pareto_k_max", "pareto_k_threshold", "patients_k_high", "patients_k_high_index",
    "diagnostics_passed", "left_out",
]  # fmt: skip


def _ranked_rows(fits: dict[str, Fit], loos: dict, ranked: pd.DataFrame | None) -> list[dict]:
    if ranked is None:  # one family left: it ranks first, with nothing to compare it to
        ranked = pd.DataFrame(
            [{"rank": 0, "elpd": loo.elpd, "se": loo.se, "elpd_diff": 0.0, "dse": 0.0,
              "p": loo.p, "weight": 1.0} for loo in loos.values()],
            index=list(loos),
        )  # fmt: skip
    rows = []
    for name, row in ranked.iterrows():
        loo = loos[name]
        pareto_k = np.asarray(loo.pareto_k).ravel()
        bad = np.flatnonzero(pareto_k > loo.good_k)
        rows.append(
            {
                "likelihood": name,
                "rank": int(row["rank"]) + 1,
                "elpd_loo": float(row["elpd"]),
                "se": float(row["se"]),
                "elpd_diff": float(row["elpd_diff"]),
                "dse": float(row["dse"]),
                "p_loo": float(row["p"]),
                "stacking_weight": float(row["weight"]),
                "pareto_k_max": float(pareto_k.max()),
                "pareto_k_threshold": float(loo.good_k),
                "patients_k_high": len(bad),
                "patients_k_high_index": ",".join(str(i + 1) for i in bad),
                "diagnostics_passed": fits[name].diagnostics.passed,
                "left_out": "",
            }
        )
    return rows
