"""Survival families ranked by PSIS-LOO (`netlm-bayes compare-families`; the run folder is
written by `study.compare_families`).

Each family's log-likelihood is a density of the observed time on the data's own scale
(`families.survival.model`), so their ELPDs are comparable. Pareto k above `good_k` (0.7 for
these sample sizes) marks patients whose leave-one-out estimate is unreliable; they are counted
and named per family, and the ranking says so rather than hiding it.
"""

from __future__ import annotations

import warnings

import arviz_stats
import numpy as np
import pandas as pd

from netlm_bayes.checks import loo_subsample
from netlm_bayes.errors import InputError, option
from netlm_bayes.families.survival import registry
from netlm_bayes.fitting.patient import Fit


def parse_likelihoods(value: str | None) -> list[str]:
    if value is None:
        return list(registry.names())
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [name for name in chosen if name not in registry.names()]
    if unknown or len(chosen) < 2:
        raise InputError(
            f"{option('likelihoods', value)}: give two or more of {', '.join(registry.names())}"
        )
    return chosen


def _origin(data) -> str:
    return data.origin


def loo_table(fits: dict[str, Fit], failed: dict[str, str] | None = None):
    """Families ranked by ELPD (PSIS-LOO), with stacking weights and Pareto-k counts; and
    arviz-stats' own comparison frame (for its plot; None when fewer than two rank).

    A family in `failed` (name: reason), or whose PSIS-LOO cannot be computed, is left out
    of the ranking: its row names it, with the reason, and the others still rank. A chain
    stuck at its start gives every draw the same log-likelihood, and a ranking built on it
    would be meaningless."""
    failed = dict(failed or {})
    if any("log_likelihood" not in fit.trace.children
           for name, fit in fits.items() if name not in failed):  # fmt: skip
        rows = _subsampled_rows({n: f for n, f in fits.items() if n not in failed})
        rows += _left_out_rows(fits, failed)
        return pd.DataFrame(rows, columns=LOO_COLUMNS), None
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
    rows = _ranked_rows(fits, loos, ranked) + _left_out_rows(fits, failed)
    return pd.DataFrame(rows, columns=LOO_COLUMNS), ranked


LOO_COLUMNS = [
    "likelihood", "rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "stacking_weight",
    "pareto_k_max", "pareto_k_threshold", "patients_k_high", "patients_k_high_index",
    "diagnostics_passed", "left_out", "loo_subsample", "subsampling_se",
]  # fmt: skip


def _left_out_rows(fits: dict[str, Fit], failed: dict[str, str]) -> list[dict]:
    return [
        {"likelihood": name, "left_out": reason,
         "diagnostics_passed": name in fits and fits[name].diagnostics.passed}
        for name, reason in failed.items()
    ]  # fmt: skip


def _subsampled_rows(fits: dict[str, Fit]) -> list[dict]:
    """The ranking by subsampled PSIS-LOO (`loo_subsample`), every family on the same
    patients; no stacking weights (they need every patient's values)."""
    if not fits:
        return []
    n = next(iter(fits.values())).data.n
    indices = loo_subsample.subsample_indices(n)
    loos = {name: loo_subsample.subsampled_loo(fit, name, indices) for name, fit in fits.items()}
    order = sorted(loos, key=lambda name: -loos[name].elpd.total)
    best = loos[order[0]]
    rows = []
    for rank, name in enumerate(order):
        loo = loos[name]
        gap = loo_subsample.difference(loo, best) if rank else None  # negative: worse
        bad = loo.indices[loo.pareto_k > loo.good_k]
        rows.append({
            "likelihood": name, "rank": rank + 1, "elpd_loo": loo.elpd.total, "se": loo.elpd.se,
            "elpd_diff": gap.total if gap else 0.0, "dse": gap.se if gap else 0.0,
            "p_loo": loo.p, "stacking_weight": np.nan,
            "pareto_k_max": float(loo.pareto_k.max()), "pareto_k_threshold": loo.good_k,
            "patients_k_high": len(bad),
            "patients_k_high_index": ",".join(str(i + 1) for i in bad),
            "diagnostics_passed": fits[name].diagnostics.passed, "left_out": "",
            "loo_subsample": f"{len(indices)} of {n}",
            "subsampling_se": loo.elpd.subsampling_se,
        })  # fmt: skip
    return rows


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
