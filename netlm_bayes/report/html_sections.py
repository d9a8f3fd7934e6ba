"""report.html's sections after the answer: the posterior predictive checks, the next
centre, the assumptions, and the appendix of sampler diagnostics. Each reads the run
folder's own files."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from netlm_bayes import paths, tomlfiles
from netlm_bayes.checks.ppc import by_construction
from netlm_bayes.report.format import (
    MODEL_WORDS,
    fmt,
    fmt_bound,
    interval,
    label,
    statistic_words,
)

ASSUMPTION_FILES = (paths.ASSUMPTIONS_FILE, paths.SYNTH_ASSUMPTIONS_FILE,
                    paths.NEXT_CENTRE_DESIGN_FILE)  # fmt: skip
PPC_NOTE = (
    "Each statistic once: the value in the cohort, then the same statistic over cohorts "
    "simulated from the patient-level posterior (same covariates, same censoring), with the "
    "two-sided posterior predictive p of the cohort's value. These are the checks that can "
    "fail: the Weibull shape is not fitted to the Kaplan-Meier median and spread. The "
    "statistics the models fit directly, and so reproduce by construction, are in the "
    "appendix."
)
RANK_NOTE = (
    "How a flagged rank plot and a passing verdict fit together: each panel's p tests "
    "whether the chains' rank ECDFs are uniform at α = 0.01, one test per parameter, so "
    "across the dozen or so parameters of these plots a p below 0.01 turns up now and then "
    "by chance even when the chains mix. The verdict rests on the gate above (rank-normalised "
    "R-hat, bulk and tail ESS, divergences, E-BFMI, MCSE), which pools the same rank "
    "information per parameter. A low rank-plot p beside an R-hat close to 1.01 would be "
    "worth a rerun with `--profile thorough`."
)


def magnitude_section(run_dir: Path) -> list[str]:
    """How big (the exceedance figure) and how credible (the sceptical limits)."""
    parts = []
    figure = run_dir / "exceedance.png"
    if figure.exists():
        parts += ["<h2>How big: the probability of each effect beyond x</h2>",
                  image(figure, "Posterior probability of each effect beyond x, per prior set "
                        "and reading", "full")]  # fmt: skip
    credibility = run_dir / "reported_effects" / "credibility.csv"
    if credibility.exists():
        table = pd.read_csv(credibility)
        rows = [
            "<h3>Credibility: the sceptical limit (Matthews' Analysis of Credibility)</h3>",
            "<table><tr><th class='text'>effect</th><th>implied 95% CI</th><th>sceptical "
            "limit</th><th>over P's rounding</th><th class='text'>what it means</th></tr>",
        ]
        for row in table.itertuples():
            rows.append(
                f"<tr>{cell(label(row.quantity), True)}"
                f"{cell(interval(row.implied_ci95_low, row.implied_ci95_high))}"
                f"{cell(fmt(row.sceptical_limit))}"
                f"{cell(interval(row.sceptical_limit_at_p_low, row.sceptical_limit_at_p_high))}"
                f"{cell(row.meaning, True)}</tr>"
            )
        rows.append(
            "</table><p>A sceptic's prior, normal on the log scale and centred on no "
            "effect, whose 95% limits are the sceptical limit and its reciprocal, leaves "
            "the posterior 95% interval just touching 1. Computed from the CI the "
            "printed P implies (reported_effects/credibility.csv; docs/methods.md).</p>"
        )
        parts += rows
    return parts


def _ppc_table(run_dir: Path) -> pd.DataFrame | None:
    path = run_dir / "ppc" / "ppc.csv"
    if not path.exists():
        return None
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def ppc_section(run_dir: Path) -> list[str]:
    """The checks that can fail: statistics the models do not fit directly."""
    table = _ppc_table(run_dir)
    if table is None:
        return ["<p>No posterior predictive check in this run.</p>"]
    real = table[~table["statistic"].map(by_construction)]
    folder = run_dir / "ppc"
    return [*_ppc_rows(real), f"<p>{html.escape(PPC_NOTE)}</p>",
            image(folder / "ppc_can_fail.png", "Posterior predictive histograms of the checks "
                  "that can fail"),
            *(image(p, f"Posterior predictive check, {p.stem}")
              for p in sorted(folder.glob("ppc_km-*.png")))]  # fmt: skip


def ppc_by_construction(run_dir: Path) -> list[str]:
    """The statistics the models fit directly: consistent by construction, so not checks."""
    table = _ppc_table(run_dir)
    if table is None:
        return []
    fitted = table[table["statistic"].map(by_construction)]
    return [
        "<p>These posterior predictive statistics are fitted directly by the models (a "
        "covariate's ratio, a rate the intercept or cutpoints carry), so the replicates "
        "reproduce them by construction: a p near 1 says the fit is consistent, not that the "
        "model is right. They are here for completeness, with every statistic's histogram.</p>",
        *_ppc_rows(fitted),
        image(run_dir / "ppc" / "ppc.png", "Posterior predictive histograms of every statistic"),
    ]


def _ppc_rows(table: pd.DataFrame) -> list[str]:
    rows = ["<table><tr><th class='text'>model</th><th class='text'>statistic</th><th>cohort"
            "</th><th>replicates: median (95%)</th><th>p</th><th>paper</th>"
            "<th class='text'>what it tests</th></tr>"]  # fmt: skip
    for row in table.itertuples():
        p_text = fmt(row.ppp_value)
        if row.ppp_value < 0.05:
            p_text = f"<span class='failed'>{p_text}</span>"
        unit = getattr(row, "unit", "")
        unit = f" ({unit})" if isinstance(unit, str) and unit else ""
        name = statistic_words(row.statistic) + unit
        tests = "fitted directly: reproduced by construction" if by_construction(
            row.statistic
        ) else "not fitted directly: a real check"  # fmt: skip
        if getattr(row, "no_finite_mle", 0):
            tests += (
                f"; {row.no_finite_mle} of {row.replicates} replicates had no finite MLE (a "
                "group without events, or separation), shown as 0 or inf"
            )
        rows.append(
            f"<tr><td class='text'>{html.escape(MODEL_WORDS.get(row.model, row.model))}</td>"
            f"<td class='text'>{html.escape(name)}</td><td>{fmt_bound(row.observed)}</td>"
            f"<td>{fmt_bound(row.replicate_median)} ({fmt_bound(row.ppi95_low)} to "
            f"{fmt_bound(row.ppi95_high)})</td><td>{p_text}</td><td>{fmt_bound(row.paper)}</td>"
            f"<td class='text'>{tests}</td></tr>"
        )
    rows.append("</table>")
    return rows


def diagnostics_appendix(run_dir: Path) -> list[str]:
    rows = ["<table><tr><th class='text'>part</th><th>max R-hat</th><th>min bulk ESS</th>"
            "<th>min tail ESS</th><th>divergences</th><th>min E-BFMI</th><th>max MCSE/SD</th>"
            "<th class='text'>verdict</th></tr>"]  # fmt: skip
    for path in sorted(run_dir.glob("*/diagnostics.csv")):
        table = pd.read_csv(path)
        groups = table.groupby("prior_set") if "prior_set" in table else [("", table)]
        for name, part in groups:
            rows.append(_diagnostics_row(f"{path.parent.name} {name}", part))
    rows.append("</table>")
    rows.append(
        "<p>Thresholds (inference/diagnostics.toml): R-hat ≤ 1.01, bulk and tail ESS ≥ 400, "
        "no divergences, E-BFMI ≥ 0.3, MCSE ≤ 0.1 posterior SD. A run with divergences is "
        "sampled again once with smaller steps, and says so.</p>"
    )
    rows.append(f"<p>{html.escape(RANK_NOTE)}</p>")
    return rows + [
        image(path, f"Rank plot, {path.parent.name}") for path in sorted(run_dir.glob("*/rank.png"))
    ]


def _diagnostics_row(name: str, part: pd.DataFrame) -> str:
    passed = bool(part["passed"].all()) if "passed" in part else True
    verdict = (
        "passed"
        if passed
        else "<span class='failed'>FAILED</span> " + html.escape(str(part["failures"].iloc[0]))
    )
    retry = str(part["retry"].iloc[0]) if "retry" in part else ""
    if retry and retry != "nan":
        verdict += f" ({html.escape(retry)})"
    return (
        f"<tr><td class='text'>{html.escape(name)}</td><td>{part['rhat'].max():.4f}</td>"
        f"<td>{part['ess_bulk'].min():.0f}</td><td>{part['ess_tail'].min():.0f}</td>"
        f"<td>{int(part['divergences'].max())}</td><td>{part['ebfmi_min'].min():.2f}</td>"
        f"<td>{part['mcse_sd_ratio'].max():.3f}</td><td class='text'>{verdict}</td></tr>"
    )


def next_centre_sentences(folder: Path) -> list[str]:
    """What the next-centre priors are worth, in plain sentences (report and console)."""
    table = pd.read_csv(folder / "next_centre.csv")
    full, mapped = table.iloc[0], table.iloc[1]
    unit = full.unit.removesuffix("s")
    worth = (f"Carried over unchanged (full borrowing) the paper's {label(full.quantity)} is "
             f"worth {full.ess_elir:.1f} {full.unit}; a MAP prior that lets the next centre "
             f"differ is worth {mapped.ess_elir:.1f} ({mapped.ess_share_of_full:.0%})")  # fmt: skip
    if len(table) > 2:
        worth += f"; made robust, {table.iloc[2].ess_elir:.1f}"
    lines = [worth + " (ESS by ELIR; Neuenschwander et al., 2020)."]
    by_tau = folder / "ess_by_tau.csv"
    learned = bool(full.get("tau_learned", True)) if "tau_learned" in table else True
    if not learned and by_tau.exists():
        sweep = pd.read_csv(by_tau)
        lines.append(
            "The between-centre spread is assumed, not learned from the data: with one study, "
            "tau's posterior is its prior, so the MAP prior's worth is set by the tau one "
            f"assumes, from {sweep.ess_moment.max():.1f} {full.unit} ({sweep.heterogeneity.iloc[0]}"
            f" heterogeneity) to {sweep.ess_moment.min():.1f} ({sweep.heterogeneity.iloc[-1]}), "
            "by moments (next_centre/ess_by_tau.csv)."
        )
    if "unit_sd" in table:
        lines.append(f"One {unit}'s information: a log-scale SD of {full.unit_sd:g} per {unit} "
                     f"({full.unit_sd_source}).")  # fmt: skip
    lines += design_sentences(folder / "oc")
    return lines


def next_centre_section(folder: Path) -> list[str]:
    """The paper's HR carried to a next centre: full borrowing beside the MAP priors."""
    path = folder / "next_centre.csv"
    if not path.exists():
        return []
    table = pd.read_csv(path)
    full = table.iloc[0]
    rows = [
        "<h2>Carrying the paper to a next centre</h2>",
        f"<p>The paper's {html.escape(label(full.quantity))} as the prior for a cohort at "
        "another centre. Carried over unchanged (full borrowing, what a plain export does) it "
        "assumes the next centre is the same population. The meta-analytic-predictive (MAP) "
        "prior allows the centres to differ (<code>netlm-bayes map</code>, docs/map.md); the "
        "robust MAP also lets a conflicting next cohort override it "
        "(data/assumptions.toml, next_centre_robust_weight).</p>",
        *(f"<p>{html.escape(line)}</p>" for line in next_centre_sentences(folder)),
        "<table><tr><th class='text'>prior for the next centre</th><th>HR median (95%)</th>"
        f"<th>ESS, {html.escape(full.unit)} (ELIR)</th>"
        f"<th>ESS, {html.escape(full.unit)} (moments)</th></tr>",
    ]
    for row in table.itertuples():
        rows.append(
            f"<tr>{cell(row.prior, True)}"
            f"{cell(f'{fmt(row.median)} ({interval(row.ci95_low, row.ci95_high)})')}"
            f"{cell(f'{row.ess_elir:.1f}')}{cell(f'{row.ess_moment:.1f}')}</tr>"
        )
    rows.append("</table>")
    by_tau = folder / "ess_by_tau.csv"
    if by_tau.exists():
        sweep = pd.read_csv(by_tau)
        rows.append("<table><tr><th class='text'>assumed heterogeneity</th><th class='text'>"
                    "tau prior</th><th>predictive SD (log)</th><th>ESS (moments)</th>"
                    "<th>share of full borrowing</th></tr>")  # fmt: skip
        for row in sweep.itertuples():
            rows.append(f"<tr>{cell(row.heterogeneity, True)}{cell(row.tau_prior, True)}"
                        f"{cell(f'{row.predictive_sd_log:.2f}')}{cell(f'{row.ess_moment:.1f}')}"
                        f"{cell(f'{row.ess_share_of_full:.0%}')}</tr>")  # fmt: skip
        rows.append("</table>")
    rows.append(f"<p>Source: {html.escape(str(full.source))}</p>")
    rows += [image(p, "MAP prior for a next centre") for p in sorted(folder.glob("*.png"))]
    return rows + next_centre_design_section(folder / "oc")


def next_centre_design_section(folder: Path) -> list[str]:
    """The example design on the next centre's prior: P(success) at each true HR with the
    prior as given, robustified, and without borrowing; its PoS; the borrowing figure."""
    if not (folder / "borrowing.csv").exists():
        return []
    import json

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    table = pd.read_csv(folder / "borrowing.csv")
    table["hr"] = np.exp(table["treatment"])
    wide = table.pivot_table(index="hr", columns="borrowed_prior", values="p_success",
                             sort=False)  # fmt: skip
    (region,) = pd.read_csv(folder / "critical_values.csv")["treatment_mean_to_succeed"]
    rows = [
        "<h3>An example decision for the next centre</h3>",
        f"<p>{html.escape(manifest['question'])} An illustrative design, every assumption "
        f"named in {html.escape(manifest['design_file'])}: the next centre's log HR from "
        f"{manifest['n_treatment']} events (SD {manifest['sigma']:g} per event), success when "
        f"{html.escape(manifest['success'][0])} (treatment: that log HR), analysed with the "
        f"robust MAP prior above. Success needs an estimated HR of {_hr_region(region)}. "
        f"Probability of success under that prior (assurance): "
        f"{manifest['probability_of_success']:.2f}. Method: {html.escape(manifest['method'])}."
        "</p>",
        "<table><tr><th>true HR</th>"
        + "".join(f"<th>P(success), {html.escape(c)}</th>" for c in wide.columns)
        + "</tr>",
    ]
    for hr, values in wide.iterrows():
        rows.append(f"<tr>{cell(f'{hr:g}')}" + "".join(cell(f"{v:.3f}") for v in values)
                    + "</tr>")  # fmt: skip
    rows.append("</table><p>At HR 1 P(success) is the type-I error: borrowing a prior that "
                "expects a large effect inflates it, and the robust mixture and no borrowing "
                "bring it back, at a cost in power.</p>")  # fmt: skip
    return [*rows, image(folder / "borrowing.png", "borrowing, the next centre's design")]


def design_sentences(folder: Path) -> list[str]:
    """The example design's type-I error and power, borrowing against not (one line)."""
    if not (folder / "borrowing.csv").exists():
        return []
    table = pd.read_csv(folder / "borrowing.csv")
    table["hr"] = np.exp(table["treatment"]).round(6)
    by = table.set_index(["borrowed_prior", "hr"])["p_success"]
    given, alone = "as given", "unit information"
    power_at = 2.0 if (given, 2.0) in by else float(table["hr"].max())
    return [
        f"An example design for the next centre ({paths.NEXT_CENTRE_DESIGN_FILE.name}): with "
        f"the robust MAP prior its type-I error is {by[given, 1.0]:.3f} and its power at HR "
        f"{power_at:g} is {by[given, power_at]:.2f}; without borrowing, {by[alone, 1.0]:.3f} "
        f"and {by[alone, power_at]:.2f} (next_centre/oc/, exact)."
    ]


def _hr_region(region: str) -> str:
    """'>= 0.68' on the log HR as 'at least 1.97' on the HR."""
    side, _, value = region.partition(" ")
    if side not in (">=", "<="):
        return html.escape(region)
    return f"{'at least' if side == '>=' else 'at most'} {np.exp(float(value)):.3g}"


def assumptions_section() -> list[str]:
    items = []
    for path in ASSUMPTION_FILES:
        items.append(f"<h3>{html.escape(path.relative_to(paths.PROJECT_ROOT).as_posix())}</h3><ul>")
        for name, entry in _flatten(tomlfiles.read_toml(path)):
            items.append(
                f"<li><strong>{html.escape(name)}</strong> = {html.escape(str(entry['value']))}: "
                f"{html.escape(str(entry.get('reason', '')))}</li>"
            )
        items.append("</ul>")
    return items


def _flatten(raw: dict, prefix: str = ""):
    for key, value in raw.items():
        if isinstance(value, dict) and "value" in value:
            yield prefix + key, value
        elif isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")


def cell(value, text: bool = False) -> str:
    css = " class='text'" if text else ""
    return f"<td{css}>{html.escape(str(value))}</td>"


def image(path: Path, alt: str, css: str = "") -> str:
    if not path.exists():
        return ""
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    attribute = f" class='{css}'" if css else ""
    return f"<p><img{attribute} alt='{html.escape(alt)}' src='data:image/png;base64,{encoded}'></p>"
