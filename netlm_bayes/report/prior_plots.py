"""Plots for carried-forward priors: what the exported prior says, and the assurance curve."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from netlm_bayes.priors.exported import ExportedPrior
from netlm_bayes.report.plots import panels, save


def prior_marginals(exported: ExportedPrior, path: Path, draws: dict | None = None) -> None:
    """Each effect's prior on the ratio scale (log axis): the mixture and its components,
    over the source posterior's draws when given (how good the normal approximation is)."""
    effects = list(exported.effects)
    ratio = "HR" if exported.scale == "log_hr" else "OR"
    figure, axes = panels(len(effects), 3, 4.4, 3.2)
    for axis, name in zip(axes, effects, strict=True):
        marginal = exported.prior.marginal([name])
        informative = [c for c in marginal.components if c.label != "robust"]
        centre = np.mean([c.mean[0] for c in informative])
        spread = max(np.sqrt(c.cov[0, 0]) for c in informative)
        grid = np.linspace(centre - 4.5 * spread, centre + 4.5 * spread, 400)
        if draws is not None and name in draws:
            axis.hist(draws[name], bins=60, density=True, color="0.8", label="source posterior")
        axis.plot(grid, np.exp(marginal.logpdf(grid[:, None])), color="black", label="prior")
        for c, colour in zip(
            marginal.components, ("tab:blue", "tab:red", "tab:green"), strict=False
        ):
            density = c.weight * stats.norm.pdf(grid, c.mean[0], np.sqrt(c.cov[0, 0]))
            axis.plot(
                grid, density, color=colour, ls="--", lw=1, label=f"{c.label} ({c.weight:.2f})"
            )
        axis.axvline(0, color="0.5", lw=0.8)
        ticks = [
            t for t in (0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32) if grid[0] <= np.log(t) <= grid[-1]
        ]
        axis.set_xticks(np.log(ticks), [f"{t:g}" for t in ticks])
        axis.set_xlabel(f"{ratio} (log scale)")
        axis.set_title(name)
        axis.legend(fontsize=7)
    note = " SYNTHETIC source cohort: not patient data." if exported.synthetic else ""
    save(figure, path, f"Exported prior, per effect.{note}")


def assurance(table: pd.DataFrame, criterion: str, path: Path, note: str, counted: str) -> None:
    """Assurance against cohort size, with Monte Carlo 95% bars and the median number of
    `counted` (events, or outcomes) per cohort."""
    figure, axis = plt.subplots(figsize=(6, 4))
    error = [
        table["assurance"] - table["assurance_low95"],
        table["assurance_high95"] - table["assurance"],
    ]
    axis.errorbar(table["n"], table["assurance"], yerr=error, marker="o", capsize=4)
    for row in table.itertuples():
        axis.annotate(f"{row.median_events:.0f} {counted}",
                      (row.n, row.assurance), textcoords="offset points", xytext=(0, -14),
                      ha="center", fontsize=7)  # fmt: skip
    axis.set_ylim(0, 1.02)
    axis.set_xlabel("patients in the new cohort")
    axis.set_ylabel("assurance")
    axis.set_title(f"P(success): {criterion}", fontsize=9)
    axis.grid(alpha=0.3)
    figure.text(0.01, 0.01, note, fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def operating_characteristics(table, prior_centre: float, two_sample: bool, path,
                              value_label: str = "response rate") -> None:  # fmt: skip
    """P(success) (and P(futility), dashed) against the true value, one line per true
    difference, with the prior's centre marked: where borrowing helps and where it costs."""
    figure, axis = plt.subplots(figsize=(6.5, 4.0))
    x_name = "control" if two_sample else "treatment"
    for difference, rows in table.groupby("difference", sort=True, dropna=False):
        label = f"difference {difference:g}" if two_sample else "P(success)"
        line = axis.plot(rows[x_name], rows["p_success"], marker="o", label=label)[0]
        if "p_futility" in rows:
            axis.plot(rows[x_name], rows["p_futility"], marker="x", ls="--",
                      color=line.get_color(), label=f"P(futility), {label}" if two_sample
                      else "P(futility)")  # fmt: skip
    axis.axvline(prior_centre, color="grey", linestyle="--",
                 label=f"prior's centre ({prior_centre:.3g})")  # fmt: skip
    axis.set_xlabel(f"true {x_name} {value_label}" if two_sample else f"true {value_label}")
    axis.set_ylabel("probability")
    axis.set_ylim(-0.02, 1.02)
    axis.legend(fontsize=8)
    axis.set_title("Operating characteristics", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def borrowing(table, prior_centre: float, path, two_sample: bool = True,
              value_label: str = "response rate") -> None:  # fmt: skip
    """Type-I error (difference 0) and power (each other difference) against the true
    control value, one line per borrowed prior: what borrowing buys and what it costs. One
    sample: P(success) against the true value, one panel."""
    differences = sorted(table["difference"].unique()) if two_sample else [np.nan]
    figure, axes = plt.subplots(1, len(differences), figsize=(4.2 * len(differences) + 1, 3.8),
                                squeeze=False)  # fmt: skip
    x_name = "control" if two_sample else "treatment"
    for axis, difference in zip(axes[0], differences, strict=True):
        rows = table[table["difference"] == difference] if two_sample else table
        for label, line in rows.groupby("borrowed_prior", sort=False):
            axis.plot(line[x_name], line["p_success"], marker="o", label=label)
        axis.axvline(prior_centre, color="grey", linestyle="--", label="prior's centre")
        what = ("type-I error" if difference == 0 else f"power, difference {difference:g}"
                ) if two_sample else "by borrowed prior"  # fmt: skip
        axis.set_title(f"P(success): {what}", fontsize=10)
        axis.set_xlabel(f"true {x_name} {value_label}" if two_sample else f"true {value_label}")
        axis.set_ylim(-0.02, 1.02)
    axes[0][0].set_ylabel("P(success)")
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def simulated_operating_characteristics(table, criterion: str, n: int, path) -> None:
    """P(success) against the true HR (log axis) with 95% Monte Carlo bars, one line per
    analysis prior."""
    figure, axis = plt.subplots(figsize=(6.5, 4.0))
    for label, rows in table.groupby("analysis_prior", sort=False):
        low = rows["p_success"] - rows["p_success_low95"]
        high = rows["p_success_high95"] - rows["p_success"]
        axis.errorbar(rows["hazard_ratio"], rows["p_success"], yerr=[low, high], marker="o",
                      capsize=3, label=label)  # fmt: skip
    axis.set_xscale("log")
    ratios = sorted(table["hazard_ratio"].unique())
    axis.set_xticks(ratios, [f"{r:.3g}" for r in ratios])
    axis.minorticks_off()
    axis.set_xlabel("true hazard ratio (log scale)")
    axis.set_ylabel("P(success)")
    axis.set_ylim(-0.02, 1.02)
    axis.legend(fontsize=8, title="analysis prior", title_fontsize=8)
    axis.set_title(f"{criterion}, n = {n} (simulated; 95% MC intervals)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
