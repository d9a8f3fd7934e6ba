"""report.html: the study's results in one self-contained file (images inlined, no network).

It is written from the run folder's own files (comparison.csv, reported_effects/priors.csv,
diagnostics.csv, ppc.csv, the PNGs), so `netlm-bayes report RUN` can rebuild it and it
shows exactly what the folder holds. Order: the answer (what the paper claims and how sure
one can be, per prior set), the prior sets, every analysis of each quantity with the
reading notes, the forest plot, the posterior predictive checks, the survival curves, the
next centre, the assumptions, and an appendix of sampler diagnostics.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from netlm_bayes.evidence import paper as published
from netlm_bayes.families.reported_effects import is_ratio
from netlm_bayes.report import html_sections as sections
from netlm_bayes.report import summary
from netlm_bayes.report.baseline_section import baseline_section
from netlm_bayes.report.format import (
    MODEL_WORDS,
    PAGE_WIDTH_PX,
    fmt,
    interval,
    label,
    probability,
)

CONTENT_WIDTH_PX = PAGE_WIDTH_PX
STYLE = f"""
body {{ font-family: system-ui, sans-serif; max-width: {CONTENT_WIDTH_PX}px; margin: 0.5em auto;
       color: #222; }}
h1 {{ font-size: 1.4em; margin: 0.2em 0; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }}
th {{ background: #f0f0f0; }} td.text, th.text {{ text-align: left; }}
.warning {{ background: #fff4ce; border: 2px solid #e0a800; padding: 0.8em 1em; }}
.failed {{ color: #b00020; font-weight: bold; }} img {{ max-width: 100%; }}
img.full {{ width: 100%; }}
section.answer {{ border: 2px solid #1f5fa8; background: #f4f8fd; padding: 0 1em; }}
section.answer h2 {{ margin: 0.5em 0 0.2em; }} section.answer p {{ margin: 0.3em 0; }}
table.answer {{ margin: 0.3em 0; font-size: 0.78em; }} table.answer td.words {{ width: 29%; }}
table.answer td, table.answer th {{ padding: 0.15em 0.35em; }}
table.answer td:not(.text) {{ white-space: nowrap; }}
table.answer td.claim {{ width: 17%; }} table.answer th {{ vertical-align: bottom; }}
td.crosses {{ background: #fff1c2; }} th.selected {{ background: #fde9d9; }}
div.limits {{ font-size: 0.8em; margin: 0.3em 0; }} div.limits ul {{ margin: 0.1em 0;
       padding-left: 1.4em; }}
ol.sources {{ font-size: 0.72em; margin: 0.2em 0 0.6em; color: #333; }}
p.legend {{ font-size: 0.78em; color: #333; }}
tr.note td {{ background: #fffbea; font-size: 0.95em; }}
"""
# Quantities whose direction rests on our reading of the paper's wording, with the title of
# that note: the answer box flags them with the paper file's own note (data/paper.toml,
# `wording_note`), and the analyses table shows it at the quantity's row.
DIRECTION_READ = {"hr_htb_gt25": "HTB direction: our reading."}
# Sets data attributes on <body> once every image has decoded, with the page's layout:
# a headless browser test reads them (every image loaded; the answer before the first
# table of analyses and inside the first screen; the forest plot at the content width).
LAYOUT_CHECK = """
window.addEventListener('load', function () {
  var images = Array.from(document.images);
  var ok = images.every(function (img) { return img.complete && img.naturalWidth > 0; });
  var body = document.body;
  body.setAttribute('data-images-loaded', ok ? 'all' : 'missing');
  body.setAttribute('data-image-count', String(images.length));
  var answer = document.getElementById('answer');
  var first = document.querySelector('table:not(.answer)');
  var forest = document.getElementById('forest');
  if (answer) body.setAttribute('data-answer-bottom',
    String(answer.getBoundingClientRect().bottom));
  if (answer && first) body.setAttribute('data-answer-first',
    String(answer.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING ? 1 : 0));
  body.setAttribute('data-content-width', String(body.clientWidth));
  if (forest) {
    body.setAttribute('data-forest-width', String(forest.getBoundingClientRect().width));
    body.setAttribute('data-forest-natural-width', String(forest.naturalWidth));
  }
});
"""


def write_report(run_dir: Path, name: str | None = None) -> Path:
    """Write run_dir/report.html; `name` is the run's final folder name (while a run is
    written, run_dir is its hidden staging folder)."""
    run_dir = Path(run_dir)
    comparison = pd.read_csv(run_dir / "comparison.csv")
    for column in ("psense_prior", "psense_likelihood", "psense_verdict"):
        if column not in comparison:  # a run folder from before power-scaling was measured
            comparison[column] = float("nan")
    synthetic = comparison["data_origin"].astype(str).str.contains("synthetic").any()
    paper = published.load_paper()  # the report is of the bundled paper's quantities
    parts = [
        "<h1>netlm-bayes: re-analysis of the rectal NETLM TAE + octreotide LAR cohort</h1>",
        summary.html_box(comparison, synthetic, _direction_notes(comparison, paper), paper),
        f"<p>Run folder: <code>{html.escape(name or run_dir.name)}</code>.</p>",
        *sections.magnitude_section(run_dir),
        "<h2>The prior sets</h2>",
        *_prior_sets(run_dir / "reported_effects" / "priors.csv"),
    ]
    if synthetic:
        parts.append(_synthetic_warning())
    parts += ["<h2>Every analysis of the paper's quantities</h2>"]
    parts += [_comparison_html(comparison, paper)]
    parts += [
        sections.image(run_dir / "forest.png", "Forest plot of every analysis", "full")
        .replace("<img", "<img id='forest'", 1)
    ]  # fmt: skip
    parts += ["<h2>Posterior predictive checks</h2>", *sections.ppc_section(run_dir)]
    parts += baseline_section(run_dir)
    parts += sections.next_centre_section(run_dir / "next_centre")
    parts += ["<h2>Assumptions: what the paper does not report</h2>"]
    parts += sections.assumptions_section()
    parts += ["<h2>Appendix: checks reproduced by construction, and synthetic curves</h2>"]
    parts += sections.ppc_by_construction(run_dir)
    parts += [sections.image(p, "Survival curves of the SYNTHETIC pseudo-cohort: not evidence")
              for p in sorted(run_dir.glob("*/survival.png"))]  # fmt: skip
    parts += ["<h2>Appendix: sampler diagnostics</h2>", *sections.diagnostics_appendix(run_dir)]
    if synthetic:
        parts.append(_synthetic_warning())
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>netlm-bayes report</title>"
        f"<style>{STYLE}</style><script>{LAYOUT_CHECK}</script></head><body>"
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
        "such data, and its replicates show how much the unreported patient-level detail "
        "could move the answer.</div>"
    )


def _prior_sets(path: Path) -> list[str]:
    """Each prior set's actual distributions, one row per set, with its rationale."""
    if not path.exists():
        return ["<p>This run's prior sets are not recorded (no priors.csv).</p>"]
    table = pd.read_csv(path)
    targets = list(dict.fromkeys(table["target"]))
    head = "".join(f"<th class='text'>{html.escape(_target_words(t))}</th>" for t in targets)
    rows = [f"<table><tr><th class='text'>prior set</th>{head}<th class='text'>why</th></tr>"]
    for name, part in table.groupby("prior_set", sort=False):
        priors = part.set_index("target")["prior"]
        cells = "".join(sections.cell(priors.get(t, ""), True) for t in targets)
        rows.append(f"<tr>{sections.cell(name, True)}{cells}"
                    f"{sections.cell(part['rationale'].iloc[0], True)}</tr>")  # fmt: skip
    rows.append("</table>")
    rows.append(
        "<p>Log-ratio priors are Normal(mean, SD) on the log scale; the directional sets "
        "(enthusiastic, pessimistic) centre each effect on the direction clinical knowledge "
        "predicts (models/prior_sets.toml). None of these numbers comes from the paper.</p>"
    )
    return rows


def _target_words(target: str) -> str:
    """'log hr_htb_gt25' as 'log HR, HTB > 25%'."""
    scale, _, quantity = target.rpartition(" ")
    return f"{scale} {label(quantity)}".strip() if scale == "log" else target


def _comparison_html(table: pd.DataFrame, paper: published.Paper) -> str:
    headers = ["analysis", "prior", "median (95% interval)", "95% HDI", "P(>1)",
               "width / paper CI", "frequentist refit (95% CI)",
               "leans on the prior? (psense)"]  # fmt: skip
    rows = ["<table><tr>" + "".join(
        f"<th class='text'>{h}</th>" if i in (0, 1, 7) else f"<th>{h}</th>"
        for i, h in enumerate(headers)
    ) + "</tr>"]  # fmt: skip
    for quantity, part in table.groupby("quantity", sort=False):
        first = part.iloc[0]
        bounds = interval(first.paper_ci95_low, first.paper_ci95_high)
        kind = "implied 95% CI, from P" if is_ratio(quantity) else "exact 95% CI, from the counts"
        claim = f"{fmt(first.paper_estimate)} ({kind}: {bounds})"
        rows.append(
            f"<tr class='note'><td class='text' colspan='{len(headers)}'><strong>"
            f"{html.escape(label(quantity))}</strong>: the paper {html.escape(claim)}. "
            f"{html.escape(str(first.paper_source))}{_reading_note(quantity, paper)}</td></tr>"
        )
        for row in part.itertuples():
            rows.append("<tr>" + "".join(_analysis_cells(row)) + "</tr>")
    rows.append("</table>")
    rows.append(
        "<p>The abstract prints no CIs: for ratios the paper's interval is the Wald interval "
        "implied by its printed P, for rates the exact interval from the counts. Width / paper "
        "CI: the posterior 95% interval's width over the paper's CI width (log scale for "
        "ratios). Frequentist refit: the paper's analysis rerun on the pseudo-cohort. psense: "
        "how far power-scaling the prior moves the posterior (prior sensitivity, threshold "
        "0.05; comparison.csv has the numbers).</p>"
    )
    return "\n".join(rows)


def _analysis_cells(row) -> list[str]:
    refit = (
        f"{fmt(row.freq_estimate)} ({interval(row.freq_ci95_low, row.freq_ci95_high)})"
        if not pd.isna(row.freq_estimate) and row.analysis.endswith("pseudo-cohort")
        else ""
    )
    verdict = row.psense_verdict if isinstance(row.psense_verdict, str) else ""
    if verdict:
        verdict += f" ({row.psense_prior:.2g})"
    return [
        sections.cell(_analysis_words(row.analysis, row.data_origin), True),
        sections.cell(row.prior, True),
        sections.cell(f"{fmt(row.median)} ({interval(row.eti95_low, row.eti95_high)})"),
        sections.cell("" if pd.isna(row.hdi95_low) else interval(row.hdi95_low, row.hdi95_high)),
        sections.cell(probability(row.prob_gt_1)),
        sections.cell(fmt(row.width_vs_paper_ci)),
        sections.cell(refit),
        sections.cell(verdict, True),
    ]  # fmt: skip


def _direction_notes(comparison: pd.DataFrame, paper: published.Paper) -> dict[str, str]:
    shown = set(comparison["quantity"])
    return {q: paper.effect(q).wording_note for q in DIRECTION_READ if q in shown}


def _analysis_words(analysis: str, origin: str) -> str:
    model, _, cohort = analysis.partition(", ")
    if model not in MODEL_WORDS:
        return analysis
    synthetic = " (synthetic)" if "synthetic" in str(origin) else ""
    return f"{MODEL_WORDS[model]}, {cohort}{synthetic}"


def _reading_note(quantity: str, paper: published.Paper) -> str:
    """The paper's wording where our reading of it needs saying (the HTB direction)."""
    try:
        note = paper.effect(quantity).wording_note
    except KeyError:
        return ""
    if not note:
        return ""
    title = DIRECTION_READ.get(quantity, "Our reading.")
    return f"<br><em>{title}</em> {html.escape(note)}"
