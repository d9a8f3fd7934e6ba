"""report.html renders in headless Chromium with every image loaded, and says what it must.

The study behind it is real but small: quick profile and two replicate cohorts. Chromium is
Debian's package, which `make test` installs (`make chromium`).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    replicates = folder / "replicates"
    replicates.mkdir()
    for name in ("pseudo_cohort_01.csv", "pseudo_cohort_02.csv"):
        shutil.copy(PROJECT_ROOT / "data" / "pseudo_cohorts" / name, replicates / name)
    args = ["study", "--profile", "quick", "--out", str(folder / "run"),
            "--replicates", str(replicates)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"Report: {folder / 'run' / 'report.html'}" in " ".join(result.output.split())
    return folder / "run"


def test_the_report_is_self_contained(study):
    page = (study / "report.html").read_text()
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<img[^>]+src='(?!data:image/png;base64,)", page)
    for text in ("SYNTHETIC: not patient data", "The answer: how big each effect plausibly is",
                 "HR &gt; 1: ", "HR &gt; 2: ", "if reported because significant",
                 "implied 95% CI", "What this study cannot show", "retrospective",
                 "How big: the probability of each effect beyond x", "sceptical limit",
                 "HTB direction: our reading", "The prior sets", "Normal(",
                 "Appendix: sampler diagnostics", "How a flagged rank plot and a passing verdict",
                 "Posterior predictive checks", "Kaplan-Meier median (months)",
                 "reproduced by construction", "no_complete_response", "abstract:",
                 "Carrying the paper to a next centre", "map_unit_sd_log_hr",
                 "assumed, not learned from the data", "robust MAP",
                 "An example decision for the next centre", "next_centre_design.toml",
                 "borrowing, the next centre&#x27;s design"):  # fmt: skip
        assert text in page, text
    first_screen = page[page.index("id='answer'") : page.index("</section>")]
    assert "#e6e6e6" not in page and ">1.00<" not in first_screen
    # the answer comes first, the diagnostics last
    assert page.index("id='answer'") < page.index("<table>") < page.index("Appendix")


def test_the_next_centre_map_prior_is_worth_less_than_full_borrowing(study):
    import pandas as pd

    table = pd.read_csv(study / "next_centre" / "next_centre.csv")
    full, mapped = table.iloc[0], table.iloc[1]
    assert full.prior.startswith("full borrowing") and mapped.prior.startswith("MAP")
    assert 0 < mapped.ess_elir < full.ess_elir
    comparison = pd.read_csv(study / "comparison.csv")
    row = comparison[comparison["analysis"] == "MAP prior for a next centre"]
    assert list(row["quantity"]) == ["hr_htb_gt25"]
    # the MAP is wider than the paper's CI: a next centre may differ
    assert (row["eti95_high"] / row["eti95_low"]).iloc[0] > 14.0 / 1.253


def test_psense_verdicts_are_in_the_comparison_for_every_posterior_of_its_own(study):
    import pandas as pd

    comparison = pd.read_csv(study / "comparison.csv")
    own = comparison["analysis"].isin(
        ["reported effects", "reported effects, selection-adjusted"]
    ) | comparison["analysis"].str.endswith("pseudo-cohort")
    assert (
        comparison.loc[own, "psense_verdict"]
        .isin(["prior-sensitive", "likelihood-dominated", "prior-sensitive, weak likelihood"])
        .all()
    )
    assert comparison.loc[~own, "psense_verdict"].isna().all()  # pooled and MAP rows: no trace
    flat = comparison[own & (comparison["prior"] == "minimal")]
    assert (flat["psense_verdict"] == "likelihood-dominated").all()


def _dom(study) -> tuple[str, dict]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: `make test` installs it (make chromium)"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
         "--window-size=1400,900", "--hide-scrollbars", "--dump-dom",
         (study / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    dom = result.stdout
    body = re.search(r"<body([^>]*)>", dom).group(1)
    return dom, dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body)) | {"stderr": result.stderr}


def test_chromium_renders_it_with_every_image_loaded(study):
    dom, attributes = _dom(study)
    assert attributes.get("images-loaded") == "all", (attributes["stderr"][-2000:], dom[:500])
    assert int(attributes["image-count"]) >= 7  # forest, rank, PPC, KM, survival, MAP


def test_the_answer_is_the_first_screen_and_the_forest_plot_fills_the_page(study):
    """In a 1400 x 900 window: the answer box ends inside the first screen and comes before
    the first table of analyses; the forest plot is shown at least at the page's content
    width, and not shrunk from its natural size (so its fonts keep their size)."""
    _, attributes = _dom(study)
    assert attributes["answer-first"] == "1"
    assert float(attributes["answer-bottom"]) <= 900
    content = float(attributes["content-width"])
    rendered = float(attributes["forest-width"])
    assert rendered >= content - 0.5
    assert float(attributes["forest-natural-width"]) <= rendered * 1.02


def test_report_rebuilds_a_run_folder_written_before_psense(study, tmp_path):
    """`netlm-bayes report RUN` on a folder from an older version (no psense or threshold
    columns, no selection-adjusted rows, no PPC units or no-finite-MLE counts) still writes
    the page: the direction alone, without the verdicts."""
    import pandas as pd

    old = tmp_path / "old"
    shutil.copytree(study, old)
    comparison = pd.read_csv(old / "comparison.csv")
    comparison = comparison[comparison["analysis"] != "reported effects, selection-adjusted"]
    dropped = ["psense_prior", "psense_likelihood", "psense_verdict"]
    dropped += [c for c in comparison.columns if c.startswith("prob_beyond_")]
    comparison.drop(columns=dropped).to_csv(old / "comparison.csv", index=False)
    ppc = pd.read_csv(old / "ppc" / "ppc.csv")
    ppc.drop(columns=["unit", "no_finite_mle"]).to_csv(old / "ppc" / "ppc.csv", index=False)
    result = CliRunner().invoke(app, ["report", str(old)])
    assert result.exit_code == 0, result.output
    page = (old / "report.html").read_text()
    assert "The answer: how big each effect plausibly is" in page
    assert "HR &gt; 1: " in page and "HR &gt; 2: " not in page  # the direction alone
    assert "if reported because significant<br>" not in page
    assert "likelihood-dominated (" not in page and "prior-sensitive (" not in page


def test_the_report_sets_the_weibull_beside_an_m_spline(study):
    """Issue 31: the patient-level section shows the HPFS model with both baselines, ranked
    by LOO, on the pseudo-cohort and labelled synthetic."""
    page = (study / "report.html").read_text()
    section = page.split("The HPFS baseline's shape")[1].split("<h2>")[0]
    assert "Weibull" in section and "M-spline (flexible)" in section
    assert "[SYNTHETIC]" in section and "ELPD" in section and "<img" in section
