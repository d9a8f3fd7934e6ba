"""Plots of patient-level posteriors, saved as PNG in the run folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from matplotlib.ticker import FuncFormatter

from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence.external_counts import life_table, read_external_counts
from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families.reported_effects import is_ratio
from netlm_bayes.frequentist import fastfit
from netlm_bayes.report.format import (
    COVARIATE_WORDS,
    FAMILY_WORDS,
    FIGURE_DPI,
    MODEL_WORDS,
    PAGE_WIDTH_IN,
    SMALLEST_FONT_PT,
    group_words,
    statistic_words,
)


def panels(count: int, columns: int, width: float, height: float):
    """A figure with `count` panels in rows of `columns`; the unused panels hidden."""
    columns = min(columns, count)
    rows = -(-count // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(width * columns, height * rows), squeeze=False
    )
    for axis in list(axes.flat)[count:]:
        axis.set_visible(False)
    return figure, list(axes.flat)[:count]


def save(figure, path: Path, title: str, fontsize: float = 9, dpi: int = 110) -> None:
    figure.suptitle(title, fontsize=fontsize)
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)


def survival_curves(
    table: pd.DataFrame,
    data: ModelData,
    path: Path,
    time_unit: str,
    note: str,
    outcome: str = "event-free",
) -> None:
    """survival.png: `survival_figure`, saved."""
    figure = survival_figure(table, data, time_unit, note, outcome)
    figure.savefig(path, dpi=FIGURE_DPI)
    plt.close(figure)


def survival_figure(
    table: pd.DataFrame, data: ModelData, time_unit: str, note: str, outcome: str = "event-free"
):
    """Posterior survival bands per standardised pattern, over the data's Kaplan-Meier.
    `outcome` names the y axis ('hepatic progression-free')."""
    groupings = data.groupings()
    panels = ["cohort", *groupings]
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    width = PAGE_WIDTH_IN / 3 * columns
    figure, axes = plt.subplots(rows, columns, figsize=(width, 3.4 * rows), squeeze=False)
    for axis, panel in zip(axes.flat, panels, strict=False):
        survival_panel(axis, table, data, panel, time_unit, outcome)
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    title = (
        f"Posterior {outcome} curves (median, 95% band) over "
        f"{'Kaplan-Meier' if data.n else 'the external counts'}. {note}"
    )
    # wrapped to the figure's width: one panel is a third of a page wide
    figure.suptitle(textwrap.fill(title, 45 * columns), fontsize=9)
    figure.tight_layout()
    return figure


def survival_panel(axis, table, data: ModelData, panel: str, time_unit: str, outcome: str):
    """One panel of `survival_figure`: the whole cohort ("cohort"), or each level of one
    covariate grouping, as posterior bands over Kaplan-Meier."""
    groupings = data.groupings()
    if panel == "cohort":
        _band(axis, table, "cohort", "model", "tab:blue")
        _km(axis, data, None, "Kaplan-Meier", "black")
        axis.set_title("whole cohort" if data.n else "no patients: external counts alone")
        if not data.n:
            times, estimates = life_table(read_external_counts(data.source, []))
            axis.plot(times, estimates, "o", color="black", ms=4, label="counts (life table)")
    elif panel in groupings:
        colours = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange") * 4
        for (label, _, rows), colour in zip(groupings[panel], colours, strict=False):
            _band(axis, table, label, group_words(label), colour)
            _km(axis, data, rows, f"Kaplan-Meier, {group_words(label)}", colour)
        axis.set_title(COVARIATE_WORDS.get(panel, panel))
    else:
        raise InputError(
            f"{option('by', panel)}: not a grouping of this model; choose one of "
            f"{', '.join(map(repr, groupings)) or 'none (no binary or categorical covariate)'}"
        )
    axis.set_xlabel(f"time ({time_unit})")
    axis.set_ylabel(f"fraction {outcome}")
    axis.set_ylim(0, 1.02)
    axis.legend(fontsize=SMALLEST_FONT_PT, loc="upper right")
    return axis


def _band(axis, table: pd.DataFrame, pattern: str, label: str, colour: str) -> None:
    rows = table[table["pattern"] == pattern]
    axis.fill_between(rows["time"], rows["eti95_low"], rows["eti95_high"], color=colour, alpha=0.2)
    axis.plot(rows["time"], rows["median"], color=colour, label=label)


def _km(axis, data: ModelData, mask, label: str, colour: str) -> None:
    time, event = (data.time, data.event) if mask is None else (data.time[mask], data.event[mask])
    if len(time) == 0:
        return
    fitter = KaplanMeierFitter().fit(time, event)
    curve = fitter.survival_function_.iloc[:, 0]
    axis.step(curve.index, curve.values, where="post", color=colour, lw=1, ls="--", label=label)


def ppc_histograms(
    replicated: list[np.ndarray], table: pd.DataFrame, path: Path, note: str
) -> None:
    """One panel per row of `table` (a run's statistic) and its replicates, in the same
    order: the replicate histogram, the observed value, the paper's value."""

    count = len(table)
    columns = min(4, count)
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(PAGE_WIDTH_IN, 2.9 * rows), squeeze=False)
    panels = zip(replicated, table.itertuples(), strict=True)
    for axis, (values, row) in zip(axes.flat, panels, strict=False):
        finite = values[np.isfinite(values)]
        # Ratios on the log scale; replicates with a 0 or infinite MLE (separation) are
        # left out of the histogram and counted in the title instead.
        log_scale = is_ratio(row.statistic)
        shown = np.log(finite[finite > 0]) if log_scale else finite
        off_scale = int(np.sum(~np.isnan(values))) - len(shown)
        if shown.size:
            axis.hist(shown, bins=30, color="tab:blue", alpha=0.6)
        for value, colour, name in (
            (row.observed, "black", "cohort"),
            (row.paper, "tab:red", "paper"),
        ):
            if np.isfinite(value) and (value > 0 or not log_scale):
                axis.axvline(
                    np.log(value) if log_scale else value, color=colour, lw=1.5, label=name
                )
        extra = f", {off_scale} at 0 or inf" if off_scale else ""
        unit = f" ({row.unit})" if isinstance(getattr(row, "unit", ""), str) and row.unit else ""
        title = f"{MODEL_WORDS.get(row.model, row.model)}: {statistic_words(row.statistic)}"
        axis.set_title(f"{title}\np = {row.ppp_value:.2f}{extra}", fontsize=9)
        scale = " (log scale)" if log_scale else ""
        axis.set_xlabel(f"{statistic_words(row.statistic)}{unit}{scale}", fontsize=9)
        axis.tick_params(labelsize=SMALLEST_FONT_PT + 1)
        axis.legend(fontsize=SMALLEST_FONT_PT)
    for axis in list(axes.flat)[count:]:
        axis.set_visible(False)
    # the paper appears only where one of its own quantities is checked
    against = "the cohort and the paper" if table["paper"].notna().any() else "the cohort"
    figure.suptitle(f"Posterior predictive replicates (blue) vs {against}. {note}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=FIGURE_DPI)
    plt.close(figure)


def rank_plot(trace, var_names: list[str], path: Path) -> None:
    """arviz-plots' rank plot (ECDF differences of the chains' ranks) of the free parameters."""
    import arviz_plots

    posterior = trace["posterior"]
    var_names = [name for name in var_names if posterior[name].size]  # no-covariate models
    collection = arviz_plots.plot_rank(trace, var_names=var_names, backend="matplotlib")
    collection.savefig(path, dpi=90)
    plt.close("all")


def ppc_km(
    data: ModelData,
    times,
    events,
    path: Path,
    note: str,
    panels: list[str],
    time_unit: str,
    outcome: str = "event-free",
) -> None:
    """Kaplan-Meier of the data (black) over the KM curves of replicate cohorts simulated from
    the posterior with the cohort's censoring (blue), overall and by binary covariate."""

    groups = [("whole cohort", None)] + [
        (group_words(f"{name}={level}"), (data.covariates.index(name), level))
        for name in panels
        for level in (0, 1)
    ]
    columns = min(3, len(groups))
    rows = -(-len(groups) // columns)
    width = PAGE_WIDTH_IN / 3 * columns
    figure, axes = plt.subplots(rows, columns, figsize=(width, 3.2 * rows), squeeze=False)
    for axis, (label, selector) in zip(axes.flat, groups, strict=False):
        mask = np.ones(data.n, bool) if selector is None else data.X[:, selector[0]] == selector[1]
        for s in range(min(100, len(times))):
            _km_line(axis, times[s][mask], events[s][mask], "tab:blue", 0.08)
        _km_line(axis, data.time[mask], data.event[mask], "black", 1.0)
        axis.set_title(f"{label} (n = {int(mask.sum())})", fontsize=9)
        axis.set_xlim(0, float(data.time.max()) * 1.05)
        axis.set_ylim(0, 1.02)
        axis.set_xlabel(f"time ({time_unit})", fontsize=9)
        axis.set_ylabel(f"fraction {outcome}", fontsize=9)
        axis.tick_params(labelsize=SMALLEST_FONT_PT + 1)
    for axis in list(axes.flat)[len(groups) :]:
        axis.set_visible(False)
    figure.suptitle(
        f"Kaplan-Meier: the cohort (black) over 100 posterior predictive cohorts (blue). {note}",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=FIGURE_DPI)
    plt.close(figure)


def _km_line(axis, time, event, colour: str, alpha: float) -> None:
    if len(time) == 0:
        return
    # computed directly: lifelines' fitter took 8 ms a curve, and a PPC draws 300
    times, survival = fastfit.km_curve(np.asarray(time, float), np.asarray(event))
    axis.step(times, survival, where="post", color=colour, alpha=alpha, lw=1)


def compare_plot(ranked: pd.DataFrame, path: Path) -> None:
    """arviz-plots' model comparison: each family's ELPD difference from the best, with SE."""
    import arviz_plots

    collection = arviz_plots.plot_compare(ranked, backend="matplotlib")
    collection.savefig(path, dpi=100)
    plt.close("all")


def rank_histograms(ranks: pd.DataFrame, path: Path, note: str, bins: int, thinned: int) -> None:
    """SBC: one panel per model parameter, its rank counts in `bins` bins, with the band
    that 99% of bins fall in under uniformity (Talts et al.'s figure)."""
    from scipy import stats

    groups = list(ranks.groupby(["model", "parameter"], sort=False))
    figure, axes = panels(len(groups), 6, 2.6, 2.1)
    for axis, ((model, parameter), group) in zip(axes, groups, strict=True):
        counts = np.bincount(
            np.floor(group["rank"].to_numpy() * bins / (thinned + 1)).astype(int), minlength=bins
        )
        low, high = stats.binom.ppf([0.005, 0.995], len(group), 1 / bins)
        axis.axhspan(low, high, color="0.85")
        axis.bar(np.arange(bins), counts, color="tab:blue", width=0.9)
        axis.axhline(len(group) / bins, color="0.4", lw=0.8)
        axis.set_title(f"{model}\n{parameter}", fontsize=7)
        axis.set_xticks([])
        axis.tick_params(labelsize=6)
    title = f"SBC rank histograms (grey: 99% band per bin under uniformity). {note}"
    save(figure, path, title, fontsize=8, dpi=100)


def hazard_ratio_figure(table: pd.DataFrame, time_unit: str, note: str):
    """HR(t) per covariate (median, 95% band) on a log axis, with HR = 1 marked."""
    names = list(dict.fromkeys(table["covariate"]))
    figure, axes = panels(len(names), 3, PAGE_WIDTH_IN / 3, 3.0)
    for axis, name in zip(axes, names, strict=True):
        rows = table[table["covariate"] == name]
        axis.fill_between(rows["time"], rows["eti95_low"], rows["eti95_high"], alpha=0.3,
                          color="tab:blue", label="95% band")  # fmt: skip
        axis.plot(rows["time"], rows["median"], color="tab:blue", label="median")
        axis.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
        axis.set_yscale("log")
        axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.set_title(f"HR(t) for {name}", fontsize=SMALLEST_FONT_PT + 1)
        axis.set_xlabel(f"time ({time_unit})", fontsize=SMALLEST_FONT_PT)
        axis.set_ylabel("hazard ratio", fontsize=SMALLEST_FONT_PT)
        axis.legend(fontsize=SMALLEST_FONT_PT)
    figure.suptitle(f"Hazard ratios over time (posterior median, 95% band). {note}", fontsize=9)
    figure.tight_layout()
    return figure


def family_curves(tables: dict[str, pd.DataFrame], data: ModelData, path: Path,
                  time_unit: str, note: str, outcome: str = "event-free") -> None:  # fmt: skip
    """The cohort's curve under each family (median, 95% band) over one Kaplan-Meier."""
    figure, axis = plt.subplots(figsize=(PAGE_WIDTH_IN / 2, 3.4))
    colours = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange")
    for (name, table), colour in zip(tables.items(), colours, strict=False):
        _band(axis, table, "cohort", FAMILY_WORDS.get(name, name), colour)
    _km(axis, data, None, "Kaplan-Meier", "black")
    axis.set_xlabel(f"time ({time_unit})")
    axis.set_ylabel(f"fraction {outcome}")
    axis.set_ylim(0, 1.02)
    axis.legend(fontsize=SMALLEST_FONT_PT, loc="upper right")
    figure.suptitle(f"One cohort, two baseline shapes. {note}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=FIGURE_DPI)
    plt.close(figure)
