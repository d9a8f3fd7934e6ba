"""report.html: the study's results in one self-contained file (images inlined, no network).

It is written from the run folder's own files (comparison.csv, diagnostics.csv, ppc.csv,
the PNGs), so `netlm-bayes report RUN` can rebuild it and it shows exactly what the folder
holds. Order: the warning that the patient-level rows are synthetic, the comparison table,
a plain-language paragraph per effect, the forest plot, the diagnostics, the posterior
predictive checks, the survival curves, the assumptions.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from netlm_bayes import paths, tomlfiles
from netlm_bayes.report.format import fmt, fmt_bound, interval, label

ASSUMPTION_FILES = (
    paths.ASSUMPTIONS_FILE,
    paths.SYNTH_ASSUMPTIONS_FILE,
)
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th { background: #f0f0f0; } td.text, th.text { text-align: left; }
.warning { background: #fff4ce; border: 2px solid #e0a800; padding: 0.8em 1em; }
.failed { color: #b00020; font-weight: bold; } img { max-width: 100%; }
"""
# Sets data-images-loaded on <body> once every image has decoded: a headless browser test
# reads it to prove the report renders with all its images.
IMAGE_CHECK = """
window.addEventListener('load', function () {
  var images = Array.from(document.images);
  var ok = images.every(function (img) { return img.complete && img.naturalWidth > 0; });
  document.body.setAttribute('data-images-loaded', ok ? 'all' : 'missing');
  document.body.setAttribute('data-image-count', String(images.length));
});
"""


def write_report(run_dir: Path, name: str | None = None) -> Path:
    """Write run_dir/report.html; `name` is the run's final folder name (while a run is
    written, run_dir is its hidden staging folder)."""
    run_dir = Path(run_dir)
    comparison = pd.read_csv(run_dir / "comparison.csv")
    synthetic = comparison["data_origin"].astype(str).str.contains("synthetic").any()
    parts = [
        "<h1>netlm-bayes: re-analysis of the rectal NETLM TAE + octreotide LAR cohort</h1>",
        f"<p>Run folder: <code>{html.escape(name or run_dir.name)}</code>.</p>",
    ]
    if synthetic:
        parts.append(_synthetic_warning())
    parts += ["<h2>Every analysis of the paper's quantities</h2>", _comparison_html(comparison)]
    parts += ["<h2>In words</h2>", *_plain_language(comparison)]
    parts += [_image(run_dir / "forest.png", "Forest plot of every analysis")]
    parts += _next_centre(run_dir / "next_centre")
    parts += ["<h2>Sampler diagnostics</h2>", *_diagnostics(run_dir)]
    parts += ["<h2>Posterior predictive checks</h2>", *_ppc(run_dir)]
    parts += ["<h2>Survival curves</h2>"]
    parts += [_image(path, "Survival curves") for path in sorted(run_dir.glob("*/survival.png"))]
    parts += ["<h2>Assumptions: what the paper does not report</h2>", *_assumptions()]
    if synthetic:
        parts.append(_synthetic_warning())
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>netlm-bayes report</title>"
        f"<style>{STYLE}</style><script>{IMAGE_CHECK}</script></head><body>"
        + "\n".join(parts)
        + "</body></html>"
    )
    path = run_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _synthetic_warning() -> str:
    return (
        "<div class='warning'><strong>SYNTHETIC: not patient data.</strong> Every "
        "patient-level row, curve and check in this report comes from the bundled "
        "pseudo-cohort, generated so that the paper's own methods give back the abstract's "
        "numbers. It adds no evidence beyond the abstract; it shows what the models do with "
        "such data, and its 20 replicates show how much the unreported patient-level detail "
        "could move the answer.</div>"
    )


def _cell(value, text: bool = False) -> str:
    css = " class='text'" if text else ""
    return f"<td{css}>{html.escape(str(value))}</td>"


def _comparison_html(table: pd.DataFrame) -> str:
    headers = ["quantity", "analysis", "prior", "paper (95% CI)", "median (95% ETI)",
               "95% HDI", "P(>1)", "width / paper CI", "frequentist refit (95% CI)",
               "PPC 95% interval", "PPC p"]  # fmt: skip
    rows = ["<table><tr>" + "".join(
        f"<th class='text'>{h}</th>" if i < 3 else f"<th>{h}</th>" for i, h in enumerate(headers)
    ) + "</tr>"]  # fmt: skip
    for row in table.itertuples():
        paper = f"{fmt(row.paper_estimate)} ({interval(row.paper_ci95_low, row.paper_ci95_high)})"
        cells = [
            _cell(label(row.quantity), True),
            _cell(row.analysis, True),
            _cell(row.prior, True),
            _cell(paper),
            _cell(f"{fmt(row.median)} ({interval(row.eti95_low, row.eti95_high)})"),
            _cell(interval(row.hdi95_low, row.hdi95_high)),
            _cell(fmt(row.prob_gt_1)),
            _cell(fmt(row.width_vs_paper_ci)),
            _cell(
                f"{fmt(row.freq_estimate)} ({interval(row.freq_ci95_low, row.freq_ci95_high)})"
                if not pd.isna(row.freq_estimate) else ""
            ),
            _cell(
                f"{fmt_bound(row.ppc95_low)} to {fmt_bound(row.ppc95_high)}"
                if not pd.isna(row.ppc95_low) else ""
            ),
            _cell(fmt(row.ppc_p_value)),
        ]  # fmt: skip
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    rows.append(
        "<p>Paper CIs are derived (the abstract reports none): for ratios the Wald interval "
        "implied by the printed P, for rates the exact interval from the counts. Width / paper "
        "CI: the posterior 95% ETI's width over the paper's CI width (log scale for ratios). "
        "Frequentist refit: the paper's analysis rerun on the pseudo-cohort. PPC: the same "
        "statistic over 500 cohorts simulated from the patient-level posterior, and the "
        "posterior predictive p-value of the cohort's value.</p>"
    )
    sources = table.drop_duplicates("quantity")[["quantity", "paper_source"]]
    rows.append("<p>Sources:</p><ul>" + "".join(
        f"<li><strong>{html.escape(label(q))}</strong>: {html.escape(str(s))}</li>"
        for q, s in sources.itertuples(index=False)
    ) + "</ul>")  # fmt: skip
    return "\n".join(rows)


def _plain_language(table: pd.DataFrame) -> list[str]:
    paragraphs = []
    for quantity, part in table.groupby("quantity", sort=False):
        first = part.iloc[0]
        name = label(quantity)
        if quantity.startswith(("hr_", "or_")):
            ratio = "HR" if quantity.startswith("hr_") else "OR"
            reported = part[part["analysis"] == "reported effects"]
            sentences = [
                f"Under the {r.prior} prior, the posterior median {ratio} is {fmt(r.median)} "
                f"(95% interval {interval(r.eti95_low, r.eti95_high)}) and "
                f"P({ratio} &gt; 1) = {fmt(r.prob_gt_1)}."
                for r in reported.itertuples()
            ]
            others = part[part["analysis"] != "reported effects"]
            sentences += [
                f"The {html.escape(r.analysis)} analysis gives {fmt(r.median)} "
                f"({interval(r.eti95_low, r.eti95_high)}), P({ratio} &gt; 1) = "
                f"{fmt(r.prob_gt_1)}."
                for r in others.itertuples()
            ]
        else:
            sentences = [
                f"{html.escape(r.analysis)} ({r.prior}): {fmt(r.median)} "
                f"({interval(r.eti95_low, r.eti95_high)})."
                for r in part.itertuples()
            ]
        paragraphs.append(
            f"<p><strong>{html.escape(name)}</strong> (paper: {fmt(first.paper_estimate)}, "
            f"95% CI {interval(first.paper_ci95_low, first.paper_ci95_high)}). "
            + " ".join(sentences)
            + "</p>"
        )
    return paragraphs


def _diagnostics(run_dir: Path) -> list[str]:
    rows = ["<table><tr><th class='text'>part</th><th>max R-hat</th><th>min bulk ESS</th>"
            "<th>min tail ESS</th><th>divergences</th><th>min E-BFMI</th><th>max MCSE/SD</th>"
            "<th class='text'>verdict</th></tr>"]  # fmt: skip
    for path in sorted(run_dir.glob("*/diagnostics.csv")):
        table = pd.read_csv(path)
        groups = table.groupby("prior_set") if "prior_set" in table else [("", table)]
        for name, part in groups:
            passed = bool(part["passed"].all()) if "passed" in part else True
            verdict = (
                "passed"
                if passed
                else "<span class='failed'>FAILED</span> "
                + html.escape(str(part["failures"].iloc[0]))
            )
            retry = str(part["retry"].iloc[0]) if "retry" in part else ""
            if retry and retry != "nan":
                verdict += f" ({html.escape(retry)})"
            rows.append(
                f"<tr><td class='text'>{html.escape(path.parent.name)} {html.escape(str(name))}"
                f"</td><td>{part['rhat'].max():.4f}</td><td>{part['ess_bulk'].min():.0f}</td>"
                f"<td>{part['ess_tail'].min():.0f}</td><td>{int(part['divergences'].max())}</td>"
                f"<td>{part['ebfmi_min'].min():.2f}</td><td>{part['mcse_sd_ratio'].max():.3f}</td>"
                f"<td class='text'>{verdict}</td></tr>"
            )
    rows.append("</table>")
    rows.append(
        "<p>Thresholds (inference/diagnostics.toml): R-hat ≤ 1.01, bulk and tail ESS ≥ 400, "
        "no divergences, E-BFMI ≥ 0.3, MCSE ≤ 0.1 posterior SD. A run with divergences is "
        "sampled again once with smaller steps, and says so.</p>"
    )
    rows += [
        _image(path, f"Rank plot, {path.parent.name}")
        for path in sorted(run_dir.glob("*/rank.png"))
    ]
    return rows


def _ppc(run_dir: Path) -> list[str]:
    folder = run_dir / "ppc"
    if not (folder / "ppc.csv").exists():
        return ["<p>No posterior predictive check in this run.</p>"]
    table = pd.read_csv(folder / "ppc.csv")
    rows = ["<table><tr><th class='text'>model</th><th class='text'>statistic</th>"
            "<th>cohort</th><th>replicates: median (95%)</th><th>p</th><th>paper</th>"
            "<th>paper's quantile</th></tr>"]  # fmt: skip
    for row in table.itertuples():
        p_text = fmt(row.ppp_value)
        if row.ppp_value < 0.05:
            p_text = f"<span class='failed'>{p_text}</span>"
        rows.append(
            f"<tr><td class='text'>{row.model}</td><td class='text'>{row.statistic}</td>"
            f"<td>{fmt_bound(row.observed)}</td><td>{fmt_bound(row.replicate_median)} "
            f"({fmt_bound(row.ppi95_low)} to {fmt_bound(row.ppi95_high)})</td><td>{p_text}</td>"
            f"<td>{fmt_bound(row.paper)}</td><td>{fmt(row.paper_quantile)}</td></tr>"
        )
    rows.append("</table>")
    rows += [_image(path, path.stem) for path in sorted(folder.glob("*.png"))]
    return rows


def _next_centre(folder: Path) -> list[str]:
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
            f"<tr>{_cell(row.prior, True)}"
            f"{_cell(f'{fmt(row.median)} ({interval(row.ci95_low, row.ci95_high)})')}"
            f"{_cell(f'{row.ess_elir:.1f}')}{_cell(f'{row.ess_moment:.1f}')}</tr>"
        )
    rows.append("</table>")
    rows.append(f"<p>Source: {html.escape(str(full.source))}</p>")
    rows += [_image(p, "MAP prior for a next centre") for p in sorted(folder.glob("*.png"))]
    return rows


def _assumptions() -> list[str]:
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


def _image(path: Path, alt: str) -> str:
    if not path.exists():
        return ""
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<p><img alt='{html.escape(alt)}' src='data:image/png;base64,{encoded}'></p>"
