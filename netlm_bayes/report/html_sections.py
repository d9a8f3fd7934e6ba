"""report.html's sections after the answer: the posterior predictive checks, the next
centre, the assumptions, and the appendix of sampler diagnostics. Each reads the run
folder's own files."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from netlm_bayes import paths, tomlfiles
from netlm_bayes.families.reported_effects import is_ratio
from netlm_bayes.report.format import MODEL_WORDS, fmt, fmt_bound, interval, label

ASSUMPTION_FILES = (paths.ASSUMPTIONS_FILE, paths.SYNTH_ASSUMPTIONS_FILE)
# PPC statistics in words (the rest are the paper's quantities, named by `label`).
STATISTIC_WORDS = {
    "km_median": "Kaplan-Meier median",
    "km_spread": "KM median / KM time to 75% event-free (curve shape)",
    "pr_count": "PR count",
    "sd_count": "SD count",
    "pd_count": "PD count",
}
PPC_NOTE = (
    "Each statistic once: the value in the cohort, then the same statistic over cohorts "
    "simulated from the patient-level posterior (same covariates, same censoring), with the "
    "two-sided posterior predictive p of the cohort's value. A statistic the model fits "
    "directly (a covariate's ratio; a rate that the intercept or cutpoints carry) is "
    "reproduced by construction: a p near 1 there says the fit is consistent, not that the "
    "model is right. The Kaplan-Meier median and spread are the real checks: the Weibull "
    "shape is not fitted to them."
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


def by_construction(statistic: str) -> bool:
    """Whether the model fits this statistic directly (so a PPC of it checks little): a
    covariate's ratio, or a rate or category count that the intercept or cutpoints carry."""
    return is_ratio(statistic) or statistic == "orr" or statistic.endswith(("_rate", "_count"))


def ppc_section(run_dir: Path) -> list[str]:
    folder = run_dir / "ppc"
    if not (folder / "ppc.csv").exists():
        return ["<p>No posterior predictive check in this run.</p>"]
    table = pd.read_csv(folder / "ppc.csv", keep_default_na=False, na_values=[""])
    rows = ["<table><tr><th class='text'>model</th><th class='text'>statistic</th><th>cohort"
            "</th><th>replicates: median (95%)</th><th>p</th><th>paper</th>"
            "<th class='text'>what it tests</th></tr>"]  # fmt: skip
    for row in table.itertuples():
        p_text = fmt(row.ppp_value)
        if row.ppp_value < 0.05:
            p_text = f"<span class='failed'>{p_text}</span>"
        unit = getattr(row, "unit", "")
        unit = f" ({unit})" if isinstance(unit, str) and unit else ""
        name = STATISTIC_WORDS.get(row.statistic, label(row.statistic)) + unit
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
    rows.append(f"<p>{html.escape(PPC_NOTE)}</p>")
    return rows + [image(path, path.stem) for path in sorted(folder.glob("*.png"))]


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


def next_centre_section(folder: Path) -> list[str]:
    """The paper's HR carried to a next centre: full borrowing beside the MAP prior."""
    path = folder / "next_centre.csv"
    if not path.exists():
        return []
    table = pd.read_csv(path)
    full, mapped = table.iloc[0], table.iloc[1]
    rows = [
        "<h2>Carrying the paper to a next centre</h2>",
        f"<p>The paper's {html.escape(label(full.quantity))} as the prior for a cohort at "
        "another centre. Carried over unchanged (full borrowing, what a plain export does) it "
        "assumes the next centre is the same population. The meta-analytic-predictive (MAP) "
        "prior allows the centres to differ (<code>netlm-bayes map</code>, docs/map.md); "
        f"that heterogeneity leaves it worth {mapped.ess_share_of_full:.0%} of the events "
        "full borrowing claims. ESS in events, by ELIR (Neuenschwander et al., 2020) and by "
        f"moments; one event's SD: {html.escape(str(full.unit_sd_source))}.</p>",
        "<table><tr><th class='text'>prior for the next centre</th><th>HR median (95%)</th>"
        "<th>ESS, events (ELIR)</th><th>ESS, events (moments)</th></tr>",
    ]
    for row in table.itertuples():
        rows.append(
            f"<tr>{cell(row.prior, True)}"
            f"{cell(f'{fmt(row.median)} ({interval(row.ci95_low, row.ci95_high)})')}"
            f"{cell(f'{row.ess_elir:.1f}')}{cell(f'{row.ess_moment:.1f}')}</tr>"
        )
    rows.append("</table>")
    rows.append(f"<p>Source: {html.escape(str(full.source))}</p>")
    return rows + [image(p, "MAP prior for a next centre") for p in sorted(folder.glob("*.png"))]


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
